"""Schemathesis: every operation of ``/api/openapi.json`` fuzzed in process (the WSGI app, no
network), with data generated from the document; no answer may be a 5xx. Bounded by
``max_examples`` (about 30 s in all); ids in paths point at a real discussion and comment
half the time, so bodies reach validation instead of stopping at 404."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.test import Client, override_settings
from hypothesis import HealthCheck, settings

from tests.engage.conftest import post_comment

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())


def call_keeping_the_test_connection(case):
    """The bare WSGI app closes database connections at the end of each request, as Django's
    test client does not: inside the test's transaction that would close it (and PostgreSQL's
    pool then refuses a new one in an atomic block). Django's test client reconnects the
    signal after each of its own requests, so this is done around every call."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        return case.call()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def real_ids(discussion) -> dict[str, int]:
    comment_id = post_comment(Client(), discussion).json()["id"]
    return {"discussion_id": discussion.pk, "comment_id": comment_id}


@pytest.mark.django_db
@override_settings(
    ENGAGE_RATE_LIMITS={
        "comment": (100_000, 60),
        "reaction": (100_000, 60),
        "flag": (100_000, 60),
    }  # fmt: skip
)
@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_operation_answers_a_server_error(case, real_ids):
    for name, value in real_ids.items():
        if case.path_parameters and name in case.path_parameters:
            if len(repr(case.body)) % 2 == 0:
                case.path_parameters[name] = value
    response = call_keeping_the_test_connection(case)
    assert response.status_code < 500, (case.method, case.formatted_path, response.text[:500])

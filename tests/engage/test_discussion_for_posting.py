"""The discussion a comment POST reads (``engage.selectors.discussion_for_posting``): its own
statement with only the columns posting needs, prepared on PostGIS. It must give what the ORM
gives, and never a discussion the public cannot see."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engage import selectors
from engage.models import Comment, Discussion
from tests.engage.conftest import open_discussion, post_comment
from tests.landuse.conftest import prepared_runs

pytestmark = pytest.mark.django_db

AREA = MultiPolygon(
    Polygon(((-105.0, 39.7), (-104.9, 39.7), (-104.9, 39.8), (-105.0, 39.8), (-105.0, 39.7))),
    srid=4326,
)


def a_discussion_with_every_posting_rule() -> Discussion:
    now = timezone.now().replace(microsecond=123456)
    discussion = open_discussion(
        opens_at=now - timedelta(days=2),
        closes_at=now + timedelta(days=3, seconds=7),
        moderation=Discussion.Moderation.PRE,
        allow_anonymous=False,
        plan_area=AREA,
        max_reply_depth=4,
        edit_window=timedelta(minutes=7, seconds=30),
    )
    discussion.held_words = "parking lot\nhighway"
    discussion.save()
    return discussion


def test_the_posting_read_gives_every_posting_field_as_the_orm_does():
    discussion = a_discussion_with_every_posting_rule()
    expected = Discussion.objects.get(pk=discussion.pk)
    read = selectors.discussion_for_posting(discussion_id=discussion.pk)
    assert read is not None
    assert selectors.POSTING_FIELDS <= {f.name for f in Discussion._meta.concrete_fields}
    for name in selectors.POSTING_FIELDS - {"plan_area"}:
        assert getattr(read, name) == getattr(expected, name), name
        assert type(getattr(read, name)) is type(getattr(expected, name)), name
    assert read.plan_area.srid == 4326
    assert read.plan_area.equals_exact(expected.plan_area, 1e-12)
    assert read.is_open and read.moderation == "pre" and read.allow_anonymous is False


def test_a_discussion_without_dates_or_plan_area_reads_as_none_values():
    discussion = open_discussion(plan_area=None)
    read = selectors.discussion_for_posting(discussion_id=discussion.pk)
    assert (read.opens_at, read.closes_at, read.plan_area, read.held_words) == (
        None,
        None,
        None,
        "",
    )


def test_the_other_fields_load_when_first_used():
    discussion = open_discussion(title="Riverside plan")
    read = selectors.discussion_for_posting(discussion_id=discussion.pk)
    assert {"title", "page_url", "created_at"} <= read.get_deferred_fields()
    with CaptureQueriesContext(connection) as queries:
        assert read.title == "Riverside plan"
    assert len(queries) == 1


def test_an_unknown_or_unpublished_discussion_is_not_read():
    hidden = open_discussion(is_published=False)
    assert selectors.discussion_for_posting(discussion_id=hidden.pk) is None
    assert selectors.discussion_for_posting(discussion_id=hidden.pk + 1000) is None


@pytest.mark.parametrize("number", ["99999999999999999999999", "9223372036854775808"])
def test_posting_to_an_id_beyond_the_databases_integers_is_404_and_stores_nothing(
    anonymous_client, number
):
    open_discussion()
    response = anonymous_client.post(
        f"/api/engage/discussions/{number}/comments/",
        {"body": "Hello", "display_name": "Sam"},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert not Comment.objects.exists()


def test_posting_reads_the_discussion_in_one_statement(anonymous_client):
    discussion = open_discussion()
    with CaptureQueriesContext(connection) as queries:
        response = post_comment(anonymous_client, discussion)
    assert response.status_code == 201
    reads = [q["sql"] for q in queries if "engage_discussion" in q["sql"]]
    assert len(reads) == 1
    assert '"title"' not in reads[0]


def test_a_pinned_comment_is_checked_against_the_plan_area_it_reads(anonymous_client):
    discussion = a_discussion_with_every_posting_rule()
    discussion.allow_anonymous = True
    discussion.save()
    outside = {"type": "Point", "coordinates": [-104.5, 39.75]}
    response = post_comment(anonymous_client, discussion, geometry=outside)
    assert response.status_code == 400
    assert not Comment.objects.exists()
    inside = {"type": "Point", "coordinates": [-104.95, 39.75]}
    assert post_comment(anonymous_client, discussion, geometry=inside).status_code == 201
    assert Comment.objects.get().status == Comment.Status.PENDING  # the read moderation rule


@pytest.mark.postgis
def test_on_postgis_the_posting_read_is_a_prepared_statement():
    discussion = open_discussion()
    kept = connection.connection.prepare_threshold if connection.connection else None
    connection.ensure_connection()
    connection.connection.prepare_threshold = 5  # what DATABASE_POOL sets (config/env.py)
    try:
        runs, _generic = prepared_runs('%FROM "engage_discussion"%')
        for _ in range(3):
            assert selectors.discussion_for_posting(discussion_id=discussion.pk) is not None
        assert prepared_runs('%FROM "engage_discussion"%')[0] - runs == 3
    finally:
        connection.connection.prepare_threshold = kept

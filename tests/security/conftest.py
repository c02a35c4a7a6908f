"""Shared helpers of the hostile-input catalogue (docs/threat-tests.md).

Every refused input must change nothing: :func:`nothing_changes` snapshots the row counts of
everything a resident or an import can write, runs the on-commit callbacks of the block (so a
broadcast that was registered would really be sent) and records what reached the channel layer.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest

from engage import realtime
from engage.models import Comment, Flag, Reaction
from landuse.models import Category, Feature, Layer

# Personas and the open discussion of the engagement tests, shared here.
from tests.engage.conftest import (  # noqa: F401
    _fresh_rate_limits,
    anonymous_client,
    discussion,
    landuse_map,
    moderator,
    other_resident,
    other_resident_client,
    release_thread_connections,
    resident,
    resident_client,
)

# Markup that has broken real sites: plain, attribute, URL and mutation-XSS forms.
XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<svg onload=alert(1)>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    "javascript:alert(1)",
    "<iframe srcdoc='<script>alert(1)</script>'></iframe>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<svg><style><img src=x onerror=alert(1)></style></svg>",
    '"><svg/onload=alert(1)>',
    "<a href=&#106;avascript:alert(1)>x</a>",
    "{{ 7|add:7 }} {% debug %}",
]


def row_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Comment, Reaction, Flag, Layer, Category, Feature)
    }


@pytest.fixture
def sent_events(monkeypatch) -> list[dict]:
    """What reached the channel layer (instead of sending it)."""
    sent: list[dict] = []
    monkeypatch.setattr(realtime, "send_event", lambda **kwargs: sent.append(kwargs))
    return sent


@pytest.fixture
def nothing_changes(django_capture_on_commit_callbacks, sent_events):
    """``with nothing_changes(): ...``: no row added or removed, no live event sent."""

    @contextlib.contextmanager
    def guard() -> Iterator[None]:
        before = row_counts()
        with django_capture_on_commit_callbacks(execute=True):
            yield
        assert row_counts() == before
        assert sent_events == []

    return guard


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append((tag, attrs))


def assert_inert_html(html: str, *, allowed: frozenset[str] = frozenset({"a", "br"})) -> None:
    """Only harmless tags; no event handlers; links only to http(s) or mailto."""
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag in allowed, (tag, html)
        for name, value in attrs:
            assert not name.startswith("on"), (name, html)
            if name in {"href", "src", "action", "formaction", "xlink:href"}:
                target = (value or "").strip().lower()
                assert target.startswith(("http://", "https://", "mailto:")), (value, html)


def assert_error(response, status: int, field: str) -> None:
    assert response.status_code == status, (response.status_code, response.content[:300])
    body = response.json()
    assert set(body) == {"errors"}, body
    assert field in {error["field"] for error in body["errors"]}, body

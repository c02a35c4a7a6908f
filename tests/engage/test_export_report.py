"""The printable summary report: counts, top-agreed comments and an SVG map of the pins."""

from __future__ import annotations

import pytest
from django.test import Client

from engage.models import Comment, ExportRecord
from tests.engage.export_helpers import feedback_discussion

pytestmark = pytest.mark.django_db


def report_url(discussion, query: str = "") -> str:
    return f"/api/engage/discussions/{discussion.pk}/report/" + (f"?{query}" if query else "")


def test_the_report_counts_by_category_status_district_and_day(moderator_client, landuse_map):
    discussion, ids = feedback_discussion()
    response = moderator_client.get(report_url(discussion))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "Feedback summary: River corridor" in html
    assert "4 comments" in html
    assert '<td>Idea</td><td class="n">1</td>' in html
    assert '<td>Hidden by a moderator</td><td class="n">1</td>' in html
    assert '<td>C-MX-5</td><td>Main Street 5</td><td class="n">2</td>' in html
    assert '<td>CC</td><td>Community Center</td><td class="n">2</td>' in html
    record = ExportRecord.objects.get()
    assert record.format == "report" and record.row_count == 4


def test_the_map_figure_is_svg_drawn_from_the_pins_without_tiles(moderator_client):
    discussion, ids = feedback_discussion()
    html = moderator_client.get(report_url(discussion)).content.decode()
    assert "<svg" in html and html.count("<circle") == 2  # the point and the polygon's centre
    assert '<path d="M' in html  # the plan area outline
    assert "tile" not in html.lower() and "<img" not in html


def test_the_most_agreed_comment_is_listed_escaped(moderator_client):
    discussion, ids = feedback_discussion()
    Comment.objects.filter(pk=ids["point"]).update(body="<script>alert(1)</script> Trees")
    html = moderator_client.get(report_url(discussion)).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Trees" in html and "<script>" not in html


def test_filters_apply_to_the_report_and_bad_ones_are_400(moderator_client):
    discussion, _ids = feedback_discussion()
    assert (
        "1 comment"
        in moderator_client.get(report_url(discussion, "status=hidden")).content.decode()
    )
    bad = moderator_client.get(report_url(discussion, "since=soon"))
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "since"


def test_residents_and_anonymous_visitors_get_403(resident_client):
    discussion, _ids = feedback_discussion()
    assert resident_client.get(report_url(discussion)).status_code == 403
    assert Client().get(report_url(discussion)).status_code == 403

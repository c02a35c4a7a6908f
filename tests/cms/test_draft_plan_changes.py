"""'What changed since the last draft': the live revision against the one published before."""

from __future__ import annotations

import pytest
from wagtail.rich_text import RichText

from cms.models import DraftPlanChapterPage, DraftPlanPage
from cms.selectors import plan_changes_since_last_draft

pytestmark = pytest.mark.django_db


def republish(page, **fields):
    for name, value in fields.items():
        setattr(page, name, value)
    page.save_revision().publish()
    page.refresh_from_db()
    return page


def test_a_first_publication_has_nothing_to_compare(client, plan):
    page = client.get("/plan/changes/").content.decode()
    assert "This is the first published version" in page


def test_it_shows_added_and_removed_lines_between_published_versions(client, plan):
    republish(
        plan,
        status=DraftPlanPage.Status.REVISED,
        body=[("text", RichText("<p>Growth near transit and in centres.</p>"))],
    )
    page = client.get("/plan/changes/").content.decode()
    assert '<del><span class="visually-hidden">Removed: </span>Growth near transit.</del>' in page
    assert (
        '<ins><span class="visually-hidden">Added: </span>Growth near transit and in centres.</ins>'
        in page
    )
    assert "Status: Revised" in page


def test_an_unpublished_draft_is_not_part_of_the_diff(client, plan):
    republish(plan, summary="Second published summary.")
    plan.summary = "A draft nobody approved."
    plan.save_revision()
    page = client.get("/plan/changes/").content.decode()
    assert "Second published summary." in page
    assert "A draft nobody approved." not in page


def test_changed_chapters_are_included_and_unchanged_ones_left_out(plan):
    chapter = DraftPlanChapterPage.objects.get(slug="vision")
    republish(chapter, body=[("text", RichText("<p>A greener vision.</p>"))])
    plan.refresh_from_db()
    titles = [item.title for item in plan_changes_since_last_draft(plan=plan)]
    assert titles == ["Comprehensive Plan", "1. Vision"]


def test_markup_in_the_text_is_shown_as_text_never_as_html(client, plan):
    republish(
        plan,
        summary='<script>alert(1)</script><img src=x onerror="alert(2)">',
        body=[("text", RichText("<p>&lt;svg onload=alert(3)&gt;</p>"))],
    )
    page = client.get("/plan/changes/").content.decode()
    assert "<script>alert(1)" not in page and "<img src=x" not in page and "<svg" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page

"""Hostile input through the Wagtail editor: markup in every page field and block is stored as
text and rendered inert, rich text keeps no script or ``javascript:`` link, a call to action
cannot point at a script, extra form fields cannot assign owner, status or discussion, and
admin forms refuse a post without the CSRF token. Refusals store nothing."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from cms.models import PlanningTopicPage
from engage.models import Discussion
from tests.cms.conftest import SQUARE

pytestmark = pytest.mark.django_db

XSS = "<script>alert(1)</script><svg onload=alert(2)><img src=x onerror=alert(3)>\"'>"
RAW_MARKERS = ["<script>alert(1)", "<svg onload", "<img src=x onerror", "javascript:alert"]


def contentstate(text: str, link: str | None = None) -> str:
    """What Draftail posts for a paragraph, optionally linked in full to ``link``."""
    entity_ranges, entity_map = [], {}
    if link is not None:
        entity_ranges = [{"offset": 0, "length": len(text), "key": 0}]
        entity_map = {"0": {"type": "LINK", "mutability": "MUTABLE", "data": {"url": link}}}
    return json.dumps(
        {
            "blocks": [
                {"key": "a1b2c", "text": text, "type": "unstyled", "depth": 0,
                 "inlineStyleRanges": [], "entityRanges": entity_ranges, "data": {}}
            ],
            "entityMap": entity_map,
        }
    )  # fmt: skip


def block(index: int, kind: str, uid: str, **values: str) -> dict[str, str]:
    prefix = f"body-{index}"
    data = {f"{prefix}-type": kind, f"{prefix}-deleted": "", f"{prefix}-order": str(index),
            f"{prefix}-id": uid}  # fmt: skip
    data.update({f"{prefix}-value{name}": value for name, value in values.items()})
    return data


def page_form(layer_pk: int, *, text: str = XSS, link: str | None = None,
              anchor: str = "feedback-map", **extra: str) -> dict[str, str]:  # fmt: skip
    """The add form of a planning topic with every kind of block, ``text`` in each text field."""
    data = {
        "title": text, "slug": "hostile", "summary": text,
        "comments_open_at": "", "comments_close_at": "", "moderation": "post",
        "allow_anonymous": "on", "plan_area": "", "feedback_categories-count": "0",
        "body-count": "5",
        **block(0, "text", "00000000-0000-0000-0000-000000000000",
                **{"": contentstate(text, link)}),
        **block(1, "map", "11111111-1111-1111-1111-111111111111", **{
            "-title": text, "-layers-count": "1", "-layers-0-value": str(layer_pk),
            "-layers-0-deleted": "", "-layers-0-order": "0",
            "-layers-0-id": "22222222-2222-2222-2222-222222222222",
            "-centre_latitude": "39.74", "-centre_longitude": "-104.99", "-zoom": "12",
            "-plan_area": json.dumps(SQUARE),
        }),
        **block(2, "timeline", "33333333-3333-3333-3333-333333333333", **{
            "-heading": text, "-phases-count": "1", "-phases-0-value-title": text,
            "-phases-0-value-starts_on": "2026-10-01", "-phases-0-value-ends_on": "",
            "-phases-0-value-description": text, "-phases-0-deleted": "",
            "-phases-0-order": "0", "-phases-0-id": "44444444-4444-4444-4444-444444444444",
        }),
        **block(3, "call_to_action", "55555555-5555-5555-5555-555555555555", **{
            "-heading": text, "-text": text, "-button_label": text[:80], "-anchor": anchor,
        }),
        **block(4, "poll", "66666666-6666-6666-6666-666666666666", **{
            "-question": text, "-answers-count": "2", "-show_results": "on",
            "-answers-0-value": text, "-answers-0-deleted": "", "-answers-0-order": "0",
            "-answers-0-id": "77777777-7777-7777-7777-777777777777",
            "-answers-1-value": "No", "-answers-1-deleted": "", "-answers-1-order": "1",
            "-answers-1-id": "88888888-8888-8888-8888-888888888888",
        }),
        "action-publish": "publish",
    }  # fmt: skip
    data.update(extra)
    return data


def add_url(parent) -> str:
    return reverse("wagtailadmin_pages:add", args=("cms", "planningtopicpage", parent.pk))


def assert_inert(html: str) -> None:
    for marker in RAW_MARKERS:
        assert marker not in html, marker


def test_markup_in_every_field_and_block_is_stored_as_text_and_rendered_inert(
    client, superuser, topic_index, layers
):
    client.force_login(superuser)
    response = client.post(add_url(topic_index), page_form(layers[0].pk))
    assert response.status_code == 302, response.content.decode()[:2000]
    page = PlanningTopicPage.objects.get(slug="hostile")
    assert page.live and page.title == XSS  # stored as typed

    html = Client().get(page.url).content.decode()
    assert_inert(html)
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 8  # each field shown as text
    # The editor's own screens show it as text too.
    for url in (
        reverse("wagtailadmin_explore", args=(topic_index.pk,)),
        reverse("wagtailadmin_pages:edit", args=(page.pk,)),
        reverse("wagtailadmin_pages:history", args=(page.pk,)),
    ):
        assert_inert(client.get(url).content.decode())


@pytest.mark.parametrize(
    "link",
    ["javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "data:text/html,x"],
)
def test_rich_text_keeps_no_script_and_no_script_link(client, superuser, topic_index, layers, link):
    client.force_login(superuser)
    response = client.post(add_url(topic_index), page_form(layers[0].pk, text="Click", link=link))
    page = PlanningTopicPage.objects.filter(slug="hostile").first()
    if page is None:  # refused outright is fine too
        assert response.status_code == 200
        return
    stored = str(page.body[0].value.source)
    assert "javascript:" not in stored.lower() and "data:" not in stored.lower()
    html = Client().get(page.url).content.decode().lower()
    assert 'href="javascript:' not in html and 'href=" javascript:' not in html
    assert 'href="data:' not in html


@pytest.mark.parametrize(
    "anchor", ["javascript:alert(1)", '"><script>alert(1)</script>', "https://evil.example/", "#x"]
)
def test_a_call_to_action_cannot_point_anywhere_but_a_section_of_the_page(
    client, superuser, topic_index, layers, anchor
):
    client.force_login(superuser)
    response = client.post(add_url(topic_index), page_form(layers[0].pk, anchor=anchor))
    assert response.status_code == 200
    assert "The page could not be created due to validation errors" in response.content.decode()
    assert not PlanningTopicPage.objects.filter(slug="hostile").exists()


def test_extra_form_fields_cannot_assign_owner_status_lock_or_discussion(
    client, planner, superuser, topic_index, layers
):
    other = Discussion.objects.create(title="Somebody else's", page_url="/x/", is_published=True)
    client.force_login(planner)  # may add and edit pages, may not publish
    response = client.post(
        add_url(topic_index),
        page_form(
            layers[0].pk,
            text="An ordinary draft",
            owner=str(superuser.pk),
            live="on",
            locked="on",
            locked_by=str(superuser.pk),
            first_published_at="2020-01-01 00:00",
            discussion=str(other.pk),
            discussion_id=str(other.pk),
            has_unpublished_changes="",
            show_in_menus="on",
        ),
    )
    assert response.status_code == 302
    page = PlanningTopicPage.objects.get(slug="hostile")
    assert not page.live and page.first_published_at is None  # planners cannot publish
    assert page.owner == planner and not page.locked and page.locked_by is None
    assert page.discussion_id != other.pk
    other.refresh_from_db()
    assert other.title == "Somebody else's"


def test_admin_forms_refuse_a_post_without_the_csrf_token(superuser, topic_index, topic, layers):
    client = Client(enforce_csrf_checks=True)
    client.force_login(superuser)
    pages = PlanningTopicPage.objects.count()
    assert client.post(add_url(topic_index), page_form(layers[0].pk)).status_code == 403
    assert PlanningTopicPage.objects.count() == pages
    for name in ("wagtailadmin_pages:unpublish", "wagtailadmin_pages:delete"):
        assert client.post(reverse(name, args=(topic.pk,))).status_code == 403
    edit = {"title": "Defaced", "slug": topic.slug, "action-publish": "publish"}
    assert (
        client.post(reverse("wagtailadmin_pages:edit", args=(topic.pk,)), edit).status_code == 403
    )
    topic.refresh_from_db()
    assert topic.live and topic.title == "Mobility"

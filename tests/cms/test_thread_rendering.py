"""The feedback section renders the map contract and the thread on the server (works without
JavaScript): published comments in order, replies nested, states shown, everything inert."""

from __future__ import annotations

import datetime
import json
import re

import pytest
from django.utils import timezone

from cms.selectors import THREADS_PER_PAGE
from engage.models import Comment
from engage.rules import Participant
from engage.services import comment_create, reaction_set

pytestmark = pytest.mark.django_db

ANONYMOUS = Participant(user=None, key="a:test")


def post(discussion, body: str, *, name: str = "Sam", parent=None, **extra) -> Comment:
    comment, _token = comment_create(
        discussion=discussion,
        participant=ANONYMOUS,
        body=body,
        display_name=name,
        parent_id=parent.pk if parent else None,
        **extra,
    )
    return comment


def section(client, page) -> str:
    html = client.get(page.url).content.decode()
    match = re.search(r'<section id="feedback-map".*?</section>', html, re.S)
    assert match, "no feedback section"
    return match.group(0)


def test_the_section_carries_the_dom_contract_for_the_live_thread(client, topic):
    d = topic.discussion
    html = section(client, topic)
    assert f'data-discussion-id="{d.pk}"' in html
    assert f'data-comments-url="/api/engage/discussions/{d.pk}/comments/"' in html
    assert f'data-ws-path="/ws/discussions/{d.pk}/"' in html
    assert 'data-open="true"' in html
    assert 'data-allow-anonymous="true"' in html
    assert 'data-signed-in="false"' in html
    categories = json.loads(
        re.search(r'data-categories="([^"]*)"', html).group(1).replace("&quot;", '"')
    )
    assert [c["slug"] for c in categories] == ["idea", "concern", "question", "support"]
    assert '<ol class="thread" aria-labelledby="thread-heading" aria-live="polite">' in html
    assert '<form class="comment-form"' in html


def test_the_feedback_map_follows_the_civic_map_contract(client, topic):
    d = topic.discussion
    html = section(client, topic)
    tag = re.search(r'<div class="civic-map feedback-map"[^>]*>', html).group(0)
    assert 'data-layers="zoning,future-land-use"' in tag
    assert 'data-center="39.740000,-104.990000"' in tag
    assert 'data-zoom="12"' in tag
    assert f'data-feedback="/api/engage/discussions/{d.pk}/feedback.geojson"' in tag
    assert "data-plan-area" not in tag  # the fixture topic has no plan area of its own


def test_the_map_shows_the_plan_area_of_the_discussion(client, topic):
    from tests.cms.conftest import SQUARE

    topic.plan_area = json.dumps(SQUARE)
    topic.save_revision().publish()
    tag = re.search(r'<div class="civic-map feedback-map"[^>]*>', section(client, topic)).group(0)
    area = json.loads(re.search(r'data-plan-area="([^"]*)"', tag).group(1).replace("&quot;", '"'))
    assert area["type"] == "MultiPolygon"


def test_comments_appear_in_order_with_replies_nested_under_their_parent(client, topic):
    d = topic.discussion
    first = post(d, "First thought", name="Ana")
    reply = post(d, "A reply to Ana", name="Ben", parent=first)
    second = post(d, "Second thought", name="Cy", category="concern")
    html = section(client, topic)
    assert html.index("First thought") < html.index("A reply to Ana") < html.index("Second thought")
    reply_li = re.search(rf'<li class="comment" id="comment-{reply.pk}"[^>]*>', html).group(0)
    assert f'data-parent-id="{first.pk}"' in reply_li
    first_block = html[
        html.index(f'id="comment-{first.pk}"') : html.index(f'id="comment-{second.pk}"')
    ]
    assert '<ol class="replies">' in first_block and "A reply to Ana" in first_block
    assert "Concern" in html and "Ana" in html and "Ben" in html


def test_a_comment_shows_its_time_category_counts_and_edited_state(client, topic, resident):
    d = topic.discussion
    comment = post(d, "Trees please", category="idea")
    # Edited by its author (the service is exercised in tests/engage; here only the state).
    Comment.objects.filter(pk=comment.pk).update(edited_at=timezone.now())
    reaction_set(
        comment=comment,
        participant=Participant(user=resident, key=f"u:{resident.pk}"),
        value="agree",
    )
    html = section(client, topic)
    item = html[html.index(f'id="comment-{comment.pk}"') :]
    assert f'datetime="{comment.created_at.isoformat()}"' in item
    assert 'class="comment-category category-idea"' in item
    assert "edited" in item
    assert re.search(r'data-reaction="agree">[^<]*<span class="reaction-count">1</span>', item)


def test_a_hidden_comment_with_replies_stays_as_a_placeholder_without_its_text(client, topic):
    d = topic.discussion
    parent = post(d, "Rude words here")
    post(d, "Please be kind", parent=parent)
    lonely = post(d, "Spam spam spam")
    Comment.objects.filter(pk__in=[parent.pk, lonely.pk]).update(status=Comment.Status.HIDDEN)
    html = section(client, topic)
    assert "hidden by a moderator" in html
    assert "Rude words here" not in html
    assert "Please be kind" in html
    assert "Spam spam spam" not in html and f'id="comment-{lonely.pk}"' not in html


def test_pending_and_withdrawn_comments_are_not_shown(client, topic):
    d = topic.discussion
    pending = post(d, "Waiting for a moderator")
    withdrawn = post(d, "Changed my mind")
    Comment.objects.filter(pk=pending.pk).update(status=Comment.Status.PENDING)
    Comment.objects.filter(pk=withdrawn.pk).update(status=Comment.Status.WITHDRAWN)
    html = section(client, topic)
    assert "Waiting for a moderator" not in html and "Changed my mind" not in html


def test_markup_in_a_body_and_a_display_name_is_rendered_inert(client, topic):
    d = topic.discussion
    post(
        d,
        "<script>alert(1)</script><img src=x onerror=alert(2)> see https://example.org/a?b=1 "
        "and javascript:alert(3)",
        name='<svg onload=alert(4)>"Eve"',
    )
    html = section(client, topic)
    assert "<script>alert" not in html and "<img" not in html and "<svg" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;svg onload=alert(4)&gt;&quot;Eve&quot;" in html
    assert '<a href="https://example.org/a?b=1" rel="nofollow ugc noopener">' in html
    assert 'href="javascript:' not in html


def test_the_thread_is_paginated_by_conversation(client, topic):
    d = topic.discussion
    comments = [post(d, f"Comment number {n}") for n in range(THREADS_PER_PAGE + 2)]
    post(d, "A late reply to the first", parent=comments[0])
    first = section(client, topic)
    assert "Comment number 0<" in first and "A late reply to the first" in first
    assert f"Comment number {THREADS_PER_PAGE}<" not in first
    assert 'href="?comments_page=2#feedback-map"' in first
    html = client.get(f"{topic.url}?comments_page=2").content.decode()
    assert f"Comment number {THREADS_PER_PAGE}<" in html
    assert "Comment number 0<" not in html


def test_a_plan_renders_the_feedback_section_too(client, plan):
    post(plan.discussion, "Good plan overall")
    assert "Good plan overall" in section(client, plan)


def test_the_feedback_section_has_no_inline_script_or_style(client, topic):
    post(topic.discussion, "Hello")
    html = client.get(topic.url).content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"<style|\sstyle=|\son[a-z]+=", html)
    # The map script is included once even with a map block and the feedback map.
    assert html.count("frontend/js/layers.js") == 1


def test_the_home_page_lists_open_comment_periods_with_their_closing_dates(
    client, home, topic_index, topic, plan
):
    from cms.models import PlanningTopicPage

    closes = timezone.now() + datetime.timedelta(days=10)
    topic.comments_close_at = closes
    topic.save_revision().publish()
    closed = PlanningTopicPage(
        title="Closed topic",
        slug="closed",
        comments_close_at=timezone.now() - datetime.timedelta(days=1),
    )
    topic_index.add_child(instance=closed)
    closed.save_revision().publish()
    hidden = PlanningTopicPage(title="Unpublished topic", slug="hidden")
    topic_index.add_child(instance=hidden)
    hidden.save_revision().publish()
    hidden.unpublish()

    html = client.get("/").content.decode()
    block = html[html.index('id="comment-periods-heading"') :]
    assert 'href="/topics/mobility/#feedback-map"' in block
    assert closes.strftime("%-d %B %Y").lstrip("0") in block
    assert 'href="/plan/#feedback-map"' in block and "no closing date" in block
    assert "Closed topic" not in block
    assert "Unpublished topic" not in block

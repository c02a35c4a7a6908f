"""A topic page reuses the thread it rendered while nothing the thread shows has changed
(``cms_tags.feedback_thread``). Each test renders the page, changes one thing through the
service a reader or moderator would use, and expects the next view to show it."""

from __future__ import annotations

import datetime
import re

import pytest
from django.test import Client
from django.utils import timezone

from cms.selectors import page_feedback
from engage import services
from engage.models import Comment
from engage.rules import Participant
from engage.services import CategorySpec, comment_create, reaction_set
from tests.engage.conftest import make_moderator

pytestmark = pytest.mark.django_db

AUTHOR = Participant(user=None, key="a:author")


def post_with_token(discussion, body: str) -> tuple[Comment, Participant]:
    """A comment and the participant holding its edit token (its anonymous author)."""
    comment, token = comment_create(
        discussion=discussion, participant=AUTHOR, body=body, display_name="Sam"
    )
    return comment, Participant(user=None, key=AUTHOR.key, edit_token=token)


def post(discussion, body: str, *, parent=None, **extra) -> Comment:
    comment, _token = comment_create(
        discussion=discussion,
        participant=AUTHOR,
        body=body,
        display_name="Sam",
        parent_id=parent.pk if parent else None,
        **extra,
    )
    return comment


def thread(client, page, query: str = "") -> str:
    html = client.get(page.url + query).content.decode()
    return html[html.index('<h3 id="thread-heading">') : html.index("</ol>\n  ")]


def moderator_participant() -> Participant:
    moderator = make_moderator("thread-moderator")
    return Participant(user=moderator, key=f"u:{moderator.pk}")


def agree_count(html: str, comment: Comment) -> str:
    item = html[html.index(f'id="comment-{comment.pk}"') :]
    return re.search(r'data-reaction="agree">[^<]*<span class="reaction-count">(\d+)<', item)[1]


def test_a_second_view_shows_the_same_thread_as_the_first(client, topic):
    post(topic.discussion, "Trees please")
    first = client.get(topic.url).content.decode()
    second = client.get(topic.url).content.decode()
    strip = re.compile(r'(nonce|value)="[^"]*"')
    assert strip.sub("", first) == strip.sub("", second)
    assert "Trees please" in second


def test_a_new_comment_shows_on_the_next_view(client, topic):
    post(topic.discussion, "First")
    assert "Second" not in thread(client, topic)
    post(topic.discussion, "Second")
    html = thread(client, topic)
    assert "First" in html and "Second" in html
    assert "2 conversations" in html


def test_an_edited_comment_shows_its_new_text_on_the_next_view(client, topic):
    comment, author = post_with_token(topic.discussion, "Original words")
    assert "Original words" in thread(client, topic)
    services.comment_edit(comment=comment, participant=author, body="Better words")
    html = thread(client, topic)
    assert "Better words" in html and "Original words" not in html
    assert "edited" in html


def test_a_comment_hidden_by_a_moderator_becomes_a_placeholder_on_the_next_view(client, topic):
    comment = post(topic.discussion, "Rude words")
    post(topic.discussion, "A reply that stays", parent=comment)
    assert "Rude words" in thread(client, topic)
    services.comment_hide(comment=comment, actor=moderator_participant(), reason="Rude")
    html = thread(client, topic)
    assert "Rude words" not in html and "hidden by a moderator" in html
    assert "A reply that stays" in html


def test_a_withdrawn_comment_leaves_the_thread_on_the_next_view(client, topic):
    comment, author = post_with_token(topic.discussion, "Changed my mind")
    assert "Changed my mind" in thread(client, topic)
    services.comment_withdraw(comment=comment, participant=author)
    html = thread(client, topic)
    assert "Changed my mind" not in html and "No comments yet." in client.get(topic.url).text


def test_an_approved_comment_appears_on_the_next_view(client, topic):
    services.discussion_update(discussion=topic.discussion, moderation="pre")
    comment = post(topic.discussion, "Waiting for a moderator")
    assert "Waiting for a moderator" not in thread(client, topic)
    services.comment_approve(comment=comment, actor=moderator_participant())
    assert "Waiting for a moderator" in thread(client, topic)


def test_reaction_counts_follow_added_changed_and_removed_reactions(client, topic):
    comment = post(topic.discussion, "Trees please")
    voter = Participant(user=None, key="a:voter")
    assert agree_count(thread(client, topic), comment) == "0"
    reaction_set(comment=comment, participant=voter, value="agree")
    assert agree_count(thread(client, topic), comment) == "1"
    reaction_set(comment=comment, participant=voter, value="disagree")
    assert agree_count(thread(client, topic), comment) == "0"
    reaction_set(comment=comment, participant=voter, value="agree")
    assert agree_count(thread(client, topic), comment) == "1"
    reaction_set(comment=comment, participant=voter, value=None)
    assert agree_count(thread(client, topic), comment) == "0"


def test_a_renamed_category_shows_its_new_label_on_the_next_view(client, topic):
    post(topic.discussion, "Trees please", category="idea")
    assert ">Idea</span>" in thread(client, topic)
    services.discussion_set_categories(
        discussion=topic.discussion,
        categories=[CategorySpec(slug="idea", label="Suggestion", colour="#1f77b4", icon="")],
    )
    html = thread(client, topic)
    assert ">Suggestion</span>" in html and ">Idea</span>" not in html


def test_reply_links_go_when_the_comment_period_closes(client, topic):
    post(topic.discussion, "Trees please")
    assert "?reply_to=" in thread(client, topic)
    services.discussion_update(
        discussion=topic.discussion, closes_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    assert "?reply_to=" not in thread(client, topic)


def test_reply_links_stop_at_the_new_maximum_depth(client, topic):
    parent = post(topic.discussion, "Parent")
    reply = post(topic.discussion, "Reply", parent=parent)
    assert f"?reply_to={reply.pk}" in thread(client, topic)
    services.discussion_update(discussion=topic.discussion, max_reply_depth=1)
    html = thread(client, topic)
    assert f"?reply_to={parent.pk}" in html and f"?reply_to={reply.pk}" not in html


def test_a_signed_in_reader_and_an_anonymous_one_each_see_their_own_reply_links(
    client, topic, resident
):
    post(topic.discussion, "Trees please")
    services.discussion_update(discussion=topic.discussion, allow_anonymous=False)
    signed_in = Client()
    signed_in.force_login(resident)
    assert "?reply_to=" in thread(signed_in, topic)
    assert "?reply_to=" not in thread(client, topic)
    assert "?reply_to=" in thread(signed_in, topic)


def test_each_page_of_conversations_is_its_own_rendering(client, topic):
    for number in range(25):
        post(topic.discussion, f"Comment number {number}")
    first, second = thread(client, topic), thread(client, topic, "?comments_page=2")
    assert "Comment number 0<" in first and "Comment number 0<" not in second
    assert "Comment number 24<" in second and "Comment number 24<" not in first


def test_a_thread_shows_the_counts_and_category_names_its_key_was_made_from(topic):
    """A reaction or a renamed category between reading the key and loading the comments must
    not be rendered under the older key: that key comes back when the change is undone."""
    comment = post(topic.discussion, "Trees please", category="idea")
    feedback = page_feedback(page=topic)
    reaction_set(comment=comment, participant=Participant(user=None, key="a:v"), value="agree")
    services.discussion_set_categories(
        discussion=topic.discussion, categories=[CategorySpec(slug="idea", label="Suggestion")]
    )
    [node] = feedback.threads
    assert (node.comment.agree_count, node.comment.disagree_count) == (0, 0)
    assert node.comment.category.label == "Idea"

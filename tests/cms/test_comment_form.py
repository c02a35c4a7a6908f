"""The feedback section's plain HTML form posts a comment without JavaScript: stored through
engage, redirected back to the comment (PRG), or the page again with each error by its field."""

from __future__ import annotations

import json
import re

import pytest
from django.core.cache import cache
from django.test import Client

from engage.models import Comment, Discussion

pytestmark = pytest.mark.django_db

INSIDE = {"type": "Point", "coordinates": [-104.95, 39.75]}
OUTSIDE = {"type": "Point", "coordinates": [-100.0, 39.75]}


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def form_url(page) -> str:
    return f"/pages/{page.pk}/comments/"


def send(client, page, **data):
    data.setdefault("body", "More trees along Colfax, please.")
    data.setdefault("display_name", "Sam")
    data.setdefault("website", "")
    return client.post(form_url(page), data)


def error_next_to(html: str, field_id: str) -> str:
    match = re.search(rf'<p class="field-error" id="{field_id}-error">(.*?)</p>', html, re.S)
    assert match, f"no error shown for {field_id}"
    return match.group(1)


def test_the_form_names_its_fields_like_the_api(client, topic):
    html = client.get(topic.url).content.decode()
    form = re.search(r'<form class="comment-form".*?</form>', html, re.S).group(0)
    assert f'action="/pages/{topic.pk}/comments/"' in form
    names = set(re.findall(r'name="([a-z_]+)"', form))
    assert names == {
        "csrfmiddlewaretoken",
        "body",
        "category",
        "display_name",
        "geometry",
        "website",
    }


def test_an_anonymous_resident_posts_and_is_sent_back_to_the_comment(client, topic):
    response = send(client, topic, category="idea")
    comment = Comment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/topics/mobility/#comment-{comment.pk}"
    assert (comment.display_name, comment.category.slug) == ("Sam", "idea")
    assert comment.author is None and comment.ip_hash
    page = client.get(response["Location"]).content.decode()
    assert "Thank you, your comment is published." in page
    assert "More trees along Colfax, please." in page


def test_a_signed_in_resident_posts_under_their_own_name(client, topic, resident):
    resident.first_name, resident.last_name = "Rita", "Resident"
    resident.save()
    client.force_login(resident)
    html = client.get(topic.url).content.decode()
    assert 'name="display_name"' not in html
    assert 'data-signed-in="true"' in html
    send(client, topic, display_name="")
    comment = Comment.objects.get()
    assert comment.author == resident and comment.display_name == "Rita Resident"


def test_the_form_checks_the_csrf_token(topic):
    client = Client(enforce_csrf_checks=True)
    assert send(client, topic).status_code == 403
    assert not Comment.objects.exists()


def test_a_pinned_comment_from_the_map_script_is_stored_with_its_geometry(client, topic):
    from tests.cms.conftest import SQUARE

    topic.plan_area = json.dumps(SQUARE)
    topic.save_revision().publish()
    assert send(client, topic, geometry=json.dumps(INSIDE)).status_code == 302
    assert Comment.objects.get().geometry.coords == (-104.95, 39.75)


def test_a_reply_goes_under_its_parent(client, topic):
    send(client, topic, body="First")
    parent = Comment.objects.get()
    html = client.get(f"{topic.url}?reply_to={parent.pk}").content.decode()
    assert f'<input type="hidden" name="parent" value="{parent.pk}">' in html
    assert send(client, topic, body="A reply", parent=str(parent.pk)).status_code == 302
    assert Comment.objects.get(body="A reply").parent == parent


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"body": "   "}, "body", "Must not be empty."),
        ({"body": "x" * 5001}, "body", "at most 5000 characters"),
        ({"display_name": ""}, "display-name", "A name to show is required"),
        ({"category": "rant"}, "category", "Unknown category"),
        ({"parent": "999999"}, "parent", "No such comment"),
        ({"parent": "abc"}, "parent", "No such comment"),
        ({"geometry": "{nope"}, "geometry", "not valid GeoJSON"),
        ({"geometry": json.dumps(OUTSIDE)}, "geometry", "plan area"),
        ({"geometry": json.dumps({"type": "GeometryCollection", "geometries": []})},
         "geometry", ""),
    ],
    ids=["empty body", "long body", "no name", "unknown category", "unknown parent",
         "parent not a number", "geometry not json", "outside the plan area",
         "geometry collection"],
)  # fmt: skip
def test_each_error_is_shown_next_to_its_field_and_nothing_is_stored(
    client, topic, data, field, message
):
    from tests.cms.conftest import SQUARE

    topic.plan_area = json.dumps(SQUARE)
    topic.save_revision().publish()
    response = send(client, topic, **data)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in error_next_to(html, field)
    assert 'aria-invalid="true"' in html or field in ("parent", "geometry")
    assert not Comment.objects.exists()


def test_what_was_typed_is_kept_when_the_form_comes_back(client, topic):
    html = send(client, topic, body="Keep <this> text", display_name="").content.decode()
    assert ">Keep &lt;this&gt; text</textarea>" in html


def test_a_filled_honeypot_is_refused_and_nothing_is_stored(client, topic):
    response = send(client, topic, website="http://spam.example")
    assert response.status_code == 400
    assert "must be left empty" in response.content.decode()
    assert not Comment.objects.exists()


def test_anonymous_posting_where_signing_in_is_required_is_refused(client, topic):
    topic.allow_anonymous = False
    topic.save_revision().publish()
    html = client.get(topic.url).content.decode()
    assert '<form class="comment-form"' not in html
    assert "Sign in to comment." in html
    response = send(client, topic)
    assert response.status_code == 403
    assert "Sign in to post" in response.content.decode()
    assert not Comment.objects.exists()


def test_a_flood_of_posts_is_rate_limited(client, topic):
    for n in range(5):
        assert send(client, topic, body=f"Comment {n}").status_code == 302
    response = send(client, topic, body="One too many")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many requests" in response.content.decode()
    assert Comment.objects.count() == 5


def test_markup_posted_through_the_form_is_rendered_inert(client, topic):
    send(client, topic, body="<script>alert(1)</script>", display_name="<b onmouseover=x>Eve</b>")
    html = client.get(topic.url).content.decode()
    assert "<script>alert(1)" not in html and "<b onmouseover" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b onmouseover=x&gt;Eve&lt;/b&gt;" in html


def test_in_a_pre_moderated_discussion_the_comment_waits_and_says_so(client, topic):
    topic.moderation = "pre"
    topic.save_revision().publish()
    response = send(client, topic, body="Please check me")
    assert response["Location"] == "/topics/mobility/#feedback-map"
    html = client.get(response["Location"]).content.decode()
    assert "once a moderator has read it" in html
    assert "Please check me" not in html
    assert Comment.objects.get().status == Comment.Status.PENDING


def test_posting_to_an_unpublished_page_is_404(client, topic):
    topic.unpublish()
    assert send(client, topic).status_code == 404
    assert not Comment.objects.exists()


def test_posting_to_a_page_without_a_discussion_is_404(client, topic_index, home):
    assert send(client, topic_index).status_code == 404
    assert send(client, home).status_code == 404


def test_posting_to_a_page_whose_discussion_was_unpublished_is_404(client, topic):
    Discussion.objects.filter(pk=topic.discussion_id).update(is_published=False)
    assert send(client, topic).status_code == 404


def test_the_form_refuses_get(client, topic):
    assert client.get(form_url(topic)).status_code == 405


def test_after_posting_on_a_long_thread_the_resident_lands_on_the_page_holding_the_comment(
    client, topic
):
    from cms.selectors import THREADS_PER_PAGE
    from engage.rules import Participant
    from engage.services import comment_create

    for n in range(THREADS_PER_PAGE + 1):
        comment_create(
            discussion=topic.discussion,
            participant=Participant(user=None, key="a:t"),
            body=f"Comment {n}",
            display_name="Ana",
        )
    response = send(client, topic, body="Newest")
    newest = Comment.objects.get(body="Newest")
    assert response["Location"] == f"/topics/mobility/?comments_page=2#comment-{newest.pk}"
    first = Comment.objects.get(body="Comment 0")
    response = send(client, topic, body="Reply to the first", parent=str(first.pk))
    reply = Comment.objects.get(body="Reply to the first")
    assert response["Location"] == f"/topics/mobility/#comment-{reply.pk}"


def test_a_large_pinned_shape_is_not_cut_short_by_the_form(client, topic):
    ring = [[-104.99 + 0.00001 * i, 39.74] for i in range(600)]
    ring += [[-104.97, 39.76], ring[0]]
    shape = json.dumps({"type": "Polygon", "coordinates": [ring]})
    assert len(shape) > 6000
    assert send(client, topic, geometry=shape).status_code == 302

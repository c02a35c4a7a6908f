"""Poll block: one vote per session or account, stored with its label, exported by staff."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.contrib.auth.models import Permission

from cms.models import PlanningTopicPage, PollVote
from cms.services import PollError, poll_vote_cast
from tests.cms.conftest import publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def poll_page(topic_index) -> PlanningTopicPage:
    return publish(
        topic_index,
        PlanningTopicPage(
            title="Poll",
            slug="poll",
            body=[
                (
                    "poll",
                    {
                        "question": "Bus or bike?",
                        "answers": ['=HYPERLINK("http://x")', "Bike"],
                        "show_results": True,
                    },
                )
            ],
        ),
    )


def poll_ids(page) -> tuple[str, list[str]]:
    block = page.body[0]
    return block.id, [answer.id for answer in block.value["answers"].bound_blocks]


def vote(client, page, block_id: str, answer_id: str):
    return client.post(f"/polls/{page.pk}/{block_id}/vote/", {"answer": answer_id})


def test_an_anonymous_resident_votes_once_and_then_sees_the_results(client, poll_page):
    block_id, answers = poll_ids(poll_page)
    response = vote(client, poll_page, block_id, answers[1])
    assert response.status_code == 302
    assert response["Location"] == f"/topics/poll/#poll-{block_id}"
    assert vote(client, poll_page, block_id, answers[0]).status_code == 302
    assert PollVote.objects.count() == 1
    saved = PollVote.objects.get()
    assert (saved.answer_label, saved.question, saved.user) == ("Bike", "Bus or bike?", None)
    page = client.get("/topics/poll/").content.decode()
    assert "You have already answered this poll." in page
    assert "Bike: 1 vote (your answer)" in page
    assert '<form method="post" action="/polls/' not in page


def test_another_session_can_vote_too(client, django_user_model, poll_page):
    from django.test import Client

    block_id, answers = poll_ids(poll_page)
    vote(client, poll_page, block_id, answers[1])
    vote(Client(), poll_page, block_id, answers[1])
    assert PollVote.objects.count() == 2


def test_a_signed_in_resident_votes_once_per_account(client, resident, poll_page):
    from django.test import Client

    block_id, answers = poll_ids(poll_page)
    client.force_login(resident)
    vote(client, poll_page, block_id, answers[0])
    other_browser = Client()
    other_browser.force_login(resident)
    vote(other_browser, poll_page, block_id, answers[1])
    assert list(PollVote.objects.values_list("user", flat=True)) == [resident.pk]


def test_the_database_refuses_a_second_vote_from_the_same_session(poll_page, resident):
    from django.contrib.auth.models import AnonymousUser

    block_id, answers = poll_ids(poll_page)
    poll_vote_cast(
        page=poll_page,
        block_id=block_id,
        answer_id=answers[0],
        user=AnonymousUser(),
        session_key="abc",
    )
    with pytest.raises(PollError):
        poll_vote_cast(
            page=poll_page,
            block_id=block_id,
            answer_id=answers[1],
            user=AnonymousUser(),
            session_key="abc",
        )


@pytest.mark.parametrize("answer", ["", "not-an-answer", "<svg onload=alert(1)>"])
def test_an_unknown_answer_is_refused_and_nothing_stored(client, poll_page, answer):
    block_id, _answers = poll_ids(poll_page)
    response = vote(client, poll_page, block_id, answer)
    assert response.status_code == 302
    assert PollVote.objects.count() == 0
    assert "Choose one of the answers." in client.get("/topics/poll/").content.decode()


def test_an_unknown_poll_or_page_is_refused(client, poll_page):
    _block_id, answers = poll_ids(poll_page)
    vote(client, poll_page, "no-such-block", answers[0])
    assert PollVote.objects.count() == 0
    assert client.post("/polls/999999/x/vote/", {"answer": answers[0]}).status_code == 404


def test_a_poll_on_an_unpublished_page_cannot_be_answered(client, poll_page):
    block_id, answers = poll_ids(poll_page)
    poll_page.unpublish()
    assert vote(client, poll_page, block_id, answers[0]).status_code == 404
    assert PollVote.objects.count() == 0


def test_voting_needs_a_post_with_a_csrf_token(poll_page):
    from django.test import Client

    block_id, answers = poll_ids(poll_page)
    strict = Client(enforce_csrf_checks=True)
    assert strict.get(f"/polls/{poll_page.pk}/{block_id}/vote/").status_code == 405
    assert (
        strict.post(f"/polls/{poll_page.pk}/{block_id}/vote/", {"answer": answers[0]}).status_code
        == 403
    )


def test_staff_export_votes_as_csv_with_formulas_neutralised(client, superuser, poll_page):
    block_id, answers = poll_ids(poll_page)
    vote(client, poll_page, block_id, answers[0])
    client.force_login(superuser)
    response = client.get("/admin/poll-votes/export.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["page", "page_url", "poll_id", "question", "answer", "signed_in", "voted_at"]
    assert rows[1][:6] == [
        "Poll",
        "/topics/poll/",
        block_id,
        "Bus or bike?",
        '\'=HYPERLINK("http://x")',
        "no",
    ]
    listing = client.get("/admin/poll-votes/").content.decode()
    assert "Bus or bike?" in listing and re.search(r"<td>1</td>", listing)


def test_residents_and_planners_without_the_permission_cannot_export(client, resident, planner):
    # Wagtail answers a refused admin view with a redirect to the dashboard (or the login page).
    for user in (resident, planner):
        client.force_login(user)
        response = client.get("/admin/poll-votes/export.csv")
        assert response.status_code == 302
        assert not response.get("Content-Type", "").startswith("text/csv")
        assert client.get("/admin/poll-votes/").status_code == 302


def test_a_reviewer_may_export(client, reviewer):
    assert reviewer.has_perm("cms.view_pollvote")
    client.force_login(reviewer)
    assert client.get("/admin/poll-votes/export.csv").status_code == 200


def test_anonymous_export_is_refused(client):
    response = client.get("/admin/poll-votes/export.csv")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert Permission.objects.filter(codename="view_pollvote").exists()

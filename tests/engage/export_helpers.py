"""Shared set-up for the export tests: a discussion with pinned, replied, reacted, flagged and
hidden feedback, including a formula-looking body."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from django.contrib.auth.models import Permission
from django.test import Client

from engage import services
from engage.models import Comment
from engage.rules import Participant
from tests.engage.conftest import INSIDE, make_moderator, open_discussion, post_comment

FORMULA = '=HYPERLINK("http://evil.example","click")'
POLYGON = {
    "type": "Polygon",
    "coordinates": [
        [[-104.995, 39.735], [-104.985, 39.735], [-104.985, 39.745], [-104.995, 39.745],
         [-104.995, 39.735]]
    ],
}  # fmt: skip


def feedback_discussion():
    """Four comments: a pinned point (zoning C-MX-5 when the land-use map is loaded) with two
    agrees and a flag; a reply whose body is a formula; a polygon; and a hidden one."""
    discussion = open_discussion(title="River corridor")
    signed_in = make_moderator("writer")
    signed_in.email = "writer@example.org"
    signed_in.save()
    author = Client()
    author.force_login(signed_in)
    point = post_comment(
        Client(), discussion, body="Trees here", category="idea",
        geometry={"type": "Point", "coordinates": INSIDE},
    ).json()  # fmt: skip
    reply = post_comment(author, discussion, body=FORMULA, parent=point["id"]).json()
    area = post_comment(Client(), discussion, body="-1 for parking", geometry=POLYGON).json()
    hidden = post_comment(Client(), discussion, body="@everyone buy now\x07").json()
    first = Comment.objects.get(pk=point["id"])
    for n in range(2):
        services.reaction_set(
            comment=first, participant=Participant(user=None, key=f"a:{n}"), value="agree"
        )
    services.flag_create(
        comment=first, participant=Participant(user=None, key="a:f"), reason="spam"
    )
    moderator = Participant(user=signed_in, key=f"u:{signed_in.pk}")
    services.comment_hide(
        comment=Comment.objects.get(pk=hidden["id"]), actor=moderator, reason="Spam"
    )
    ids = {"point": point["id"], "reply": reply["id"], "area": area["id"], "hidden": hidden["id"]}
    return discussion, ids


def export_url(discussion, fmt: str, query: str = "") -> str:
    return f"/api/engage/discussions/{discussion.pk}/export.{fmt}" + (f"?{query}" if query else "")


def content_of(response) -> bytes:
    """The whole body; an async streaming body is read the way an ASGI server reads it."""
    assert response.status_code == 200, response.content if not response.streaming else ""
    if not response.is_async:
        return b"".join(response.streaming_content)

    async def collect() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    return async_to_sync(collect)()


def grant_personal_data(user) -> None:
    user.user_permissions.add(Permission.objects.get(codename="export_personal_data"))

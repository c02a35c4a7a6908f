"""Shared set-up for the export tests: a discussion with pinned, replied, reacted, flagged and
hidden feedback, including a formula-looking body."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import Permission
from django.test import Client

from engage import services
from engage.models import Comment
from engage.rules import Participant
from tests.engage.conftest import INSIDE, make_moderator, open_discussion, post_comment

# For the GeoPackage GDAL writes from the database: a title and a body that would break out of
# a quoted literal, or be read as a placeholder.
TITLE = "O'Brien's \"plan\"; 50%s %% off');\nDROP TABLE engage_comment; --"
BODY = "She said \"no\", twice,\nthen: 'quiet' — café, 100% %s"
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


def layer_of(path: str) -> dict:
    """A GeoPackage as plain data: the table's columns and declared types, its SRS and
    geometry type, every row by fid, the geometry as GDAL reads it ("shapes") and as stored
    ("blobs": GeoPackage binary, envelope included)."""
    from django.contrib.gis.gdal import DataSource

    with closing(sqlite3.connect(path)) as gpkg:
        columns = gpkg.execute("PRAGMA table_info(feedback)").fetchall()
        geometry = gpkg.execute(
            "SELECT column_name, geometry_type_name, srs_id FROM gpkg_geometry_columns"
        ).fetchall()
        names = [c[1] for c in columns if c[1] != "geom"]
        listed = ", ".join(names)  # the layer's own column names
        rows = gpkg.execute(f"SELECT {listed} FROM feedback ORDER BY fid").fetchall()  # noqa: S608
        blobs = [row[0] for row in gpkg.execute("SELECT geom FROM feedback ORDER BY fid")]
    shapes = [f.geom.coords if f.geom_type.num else None for f in DataSource(path)["feedback"]]
    return {
        "columns": [(c[1], c[2]) for c in columns],
        "geometry": geometry,
        "rows": rows,
        "shapes": shapes,
        "blobs": blobs,
    }


def assert_same_shapes(left: list, right: list) -> None:
    # SpatiaLite's AsText (the pipe) keeps 6 decimals; the direct path keeps every digit.
    # (PostGIS's ST_AsText keeps every digit: there the stored blobs are compared.)
    assert len(left) == len(right)
    for one, other in zip(left, right, strict=True):
        assert (one is None) == (other is None)
        if one is not None:
            assert list(_flatten(one)) == pytest.approx(list(_flatten(other)), abs=1e-6)


def _flatten(coords):
    for item in coords:
        if isinstance(item, tuple | list):
            yield from _flatten(item)
        else:
            yield item


def moderated_back_and_forth(ids: dict, *, moderator_last_name: str, reason: str):
    """A disagree and a dismissed flag (counted, no longer open) on the area; the hidden comment
    restored and hidden again, by a moderator whose name would break out of a quoted literal:
    what the counts and the last moderation decision of an export are made of. Returns the
    moderator."""
    staff = make_moderator("quoted")
    staff.first_name, staff.last_name = TITLE[:30], moderator_last_name
    staff.save()
    moderator = Participant(user=staff, key=f"u:{staff.pk}")
    area = Comment.objects.get(pk=ids["area"])
    services.reaction_set(
        comment=area, participant=Participant(user=None, key="d:1"), value="disagree"
    )
    services.flag_create(comment=area, participant=Participant(user=None, key="d:f"), reason="spam")
    services.flags_dismiss(comment=area, actor=moderator)
    hidden = services.comment_restore(
        comment=Comment.objects.get(pk=ids["hidden"]), actor=moderator
    )
    services.comment_hide(comment=hidden, actor=moderator, reason=reason)
    return staff

"""Demo discussions with feedback categories and a few seeded comments (idempotent: a
discussion is found by its title and left as it is; comments are seeded only once).

Two accept anonymous posting with a display name, one requires signing in. They are published
so the API and the live thread work at once; the CMS attaches them to pages later and then
sets ``page_url`` through ``discussion_set_publication``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.contrib.gis.geos import Polygon

from engage.models import Discussion
from engage.rules import Participant
from engage.services import CategorySpec, comment_create, discussion_create

Log = Callable[[str], None]

CITY = Polygon.from_bbox((-105.11, 39.61, -104.60, 39.91))
CATEGORIES = [
    CategorySpec("idea", "Idea", "#2ca02c", "lightbulb"),
    CategorySpec("concern", "Concern", "#d62728", "warning"),
    CategorySpec("question", "Question", "#1f77b4", "help"),
    CategorySpec("support", "Support", "#9467bd", "thumbs-up"),
]

DEMO = [
    {
        "title": "Downtown Area Plan: draft for comment",
        "allow_anonymous": True,
        "comments": [
            ("Maya", "More shade trees along 16th Street, please.", "idea", [-104.9903, 39.7475]),
            ("Jordan", "Traffic on Colfax is already heavy at rush hour.", "concern", None),
            ("Lee", "Will the new towers keep the mountain views?", "question", [-104.995, 39.75]),
        ],
    },
    {
        "title": "Neighbourhood parks and trails",
        "allow_anonymous": True,
        "comments": [
            (
                "Ari",
                "A protected bike lane along the creek would link both parks.",
                "idea",
                [[-104.985, 39.735], [-104.975, 39.728]],
            ),  # fmt: skip
            ("Sam", "Love the new playground plans!", "support", None),
        ],
    },
    {
        "title": "Housing strategy (residents signed in)",
        "allow_anonymous": False,
        "comments": [],
    },
]


def _geometry(coordinates) -> dict | None:
    if coordinates is None:
        return None
    if isinstance(coordinates[0], list):
        return {"type": "LineString", "coordinates": coordinates}
    return {"type": "Point", "coordinates": coordinates}


def ensure_demo_discussions(log: Log) -> list[Discussion]:
    discussions = []
    for spec in DEMO:
        discussion = Discussion.objects.filter(title=spec["title"]).first()
        if discussion is not None:
            log(f"kept discussion {discussion.title!r}")
            discussions.append(discussion)
            continue
        discussion = discussion_create(
            title=spec["title"],
            is_published=True,
            allow_anonymous=spec["allow_anonymous"],
            plan_area=CITY,
            edit_window=timedelta(minutes=15),
            categories=CATEGORIES,
        )
        for name, body, category, coordinates in spec["comments"]:
            comment_create(
                discussion=discussion,
                participant=Participant(user=None, key="a:demo"),
                body=body,
                display_name=name,
                category=category,
                geometry=_geometry(coordinates),
            )
        log(f"created discussion {discussion.title!r} with {len(spec['comments'])} comments")
        discussions.append(discussion)
    return discussions

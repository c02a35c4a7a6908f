"""Seeded feedback for the discussions of the demo topics and plan.

The discussions themselves belong to the pages (``geo_fixtures/demo_pages.py`` sets each page's
comment period, plan area and anonymous posting, and publishing the page creates its
discussion). This step only seeds realistic comments, replies, pinned feedback and reactions,
once per discussion: a discussion that already has comments is left as it is, so ``load_demo``
can run on every start. Pins are placed at fractions of the discussion's plan area, which is the
sample city's extent (from its layers) or a district of it, so they always fall inside.

It also removes the standalone demo discussions an earlier version of the demo created before
discussions were attached to pages (found by title, and only when no page points at them).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.gis.db.models import Extent
from django.contrib.gis.geos import Polygon
from django.db.models import Q
from django.utils import timezone

from cms.models import DraftPlanPage, PlanningTopicPage
from engage.models import Comment, Discussion
from engage.rules import Participant
from engage.services import comment_create, reaction_set
from landuse.models import Feature

Log = Callable[[str], None]

# The sample city's extent as generated (geo_fixtures/generate_sample_city.py: WEST, SOUTH and
# 72 x 56 cells); used when the layers have not been imported.
SAMPLE_CITY_BOUNDS = (-105.06, 39.66, -104.88, 39.772)

# Titles of the standalone discussions of the previous demo.
STANDALONE_TITLES = [
    "Downtown Area Plan: draft for comment",
    "Neighbourhood parks and trails",
    "Housing strategy (residents signed in)",
]

# Residents who sign in (the parks topic requires it); no password: they exist to be shown.
DEMO_RESIDENTS = [
    ("demo-priya", "Priya", "Natarajan"),
    ("demo-tom", "Tom", "Okafor"),
    ("demo-lucia", "Lucía", "Herrera"),
]

# page slug -> comments: (author, body, category, pin, replies). ``author`` is a display name
# (anonymous) or a DEMO_RESIDENTS username (signed in). ``pin`` is None, a point (x, y) or a
# line [(x, y), …] as fractions of the plan area's bounding box, so pins land inside it.
SEED: dict[str, list] = {
    "land-use": [
        (
            "Maya",
            "More homes near the light rail makes sense, but please keep the corner shops on "
            "Federal. They are why people walk here.",
            "support",
            (0.32, 0.58),
            [("Jordan", "Agreed. Mixed use on the ground floor would keep them.", None)],
        ),
        (
            "Dev",
            "This block is shown as Community Center in the future land use map. What height "
            "does that allow?",
            "question",
            (0.55, 0.62),
            [
                (
                    "Noor",
                    "The draft says up to five storeys along the corridor, stepping down to "
                    "three next to houses. Rezoning would come later, with its own hearing.",
                    None,
                )
            ],
        ),  # fmt: skip
        (
            "Rosa",
            "The industrial land by the river floods every spring. Please don't put homes there.",
            "concern",
            (0.48, 0.35),
            [],
        ),
        (
            "Kai",
            "Allow accessory dwelling units everywhere, not only near transit. See "
            "https://www.denvergov.org/ for how the city did it.",
            "idea",
            None,
            [],
        ),
    ],
    "mobility": [
        (
            "Ari",
            "A protected bike lane along the creek would link both parks and the school.",
            "idea",
            [(0.30, 0.40), (0.42, 0.47), (0.55, 0.50)],
            [("Sam", "Yes! My kids could ride to school.", "support")],
        ),
        (
            "Jordan",
            "This crossing is dangerous at school time: cars turn right without looking.",
            "concern",
            (0.62, 0.71),
            [],
        ),
        (
            "Chen",
            "Buses every ten minutes on Colfax would get me out of my car.",
            "support",
            None,
            [],
        ),
        (
            "Lee",
            "Will bus priority lanes remove parking in front of the shops?",
            "question",
            (0.51, 0.66),
            [],
        ),
    ],
    "parks": [
        (
            "demo-priya",
            "The empty lot behind the library would make a great pocket park.",
            "idea",
            (0.44, 0.52),
            [
                (
                    "demo-tom",
                    "And a community garden: there is a waiting list of 60 families.",
                    "support",
                )
            ],
        ),  # fmt: skip
        (
            "demo-lucia",
            "Our neighbourhood has no park within a ten-minute walk. Please prioritise the "
            "south-west.",
            "concern",
            (0.18, 0.22),
            [],
        ),
    ],
    "comprehensive-plan-2040": [
        (
            "Maya",
            "More shade trees along 16th Street, please.",
            "idea",
            (0.55, 0.60),
            [],
        ),
        (
            "Jordan",
            "Traffic on Colfax is already heavy at rush hour. How does the plan handle it?",
            "question",
            (0.35, 0.45),
            [
                (
                    "Lee",
                    "Chapter 2 moves growth next to the new bus lines, if I read it right.",
                    None,
                )
            ],
        ),  # fmt: skip
        (
            "Sam",
            "Will the new towers keep the mountain views from the park?",
            "concern",
            (0.70, 0.72),
            [],
        ),
        (
            "Rosa",
            "Great to see the river trail finished in the plan. Fully support.",
            "support",
            None,
            [],
        ),
    ],
}

# Agree/disagree counts of the first few top-level comments of each discussion.
REACTIONS = [(5, 1), (3, 0), (2, 2)]


def sample_city_boundary() -> Polygon:
    """The sample city's outline: the extent of its zoning layer (every block is in it)."""
    extent = Feature.objects.filter(layer__slug="zoning").aggregate(box=Extent("geometry"))["box"]
    boundary = Polygon.from_bbox(extent or SAMPLE_CITY_BOUNDS)
    boundary.srid = 4326
    return boundary


def _pin(discussion: Discussion, pin) -> dict | None:
    if pin is None:
        return None
    area = discussion.plan_area or sample_city_boundary()
    west, south, east, north = area.extent

    def at(fx: float, fy: float) -> list[float]:
        return [round(west + fx * (east - west), 6), round(south + fy * (north - south), 6)]

    if isinstance(pin, list):
        return {"type": "LineString", "coordinates": [at(*point) for point in pin]}
    return {"type": "Point", "coordinates": at(*pin)}


def _residents() -> dict:
    users = {}
    for username, first, last in DEMO_RESIDENTS:
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"first_name": first, "last_name": last}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        users[username] = user
    return users


def _participant(author: str, residents: dict) -> tuple[Participant, str | None]:
    user = residents.get(author)
    if user is not None:
        return Participant(user=user, key=f"u:{user.pk}"), None
    return Participant(user=None, key=f"a:demo-{author}"), author


def _post(discussion, author, body, category, pin, parent, residents) -> Comment:
    participant, name = _participant(author, residents)
    comment, _token = comment_create(
        discussion=discussion,
        participant=participant,
        body=body,
        display_name=name,
        parent_id=parent.pk if parent else None,
        category=category,
        geometry=_pin(discussion, pin),
    )
    return comment


def _seed(discussion: Discussion, comments: list, residents: dict) -> int:
    count = 0
    # Spread the seeded comments over the last days, as a real thread would be.
    start = timezone.now() - timedelta(days=len(comments) + 2)
    for index, (author, body, category, pin, replies) in enumerate(comments):
        comment = _post(discussion, author, body, category, pin, None, residents)
        Comment.objects.filter(pk=comment.pk).update(created_at=start + timedelta(days=index))
        count += 1
        for reply_index, (reply_author, reply_body, reply_category) in enumerate(replies):
            reply = _post(discussion, reply_author, reply_body, reply_category, None, comment,
                          residents)  # fmt: skip
            Comment.objects.filter(pk=reply.pk).update(
                created_at=start + timedelta(days=index, hours=3 + reply_index)
            )
            count += 1
        if index < len(REACTIONS):
            agree, disagree = REACTIONS[index]
            for n in range(agree + disagree):
                reaction_set(
                    comment=comment,
                    participant=Participant(user=None, key=f"a:demo-reader-{n}"),
                    value="agree" if n < agree else "disagree",
                )
    return count


def remove_standalone_demo_discussions(log: Log) -> None:
    attached = Q(pk__in=PlanningTopicPage.objects.values("discussion_id")) | Q(
        pk__in=DraftPlanPage.objects.values("discussion_id")
    )
    stale = Discussion.objects.filter(title__in=STANDALONE_TITLES).exclude(attached)
    for discussion in stale:
        log(f"removed the standalone demo discussion {discussion.title!r}")
    stale.delete()


def ensure_demo_discussions(log: Log) -> list[Discussion]:
    """Seed the discussion of each demo page that has one and no comments yet."""
    remove_standalone_demo_discussions(log)
    residents = _residents()
    seeded = []
    pages = [*PlanningTopicPage.objects.live(), *DraftPlanPage.objects.live()]
    for page in pages:
        comments = SEED.get(page.slug)
        discussion = page.discussion
        if comments is None or discussion is None:
            continue
        if discussion.comments.exists():
            log(f"kept the comments of {page.title!r}")
            continue
        count = _seed(discussion, comments, residents)
        log(f"seeded {count} comments on {page.title!r}")
        seeded.append(discussion)
    return seeded

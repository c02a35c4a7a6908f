"""Demo pages: the home page's content, a topic index, planning topics and a draft plan with
chapters, each with maps of the sample city's layers; the Planner/Reviewer groups and the
review workflow. Idempotent: pages are found by slug under their parent and left as they are
(an editor may have changed them), missing ones are created and published.

Each topic and the plan has a discussion (created by publishing the page): a comment period
that opened two weeks before the first load and closes three months after it, the sample city's
extent as plan area (the plan: its downtown district), anonymous posting with a display name,
except the parks topic, which requires signing in. A page from an earlier demo that has no
discussion yet gets these settings and is published once more."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from decimal import Decimal

from django.utils import timezone
from wagtail.models import Page
from wagtail.rich_text import RichText

from cms.models import (
    DraftPlanChapterPage,
    DraftPlanPage,
    HomePage,
    HomePageFeaturedTopic,
    PlanningTopicPage,
    TopicIndexPage,
)
from cms.services import editorial_setup_ensure
from geo_fixtures.demo_discussions import sample_city_boundary
from landuse.models import Layer

Log = Callable[[str], None]

# The layers the landuse demo step imports; created here by slug only when that step has not run
# yet, so map blocks can point at them (the import fills in the rest).
DEMO_LAYERS = {
    "zoning": ("Zoning", Layer.Kind.ZONING),
    "future-land-use": ("Future land use", Layer.Kind.FUTURE_LAND_USE),
}
CITY_CENTRE = (Decimal("39.740000"), Decimal("-104.990000"))
# Downtown and its edges: the draft plan's study area.
PLAN_AREA = {
    "type": "Polygon",
    "coordinates": [
        [
            [-105.02, 39.72],
            [-104.96, 39.72],
            [-104.96, 39.76],
            [-105.02, 39.76],
            [-105.02, 39.72],
        ]
    ],
}


def demo_layers() -> list[Layer]:
    layers = []
    for slug, (title, kind) in DEMO_LAYERS.items():
        layer, _created = Layer.objects.get_or_create(
            slug=slug, defaults={"title": title, "kind": kind}
        )
        layers.append(layer)
    return layers


def map_block(layers: list[Layer], title: str, *, zoom: int = 12, plan_area: bool = False):
    return (
        "map",
        {
            "title": title,
            "layers": layers,
            "centre_latitude": CITY_CENTRE[0],
            "centre_longitude": CITY_CENTRE[1],
            "zoom": zoom,
            "plan_area": json.dumps(PLAN_AREA) if plan_area else "",
        },
    )


def text_block(html: str):
    return ("text", RichText(html))


def cta_block(heading: str, text: str):
    return (
        "call_to_action",
        {
            "heading": heading,
            "text": text,
            "button_label": "Give your feedback on the map",
            "anchor": "feedback-map",
        },
    )


def timeline_block():
    return (
        "timeline",
        {
            "heading": "How the plan comes together",
            "phases": [
                {
                    "title": "Listening",
                    "starts_on": datetime.date(2026, 3, 1),
                    "ends_on": datetime.date(2026, 6, 30),
                    "description": "Workshops and the online survey.",
                },
                {
                    "title": "Draft plan and public review",
                    "starts_on": datetime.date(2026, 10, 1),
                    "ends_on": datetime.date(2027, 1, 31),
                    "description": "Read the draft and comment on the map.",
                },
                {
                    "title": "Adoption hearings",
                    "starts_on": datetime.date(2027, 3, 1),
                    "ends_on": None,
                    "description": "Planning Board and City Council.",
                },
            ],
        },
    )


def poll_block(question: str, answers: list[str]):
    return (
        "poll",
        {"question": question, "answers": answers, "show_results": True},
    )


def _child(parent: Page, model: type[Page], slug: str, **fields) -> tuple[Page, bool]:
    existing = model.objects.child_of(parent).filter(slug=slug).first()
    if existing is not None:
        return existing, False
    page = parent.add_child(instance=model(slug=slug, **fields))
    page.save_revision().publish()
    return page, True


def discussion_settings(*, allow_anonymous: bool = True, plan_area: dict | None = None) -> dict:
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    area = plan_area or json.loads(sample_city_boundary().json)
    return {
        "comments_open_at": now - datetime.timedelta(days=14),
        "comments_close_at": now + datetime.timedelta(days=90),
        "moderation": "post",
        "allow_anonymous": allow_anonymous,
        "plan_area": json.dumps(area),
    }


def _ensure_discussion(log: Log, page: Page, settings: dict) -> None:
    """A live demo page from before discussions existed gets the demo settings, published."""
    page.refresh_from_db(fields=["discussion", "live"])
    if page.discussion_id is not None or not page.live:
        return
    for name, value in settings.items():
        setattr(page, name, value)
    page.save_revision().publish()
    log(f"attached a discussion to {page.title!r}")


def ensure_demo_pages(log: Log, *, home: HomePage) -> None:
    zoning, future = demo_layers()

    if not home.search_description:
        home.search_description = (
            "Read the city's planning topics and draft plans, explore the maps and comment."
        )
        home.save_revision().publish()

    index, created = _child(
        home,
        TopicIndexPage,
        "topics",
        title="Planning topics",
        show_in_menus=True,
        intro="<p>What the city is planning, topic by topic.</p>",
        search_description="Every planning topic open for discussion.",
    )
    if created:
        log("created the topic index")

    topics_spec = [
        (
            "land-use",
            "Land use",
            "Where homes, shops and jobs may go, and how tall and dense buildings may be.",
            [
                text_block(
                    "<p>The land-use map says what each part of the city is for. The draft "
                    "proposes more homes near frequent transit and keeps industrial land for "
                    "jobs.</p>"
                ),
                map_block([zoning, future], "Zoning today and future land use"),
                timeline_block(),
                cta_block("Tell us what you think", "Drop a pin where a change matters to you."),
            ],
        ),
        (
            "mobility",
            "Mobility",
            "Safer streets, frequent buses and connected bike routes.",
            [
                text_block(
                    "<p>Half of trips in the city are shorter than three miles. The mobility "
                    "topic asks which streets should get protected bike lanes and bus "
                    "priority first.</p>"
                ),
                map_block([future], "Future land use along the transit corridors", zoom=13),
                poll_block(
                    "Which improvement should come first?",
                    ["Frequent buses", "Protected bike lanes", "Safer crossings"],
                ),
                cta_block("Mark a dangerous crossing", "Pin it on the map and describe it."),
            ],
        ),
        (
            "parks",
            "Parks and open space",
            "A park within a ten-minute walk of every home.",
            [
                text_block(
                    "<p>Some neighbourhoods have no park within walking distance. The draft "
                    "names places for new parks and green streets.</p>"
                ),
                map_block([zoning], "Zoning around the proposed parks"),
                cta_block("Suggest a place for a park", "Draw the area on the map."),
            ],
        ),
    ]
    topics = []
    for slug, title, summary, body in topics_spec:
        # One discussion requires signing in, to show both kinds (DESIGN.md).
        settings = discussion_settings(allow_anonymous=slug != "parks")
        topic, created = _child(
            index,
            PlanningTopicPage,
            slug,
            title=title,
            summary=summary,
            search_description=summary,
            body=body,
            **settings,
        )
        topics.append(topic)
        if created:
            log(f"created the planning topic {title!r}")
        _ensure_discussion(log, topic, settings)

    for order, topic in enumerate(topics):
        if not HomePageFeaturedTopic.objects.filter(home=home, topic=topic).exists():
            HomePageFeaturedTopic.objects.create(home=home, topic=topic, sort_order=order)

    plan_settings = discussion_settings(plan_area=PLAN_AREA)
    plan, created = _child(
        home,
        DraftPlanPage,
        "comprehensive-plan-2040",
        **plan_settings,
        title="Comprehensive Plan 2040 — public review draft",
        show_in_menus=True,
        status=DraftPlanPage.Status.PUBLIC_REVIEW,
        summary="The city's long-range plan for land use, mobility and parks, open for comment.",
        search_description="Read the draft Comprehensive Plan 2040 and comment on it.",
        body=[
            text_block(
                "<p>This draft brings together what we heard over the last year. Read it "
                "chapter by chapter and tell us what to change before adoption.</p>"
            ),
            map_block([zoning, future], "The plan area", plan_area=True),
            timeline_block(),
        ],
    )
    if created:
        log("created the draft plan")
    _ensure_discussion(log, plan, plan_settings)
    chapters = [
        (
            "vision",
            "1. Vision",
            "An inclusive, connected and healthy city in 2040.",
            [map_block([future], "Future land use in 2040", plan_area=True)],
        ),
        (
            "land-use-and-built-form",
            "2. Land use and built form",
            "Where and how the city grows.",
            [map_block([zoning, future], "Zoning and future land use", zoom=13, plan_area=True)],
        ),
        (
            "parks-and-open-space",
            "3. Parks and open space",
            "New parks and green streets.",
            [map_block([zoning], "Parks in the plan area", plan_area=True)],
        ),
    ]
    for slug, title, summary, body in chapters:
        _chapter, created = _child(
            plan,
            DraftPlanChapterPage,
            slug,
            title=title,
            summary=summary,
            search_description=summary,
            body=[text_block(f"<p>{summary}</p>"), *body],
        )
        if created:
            log(f"created the chapter {title!r}")

    editorial_setup_ensure(root=home)
    log("ensured the Planners and Reviewers groups and the review workflow")

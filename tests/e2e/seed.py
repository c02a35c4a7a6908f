"""A topic page with its own discussion for the browser tests, independent of the demo pages.

Run inside the live server's environment: ``manage.py shell -c "from tests.e2e.seed import
run; run()"``. Prints ``{"url": …, "discussion": …}`` as the last line.
"""

from __future__ import annotations

import json

PLAN_AREA = {
    "type": "Polygon",
    "coordinates": [
        [[-105.11, 39.61], [-104.60, 39.61], [-104.60, 39.91], [-105.11, 39.91], [-105.11, 39.61]]
    ],
}


def run() -> None:
    from cms.models import PlanningTopicPage, TopicIndexPage

    page = PlanningTopicPage.objects.filter(slug="e2e-riverside").first()
    if page is None:
        index = TopicIndexPage.objects.live().first()
        page = PlanningTopicPage(
            title="Riverside corridor",
            slug="e2e-riverside",
            summary="What should change along the river? Tell us on the map.",
            plan_area=json.dumps(PLAN_AREA),
            allow_anonymous=True,
        )
        index.add_child(instance=page)
        page.save_revision().publish()
        page.refresh_from_db()
    print(json.dumps({"url": page.url, "discussion": page.discussion_id}))  # noqa: T201

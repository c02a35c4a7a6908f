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


def hide(body: str) -> None:
    """A moderator hides the comment with this body, through the same service as the staff
    screens (it broadcasts ``comment.updated`` on commit)."""
    from django.contrib.auth import get_user_model

    from engage.models import Comment
    from engage.rules import Participant
    from engage.services import comment_hide

    # Moderating takes the permission, not mere staff status (docs/permissions.md).
    moderator, _ = get_user_model().objects.get_or_create(
        username="e2e-moderator", defaults={"is_staff": True, "is_superuser": True}
    )
    comment = Comment.objects.get(body=body)
    comment_hide(
        comment=comment,
        actor=Participant(user=moderator, key="u:moderator"),
        reason="Advertising",
    )
    print(json.dumps({"hidden": comment.pk}))  # noqa: T201


def post(discussion: int, body: str, name: str) -> None:
    """A comment written while no server is running (no broadcast reaches anyone)."""
    from engage.models import Discussion
    from engage.rules import Participant
    from engage.services import comment_create

    comment_create(
        discussion=Discussion.objects.get(pk=discussion),
        participant=Participant(user=None, key="a:e2e-offline"),
        body=body,
        display_name=name,
    )

"""Writes: casting a poll vote, keeping a page's discussion in step with the page, and the
editorial set-up (groups, permissions, workflow)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib.auth.models import Group, Permission
from django.contrib.gis.geos import GEOSGeometry
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from wagtail.models import (
    Collection,
    GroupApprovalTask,
    GroupCollectionPermission,
    GroupPagePermission,
    Page,
    Workflow,
    WorkflowPage,
    WorkflowTask,
)

from cms.models import DiscussionPageMixin, DraftPlanPage, PlanningTopicPage, PollVote
from cms.selectors import poll_answers, poll_block
from engage import services as engage_services
from engage.models import Discussion

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


class PollError(Exception):
    """A vote that cannot be counted; the message is shown to the resident."""


def poll_vote_cast(
    *,
    page: Page,
    block_id: str,
    answer_id: str,
    user: AbstractBaseUser | AnonymousUser,
    session_key: str,
) -> PollVote:
    """Record one vote. The page must be live and public (the caller serves only such pages) and
    the poll must exist in its live version; one vote per account or session, enforced by the
    database's unique constraints so parallel submissions count once."""
    if not page.live or page.get_view_restrictions().exists():
        raise PollError(_("This poll is not available."))
    block = poll_block(page=page, block_id=block_id)
    if block is None:
        raise PollError(_("This poll is not available."))
    labels = dict(poll_answers(block))
    if answer_id not in labels:
        raise PollError(_("Choose one of the answers."))
    signed_in = bool(user.is_authenticated)
    if not signed_in and not session_key:
        raise PollError(_("Your browser must accept cookies to vote."))
    vote = PollVote(
        page=page,
        block_id=block_id,
        answer_id=answer_id,
        answer_label=labels[answer_id],
        question=block.value["question"],
        user=user if signed_in else None,
        session_key="" if signed_in else session_key,
    )
    try:
        with transaction.atomic():
            vote.save()
    except IntegrityError as exc:
        raise PollError(_("You have already answered this poll.")) from exc
    return vote


# --- The page's discussion ------------------------------------------------------------------


def _page_categories(page: DiscussionPageMixin) -> list[engage_services.CategorySpec]:
    return [
        engage_services.CategorySpec(
            slug=child.value["slug"],
            label=child.value["label"],
            colour=child.value["colour"],
            icon=child.value["icon"] or "",
        )
        for child in page.feedback_categories
        if child.block_type == "category"
    ]


def _page_plan_area(page: DiscussionPageMixin) -> GEOSGeometry | None:
    if not page.plan_area:
        return None
    # ``plan_area`` was validated and normalised by the page's ``clean`` (cms/geojson.py);
    # parsing again refuses anything that bypassed it, e.g. a revision written by code.
    from cms.geojson import parse_plan_area

    geometry = GEOSGeometry(json.dumps(parse_plan_area(page.plan_area)))
    geometry.srid = 4326
    return geometry


def _page_is_public(page: Page) -> bool:
    return bool(page.live) and not page.get_view_restrictions().exists()


@transaction.atomic
def page_discussion_sync(*, page: DiscussionPageMixin) -> Discussion | None:
    """Make the page's discussion match the page as it is now live: create it on the first
    publication, otherwise update title, comment period, moderation, anonymous posting, plan
    area and categories, and publish it with the page's URL. Called when the page is published
    (also by ``publish_scheduled``); draft revisions never reach it. Wagtail also announces a
    publication scheduled for later (the page stays not live): that changes nothing yet."""
    if not page.live:
        return None
    fields = {
        "title": page.title,
        "opens_at": page.comments_open_at,
        "closes_at": page.comments_close_at,
        "moderation": page.moderation,
        "allow_anonymous": page.allow_anonymous,
        "plan_area": _page_plan_area(page),
        "categories": _page_categories(page),
    }
    public = _page_is_public(page)
    url = (page.get_url() or "") if public else ""
    # The page row, locked, is the authority (two publications at once create one discussion).
    discussion_id = (
        type(page)
        .objects.select_for_update()
        .filter(pk=page.pk)
        .values_list("discussion_id", flat=True)
        .first()
    )
    discussion = (
        Discussion.objects.select_for_update().filter(pk=discussion_id).first()
        if discussion_id
        else None
    )
    if discussion is None:
        discussion = engage_services.discussion_create(**fields, page_url=url, is_published=public)
        # A queryset update: no second revision, no page signals, no ``save()`` side effects.
        type(page).objects.filter(pk=page.pk).update(discussion=discussion)
        page.discussion = discussion
        return discussion
    engage_services.discussion_update(discussion=discussion, **fields)
    return engage_services.discussion_set_publication(
        discussion=discussion, published=public, page_url=url
    )


def page_discussion_unpublish(*, discussion_id: int | None) -> None:
    """The page was unpublished, expired or deleted: its discussion disappears from the public
    API and live updates (404, WebSocket 4404). Comments are kept for staff and exports."""
    discussion = Discussion.objects.filter(pk=discussion_id).first() if discussion_id else None
    if discussion is not None and discussion.is_published:
        engage_services.discussion_set_publication(discussion=discussion, published=False)


@transaction.atomic
def page_discussions_visibility_sync(*, page: Page) -> None:
    """The page was moved, or a view restriction on it (or on an ancestor) was added, changed
    or removed: every topic and plan at or under it shows its discussion exactly when it is
    live and public, under its current URL. Only visibility and the URL change here; the rest
    of the discussion follows the page's content, which changes only when it is published."""
    for model in (PlanningTopicPage, DraftPlanPage):
        for each in model.objects.descendant_of(page, inclusive=True):
            if each.discussion_id is None:
                # Live but never synced (e.g. published before discussions existed).
                if each.live:
                    page_discussion_sync(page=each)
                continue
            if not _page_is_public(each):
                page_discussion_unpublish(discussion_id=each.discussion_id)
                continue
            discussion = Discussion.objects.select_for_update().get(pk=each.discussion_id)
            engage_services.discussion_set_publication(
                discussion=discussion, published=True, page_url=each.get_url() or ""
            )


# --- Editorial set-up -----------------------------------------------------------------------

PLANNERS = "Planners"
REVIEWERS = "Reviewers"
WORKFLOW_NAME = "Planner submits → Reviewer approves"
REVIEW_TASK_NAME = "Reviewer approval"

# Planners write and submit; only reviewers publish (and so approve the workflow's task).
PAGE_PERMISSIONS = {
    PLANNERS: ["add_page", "change_page"],
    REVIEWERS: ["add_page", "change_page", "publish_page", "lock_page", "unlock_page"],
}
COLLECTION_PERMISSIONS = {
    PLANNERS: [
        ("wagtailimages", "add_image"),
        ("wagtailimages", "choose_image"),
        ("wagtaildocs", "add_document"),
        ("wagtaildocs", "choose_document"),
    ],
    REVIEWERS: [
        ("wagtailimages", "add_image"),
        ("wagtailimages", "change_image"),
        ("wagtailimages", "choose_image"),
        ("wagtaildocs", "add_document"),
        ("wagtaildocs", "change_document"),
        ("wagtaildocs", "choose_document"),
    ],
}
# Layers and their legend categories are edited as snippets by both groups.
MODEL_PERMISSIONS = {
    PLANNERS: [("wagtailadmin", "access_admin"), ("landuse", "view_layer")],
    REVIEWERS: [
        ("wagtailadmin", "access_admin"),
        ("landuse", "view_layer"),
        ("landuse", "change_layer"),
        ("landuse", "view_category"),
        ("landuse", "change_category"),
        ("cms", "view_pollvote"),
    ],
}


@dataclass(frozen=True)
class EditorialSetup:
    planners: Group
    reviewers: Group
    workflow: Workflow


@transaction.atomic
def editorial_setup_ensure(*, root: Page) -> EditorialSetup:
    """Create (or complete) the Planner and Reviewer groups with their permissions on ``root``
    and its subtree, and the "Planner submits → Reviewer approves" workflow on ``root``.
    Idempotent: existing rows are kept, missing ones added."""
    groups = {name: Group.objects.get_or_create(name=name)[0] for name in PAGE_PERMISSIONS}
    root_collection = Collection.get_first_root_node()
    for name, codenames in PAGE_PERMISSIONS.items():
        for codename in codenames:
            permission = Permission.objects.get(
                content_type__app_label="wagtailcore", codename=codename
            )
            GroupPagePermission.objects.get_or_create(
                group=groups[name], page=root, permission=permission
            )
    for name, pairs in COLLECTION_PERMISSIONS.items():
        for app_label, codename in pairs:
            permission = Permission.objects.get(
                content_type__app_label=app_label, codename=codename
            )
            GroupCollectionPermission.objects.get_or_create(
                group=groups[name], collection=root_collection, permission=permission
            )
    for name, pairs in MODEL_PERMISSIONS.items():
        for app_label, codename in pairs:
            groups[name].permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )

    workflow, _created = Workflow.objects.get_or_create(name=WORKFLOW_NAME)
    task = GroupApprovalTask.objects.filter(name=REVIEW_TASK_NAME).first()
    if task is None:
        task = GroupApprovalTask.objects.create(name=REVIEW_TASK_NAME)
    task.groups.add(groups[REVIEWERS])
    WorkflowTask.objects.get_or_create(workflow=workflow, task=task, defaults={"sort_order": 0})
    WorkflowPage.objects.update_or_create(page=root, defaults={"workflow": workflow})
    return EditorialSetup(planners=groups[PLANNERS], reviewers=groups[REVIEWERS], workflow=workflow)

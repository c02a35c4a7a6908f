"""Planner submits → Reviewer approves, the groups' permissions, and scheduled publishing."""

from __future__ import annotations

import datetime
from unittest import mock

import pytest
from django.core.management import call_command
from django.utils import timezone
from wagtail.models import Page, WorkflowState

from cms.models import PlanningTopicPage
from cms.services import WORKFLOW_NAME, editorial_setup_ensure

pytestmark = pytest.mark.django_db


def draft_topic(topic_index, planner) -> PlanningTopicPage:
    page = PlanningTopicPage(title="Housing", slug="housing", live=False, owner=planner)
    topic_index.add_child(instance=page)
    page.save_revision(user=planner)
    return page


def test_the_review_workflow_applies_to_every_page_of_the_site(editorial, topic_index):
    assert editorial.workflow.name == WORKFLOW_NAME
    assert topic_index.get_workflow() == editorial.workflow


def test_a_planner_can_edit_but_not_publish(planner, topic_index):
    permissions = topic_index.permissions_for_user(planner)
    assert permissions.can_add_subpage()
    assert permissions.can_edit()
    assert not permissions.can_publish()


def test_a_reviewer_can_publish(reviewer, topic_index):
    assert topic_index.permissions_for_user(reviewer).can_publish()


def test_a_resident_cannot_edit(resident, topic_index):
    assert not topic_index.permissions_for_user(resident).can_edit()


def test_a_planner_submits_and_a_reviewer_approves_which_publishes(
    client, planner, reviewer, topic_index, editorial
):
    page = draft_topic(topic_index, planner)
    workflow_state = page.get_workflow().start(page, planner)
    page.refresh_from_db()
    assert workflow_state.status == WorkflowState.STATUS_IN_PROGRESS
    assert not page.live
    assert client.get("/topics/housing/").status_code == 404

    task_state = workflow_state.current_task_state
    # Only reviewers may act on the review task.
    assert task_state.task.specific.get_actions(page, planner) == []
    assert "approve" in [name for name, *_ in task_state.task.specific.get_actions(page, reviewer)]

    task_state.approve(user=reviewer)
    workflow_state.refresh_from_db()
    page.refresh_from_db()
    assert workflow_state.status == WorkflowState.STATUS_APPROVED
    assert page.live
    assert client.get("/topics/housing/").status_code == 200


def test_a_rejected_submission_stays_unpublished(client, planner, reviewer, topic_index, editorial):
    page = draft_topic(topic_index, planner)
    workflow_state = page.get_workflow().start(page, planner)
    workflow_state.current_task_state.reject(user=reviewer, comment="Add the map, please.")
    workflow_state.refresh_from_db()
    page.refresh_from_db()
    assert workflow_state.status == WorkflowState.STATUS_NEEDS_CHANGES
    assert not page.live


def test_a_planner_submits_through_the_editor(client, planner, topic_index, editorial):
    page = draft_topic(topic_index, planner)
    client.force_login(planner)
    response = client.post(
        f"/admin/pages/{page.pk}/edit/",
        {
            "title": "Housing",
            "slug": "housing",
            "summary": "",
            "body-count": "0",
            "moderation": "post",
            "feedback_categories-count": "0",
            "action-submit": "Submit",
        },
    )
    assert response.status_code == 302
    state = WorkflowState.objects.get(object_id=str(page.pk))
    assert state.status == WorkflowState.STATUS_IN_PROGRESS
    assert not Page.objects.get(pk=page.pk).live


def test_editorial_setup_is_idempotent(home):
    first = editorial_setup_ensure(root=home)
    second = editorial_setup_ensure(root=home)
    assert first == second
    assert second.workflow.workflow_tasks.count() == 1
    assert first.planners.page_permissions.count() == 2


def test_a_page_scheduled_for_later_goes_live_with_publish_scheduled(client, topic_index):
    page = PlanningTopicPage(title="Later", slug="later", live=False)
    topic_index.add_child(instance=page)
    now = timezone.now()
    page.go_live_at = now + datetime.timedelta(hours=1)
    page.save_revision().publish()
    page.refresh_from_db()
    assert not page.live
    assert client.get("/topics/later/").status_code == 404

    call_command("publish_scheduled")
    page.refresh_from_db()
    assert not page.live, "nothing happens before the time"

    with mock.patch("django.utils.timezone.now", return_value=now + datetime.timedelta(hours=2)):
        call_command("publish_scheduled")
    page.refresh_from_db()
    assert page.live
    assert client.get("/topics/later/").status_code == 200


def test_a_page_scheduled_to_expire_is_unpublished_by_publish_scheduled(client, topic):
    now = timezone.now()
    topic.expire_at = now + datetime.timedelta(hours=1)
    topic.save_revision().publish()
    with mock.patch("django.utils.timezone.now", return_value=now + datetime.timedelta(hours=2)):
        call_command("publish_scheduled")
    topic.refresh_from_db()
    assert not topic.live
    assert client.get("/topics/mobility/").status_code == 404

"""load_demo builds the pages, groups and workflow, and running it twice duplicates nothing.
Every test starts from the demo loaded once for the module (``loaded_demo``); loading it over
what another step made is in ``test_demo_over_older_state.py``."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from wagtail.models import (
    GroupApprovalTask,
    GroupCollectionPermission,
    GroupPagePermission,
    Page,
    Revision,
    Workflow,
    WorkflowPage,
    WorkflowTask,
)

from cms.models import (
    DraftPlanChapterPage,
    DraftPlanPage,
    HomePageFeaturedTopic,
    PlanningTopicPage,
    TopicIndexPage,
)
from engage.models import Comment, Discussion
from landuse.models import Layer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("loaded_demo")]

COUNTED = [
    Page,
    Revision,
    PlanningTopicPage,
    DraftPlanPage,
    DraftPlanChapterPage,
    TopicIndexPage,
    HomePageFeaturedTopic,
    Layer,
    Group,
    GroupPagePermission,
    GroupCollectionPermission,
    Workflow,
    GroupApprovalTask,
    WorkflowTask,
    WorkflowPage,
    Discussion,
    Comment,
]


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


def test_load_demo_twice_duplicates_nothing():
    first = counts()
    call_command("load_demo")
    assert counts() == first


def test_the_demo_has_topics_a_plan_with_chapters_and_maps_of_the_city_layers(client):
    titles = set(PlanningTopicPage.objects.live().values_list("title", flat=True))
    assert {"Land use", "Mobility", "Parks and open space"} <= titles
    plan = DraftPlanPage.objects.get()
    assert plan.live and plan.status == DraftPlanPage.Status.PUBLIC_REVIEW
    assert plan.chapters().count() == 3
    for page in [*PlanningTopicPage.objects.all(), plan, *plan.chapters()]:
        maps = [block for block in page.body if block.block_type == "map"]
        assert maps, page.title
        for block in maps:
            assert {layer.slug for layer in block.value["layers"]} <= {"zoning", "future-land-use"}
        assert client.get(page.url).status_code == 200
    assert client.get("/").status_code == 200
    assert 'data-layers="zoning,future-land-use"' in client.get(plan.url).content.decode()


def test_the_demo_sets_up_the_groups_and_the_workflow():
    assert set(Group.objects.values_list("name", flat=True)) >= {"Planners", "Reviewers"}
    workflow = Workflow.objects.get(name="Planner submits → Reviewer approves")
    assert WorkflowPage.objects.get(workflow=workflow).page.specific_class.__name__ == "HomePage"
    task = GroupApprovalTask.objects.get(name="Reviewer approval")
    assert list(task.groups.values_list("name", flat=True)) == ["Reviewers"]


def test_the_demo_leaves_pages_an_editor_changed(db):
    topic = PlanningTopicPage.objects.get(slug="mobility")
    topic.title = "Getting around"
    topic.save_revision().publish()
    call_command("load_demo")
    assert PlanningTopicPage.objects.get(slug="mobility").title == "Getting around"


def test_demo_pages_carry_no_inline_script_or_style_for_the_strict_csp(client):
    import re

    pages = [*Page.objects.live().specific().filter(depth__gt=1)]
    for page in pages:
        html = client.get(page.url).content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), page.url
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=", html), page.url

"""Where each page type may be created, and where not (Wagtail's own test assertions)."""

from __future__ import annotations

from wagtail.models import Page
from wagtail.test.utils import WagtailPageTestCase
from wagtail.test.utils.form_data import nested_form_data, rich_text, streamfield

from cms.models import (
    DraftPlanChapterPage,
    DraftPlanPage,
    HomePage,
    PlanningTopicPage,
    TopicIndexPage,
)
from geo_fixtures.demo import ensure_home_page


class PageTreeRules(WagtailPageTestCase):
    def test_the_home_page_sits_at_the_root_only(self):
        self.assertCanCreateAt(Page, HomePage)
        self.assertCanNotCreateAt(HomePage, HomePage)
        self.assertCanNotCreateAt(TopicIndexPage, HomePage)

    def test_the_home_page_holds_topic_indexes_and_draft_plans(self):
        self.assertAllowedSubpageTypes(HomePage, {TopicIndexPage, DraftPlanPage})

    def test_a_topic_index_lives_under_the_home_page_only(self):
        self.assertAllowedParentPageTypes(TopicIndexPage, {HomePage})
        self.assertCanNotCreateAt(TopicIndexPage, TopicIndexPage)
        self.assertCanNotCreateAt(DraftPlanPage, TopicIndexPage)

    def test_a_planning_topic_lives_under_a_topic_index_only(self):
        self.assertAllowedParentPageTypes(PlanningTopicPage, {TopicIndexPage})
        self.assertCanNotCreateAt(HomePage, PlanningTopicPage)
        self.assertCanNotCreateAt(DraftPlanPage, PlanningTopicPage)
        self.assertCanNotCreateAt(Page, PlanningTopicPage)

    def test_a_planning_topic_has_no_subpages(self):
        self.assertAllowedSubpageTypes(PlanningTopicPage, set())

    def test_a_draft_plan_lives_under_the_home_page_or_a_topic_index(self):
        self.assertAllowedParentPageTypes(DraftPlanPage, {HomePage, TopicIndexPage})
        self.assertCanNotCreateAt(PlanningTopicPage, DraftPlanPage)
        self.assertCanNotCreateAt(DraftPlanChapterPage, DraftPlanPage)

    def test_a_draft_plan_holds_only_chapters(self):
        self.assertAllowedSubpageTypes(DraftPlanPage, {DraftPlanChapterPage})

    def test_a_chapter_lives_under_a_draft_plan_only_and_has_no_subpages(self):
        self.assertAllowedParentPageTypes(DraftPlanChapterPage, {DraftPlanPage})
        self.assertCanNotCreateAt(TopicIndexPage, DraftPlanChapterPage)
        self.assertCanNotCreateAt(HomePage, DraftPlanChapterPage)
        self.assertAllowedSubpageTypes(DraftPlanChapterPage, set())


class CreatingPagesInTheEditor(WagtailPageTestCase):
    def setUp(self):
        self.login()
        self.home = ensure_home_page(lambda message: None)

    def test_a_planner_can_create_a_topic_index_and_a_topic_with_a_text_block(self):
        self.assertCanCreate(
            self.home,
            TopicIndexPage,
            nested_form_data({"title": "Topics", "slug": "topics", "intro": rich_text("Hi")}),
        )
        index = TopicIndexPage.objects.get()
        self.assertCanCreate(
            index,
            PlanningTopicPage,
            nested_form_data(
                {
                    "title": "Parks",
                    "slug": "parks",
                    "summary": "More parks.",
                    "body": streamfield([("text", rich_text("<p>A park for everyone.</p>"))]),
                    "moderation": "post",
                    "feedback_categories": streamfield([]),
                }
            ),
        )
        topic = PlanningTopicPage.objects.get()
        self.assertEqual(topic.body[0].block_type, "text")

    def test_a_draft_plan_and_a_chapter_can_be_created(self):
        self.assertCanCreate(
            self.home,
            DraftPlanPage,
            nested_form_data(
                {
                    "title": "Plan",
                    "slug": "plan",
                    "status": "public_review",
                    "summary": "",
                    "body": streamfield([]),
                    "moderation": "post",
                    "feedback_categories": streamfield([]),
                }
            ),
        )
        plan = DraftPlanPage.objects.get()
        self.assertCanCreate(
            plan,
            DraftPlanChapterPage,
            nested_form_data(
                {"title": "Chapter 1", "slug": "one", "summary": "", "body": streamfield([])}
            ),
        )
        plan.refresh_from_db()
        self.assertEqual([c.title for c in plan.chapters()], ["Chapter 1"])


class EditingAndPreviewing(WagtailPageTestCase):
    """The editor and the preview open for every page type, with every block in the body."""

    def setUp(self):
        from geo_fixtures.demo_pages import ensure_demo_pages

        self.user = self.login()
        home = ensure_home_page(lambda message: None)
        ensure_demo_pages(lambda message: None, home=home)

    def test_every_page_type_opens_in_the_editor_and_previews(self):
        pages = [
            HomePage.objects.get(),
            TopicIndexPage.objects.get(),
            PlanningTopicPage.objects.get(slug="mobility"),
            DraftPlanPage.objects.get(),
            DraftPlanChapterPage.objects.first(),
        ]
        for page in pages:
            with self.subTest(page=page.specific_class.__name__):
                # Wagtail's assertPageIsEditable/-Previewable re-post the form scraped from the
                # HTML, which cannot carry a StreamField (built by JavaScript): pages with a body
                # are checked by opening the editor and rendering the preview directly.
                if hasattr(page.specific, "body"):
                    self.client.force_login(self.user)  # the assertions below log out
                    edit = self.client.get(f"/admin/pages/{page.pk}/edit/")
                    self.assertEqual(edit.status_code, 200)
                    preview = page.specific.make_preview_request()
                    self.assertEqual(preview.status_code, 200)
                else:
                    self.assertPageIsEditable(page)
                    self.assertPageIsPreviewable(page)

    def test_the_topic_body_offers_every_block(self):
        blocks = PlanningTopicPage._meta.get_field("body").stream_block.child_blocks
        self.assertEqual(
            list(blocks), ["text", "image", "map", "timeline", "call_to_action", "poll"]
        )
        for block in blocks.values():
            self.assertTrue(block.meta.icon)
            self.assertTrue(block.meta.template.startswith("cms/blocks/"))

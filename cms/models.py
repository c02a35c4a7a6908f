"""Wagtail pages: the home page, the topic index, planning topics and draft plans with chapters.

Every public page type has a ``body`` StreamField built from ``cms.blocks``. Planning topics and
draft plans also carry a discussion (``DiscussionPageMixin``): the planner edits the comment
period, moderation mode, anonymous posting, feedback categories and plan area on the page; the
``engage.Discussion`` itself is created and kept in step by ``cms.services.page_discussion_sync``
when the page is published (docs/cms.md).
"""

from __future__ import annotations

import json

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from wagtail.admin.panels import FieldPanel, InlinePanel, MultiFieldPanel, PageChooserPanel
from wagtail.api import APIField
from wagtail.contrib.routable_page.models import RoutablePageMixin, path
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Orderable, Page
from wagtail.search import index

from cms.blocks import FeedbackCategoriesBlock, default_feedback_categories, page_body_blocks
from cms.geojson import PlanAreaError, parse_plan_area
from cms.widgets import MapEditorWidget

INTRO_FEATURES = ["bold", "italic", "link"]


class BasePage(Page):
    """Fields every public page shares: a picture for social cards (title and description come
    from Wagtail's own ``seo_title`` and ``search_description``)."""

    social_image = models.ForeignKey(
        "wagtailimages.Image",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Shown when the page is shared on social media (1200×630 works best)."),
    )

    promote_panels = [*Page.promote_panels, FieldPanel("social_image")]

    class Meta:
        abstract = True


class DiscussionPageMixin(models.Model):
    """A page that residents comment on. The fields are the planner's; the ``discussion`` is
    the engagement app's record, created and updated from these fields only when the page is
    published (so a draft never changes what residents see) and unpublished with the page."""

    class Moderation(models.TextChoices):
        POST = "post", _("Post-moderation: comments appear at once and can be hidden")
        PRE = "pre", _("Pre-moderation: comments wait for a moderator")

    discussion = models.ForeignKey(
        "engage.Discussion",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    comments_open_at = models.DateTimeField(
        _("comments open"),
        null=True,
        blank=True,
        help_text=_("Empty: open as soon as the page is published."),
    )
    comments_close_at = models.DateTimeField(
        _("comments close"), null=True, blank=True, help_text=_("Empty: no closing date.")
    )
    moderation = models.CharField(
        _("moderation"), max_length=8, choices=Moderation.choices, default=Moderation.POST
    )
    allow_anonymous = models.BooleanField(
        _("anonymous comments allowed"),
        default=True,
        help_text=_("Residents may comment with a display name, without signing in."),
    )
    feedback_categories = StreamField(
        FeedbackCategoriesBlock(),
        blank=True,
        default=default_feedback_categories,
        help_text=_("The kinds of feedback residents choose from. Empty: no categories."),
    )
    plan_area = models.TextField(
        _("plan area"),
        blank=True,
        help_text=_(
            "Optional. Pinned feedback must fall inside it. A GeoJSON Polygon or MultiPolygon "
            "in WGS84 (longitude, latitude), e.g. exported from geojson.io or QGIS."
        ),
    )

    discussion_panels = [
        MultiFieldPanel(
            [
                FieldPanel("comments_open_at"),
                FieldPanel("comments_close_at"),
                FieldPanel("moderation"),
                FieldPanel("allow_anonymous"),
                FieldPanel(
                    "plan_area",
                    widget=MapEditorWidget(field_name="plan_area"),
                    help_text=_(
                        "Optional. Pinned feedback must fall inside it. Draw it on the map, or "
                        "paste a GeoJSON Polygon or MultiPolygon in WGS84 (longitude, latitude)."
                    ),
                ),
                FieldPanel("feedback_categories"),
            ],
            heading=_("Comments and feedback map"),
            icon="comment",
        )
    ]
    # Two pages must never share one discussion: a copy starts without one.
    exclude_fields_in_copy = ["discussion"]

    class Meta:
        abstract = True

    def clean(self) -> None:
        super().clean()
        errors: dict[str, str] = {}
        if (
            self.comments_open_at
            and self.comments_close_at
            and self.comments_close_at <= self.comments_open_at
        ):
            errors["comments_close_at"] = _("Comments must close after they open.")
        if self.plan_area and self.plan_area.strip():
            try:
                # Stored normalised, so publishing can never meet an invalid area.
                self.plan_area = json.dumps(parse_plan_area(self.plan_area), separators=(",", ":"))
            except PlanAreaError as exc:
                errors["plan_area"] = str(exc)
        else:
            self.plan_area = ""
        if errors:
            raise ValidationError(errors)

    def with_content_json(self, content: dict):
        # The discussion belongs to the page, not to a revision: publishing a revision saved
        # before the discussion existed must not drop the link (and create a second one).
        # Read from the database, not ``self``: ``page.save_revision().publish()`` on an instance
        # loaded before the first publication would otherwise carry a stale None.
        obj = super().with_content_json(content)
        obj.discussion_id = (
            type(self).objects.filter(pk=self.pk).values_list("discussion_id", flat=True).first()
            if self.pk
            else None
        )
        return obj

    def get_context(self, request: HttpRequest, *args, **kwargs) -> dict:
        from cms.selectors import page_feedback

        context = super().get_context(request, *args, **kwargs)
        context["feedback"] = page_feedback(
            page=self,
            user=request.user if hasattr(request, "user") else None,
            comments_page=request.GET.get("comments_page"),
            reply_to=request.GET.get("reply_to"),
        )
        return context


class HomePage(BasePage):
    """The city's front door: what is being planned and how to take part."""

    intro = RichTextField(blank=True, features=INTRO_FEATURES)

    content_panels = [
        *Page.content_panels,
        FieldPanel("intro"),
        InlinePanel("featured_topics", label=_("Featured topics"), max_num=6),
    ]
    search_fields = [*Page.search_fields, index.SearchField("intro")]
    api_fields = [APIField("intro"), APIField("featured_topics")]

    parent_page_types = ["wagtailcore.Page"]
    subpage_types = ["cms.TopicIndexPage", "cms.DraftPlanPage"]
    max_count = 1

    class Meta:
        verbose_name = _("home page")

    def get_context(self, request: HttpRequest, *args, **kwargs) -> dict:
        from cms.selectors import home_featured_topics, open_comment_periods, plans_in_public_review

        context = super().get_context(request, *args, **kwargs)
        context["featured_topics"] = home_featured_topics(home=self)
        context["open_comment_periods"] = open_comment_periods(root=self)
        context["plans_in_review"] = plans_in_public_review(root=self)
        return context


class HomePageFeaturedTopic(Orderable):
    home = ParentalKey(HomePage, on_delete=models.CASCADE, related_name="featured_topics")
    topic = models.ForeignKey("cms.PlanningTopicPage", on_delete=models.CASCADE, related_name="+")

    panels = [PageChooserPanel("topic", page_type="cms.PlanningTopicPage")]
    api_fields = [APIField("topic")]

    class Meta(Orderable.Meta):
        verbose_name = _("featured topic")
        constraints = [
            models.UniqueConstraint(fields=["home", "topic"], name="cms_featured_topic_once")
        ]


class TopicIndexPage(BasePage):
    """Lists the planning topics (and any draft plans) filed under it."""

    intro = RichTextField(blank=True, features=INTRO_FEATURES)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    search_fields = [*Page.search_fields, index.SearchField("intro")]
    api_fields = [APIField("intro")]

    parent_page_types = ["cms.HomePage"]
    subpage_types = ["cms.PlanningTopicPage", "cms.DraftPlanPage"]

    class Meta:
        verbose_name = _("topic index")

    def get_context(self, request: HttpRequest, *args, **kwargs) -> dict:
        from cms.selectors import index_children

        context = super().get_context(request, *args, **kwargs)
        context["children"] = index_children(index_page=self)
        return context


class PlanningTopicPage(DiscussionPageMixin, BasePage):  # noqa: DJ008 - Page.__str__
    """One planning topic (land use, mobility, parks…): what is proposed, maps, a timeline and
    how to give feedback."""

    summary = models.TextField(
        blank=True, max_length=500, help_text=_("One or two sentences for lists and search.")
    )
    body = StreamField(page_body_blocks(), blank=True)

    content_panels = [
        *Page.content_panels,
        FieldPanel("summary"),
        FieldPanel("body"),
        *DiscussionPageMixin.discussion_panels,
    ]
    search_fields = [
        *Page.search_fields,
        index.SearchField("summary"),
        index.SearchField("body"),
    ]
    api_fields = [
        APIField("summary"),
        APIField("body"),
        APIField("discussion_id"),
        APIField("comments_open_at"),
        APIField("comments_close_at"),
    ]

    parent_page_types = ["cms.TopicIndexPage"]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = _("planning topic")


class DraftPlanPage(RoutablePageMixin, DiscussionPageMixin, BasePage):  # noqa: DJ008
    """A draft plan under public review: its status, the full PDF, an overview and its chapters
    (child pages) with a table of contents, and "what changed since the last draft"."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLIC_REVIEW = "public_review", _("Public review")
        REVISED = "revised", _("Revised")
        ADOPTED = "adopted", _("Adopted")

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    summary = models.TextField(
        blank=True, max_length=500, help_text=_("One or two sentences for lists and search.")
    )
    document = models.ForeignKey(
        "wagtaildocs.Document",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("full plan (PDF)"),
    )
    body = StreamField(page_body_blocks(), blank=True)

    content_panels = [
        *Page.content_panels,
        MultiFieldPanel(
            [FieldPanel("status"), FieldPanel("document")], heading=_("Plan"), icon="doc-full"
        ),
        FieldPanel("summary"),
        FieldPanel("body"),
        *DiscussionPageMixin.discussion_panels,
    ]
    search_fields = [
        *Page.search_fields,
        index.SearchField("summary"),
        index.SearchField("body"),
        index.FilterField("status"),
    ]
    api_fields = [
        APIField("status"),
        APIField("summary"),
        APIField("document"),
        APIField("body"),
        APIField("discussion_id"),
        APIField("comments_open_at"),
        APIField("comments_close_at"),
    ]

    parent_page_types = ["cms.HomePage", "cms.TopicIndexPage"]
    subpage_types = ["cms.DraftPlanChapterPage"]

    class Meta:
        verbose_name = _("draft plan")

    def chapters(self):
        from cms.selectors import plan_chapters

        return plan_chapters(plan=self)

    def get_context(self, request: HttpRequest, *args, **kwargs) -> dict:
        context = super().get_context(request, *args, **kwargs)
        context["chapters"] = self.chapters()
        return context

    @path("")
    def plan(self, request: HttpRequest) -> HttpResponse:
        return self.render(request)

    @path("changes/", name="changes")
    def changes(self, request: HttpRequest) -> HttpResponse:
        from cms.selectors import plan_changes_since_last_draft

        return TemplateResponse(
            request,
            "cms/draft_plan_changes.html",
            {
                **self.get_context(request),
                "changes": plan_changes_since_last_draft(plan=self),
            },
        )


class DraftPlanChapterPage(BasePage):
    """One chapter of a draft plan; the plan's table of contents links its chapters in order."""

    summary = models.TextField(blank=True, max_length=500)
    body = StreamField(page_body_blocks(), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("summary"), FieldPanel("body")]
    search_fields = [
        *Page.search_fields,
        index.SearchField("summary"),
        index.SearchField("body"),
    ]
    api_fields = [APIField("summary"), APIField("body")]

    parent_page_types = ["cms.DraftPlanPage"]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = _("draft plan chapter")

    def serve(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # Wagtail does not check the parents of a live page: a chapter of an unpublished (or
        # withdrawn) plan must not be readable on its own.
        if not self.get_parent().live:
            raise Http404
        return super().serve(request, *args, **kwargs)

    def get_context(self, request: HttpRequest, *args, **kwargs) -> dict:
        context = super().get_context(request, *args, **kwargs)
        plan = self.get_parent().specific
        chapters = list(plan.chapters())
        position = next((i for i, c in enumerate(chapters) if c.pk == self.pk), None)
        context["plan"] = plan
        context["chapters"] = chapters
        if position is not None:
            context["previous_chapter"] = chapters[position - 1] if position > 0 else None
            context["next_chapter"] = (
                chapters[position + 1] if position + 1 < len(chapters) else None
            )
        return context


class PollVote(models.Model):
    """One answer to a poll block. A poll is identified by its page and the block's id; the
    answer's label is kept as it read when the vote was cast."""

    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="poll_votes")
    block_id = models.CharField(max_length=64)
    answer_id = models.CharField(max_length=64)
    answer_label = models.CharField(max_length=200)
    question = models.CharField(max_length=250)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="poll_votes",
    )
    session_key = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("poll vote")
        # One vote per person: by account when signed in, by session otherwise. Enforced by the
        # database so parallel requests cannot count twice.
        constraints = [
            models.UniqueConstraint(
                fields=["page", "block_id", "user"],
                condition=models.Q(user__isnull=False),
                name="cms_pollvote_one_per_user",
            ),
            models.UniqueConstraint(
                fields=["page", "block_id", "session_key"],
                # Votes whose account was deleted keep no session: they must not collide.
                condition=models.Q(user__isnull=True) & ~models.Q(session_key=""),
                name="cms_pollvote_one_per_session",
            ),
        ]
        indexes = [models.Index(fields=["page", "block_id"])]

    def __str__(self) -> str:
        return f"{self.question} → {self.answer_label}"

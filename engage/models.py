"""Discussions, their feedback categories, comments (optionally pinned to a geometry), reactions
and flags.

A discussion knows nothing about Wagtail: the page points at the discussion, and the CMS tells
the discussion what it needs (``title``, ``page_url``, ``is_published``) through the services.
Rules live in ``services.py`` and ``rules.py``; models hold data and single-row derived values.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.gis.db import models
from django.core.validators import MaxValueValidator, RegexValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

hex_colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Use a colour like #1f77b4."))


class Discussion(models.Model):
    class Moderation(models.TextChoices):
        PRE = "pre", _("Pre-moderation: new comments wait for staff")
        POST = "post", _("Post-moderation: published at once, can be hidden")

    title = models.CharField(max_length=200)
    # Set by the CMS when the page that points at this discussion is published.
    page_url = models.CharField(max_length=500, blank=True)
    is_published = models.BooleanField(default=False)
    opens_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)
    moderation = models.CharField(max_length=8, choices=Moderation.choices, default="post")
    allow_anonymous = models.BooleanField(default=True)
    plan_area = models.MultiPolygonField(srid=4326, null=True, blank=True)
    # 0: no replies; 1: replies to top-level comments only; ...
    max_reply_depth = models.PositiveSmallIntegerField(
        default=2, validators=[MaxValueValidator(10)]
    )
    edit_window = models.DurationField(default=timedelta(minutes=15))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "pk"]

    def __str__(self) -> str:
        return self.title

    def is_open_at(self, moment: datetime) -> bool:
        """Whether comments and reactions are accepted at ``moment`` (ignores publication)."""
        if self.opens_at and moment < self.opens_at:
            return False
        return not (self.closes_at and moment >= self.closes_at)

    @property
    def is_open(self) -> bool:
        return self.is_open_at(timezone.now())


class FeedbackCategory(models.Model):
    """A kind of feedback a discussion offers: idea, concern, question, support…"""

    discussion = models.ForeignKey(Discussion, on_delete=models.CASCADE, related_name="categories")
    slug = models.SlugField(max_length=50)
    label = models.CharField(max_length=100)
    colour = models.CharField(max_length=7, validators=[hex_colour], default="#1f77b4")
    icon = models.CharField(max_length=50, blank=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["discussion", "order", "pk"]
        verbose_name_plural = "feedback categories"
        constraints = [
            models.UniqueConstraint(
                fields=["discussion", "slug"], name="engage_category_unique_slug"
            )
        ]

    def __str__(self) -> str:
        return self.label


class Comment(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for moderation")
        PUBLISHED = "published", _("Published")
        HIDDEN = "hidden", _("Hidden by a moderator")
        REJECTED = "rejected", _("Rejected by a moderator")
        WITHDRAWN = "withdrawn", _("Withdrawn by its author")

    discussion = models.ForeignKey(Discussion, on_delete=models.CASCADE, related_name="comments")
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="replies"
    )
    depth = models.PositiveSmallIntegerField(default=0)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="engage_comments",
    )
    # The name shown: the user's name when signed in, the typed name when anonymous.
    display_name = models.CharField(max_length=60)
    body = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default="published")
    category = models.ForeignKey(
        FeedbackCategory, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    geometry = models.GeometryField(srid=4326, null=True, blank=True, spatial_index=True)
    # What the land-use layers said at the geometry's point on surface when it was posted:
    # a list of {layer_slug, layer_title, kind, code, label, colour}.
    landuse = models.JSONField(default=list, blank=True)
    zoning_code = models.CharField(max_length=100, blank=True, db_index=True)
    future_land_use_code = models.CharField(max_length=100, blank=True, db_index=True)
    # Keyed hashes (HMAC with SECRET_KEY); never the address or the token itself.
    ip_hash = models.CharField(max_length=64, blank=True)
    edit_token_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    # Last time anything a reader sees changed (created, edited, status); set by the services.
    # ``?changed_since=`` on the comment list reads it, so a page that was away learns of edits,
    # hides and late approvals too.
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        indexes = [
            models.Index(fields=["discussion", "status", "id"]),
            models.Index(fields=["discussion", "changed_at"]),
        ]
        permissions = [("moderate_comment", "Can moderate comments")]

    def __str__(self) -> str:
        return f"#{self.pk} by {self.display_name}"


class Reaction(models.Model):
    class Value(models.TextChoices):
        AGREE = "agree", _("Agree")
        DISAGREE = "disagree", _("Disagree")

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="reactions")
    # One person: "u:<user id>" when signed in, "a:<keyed hash of the session>" when anonymous.
    voter_key = models.CharField(max_length=80)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    value = models.CharField(max_length=8, choices=Value.choices)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["comment", "voter_key"], name="engage_reaction_one_per_person"
            )
        ]


class Flag(models.Model):
    class Reason(models.TextChoices):
        SPAM = "spam", _("Spam or advertising")
        OFFENSIVE = "offensive", _("Offensive or abusive")
        PERSONAL = "personal_info", _("Shares personal information")
        OFF_TOPIC = "off_topic", _("Off topic")
        OTHER = "other", _("Something else")

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="flags")
    reporter_key = models.CharField(max_length=80)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=16, choices=Reason.choices)
    details = models.TextField(blank=True)
    ip_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["comment", "reporter_key"], name="engage_flag_one_per_person"
            )
        ]

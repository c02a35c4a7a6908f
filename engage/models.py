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
    # Words or phrases (one per line) that send a new comment to the moderation queue instead
    # of publishing it at once; matched case-insensitively as whole words.
    held_words = models.TextField(blank=True)
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
    # The reason of the last hide or reject, shown to readers beside "hidden by moderator".
    moderation_reason = models.CharField(max_length=500, blank=True)
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
    # Set when a moderator dismisses the flag (kept, not deleted: nothing is lost).
    dismissed_at = models.DateTimeField(null=True, blank=True)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["comment", "reporter_key"], name="engage_flag_one_per_person"
            )
        ]


class AppendOnlyQuerySet(models.QuerySet):
    """Rows are added, never changed or removed through the ORM (a cascade from a deleted
    discussion still removes them with it)."""

    def update(self, **kwargs):
        raise TypeError(f"{self.model.__name__} rows are append-only.")

    def delete(self):
        raise TypeError(f"{self.model.__name__} rows are append-only.")


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError(f"{type(self).__name__} rows are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError(f"{type(self).__name__} rows are append-only.")


class ModerationLogEntry(AppendOnlyModel):
    """One moderation decision: who, when, what, the status before and after, and why.
    Written by the moderation services in the transaction of the change itself."""

    class Action(models.TextChoices):
        APPROVE = "approve", _("Approved")
        HIDE = "hide", _("Hidden")
        REJECT = "reject", _("Rejected")
        RESTORE = "restore", _("Restored")
        DISMISS_FLAGS = "dismiss_flags", _("Flags dismissed")
        HOLD = "hold", _("Held for moderation by the word list")

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="moderation_log")
    discussion = models.ForeignKey(Discussion, on_delete=models.CASCADE, related_name="+")
    # None for automatic decisions (the word list); the name is kept if the account goes.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    previous_status = models.CharField(max_length=16, choices=Comment.Status.choices)
    new_status = models.CharField(max_length=16, choices=Comment.Status.choices)
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]
        default_permissions = ("view",)
        verbose_name_plural = "moderation log entries"

    def __str__(self) -> str:
        return f"{self.get_action_display()} #{self.comment_id} by {self.actor_name or 'system'}"


class ExportRecord(models.Model):
    """Who exported which discussion's feedback, when, in which format, with which filters, and
    how many rows they got. Created before the first byte is sent; ``row_count`` is filled in
    by the service once the last row has been written."""

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"
        GEOJSON = "geojson", "GeoJSON"
        GPKG = "gpkg", "GeoPackage"
        REPORT = "report", _("Summary report")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    username = models.CharField(max_length=150)
    discussion = models.ForeignKey(
        Discussion, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    discussion_title = models.CharField(max_length=200)
    format = models.CharField(max_length=8, choices=Format.choices)
    filters = models.JSONField(default=dict, blank=True)
    personal_data = models.BooleanField(default=False)
    # Filled in when the last row has been written (None: the download did not finish).
    row_count = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        default_permissions = ("view",)
        permissions = [
            ("export_feedback", "Can export feedback"),
            ("export_personal_data", "Can export e-mail addresses and IP hashes"),
        ]

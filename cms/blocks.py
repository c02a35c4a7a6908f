"""StreamField blocks shared by the page types. Each block has an icon for the editor and its own
template in ``templates/cms/blocks/``; validation that a planner can fix lives in ``clean`` so a
mistake shows as an error in the editor, never as a server error on the public page."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.blocks.list_block import ListBlockValidationError
from wagtail.blocks.struct_block import StructBlockValidationError
from wagtail.images.blocks import ImageChooserBlock
from wagtail.snippets.blocks import SnippetChooserBlock

from cms.geojson import PlanAreaError, parse_plan_area
from cms.widgets import MapEditorWidget

RICH_TEXT_FEATURES = ["h2", "h3", "bold", "italic", "link", "ol", "ul", "document-link"]


class RichTextBlock(blocks.RichTextBlock):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("features", RICH_TEXT_FEATURES)
        super().__init__(**kwargs)

    class Meta:
        icon = "pilcrow"
        template = "cms/blocks/rich_text.html"
        label = _("Text")


class ImageBlock(blocks.StructBlock):
    image = ImageChooserBlock()
    alt_text = blocks.CharBlock(
        max_length=250,
        help_text=_("Describe the image for people who cannot see it."),
    )
    caption = blocks.CharBlock(required=False, max_length=250)

    class Meta:
        icon = "image"
        template = "cms/blocks/image.html"
        label = _("Image")


class PlanAreaBlock(blocks.FieldBlock):
    """A GeoJSON Polygon or MultiPolygon in WGS84, drawn on a map (``cms.widgets``).

    Used only inside ``MapBlock``: the same map also picks the block's centre and zoom, so the
    widget is told the names of those sibling fields. The value stays GeoJSON text, validated
    by ``clean`` whatever the browser sent.
    """

    def __init__(self, required: bool = False, help_text: str | None = None, **kwargs: Any):
        self.field = forms.CharField(
            required=required,
            help_text=help_text
            or _(
                "Optional. Draw it on the map, or paste a GeoJSON Polygon or MultiPolygon in "
                "WGS84 (longitude, latitude), e.g. exported from geojson.io or QGIS."
            ),
            widget=MapEditorWidget(
                field_name="plan_area",
                view_fields=("centre_latitude", "centre_longitude", "zoom"),
            ),
        )
        super().__init__(**kwargs)

    def clean(self, value: str) -> str:
        value = super().clean(value)
        if not value or not value.strip():
            return ""
        try:
            geometry = parse_plan_area(value)
        except PlanAreaError as exc:
            raise ValidationError(str(exc)) from exc
        # Store the normalised GeoJSON so the page always renders a valid object.
        return json.dumps(geometry, separators=(",", ":"))

    class Meta:
        icon = "site"
        default = ""


class MapBlock(blocks.StructBlock):
    title = blocks.CharBlock(
        required=False,
        max_length=200,
        help_text=_("Shown above the map and read by screen readers."),
    )
    layers = blocks.ListBlock(
        SnippetChooserBlock("landuse.Layer", label=_("Layer")),
        min_num=1,
        label=_("Layers"),
    )
    centre_latitude = blocks.DecimalBlock(
        min_value=-90, max_value=90, decimal_places=6, label=_("Centre latitude")
    )
    centre_longitude = blocks.DecimalBlock(
        min_value=-180, max_value=180, decimal_places=6, label=_("Centre longitude")
    )
    zoom = blocks.IntegerBlock(min_value=1, max_value=20, default=12)
    plan_area = PlanAreaBlock(required=False, label=_("Plan area"))

    def clean(self, value: blocks.StructValue) -> blocks.StructValue:
        # A layer deleted after the page was written comes back from the database as None; say
        # what happened instead of Wagtail's generic "This field is required".
        missing = [index for index, layer in enumerate(value.get("layers") or []) if layer is None]
        if missing:
            raise StructBlockValidationError(
                block_errors={
                    "layers": ListBlockValidationError(
                        non_block_errors=[
                            ValidationError(
                                _(
                                    "A chosen layer no longer exists (it was deleted). "
                                    "Choose another layer or remove that row."
                                )
                            )
                        ]
                    )
                }
            )
        return super().clean(value)

    def get_context(self, value: blocks.StructValue, parent_context: dict | None = None) -> dict:
        context = super().get_context(value, parent_context=parent_context)
        layers = [layer for layer in value.get("layers") or [] if layer is not None]
        context["layer_slugs"] = ",".join(layer.slug for layer in layers)
        context["layers"] = layers
        # Fixed precision: the same centre always renders the same attribute.
        lat, lon = Decimal(value["centre_latitude"]), Decimal(value["centre_longitude"])
        context["centre"] = f"{lat:.6f},{lon:.6f}"
        return context

    class Meta:
        icon = "site"
        template = "cms/blocks/map.html"
        label = _("Map")


class TimelinePhaseBlock(blocks.StructBlock):
    title = blocks.CharBlock(max_length=200)
    starts_on = blocks.DateBlock(label=_("Starts on"))
    ends_on = blocks.DateBlock(required=False, label=_("Ends on"))
    description = blocks.TextBlock(required=False)

    def clean(self, value: blocks.StructValue) -> blocks.StructValue:
        value = super().clean(value)
        if value["ends_on"] and value["starts_on"] and value["ends_on"] < value["starts_on"]:
            raise StructBlockValidationError(
                block_errors={"ends_on": ValidationError(_("A phase cannot end before it starts."))}
            )
        return value

    class Meta:
        icon = "date"
        label = _("Phase")


class TimelineBlock(blocks.StructBlock):
    heading = blocks.CharBlock(required=False, max_length=200)
    phases = blocks.ListBlock(TimelinePhaseBlock(), min_num=1)

    class Meta:
        icon = "time"
        template = "cms/blocks/timeline.html"
        label = _("Timeline")


anchor_validator = RegexValidator(
    r"^[A-Za-z][A-Za-z0-9_-]*$", _("Use letters, digits, '-' and '_' only, starting with a letter.")
)


class CallToActionBlock(blocks.StructBlock):
    heading = blocks.CharBlock(max_length=200)
    text = blocks.TextBlock(required=False)
    button_label = blocks.CharBlock(max_length=80, default=_("Give your feedback on the map"))
    # The page's feedback map carries this id (see the discussion section of the page templates).
    anchor = blocks.CharBlock(
        max_length=64,
        default="feedback-map",
        validators=[anchor_validator],
        help_text=_("The section of this page the button jumps to."),
    )

    class Meta:
        icon = "pick"
        template = "cms/blocks/call_to_action.html"
        label = _("Call to action")


class PollBlock(blocks.StructBlock):
    """A one-question poll. Votes are stored in ``cms.PollVote`` keyed by the page and this
    block's id; each answer is stored with its label at the time of voting."""

    question = blocks.CharBlock(max_length=250)
    answers = blocks.ListBlock(blocks.CharBlock(max_length=200, label=_("Answer")), min_num=2)
    show_results = blocks.BooleanBlock(
        required=False, default=True, help_text=_("Show the counts after someone has voted.")
    )

    def get_context(self, value: blocks.StructValue, parent_context: dict | None = None) -> dict:
        # The page templates pass the block's id (``include_block … with block_id=…``): votes
        # are keyed by page and block id.
        from cms.selectors import poll_answers_of_value, poll_results, poll_vote_of

        context = super().get_context(value, parent_context=parent_context)
        parent_context = parent_context or {}
        page, block_id = parent_context.get("page"), parent_context.get("block_id")
        request = parent_context.get("request")
        answers = poll_answers_of_value(value)
        context["answers"] = answers
        context["block_id"] = block_id
        context["can_vote"] = bool(page and block_id and getattr(page, "live", False))
        if context["can_vote"] and request is not None:
            session = getattr(request, "session", None)
            chosen = poll_vote_of(
                page=page,
                block_id=block_id,
                user=getattr(request, "user", None) or AnonymousUser(),
                session_key=session.session_key if session is not None else None,
            )
            context["chosen_answer"] = chosen
            if chosen is not None and value.get("show_results"):
                context["results"] = poll_results(page=page, block_id=block_id, answers=answers)
        return context

    class Meta:
        icon = "list-ul"
        template = "cms/blocks/poll.html"
        label = _("Poll")


hex_colour_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Use a colour like #1f77b4."))


class FeedbackCategoryBlock(blocks.StructBlock):
    """One kind of feedback residents choose when they comment (idea, concern…). The slug is
    what comments and the API keep: changing a label or colour later keeps the comments'
    category, changing the slug does not."""

    slug = blocks.CharBlock(
        max_length=50,
        validators=[
            RegexValidator(r"^[a-z0-9][a-z0-9-]*$", _("Lower-case letters, digits and '-' only."))
        ],
    )
    label = blocks.CharBlock(max_length=100)
    colour = blocks.CharBlock(max_length=7, default="#1f77b4", validators=[hex_colour_validator])
    icon = blocks.CharBlock(max_length=50, required=False)

    class Meta:
        icon = "tag"
        label = _("Feedback category")


class FeedbackCategoriesBlock(blocks.StreamBlock):
    category = FeedbackCategoryBlock()

    def clean(self, value):
        value = super().clean(value)
        slugs = [child.value["slug"] for child in value]
        duplicates = sorted({slug for slug in slugs if slugs.count(slug) > 1})
        if duplicates:
            raise blocks.StreamBlockValidationError(
                non_block_errors=[
                    ValidationError(
                        _("Each category needs its own slug; repeated: %(slugs)s.")
                        % {"slugs": ", ".join(duplicates)}
                    )
                ]
            )
        return value


DEFAULT_FEEDBACK_CATEGORIES = [
    ("idea", _("Idea"), "#2ca02c", "lightbulb"),
    ("concern", _("Concern"), "#d62728", "warning"),
    ("question", _("Question"), "#1f77b4", "help"),
    ("support", _("Support"), "#9467bd", "thumbs-up"),
]


def default_feedback_categories() -> list[dict]:
    """What a new page offers until the planner changes it (a callable: each page its copy)."""
    return [
        {
            "type": "category",
            "value": {"slug": slug, "label": str(label), "colour": colour, "icon": icon},
        }
        for slug, label, colour, icon in DEFAULT_FEEDBACK_CATEGORIES
    ]


def page_body_blocks() -> list[tuple[str, blocks.Block]]:
    """The blocks every content page offers; a fresh list so each StreamField owns its blocks."""
    return [
        ("text", RichTextBlock()),
        ("image", ImageBlock()),
        ("map", MapBlock()),
        ("timeline", TimelineBlock()),
        ("call_to_action", CallToActionBlock()),
        ("poll", PollBlock()),
    ]

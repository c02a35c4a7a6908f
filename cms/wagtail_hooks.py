"""Wagtail admin: layers and legend categories as snippets (planners pick layers in map blocks
and edit titles, colours and order here; geometry stays with ``import_layer``), and the poll
answers listing with its CSV export."""

from __future__ import annotations

from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from cms import views
from landuse.models import Category, Layer


class LayerViewSet(SnippetViewSet):
    model = Layer
    icon = "site"
    menu_label = _("Layers")
    list_display = ["title", "slug", "kind", "display_order", "visible_by_default"]
    list_filter = ["kind"]
    search_fields = ["title", "slug", "description"]
    ordering = ["display_order", "title"]
    panels = [
        FieldPanel("title"),
        FieldPanel("slug"),
        FieldPanel("kind"),
        FieldPanel("description"),
        FieldPanel("display_order"),
        FieldPanel("visible_by_default"),
        MultiFieldPanel(
            [
                FieldPanel("source_name"),
                FieldPanel("source_url"),
                FieldPanel("licence"),
                FieldPanel("source_date"),
            ],
            heading=_("Source"),
        ),
    ]


class CategoryViewSet(SnippetViewSet):
    model = Category
    icon = "tag"
    menu_label = _("Legend categories")
    list_display = ["code", "label", "layer", "colour", "order"]
    list_filter = ["layer"]
    search_fields = ["code", "label"]
    ordering = ["layer", "order", "code"]
    panels = [
        FieldPanel("layer"),
        FieldPanel("code"),
        FieldPanel("label"),
        FieldPanel("group"),
        FieldPanel("description"),
        FieldPanel("colour"),
        FieldPanel("order"),
    ]


class MapLayersGroup(SnippetViewSetGroup):
    items = (LayerViewSet, CategoryViewSet)
    menu_icon = "site"
    menu_label = _("Map layers")
    menu_name = "map-layers"


register_snippet(MapLayersGroup)


@hooks.register("register_admin_urls")
def poll_admin_urls():
    return [
        path("poll-votes/", views.poll_votes_index, name="cms_poll_votes"),
        path("poll-votes/export.csv", views.poll_votes_csv, name="cms_poll_votes_csv"),
    ]


class PollVotesMenuItem(MenuItem):
    def is_shown(self, request) -> bool:
        return request.user.has_perm("cms.view_pollvote")


@hooks.register("register_admin_menu_item")
def poll_votes_menu_item():
    return PollVotesMenuItem(
        _("Poll answers"), reverse("cms_poll_votes"), icon_name="list-ul", order=900
    )


# ============================================================================================
# Staff: moderation queue and feedback exports (cms/moderation_views.py). Kept at the end of
# this file, apart from the snippets and polls above.
# ============================================================================================

from cms import moderation_views  # noqa: E402 - this section's own import, kept with it


@hooks.register("register_admin_urls")
def moderation_admin_urls():
    return [
        path("moderation/", moderation_views.moderation_queue, name="cms_moderation"),
        path("moderation/bulk/", moderation_views.moderation_bulk, name="cms_moderation_bulk"),
        path(
            "moderation/comments/<int:comment_id>/",
            moderation_views.moderation_comment,
            name="cms_moderation_comment",
        ),
        path(
            "moderation/comments/<int:comment_id>/act/",
            moderation_views.moderation_act,
            name="cms_moderation_act",
        ),
        path("exports/", moderation_views.exports_index, name="cms_exports"),
    ]


class PermissionMenuItem(MenuItem):
    def __init__(self, *args, permission: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.permission = permission

    def is_shown(self, request) -> bool:
        return request.user.has_perm(self.permission)


@hooks.register("register_admin_menu_item")
def moderation_menu_item():
    return PermissionMenuItem(
        _("Moderation"),
        reverse("cms_moderation"),
        icon_name="warning",
        order=800,
        permission="engage.moderate_comment",
    )


@hooks.register("register_admin_menu_item")
def exports_menu_item():
    return PermissionMenuItem(
        _("Exports"),
        reverse("cms_exports"),
        icon_name="download",
        order=810,
        permission="engage.export_feedback",
    )

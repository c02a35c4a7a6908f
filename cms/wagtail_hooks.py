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

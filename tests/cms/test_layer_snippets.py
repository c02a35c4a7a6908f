"""Layers and legend categories are Wagtail snippets planners can edit and choose in map blocks."""

from __future__ import annotations

import pytest
from django.urls import reverse

from landuse.models import Category, Layer

pytestmark = pytest.mark.django_db


def test_staff_can_list_and_edit_layers_in_the_admin(client, superuser, layers):
    client.force_login(superuser)
    listing = client.get(reverse("wagtailsnippets_landuse_layer:list"))
    assert listing.status_code == 200
    assert "Future land use" in listing.content.decode()
    response = client.post(
        reverse("wagtailsnippets_landuse_layer:edit", args=[layers[0].pk]),
        {
            "title": "Zoning districts",
            "slug": "zoning",
            "kind": "zoning",
            "description": "",
            "display_order": "2",
            "visible_by_default": "on",
            "source_name": "",
            "source_url": "",
            "licence": "",
            "source_date": "",
        },
    )
    assert response.status_code == 302
    layers[0].refresh_from_db()
    assert (layers[0].title, layers[0].display_order) == ("Zoning districts", 2)


def test_a_category_colour_must_be_a_hex_colour(client, superuser, layers):
    category = Category.objects.create(layer=layers[0], code="R-1", label="Residential")
    client.force_login(superuser)
    url = reverse("wagtailsnippets_landuse_category:edit", args=[category.pk])
    data = {
        "layer": layers[0].pk,
        "code": "R-1",
        "label": "Residential",
        "group": "",
        "description": "",
        "colour": "red",
        "order": "0",
    }
    response = client.post(url, data)
    assert response.status_code == 200
    assert "Use a colour like #1f77b4." in response.content.decode()
    response = client.post(url, {**data, "colour": "#ffcc00"})
    assert response.status_code == 302
    category.refresh_from_db()
    assert category.colour == "#ffcc00"


def test_the_layer_chooser_lists_layers(client, superuser, layers):
    client.force_login(superuser)
    response = client.get(reverse("wagtailsnippetchoosers_landuse_layer:choose"))
    assert response.status_code == 200
    assert "Zoning" in response.content.decode()


def test_a_planner_may_see_but_not_change_layers(client, planner, layers):
    client.force_login(planner)
    assert client.get(reverse("wagtailsnippets_landuse_layer:list")).status_code == 200
    edit = client.get(reverse("wagtailsnippets_landuse_layer:edit", args=[layers[0].pk]))
    assert edit.status_code == 302  # Wagtail's refusal: back to the dashboard
    assert Layer.objects.get(pk=layers[0].pk).title == "Zoning"


def test_wagtail_knows_which_pages_use_a_layer_before_it_is_deleted(client, superuser, topic):
    from wagtail.models import ReferenceIndex

    layer = Layer.objects.get(slug="zoning")
    assert str(topic.pk) in {ref.object_id for ref in ReferenceIndex.get_references_to(layer)}
    client.force_login(superuser)
    response = client.get(reverse("wagtailsnippets_landuse_layer:delete", args=[layer.pk]))
    assert response.status_code == 200
    assert "This layer is referenced 1 time." in " ".join(response.content.decode().split())

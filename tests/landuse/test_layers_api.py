"""``GET /api/landuse/layers/``: every layer with its legend, from the categories."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from landuse.models import Category, Layer

pytestmark = pytest.mark.django_db


def test_layers_are_listed_in_display_order_with_their_legends(client):
    zoning = Layer.objects.create(slug="zoning", title="Zoning", kind="zoning", display_order=1)
    future = Layer.objects.create(
        slug="future-land-use", title="Future land use", kind="future_land_use", display_order=2
    )
    Category.objects.create(layer=zoning, code="U-SU-C", label="Urban", colour="#f5e08a", order=2)
    Category.objects.create(layer=zoning, code="C-MX-5", label="Center", colour="#d9534f", order=1)
    Category.objects.create(layer=future, code="Regional Center", label="Regional Center")

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/landuse/layers/")
    assert response.status_code == 200
    assert len(queries) == 2  # the layers and, prefetched, all their categories
    body = response.json()
    assert [layer["slug"] for layer in body] == ["zoning", "future-land-use"]
    assert body[0]["kind"] == "zoning"
    assert body[0]["legend"] == [
        {"code": "C-MX-5", "label": "Center", "colour": "#d9534f", "group": ""},
        {"code": "U-SU-C", "label": "Urban", "colour": "#f5e08a", "group": ""},
    ]
    assert body[1]["legend"][0]["code"] == "Regional Center"


def test_markup_in_a_label_is_returned_as_plain_json_text(client):
    layer = Layer.objects.create(slug="zoning", title="Zoning <b>", kind="zoning")
    Category.objects.create(layer=layer, code="X", label="<img src=x onerror=alert(1)>")
    response = client.get("/api/landuse/layers/")
    assert response["Content-Type"].startswith("application/json")
    assert response.json()[0]["legend"][0]["label"] == "<img src=x onerror=alert(1)>"

"""A feature with geometry is stored and found again by a spatial lookup on this backend."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import Point, Polygon

from landuse.models import Category, Feature, Layer

pytestmark = pytest.mark.django_db


def make_block() -> Feature:
    layer = Layer.objects.create(slug="zoning", title="Zoning", kind=Layer.Kind.ZONING)
    category = Category.objects.create(layer=layer, code="U-SU-C", label="Urban single unit")
    block = Polygon(
        ((-104.99, 39.74), (-104.98, 39.74), (-104.98, 39.75), (-104.99, 39.75), (-104.99, 39.74)),
        srid=4326,
    )
    return Feature.objects.create(layer=layer, category=category, geometry=block)


def test_a_point_inside_a_zoning_polygon_finds_it():
    block = make_block()
    found = Feature.objects.filter(geometry__intersects=Point(-104.985, 39.745, srid=4326))
    assert list(found) == [block]
    assert found.get().category.code == "U-SU-C"


def test_a_point_outside_finds_nothing():
    make_block()
    assert not Feature.objects.filter(
        geometry__intersects=Point(-104.9, 39.745, srid=4326)
    ).exists()


def test_geometry_comes_back_in_wgs84_unchanged():
    block = make_block()
    stored = Feature.objects.get(pk=block.pk).geometry
    assert stored.srid == 4326
    assert stored.equals_exact(block.geometry, tolerance=1e-9)


def test_point_lookup_answers_with_the_category_of_the_feature_under_the_point():
    from landuse.selectors import point_lookup

    make_block()
    [answer] = point_lookup(lon=-104.985, lat=39.745)
    assert (answer.layer_slug, answer.code, answer.label) == (
        "zoning",
        "U-SU-C",
        "Urban single unit",
    )
    assert point_lookup(lon=-104.9, lat=39.745) == []

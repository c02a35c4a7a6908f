"""The sample city: generated deterministically, tiling the city, loaded through the import."""

from __future__ import annotations

import json

import mapbox_vector_tile
import pytest
import shapely
from shapely.geometry import shape

from geo_fixtures import demo_layers, generate_sample_city
from landuse.models import Category, Feature, Layer
from landuse.selectors import layer_features_geojson, layer_tile, point_lookup


def polygons(name: str) -> list:
    collection = json.loads((demo_layers.SAMPLE_CITY / name).read_text())
    return [shape(feature["geometry"]) for feature in collection["features"]]


def test_the_generator_rewrites_the_committed_files_byte_for_byte(tmp_path, monkeypatch):
    monkeypatch.setattr(generate_sample_city, "OUT", tmp_path)
    generate_sample_city.main()
    for path in sorted(demo_layers.SAMPLE_CITY.iterdir()):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


@pytest.mark.parametrize(
    ("name", "at_least"), [("zoning.geojson", 4000), ("future_land_use.geojson", 1000)]
)
def test_zoning_and_future_land_use_tile_the_city_without_gaps_or_overlaps(name, at_least):
    blocks = polygons(name)
    assert len(blocks) >= at_least
    assert all(block.is_valid for block in blocks)
    city = shapely.union_all(blocks)
    # No overlap: the areas add up to the union; no gap: the union fills the city's rectangle.
    assert sum(block.area for block in blocks) == pytest.approx(city.area, rel=1e-9)
    assert city.area == pytest.approx(shapely.envelope(city).area, rel=1e-9)


def test_every_code_in_the_files_has_a_legend_entry():
    specs = json.loads((demo_layers.SAMPLE_CITY / "layers.json").read_text())
    for spec in specs:
        collection = json.loads((demo_layers.SAMPLE_CITY / spec["file"]).read_text())
        used = {f["properties"][spec["code_field"]] for f in collection["features"]}
        assert used <= {c["code"] for c in spec["categories"]}, spec["slug"]


@pytest.mark.django_db
def test_the_demo_loads_the_layers_once_and_keeps_them_on_the_next_run():
    messages: list[str] = []
    demo_layers.ensure_layers(messages.append)
    assert dict(Layer.objects.values_list("slug", "version")) == {
        "zoning": 1,
        "future-land-use": 1,
        "overlays": 1,
    }
    assert Feature.objects.filter(layer__slug="zoning").count() == 4032
    assert Category.objects.get(layer__slug="zoning", code="U-SU-C").colour == "#ffec8b"

    demo_layers.ensure_layers(messages.append)
    assert Layer.objects.get(slug="zoning").version == 1
    assert any("file unchanged" in message for message in messages)

    # Downtown answers with a D- district and the Downtown place type.
    answers = {a.layer_slug: a for a in point_lookup(lon=-104.9745, lat=39.7205)}
    assert answers["zoning"].code.startswith("D-")
    assert answers["future-land-use"].code == "Downtown"

    # At city scale: a downtown tile decodes to many districts, all in the legend.
    zoning = Layer.objects.get(slug="zoning")
    legend = set(zoning.categories.values_list("code", flat=True))
    tile = mapbox_vector_tile.decode(layer_tile(layer=zoning, z=13, x=1707, y=3109))
    codes = [f["properties"]["code"] for f in tile["zoning"]["features"]]
    assert len(codes) > 50 and set(codes) <= legend
    # And the city-wide GeoJSON at a low zoom is smaller than at full detail.
    low = layer_features_geojson(layer=zoning, zoom=10)
    full = layer_features_geojson(layer=zoning)
    assert len(json.loads(full)["features"]) == 4032
    assert len(low) < 0.8 * len(full)


@pytest.mark.django_db
def test_the_city_zoom_geojson_is_under_a_megabyte_with_one_feature_per_zone_class():
    demo_layers.ensure_layers(lambda message: None)
    zoning = Layer.objects.get(slug="zoning")
    body = layer_features_geojson(layer=zoning, zoom=11)
    assert len(body.encode()) <= 1_000_000
    features = json.loads(body)["features"]
    codes = [f["properties"]["code"] for f in features]
    # One dissolved feature per zone class, each carrying its legend entry.
    used = zoning.categories.filter(features__isnull=False).distinct().count()
    assert len(codes) == len(set(codes)) == used
    legend = {c.code: (c.label, c.colour) for c in zoning.categories.all()}
    assert all(
        (f["properties"]["label"], f["properties"]["colour"]) == legend[f["properties"]["code"]]
        for f in features
    )
    # Together they still cover the city the blocks cover, to within half a pixel at z11
    # (a pixel there is about 6.9e-4 degrees of longitude).
    city = shapely.union_all(
        [shape(f["geometry"]) for f in json.loads(layer_features_geojson(layer=zoning))["features"]]
    )
    dissolved = shapely.union_all([shape(f["geometry"]) for f in features])
    assert dissolved.symmetric_difference(city).area < 1e-2 * city.area
    assert shapely.hausdorff_distance(dissolved, city) < 3.4e-4

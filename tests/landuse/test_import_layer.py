"""``import_layer``: every format GDAL reads, reprojection, repair, replacement, and rollback."""

from __future__ import annotations

import zipfile
from io import StringIO
from pathlib import Path

import pytest
import shapely
from django.core.management import CommandError, call_command

from landuse.models import Category, Feature, Layer
from landuse.services import layer_import
from tests.landuse.conftest import WEST_BLOCK, polygon_feature, two_blocks, wiggly_block

pytestmark = pytest.mark.django_db


def import_file(path: Path, **options) -> str:
    out = StringIO()
    call_command(
        "import_layer",
        str(path),
        layer=options.pop("layer", "zoning"),
        kind=options.pop("kind", "zoning"),
        code_field=options.pop("code_field", "ZONE"),
        label_field=options.pop("label_field", "NAME"),
        stdout=out,
        **options,
    )
    return out.getvalue()


def snapshot() -> list[tuple]:
    """Everything an import may change, to prove that a failed one changed nothing."""
    layers = list(Layer.objects.values_list("slug", "version", "source_checksum", "kind"))
    categories = list(Category.objects.values_list("layer__slug", "code", "label", "colour"))
    features = sorted((f.pk, f.category_id, f.geometry.wkt) for f in Feature.objects.all())
    return [layers, categories, features]


def codes_by_block() -> dict[str, str]:
    return {
        ("west" if f.geometry.centroid.x < -104.98 else "east"): f.category.code
        for f in Feature.objects.select_related("category")
    }


def test_it_imports_geojson_with_categories_labels_and_attributes(write_geojson):
    output = import_file(write_geojson(two_blocks()))
    layer = Layer.objects.get(slug="zoning")
    assert layer.kind == "zoning" and layer.version == 1 and layer.imported_at
    assert "2 features imported" in output
    assert dict(layer.categories.values_list("code", "label")) == {
        "U-SU-C": "Urban single unit C",
        "C-MX-5": "Urban center mixed use 5",
    }
    assert all(c.colour.startswith("#") and len(c.colour) == 7 for c in layer.categories.all())
    assert codes_by_block() == {"west": "U-SU-C", "east": "C-MX-5"}
    west = Feature.objects.get(category__code="U-SU-C")
    assert west.attributes == {"ZONE": "U-SU-C", "NAME": "Urban single unit C"}
    assert west.geometry.srid == 4326
    assert west.geometry_3857.srid == 3857


def test_it_stores_each_simplified_band_in_web_mercator_for_the_tiles(write_geojson):
    import_file(write_geojson([*two_blocks(), wiggly_block()]))
    wiggly = Feature.objects.get(category__code="I-A")
    for band in ("low", "mid"):
        simplified = getattr(wiggly, f"geometry_{band}")
        projected = getattr(wiggly, f"geometry_{band}_3857")
        assert projected.srid == 3857
        assert projected.equals_exact(simplified.transform(3857, clone=True), tolerance=1e-6)
        assert projected.num_coords < wiggly.geometry_3857.num_coords
    # A rectangle has nothing to simplify: no band, the tile draws the full copy.
    west = Feature.objects.get(category__code="U-SU-C")
    assert west.geometry_low_3857 is None and west.geometry_mid_3857 is None


def test_the_migration_projects_the_bands_of_features_imported_before_it(write_geojson):
    import importlib
    from types import SimpleNamespace

    from django.db import connection

    migration = importlib.import_module("landuse.migrations.0004_tile_bands_in_web_mercator")
    import_file(write_geojson([*two_blocks(), wiggly_block()]))
    imported = {f.pk: f for f in Feature.objects.all()}
    Feature.objects.update(geometry_low_3857=None, geometry_mid_3857=None)
    with connection.cursor() as cursor:
        # What the function uses of a schema editor; a real one refuses to open inside the
        # test's transaction on SQLite.
        editor = SimpleNamespace(connection=connection, execute=cursor.execute)
        migration.project_existing_bands(None, editor)
    for feature in Feature.objects.all():
        for band in ("low_3857", "mid_3857"):
            before = getattr(imported[feature.pk], f"geometry_{band}")
            after = getattr(feature, f"geometry_{band}")
            assert (after is None) == (before is None)
            assert after is None or after.equals_exact(before, tolerance=1e-3)
    assert Feature.objects.filter(geometry_low_3857__isnull=False).count() == 1


def test_it_imports_a_shapefile_folder(write_geojson, ogr2ogr):
    folder = ogr2ogr(write_geojson(two_blocks()), "shapes", "ESRI Shapefile")
    import_file(folder)
    assert codes_by_block() == {"west": "U-SU-C", "east": "C-MX-5"}


def test_it_imports_a_zipped_shapefile(write_geojson, ogr2ogr, tmp_path):
    folder = ogr2ogr(write_geojson(two_blocks()), "shapes", "ESRI Shapefile")
    archive = tmp_path / "zoning.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for part in folder.iterdir():
            zipped.write(part, part.name)
    import_file(archive)
    assert codes_by_block() == {"west": "U-SU-C", "east": "C-MX-5"}


@pytest.fixture
def geopackage(write_geojson, ogr2ogr) -> Path:
    """A GeoPackage with two layers: ``zoning`` (two blocks) and ``parks`` (one)."""
    package = ogr2ogr(write_geojson(two_blocks()), "city.gpkg", "GPKG", "-nln", "zoning")
    parks = write_geojson(two_blocks()[:1], "other.geojson")
    ogr2ogr(parks, "city.gpkg", "GPKG", "-update", "-nln", "parks")
    return package


def test_it_finds_the_shapefile_in_a_folder_inside_the_zip(write_geojson, ogr2ogr, tmp_path):
    folder = ogr2ogr(write_geojson(two_blocks()), "shapes", "ESRI Shapefile")
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for part in folder.iterdir():
            zipped.write(part, f"zoning_2026/{part.name}")
    import_file(archive)
    assert codes_by_block() == {"west": "U-SU-C", "east": "C-MX-5"}


def test_it_reprojects_geojson_with_a_legacy_crs_member(write_geojson, ogr2ogr):
    projected = ogr2ogr(
        write_geojson(two_blocks()), "stateplane.geojson", "GeoJSON", "-t_srs", "EPSG:2232"
    )
    assert '"crs"' in projected.read_text()
    import_file(projected)
    west = Feature.objects.get(category__code="U-SU-C").geometry
    assert west.extent == pytest.approx((-104.99, 39.74, -104.98, 39.75), abs=1e-6)


def test_it_rejects_a_shapefile_whose_crs_is_gibberish(write_geojson, ogr2ogr):
    folder = ogr2ogr(write_geojson(two_blocks()), "shapes", "ESRI Shapefile")
    for prj in folder.glob("*.prj"):
        prj.write_text("this is not a projection")
    with pytest.raises(CommandError, match="shapes: .*(coordinate reference system|CRS)"):
        import_file(folder)
    assert snapshot() == [[], [], []]


def test_it_imports_the_named_layer_of_a_geopackage(geopackage):
    package = geopackage
    import_file(package, source_layer="zoning")
    assert Feature.objects.count() == 2
    import_file(package, source_layer="parks")
    assert Feature.objects.count() == 1


def test_a_geopackage_with_several_layers_needs_source_layer(geopackage):
    package = geopackage
    with pytest.raises(CommandError, match=r"city\.gpkg: holds 2 layers .*--source-layer"):
        import_file(package)
    with pytest.raises(CommandError, match="no layer named 'roads'"):
        import_file(package, source_layer="roads")
    assert not Layer.objects.exists()


def test_it_imports_kml(write_geojson, ogr2ogr):
    kml = ogr2ogr(write_geojson(two_blocks()), "zoning.kml", "KML")
    import_file(kml)
    assert codes_by_block() == {"west": "U-SU-C", "east": "C-MX-5"}


def test_it_imports_csv_with_a_wkt_column(write_geojson, ogr2ogr):
    csv = ogr2ogr(write_geojson(two_blocks()), "zoning.csv", "CSV", "-lco", "GEOMETRY=AS_WKT")
    assert csv.read_text().startswith("WKT,")
    import_file(csv)
    assert codes_by_block() == {"west": "U-SU-C", "east": "C-MX-5"}


def test_it_reprojects_colorado_state_plane_to_wgs84(write_geojson, ogr2ogr):
    projected = ogr2ogr(
        write_geojson(two_blocks()), "stateplane.gpkg", "GPKG", "-t_srs", "EPSG:2232"
    )
    import_file(projected)
    west = Feature.objects.get(category__code="U-SU-C").geometry
    assert west.srid == 4326
    assert shapely.equals_exact(
        shapely.normalize(shapely.from_wkt(west.wkt)),
        shapely.normalize(shapely.Polygon(WEST_BLOCK)),
        tolerance=1e-6,
    )


def test_it_repairs_a_self_intersecting_polygon(write_geojson):
    bowtie = [
        [-104.99, 39.74],
        [-104.98, 39.75],
        [-104.98, 39.74],
        [-104.99, 39.75],
        [-104.99, 39.74],
    ]
    output = import_file(write_geojson([polygon_feature(bowtie, ZONE="OS-A", NAME="Open space")]))
    assert "1 geometries repaired" in output
    stored = Feature.objects.get().geometry
    assert stored.valid
    assert stored.geom_type == "MultiPolygon"
    assert stored.area == pytest.approx(0.00005, rel=1e-6)


def test_it_stores_exterior_rings_counter_clockwise(write_geojson):
    clockwise = list(reversed(WEST_BLOCK))
    import_file(write_geojson([polygon_feature(clockwise, ZONE="U-SU-C", NAME="x")]))
    ring = shapely.from_wkt(Feature.objects.get().geometry.wkt).exterior
    assert ring.is_ccw


def test_reimporting_replaces_the_features_and_bumps_the_version(write_geojson):
    import_file(write_geojson(two_blocks()))
    planner_colour = Category.objects.filter(code="U-SU-C").update(colour="#123456")
    assert planner_colour == 1
    import_file(write_geojson(two_blocks()[:1], "smaller.geojson"))
    layer = Layer.objects.get(slug="zoning")
    assert layer.version == 2
    assert Feature.objects.count() == 1
    # A planner's colour survives a re-import.
    assert Category.objects.get(code="U-SU-C").colour == "#123456"


def test_a_bad_feature_rolls_back_the_whole_import(write_geojson):
    import_file(write_geojson(two_blocks()))
    before = snapshot()
    empty = {
        "type": "Feature",
        "properties": {"ZONE": "I-A", "NAME": "Industrial"},
        "geometry": None,
    }
    bad = write_geojson([two_blocks()[0], empty], "bad.geojson")
    with pytest.raises(CommandError, match=r"bad\.geojson: feature 2: has no geometry"):
        import_file(bad)
    assert snapshot() == before
    assert not Category.objects.filter(code="I-A").exists()


def test_a_failed_first_import_leaves_no_layer_behind(write_geojson):
    point = {
        "type": "Feature",
        "properties": {"ZONE": "U-SU-C", "NAME": "x"},
        "geometry": {"type": "Point", "coordinates": [-104.98, 39.74]},
    }
    with pytest.raises(
        CommandError, match="feature 1: a Point where this layer takes only polygons"
    ):
        import_file(write_geojson([point]))
    assert snapshot() == [[], [], []]


def test_it_rejects_a_file_that_is_not_geodata(tmp_path, write_geojson):
    import_file(write_geojson(two_blocks()))
    before = snapshot()
    text = tmp_path / "minutes.geojson"
    text.write_text("Minutes of the planning board, 3 March.\n")
    with pytest.raises(CommandError, match=r"minutes\.geojson: not a geodata file"):
        import_file(text)
    assert snapshot() == before


def test_it_rejects_a_shapefile_without_a_crs(write_geojson, ogr2ogr):
    folder = ogr2ogr(write_geojson(two_blocks()), "shapes", "ESRI Shapefile")
    for prj in folder.glob("*.prj"):
        prj.unlink()
    with pytest.raises(CommandError, match="unknown coordinate reference system"):
        import_file(folder)
    assert snapshot() == [[], [], []]


def test_it_rejects_projected_coordinates_that_claim_to_be_wgs84(write_geojson):
    far = [[3140000, 1690000], [3141000, 1690000], [3141000, 1691000], [3140000, 1690000]]
    with pytest.raises(CommandError, match="feature 1: coordinates outside WGS84"):
        import_file(write_geojson([polygon_feature(far, ZONE="U-SU-C", NAME="x")]))
    assert snapshot() == [[], [], []]


def test_it_names_a_missing_code_field(write_geojson):
    with pytest.raises(
        CommandError, match=r"--code-field: no field 'ZONE_DIST' \(fields: ZONE, NAME\)"
    ):
        import_file(write_geojson(two_blocks()), code_field="ZONE_DIST")
    assert snapshot() == [[], [], []]


def test_it_rejects_an_empty_code(write_geojson):
    with pytest.raises(CommandError, match="feature 2: empty value in code field 'ZONE'"):
        import_file(
            write_geojson([two_blocks()[0], polygon_feature(WEST_BLOCK, ZONE="", NAME="x")])
        )


def test_it_rejects_an_empty_geometry(write_geojson):
    empty = {
        "type": "Feature",
        "properties": {"ZONE": "I-A", "NAME": "x"},
        "geometry": {"type": "Polygon", "coordinates": []},
    }
    with pytest.raises(CommandError, match="feature 1: .*(empty geometry|has no geometry)"):
        import_file(write_geojson([empty]))
    assert snapshot() == [[], [], []]


def test_it_rejects_a_geometry_collection(write_geojson):
    collection = {
        "type": "Feature",
        "properties": {"ZONE": "I-A", "NAME": "x"},
        "geometry": {
            "type": "GeometryCollection",
            "geometries": [{"type": "Polygon", "coordinates": [WEST_BLOCK]}],
        },
    }
    with pytest.raises(CommandError, match="feature 1: geometry collections are not accepted"):
        import_file(write_geojson([collection]))


def test_it_rejects_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="nowhere.geojson: no such file"):
        import_file(tmp_path / "nowhere.geojson")


def test_progress_is_reported_as_features_are_imported(write_geojson):
    seen: list[tuple[int, int]] = []
    layer_import(
        path=write_geojson(two_blocks()),
        layer_slug="zoning",
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen[-1] == (2, 2)


def test_an_unchanged_file_is_skipped_when_asked(write_geojson):
    path = write_geojson(two_blocks())
    layer_import(path=path, layer_slug="zoning", kind="zoning", code_field="ZONE")
    again = layer_import(path=path, layer_slug="zoning", code_field="ZONE", skip_if_unchanged=True)
    assert again.skipped and again.layer.version == 1


def test_a_reference_layer_takes_points_and_lines(write_geojson):
    point = {
        "type": "Feature",
        "properties": {"NAME": "Station"},
        "geometry": {"type": "Point", "coordinates": [-104.98, 39.74]},
    }
    line = {
        "type": "Feature",
        "properties": {"NAME": "Line"},
        "geometry": {"type": "LineString", "coordinates": [[-104.98, 39.74], [-104.97, 39.75]]},
    }
    result = layer_import(path=write_geojson([point, line]), layer_slug="transit", kind="reference")
    assert result.features == 2
    assert Feature.objects.filter(category__isnull=True).count() == 2

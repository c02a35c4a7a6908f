"""Hostile layer files for ``import_layer`` (THREATS 3; issue 9's GDAL note): path traversal
and zip bombs in archives, files that are not geodata, and spatial references that point at a
file or a URL. Each one is refused with a command error naming the file, and changes nothing."""

from __future__ import annotations

import json
import zipfile
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.landuse.conftest import polygon_feature, two_blocks
from tests.security.conftest import row_counts

pytestmark = pytest.mark.django_db


def run_import(path: Path) -> str:
    out = StringIO()
    call_command(
        "import_layer", str(path), layer="zoning", kind="zoning", code_field="ZONE",
        label_field="NAME", stdout=out,
    )  # fmt: skip
    return out.getvalue()


def collection(crs: dict | None = None) -> str:
    data: dict = {"type": "FeatureCollection", "features": two_blocks()}
    if crs is not None:
        data["crs"] = crs
    return json.dumps(data)


def assert_refused(path: Path, *reason_words: str) -> None:
    before = row_counts()
    with pytest.raises(CommandError) as refused:
        run_import(path)
    assert row_counts() == before
    message = str(refused.value)
    assert path.name in message
    for word in reason_words:
        assert word in message, message


# --- Archives ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "member",
    [
        "../outside.geojson",
        "../../etc/outside.geojson",
        "/tmp/outside.geojson",
        "a/../../outside.geojson",
        "..\\outside.geojson",
    ],  # fmt: skip
)
def test_a_zip_member_that_climbs_out_of_the_archive_is_refused(tmp_path, member):
    # A real file next to the archive: the import must never read it instead.
    (tmp_path / "outside.geojson").write_text(collection())
    archive = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(member, collection())
    assert_refused(archive, "unsafe")


def test_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path, settings):
    settings.LAYER_IMPORT_MAX_UNCOMPRESSED_BYTES = 5 * 1024 * 1024
    archive = tmp_path / "bomb.zip"
    padding = " " * (20 * 1024 * 1024)  # inflates 1000:1
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("layer.geojson", collection()[:-1] + padding + "}")
    assert_refused(archive, "uncompressed")


def test_a_zip_with_very_many_members_is_refused(tmp_path):
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("layer.geojson", collection())
        for index in range(10_001):
            zf.writestr(f"junk/{index}.txt", "")
    assert_refused(archive, "members")


def test_a_zip_that_is_not_a_zip_is_refused(tmp_path):
    archive = tmp_path / "fake.zip"
    archive.write_bytes(b"PK\x03\x04 but not really")
    assert_refused(archive, "zip")


# --- Not geodata ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("layer.geojson", b""),
        ("layer.geojson", b"<html><script>alert(1)</script></html>"),
        ("layer.geojson", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100),
        ("layer.geojson", b'{"type": "FeatureCollection", "features": "nope"}'),
        ("layer.geojson", b"[" * 100_000),
        ("layer.kml", b"<kml><Document></Document>"),
        ("layer.gpkg", b"SQLite format 3\x00" + b"\x00" * 200),
        ("layer.shp", b"\x00\x00\x27\x0a" + b"\x00" * 96),
        ("layer.csv", b"WKT,ZONE,NAME\n'DROP TABLE',A,B\n"),
    ],
)
def test_a_file_that_is_not_geodata_is_refused(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    assert_refused(path)


# --- Spatial references pointing elsewhere -------------------------------------------------


@pytest.mark.parametrize(
    "crs",
    [
        {"type": "link", "properties": {"href": "file:///etc/passwd", "type": "proj4"}},
        {"type": "link", "properties": {"href": "http://169.254.169.254/crs", "type": "ogcwkt"}},
        {"type": "name", "properties": {"name": "/etc/passwd"}},
        {"type": "name", "properties": {"name": "http://127.0.0.1:9/crs.wkt"}},
        {"type": "name", "properties": {"name": "+proj=longlat +init=/etc/passwd"}},
        {"type": "EPSG", "properties": {"code": "../../etc/passwd"}},
        {"type": "name", "properties": {"name": 'GEOGCS["x",DATUM["/etc/passwd"]]'}},
    ],
)
def test_a_geojson_crs_pointing_at_a_file_or_url_is_refused(tmp_path, crs):
    path = tmp_path / "layer.geojson"
    path.write_text(collection(crs))
    assert_refused(path, "crs")


def test_a_crs_pointing_elsewhere_inside_a_zip_is_refused(tmp_path):
    archive = tmp_path / "layer.zip"
    crs = {"type": "link", "properties": {"href": "file:///etc/passwd"}}
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("data/layer.geojson", collection(crs))
    assert_refused(archive, "crs")


@pytest.mark.parametrize(
    "name", ["EPSG:4326", "urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:EPSG::4326"]
)
def test_a_geojson_crs_naming_an_epsg_code_is_accepted(tmp_path, name):
    path = tmp_path / "layer.geojson"
    path.write_text(collection({"type": "name", "properties": {"name": name}}))
    assert "2 features imported" in run_import(path)


def test_ewkt_with_a_foreign_srid_in_a_csv_is_refused(tmp_path):
    path = tmp_path / "layer.csv"
    path.write_text(
        "WKT,ZONE,NAME\n"
        '"SRID=3857;POLYGON((-11688000 4828000,-11687000 4828000,-11687000 4829000,'
        '-11688000 4828000))",A,B\n'
    )
    assert_refused(path)


def test_an_xml_entity_in_kml_is_never_expanded(tmp_path):
    ring = polygon_feature([[-104.99, 39.74], [-104.98, 39.74], [-104.98, 39.75],
                            [-104.99, 39.74]])["geometry"]["coordinates"][0]  # fmt: skip
    coordinates = " ".join(f"{x},{y}" for x, y in ring)
    path = tmp_path / "layer.kml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE kml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark>'
        "<name>&secret;</name><Polygon><outerBoundaryIs><LinearRing><coordinates>"
        f"{coordinates}</coordinates></LinearRing></outerBoundaryIs></Polygon>"
        "</Placemark></Document></kml>"
    )
    from landuse.models import Category

    try:
        run_import_kml = StringIO()
        call_command("import_layer", str(path), layer="zoning", kind="zoning",
                     code_field="Name", stdout=run_import_kml)  # fmt: skip
    except CommandError:
        return  # refused: fine
    assert not Category.objects.filter(code__contains="root:").exists()


def test_markup_in_imported_labels_is_escaped_on_the_map_page_and_in_the_admin(
    tmp_path, admin_client
):
    features = [
        polygon_feature(feature["geometry"]["coordinates"][0], ZONE="<svg onload=alert(1)>",
                        NAME='<img src=x onerror=alert(1)>"><script>alert(2)</script>')
        for feature in two_blocks()[:1]
    ]  # fmt: skip
    path = tmp_path / "layer.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    run_import(path)
    from django.test import Client

    page = Client().get("/map/").content.decode()
    for raw in ("<svg onload", "<img src=x", "<script>alert(2)"):
        assert raw not in page
    legend = Client().get("/api/landuse/layers/").json()
    assert legend[0]["legend"][0]["label"].startswith("<img")  # JSON keeps the text as text
    listing = admin_client.get("/admin/snippets/landuse/category/").content.decode()
    assert "<svg onload" not in listing and "<img src=x" not in listing
    assert "&lt;svg onload" in listing  # shown, as text

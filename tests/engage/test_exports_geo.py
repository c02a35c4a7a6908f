"""GeoJSON and GeoPackage exports, read back: RFC 7946 shape, and GDAL's own reader for the
GeoPackage (EPSG:4326, typed fields)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from django.contrib.gis.gdal import DataSource

from engage.models import Comment, ExportRecord
from tests.conftest import require_service
from tests.engage.export_helpers import content_of, export_url, feedback_discussion

pytestmark = pytest.mark.django_db


def test_geojson_is_an_rfc7946_feature_collection(moderator_client, landuse_map):
    discussion, ids = feedback_discussion()
    response = moderator_client.get(export_url(discussion, "geojson"))
    assert response["Content-Type"] == "application/geo+json"
    assert response.is_async
    collection = json.loads(content_of(response))
    assert collection["type"] == "FeatureCollection" and "crs" not in collection
    features = {f["id"]: f for f in collection["features"]}
    assert set(features) == set(ids.values())
    point = features[ids["point"]]
    assert point["geometry"] == {"type": "Point", "coordinates": [-104.99, 39.74]}
    assert point["properties"]["zoning_code"] == "C-MX-5" and point["properties"]["agree"] == 2
    assert features[ids["reply"]]["geometry"] is None
    ring = features[ids["area"]]["geometry"]["coordinates"][0]
    signed_area = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:], strict=False))
    assert signed_area > 0  # exterior ring counter-clockwise
    assert ExportRecord.objects.get().row_count == 4


def test_an_empty_selection_is_a_valid_empty_collection(moderator_client):
    discussion, _ids = feedback_discussion()
    body = content_of(moderator_client.get(export_url(discussion, "geojson", "category=none")))
    assert json.loads(body) == {"type": "FeatureCollection", "features": []}


def test_the_geopackage_opens_in_gdal_with_epsg_4326_and_typed_fields(
    moderator_client, tmp_path, landuse_map
):
    discussion, ids = feedback_discussion()
    response = moderator_client.get(export_url(discussion, "gpkg"))
    assert response["Content-Type"] == "application/geopackage+sqlite3"
    path = tmp_path / "feedback.gpkg"
    path.write_bytes(content_of(response))
    layer = DataSource(str(path))["feedback"]
    assert layer.srs.srid == 4326
    assert len(layer) == 4
    types = dict(zip(layer.fields, [t.__name__ for t in layer.field_types], strict=True))
    assert types["agree"] == "OFTInteger" and types["flags"] == "OFTInteger"
    assert types["created_at"] == "OFTDateTime" and types["body"] == "OFTString"
    features = {f.get("id"): f for f in layer}
    assert features[ids["point"]].geom.coords == pytest.approx((-104.99, 39.74))
    assert features[ids["point"]].get("zoning_code") == "C-MX-5"
    assert ExportRecord.objects.get().row_count == 4


def test_ogrinfo_reports_the_crs_and_field_types_qgis_will_see(moderator_client, tmp_path):
    if shutil.which("ogrinfo") is None:
        require_service("needs gdal-bin's ogrinfo")
    discussion, _ids = feedback_discussion()
    path = tmp_path / "feedback.gpkg"
    path.write_bytes(content_of(moderator_client.get(export_url(discussion, "gpkg"))))
    info = subprocess.run(
        ["ogrinfo", "-so", "-al", str(path)], capture_output=True, text=True, check=True
    ).stdout
    assert 'ID["EPSG",4326]' in info
    assert "agree: Integer" in info and "created_at: DateTime" in info
    assert "Feature Count: 4" in info


@pytest.mark.parametrize("fmt", ["gpkg", "xlsx"])
def test_no_temporary_file_is_left_even_when_the_download_never_starts(
    moderator_client, tmp_path, monkeypatch, fmt
):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    discussion, _ids = feedback_discussion()
    response = moderator_client.get(export_url(discussion, fmt))
    assert response.status_code == 200
    assert list(tmp_path.iterdir()) == []  # the open handle keeps the data; the name is gone
    assert content_of(response)[:2] in (b"SQ", b"PK")


def test_geopackage_text_keeps_quotes_commas_and_line_breaks(moderator_client, tmp_path):
    # GDAL's CSV reader joins the lines of a quoted field with "\n" (a CRLF inside comes back
    # as LF, as it did when Python's csv module wrote the lines).
    discussion, ids = feedback_discussion()
    body = 'She said "no", twice,\nthen: ""quiet"" — café'
    Comment.objects.filter(pk=ids["point"]).update(body=body)
    path = tmp_path / "feedback.gpkg"
    path.write_bytes(content_of(moderator_client.get(export_url(discussion, "gpkg"))))
    features = {f.get("id"): f for f in DataSource(str(path))["feedback"]}
    assert features[ids["point"]].get("body") == body
    assert features[ids["point"]].geom.coords == pytest.approx((-104.99, 39.74))

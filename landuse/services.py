"""Writes to the land-use layers: importing a GIS file into a layer.

Files are read with GDAL/OGR (through ``django.contrib.gis.gdal``), so every format and CRS GDAL
knows works; geometry is repaired, oriented and simplified with Shapely (GEOS) before it is
stored. Only staff reach this code, from the command line: no SRS text from the web reaches GDAL.
"""

from __future__ import annotations

import colorsys
import datetime as dt
import hashlib
import json
import re
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import shapely
from django.conf import settings
from django.contrib.gis.gdal import CoordTransform, DataSource, GDALException, SpatialReference
from django.contrib.gis.gdal.error import SRSException
from django.contrib.gis.geos import GEOSGeometry
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from shapely.geometry.base import BaseGeometry

from landuse import sql
from landuse.fastpath import layer_versions_forget
from landuse.models import Category, Feature, GeneralisedFeature, Layer

# Simplification tolerances in degrees for the stored zoom bands (see ``zoom_band``). At z10 a
# pixel is about 1.4e-3 degrees and at z12 about 3.4e-4: both stay under a quarter pixel.
LOW_ZOOM_TOLERANCE = 3e-4
MID_ZOOM_TOLERANCE = 8e-5
GENERALISED_MAX_ZOOM = sql.GENERALISED_MAX_ZOOM
BATCH_SIZE = 500

Progress = Callable[[int, int], None]

POLYGONAL = {"Polygon", "MultiPolygon"}
LINEAR = {"LineString", "MultiLineString", "LinearRing"}
PUNCTUAL = {"Point", "MultiPoint"}
ACCEPTED_TYPES = {
    Layer.GeometryType.POLYGON: POLYGONAL,
    Layer.GeometryType.LINE: LINEAR,
    Layer.GeometryType.POINT: PUNCTUAL,
    Layer.GeometryType.ANY: POLYGONAL | LINEAR | PUNCTUAL,
}
# Zoning-like layers describe areas; a point or a line in such a file is a mistake in the file.
GEOMETRY_TYPE_FOR_KIND = {
    Layer.Kind.ZONING: Layer.GeometryType.POLYGON,
    Layer.Kind.FUTURE_LAND_USE: Layer.GeometryType.POLYGON,
    Layer.Kind.OVERLAY: Layer.GeometryType.POLYGON,
    Layer.Kind.REFERENCE: Layer.GeometryType.ANY,
}
# Formats without a CRS of their own whose coordinates are WGS84 by definition or convention.
WGS84_BY_DEFAULT_DRIVERS = {"CSV", "KML", "LIBKML", "GeoJSON"}
DATA_SUFFIXES = {".shp", ".gpkg", ".geojson", ".json", ".kml", ".csv"}
GEOJSON_SUFFIXES = {".geojson", ".json"}

# Archives: limits checked from the zip directory before GDAL inflates anything.
MAX_ZIP_MEMBERS = 10_000
MAX_ZIP_RATIO = 200  # a deflated member over 1 MB inflating more than this is a bomb
DEFAULT_MAX_UNCOMPRESSED_BYTES = 2 * 1024**3  # settings.LAYER_IMPORT_MAX_UNCOMPRESSED_BYTES
# A GeoJSON ``crs`` may only *name* a reference system; GDAL 3.6 would follow a link or read
# a file or URL named in it (Django's gis.W001), so nothing else reaches GDAL.
CRS_NAME = re.compile(
    r"^(EPSG:\d{1,6}|urn:ogc:def:crs:EPSG:[\d.]*:\d{1,6}|urn:ogc:def:crs:OGC:(1\.3)?:CRS84)$"
)


class LayerImportError(Exception):
    """A file that cannot be imported. ``str()`` is the one-line message staff see."""

    def __init__(self, path: Path | str, reason: str, *, feature_number: int | None = None):
        self.path = str(path)
        self.reason = reason
        self.feature_number = feature_number
        where = f"feature {feature_number}: " if feature_number is not None else ""
        super().__init__(f"{self.path}: {where}{reason}")


@dataclass(frozen=True)
class ImportResult:
    layer: Layer
    features: int
    categories_created: int
    repaired: int
    skipped: bool = False


def file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    if path.is_dir():
        for child in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(child.relative_to(path).as_posix().encode())
            digest.update(child.read_bytes())
    else:
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def generated_colour(code: str) -> str:
    """A stable, distinguishable colour for a category nobody has coloured yet."""
    hue = int(hashlib.sha256(code.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    red, green, blue = colorsys.hls_to_rgb(hue, 0.6, 0.55)
    return f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}"


def _check_crs_members(path: Path, stream) -> None:
    """Refuse a GeoJSON whose ``crs`` member (anywhere) does more than name an EPSG code."""
    decoder = json.JSONDecoder()
    tail = b""
    while chunk := stream.read(1024 * 1024):
        window = tail + chunk
        for match in re.finditer(rb'"crs"\s*:', window):
            text = window[match.end() : match.end() + 4096].decode("utf-8", "replace").lstrip()
            if not text.startswith("{"):
                continue  # an attribute called "crs", not a reference system
            try:
                crs, _ = decoder.raw_decode(text)
            except ValueError:
                raise LayerImportError(path, "unreadable or oversized crs member") from None
            properties = crs.get("properties") if isinstance(crs, dict) else None
            kind = crs.get("type") if isinstance(crs, dict) else None
            name = properties.get("name") if isinstance(properties, dict) else None
            code = properties.get("code") if isinstance(properties, dict) else None
            named = kind == "name" and isinstance(name, str) and CRS_NAME.match(name)
            coded = kind == "EPSG" and isinstance(code, int) and 0 < code < 1_000_000
            if not (named or coded):
                raise LayerImportError(
                    path, "the crs member must name an EPSG code (links, files and URLs refused)"
                )
        tail = window[-4200:]


def _check_archive(path: Path, archive: zipfile.ZipFile) -> None:
    """Path traversal and zip bombs, from the directory alone (nothing is extracted)."""
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise LayerImportError(path, f"more than {MAX_ZIP_MEMBERS} members in the archive")
    limit = getattr(settings, "LAYER_IMPORT_MAX_UNCOMPRESSED_BYTES", DEFAULT_MAX_UNCOMPRESSED_BYTES)
    total = 0
    for info in infos:
        name = info.filename.replace("\\", "/")
        if name.startswith("/") or ".." in name.split("/") or ":" in name:
            raise LayerImportError(path, f"unsafe member name {info.filename!r}")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > 1024 * 1024 and ratio > MAX_ZIP_RATIO:
            raise LayerImportError(
                path, f"member {name!r}: uncompressed size {ratio:.0f} times the compressed one"
            )
        total += info.file_size
    if total > limit:
        raise LayerImportError(path, f"uncompressed size over {limit} bytes")
    for info in infos:
        if Path(info.filename).suffix.lower() in GEOJSON_SUFFIXES:
            with archive.open(info) as stream:
                _check_crs_members(path, stream)


def _open_datasource(path: Path) -> DataSource:
    if not path.exists():
        raise LayerImportError(path, "no such file or folder")
    target = str(path)
    if path.suffix.lower() in GEOJSON_SUFFIXES and path.is_file():
        with path.open("rb") as stream:
            _check_crs_members(path, stream)
    if path.suffix.lower() == ".zip":
        if not zipfile.is_zipfile(path):
            raise LayerImportError(path, "not a zip archive")
        target = f"/vsizip/{path}"
        # Archives often hold the data in a folder; GDAL only looks at the top level.
        with zipfile.ZipFile(path) as archive:
            _check_archive(path, archive)
            members = [
                name
                for name in archive.namelist()
                if Path(name).suffix.lower() in DATA_SUFFIXES and not name.startswith("__MACOSX")
            ]
        if len(members) == 1:
            target = f"{target}/{members[0]}"
    elif path.suffix.lower() == ".csv":
        # Force the CSV driver, which takes the geometry from a column named ``WKT``.
        target = f"CSV:{path}"
    try:
        return DataSource(target)
    except GDALException:
        raise LayerImportError(path, "not a geodata file GDAL can read") from None


def _pick_layer(path: Path, datasource: DataSource, source_layer: str | None):
    names = [layer.name for layer in datasource]
    if not names:
        raise LayerImportError(path, "the file holds no layers")
    if source_layer:
        if source_layer not in names:
            raise LayerImportError(
                path, f"no layer named {source_layer!r} (layers: {', '.join(names)})"
            )
        return datasource[source_layer]
    if len(names) > 1:
        raise LayerImportError(
            path, f"holds {len(names)} layers ({', '.join(names)}): pick one with --source-layer"
        )
    return datasource[0]


def _transform_to_wgs84(path: Path, driver: str, ogr_layer) -> CoordTransform | None:
    try:
        srs = ogr_layer.srs
    except (SRSException, GDALException):
        srs = None
    if srs is None or not srs.wkt:
        if driver in WGS84_BY_DEFAULT_DRIVERS:
            return None
        raise LayerImportError(path, "unknown coordinate reference system (no .prj or CRS)")
    wgs84 = SpatialReference(4326)
    if srs.geographic and (srs.srid == 4326 or srs.name in {"WGS 84", "GCS_WGS_1984"}):
        return None
    try:
        return CoordTransform(srs, wgs84)
    except (GDALException, SRSException):
        raise LayerImportError(path, f"cannot reproject from CRS {srs.name!r}") from None


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _attributes(ogr_feature, field_names: list[str]) -> dict[str, Any]:
    attributes = {}
    for name in field_names:
        try:
            attributes[name] = _json_safe(ogr_feature.get(name))
        except (GDALException, ValueError, TypeError):
            attributes[name] = None
    return attributes


def _polygonal_part(geometry: BaseGeometry) -> BaseGeometry:
    """The areas of a repaired geometry: make_valid may add stray lines or points."""
    parts = [g for g in shapely.get_parts(geometry) if g.geom_type in POLYGONAL]
    if not parts:
        return shapely.Polygon()
    return shapely.union_all(parts) if len(parts) > 1 else parts[0]


def _clean_geometry(
    raw: BaseGeometry, *, accepted: set[str], polygons_only: bool
) -> tuple[BaseGeometry, bool, str | None]:
    """Return (geometry, repaired, error)."""
    geometry = shapely.force_2d(raw)
    if geometry.is_empty:
        return geometry, False, "empty geometry"
    if geometry.geom_type == "GeometryCollection":
        return geometry, False, "geometry collections are not accepted; split them first"
    if geometry.geom_type not in accepted:
        wanted = "polygons" if polygons_only else ", ".join(sorted(accepted))
        return geometry, False, f"a {geometry.geom_type} where this layer takes only {wanted}"
    repaired = False
    if not geometry.is_valid:
        repaired = True
        fixed = shapely.make_valid(geometry)
        if geometry.geom_type in POLYGONAL:
            fixed = _polygonal_part(fixed)
        if fixed.is_empty or not fixed.is_valid or fixed.geom_type not in accepted:
            reason = shapely.is_valid_reason(geometry)
            return geometry, False, f"invalid geometry that cannot be repaired ({reason})"
        geometry = fixed
    if geometry.geom_type in POLYGONAL:
        # RFC 7946 right-hand rule: exterior rings counter-clockwise, holes clockwise.
        geometry = shapely.orient_polygons(geometry, exterior_cw=False)
    return geometry, repaired, None


def _simplified(geometry: BaseGeometry, tolerance: float) -> GEOSGeometry | None:
    """A simplified copy for a zoom band, or None when the full geometry should be used."""
    if geometry.geom_type in PUNCTUAL:
        return None
    simple = shapely.simplify(geometry, tolerance, preserve_topology=True)
    if simple.is_empty or not simple.is_valid:
        return None
    if shapely.get_num_coordinates(simple) >= shapely.get_num_coordinates(geometry):
        return None
    if simple.geom_type in POLYGONAL:
        simple = shapely.orient_polygons(simple, exterior_cw=False)
    return GEOSGeometry(memoryview(shapely.to_wkb(simple)), srid=4326)


_transforms = threading.local()


def _to_web_mercator() -> CoordTransform:
    """One WGS84 -> EPSG:3857 transformation per thread (GDAL's are not shared between
    threads): ``transform(3857)`` built a new one for every geometry, 0.28 ms against 0.07 ms
    with one kept, most of a layer import's time in the bench's set-up."""
    kept = getattr(_transforms, "web_mercator", None)
    if kept is None:
        kept = _transforms.web_mercator = CoordTransform(
            SpatialReference(4326), SpatialReference(3857)
        )
    return kept


def _stored_geometries(geometry: BaseGeometry) -> dict[str, GEOSGeometry | None]:
    full = GEOSGeometry(memoryview(shapely.to_wkb(geometry)), srid=4326)
    low = _simplified(geometry, LOW_ZOOM_TOLERANCE)
    mid = _simplified(geometry, MID_ZOOM_TOLERANCE)
    mercator = _to_web_mercator()
    return {
        "geometry": full,
        "geometry_low": low,
        "geometry_mid": mid,
        "geometry_3857": full.transform(mercator, clone=True),
        "geometry_low_3857": low.transform(mercator, clone=True) if low else None,
        "geometry_mid_3857": mid.transform(mercator, clone=True) if mid else None,
    }


def _generalised(
    *, layer: Layer, groups: dict[Category | None, list[BaseGeometry]]
) -> Iterator[GeneralisedFeature]:
    """Each category's features dissolved into one geometry, then simplified per zoom band.

    Dissolving first removes the shared edges between neighbouring blocks of a zone, which
    at city zoom are most of the coordinates. The dissolved zones of a zoning map tile the
    city, so they are simplified together as a coverage (GEOS ``coverage_simplify``): an edge
    two zones share is simplified once, leaving no slivers between them. Where the zones
    overlap (not a coverage) each is simplified on its own, as the per-feature copies are.
    """
    categories = list(groups)
    merged = [_polygonal_part(shapely.make_valid(shapely.union_all(groups[c]))) for c in categories]
    bands = ((10, LOW_ZOOM_TOLERANCE), (GENERALISED_MAX_ZOOM, MID_ZOOM_TOLERANCE))
    is_coverage = bool(shapely.coverage_is_valid(merged))
    for max_zoom, tolerance in bands:
        if is_coverage:
            simplified = list(shapely.coverage_simplify(merged, tolerance))
        else:
            simplified = [shapely.simplify(g, tolerance, preserve_topology=True) for g in merged]
        for category, full, simple in zip(categories, merged, simplified, strict=True):
            if not simple.is_valid:
                simple = _polygonal_part(shapely.make_valid(simple))
            if simple.is_empty:
                simple = full
            simple = shapely.orient_polygons(simple, exterior_cw=False)
            yield GeneralisedFeature(
                layer=layer,
                category=category,
                max_zoom=max_zoom,
                geometry=GEOSGeometry(memoryview(shapely.to_wkb(simple)), srid=4326),
            )


def _resolve_field(path: Path, option: str, field: str | None, names: list[str]) -> str | None:
    """The file's spelling of ``field``; formats differ in case (KML turns NAME into Name)."""
    if not field or field in names:
        return field
    folded = [name for name in names if name.casefold() == field.casefold()]
    if len(folded) == 1:
        return folded[0]
    raise LayerImportError(
        path, f"{option}: no field {field!r} (fields: {', '.join(names) or 'none'})"
    )


def _field_value(ogr_feature, field: str) -> str:
    value = ogr_feature.get(field)
    return "" if value is None else str(value).strip()


@dataclass
class _Plan:
    """What one import run needs to know about the file and the layer."""

    path: Path
    field_names: list[str]
    code_field: str | None
    label_field: str | None
    accepted: set[str]
    polygons_only: bool
    transform: CoordTransform | None
    check_lonlat: bool


def _features(plan: _Plan, ogr_layer) -> Iterator[tuple[int, dict, str, str, bool, BaseGeometry]]:
    """Yield (feature number, stored geometries, code, label, repaired, cleaned geometry) for
    every feature."""
    for number, ogr_feature in enumerate(ogr_layer, start=1):
        try:
            ogr_geometry = ogr_feature.geom
        except GDALException:
            ogr_geometry = None
        if ogr_geometry is None:
            raise LayerImportError(plan.path, "has no geometry", feature_number=number)
        if plan.transform is not None:
            try:
                ogr_geometry.transform(plan.transform)
            except GDALException:
                raise LayerImportError(
                    plan.path, "cannot be reprojected to WGS84", feature_number=number
                ) from None
        try:
            raw = shapely.from_wkb(bytes(ogr_geometry.wkb))
        except shapely.errors.ShapelyError:
            raise LayerImportError(
                plan.path, "unreadable geometry", feature_number=number
            ) from None
        geometry, repaired, error = _clean_geometry(
            raw, accepted=plan.accepted, polygons_only=plan.polygons_only
        )
        if error:
            raise LayerImportError(plan.path, error, feature_number=number)
        if plan.check_lonlat:
            minx, miny, maxx, maxy = geometry.bounds
            if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
                raise LayerImportError(
                    plan.path,
                    "coordinates outside WGS84 longitude/latitude; the file needs a CRS",
                    feature_number=number,
                )
        code = _field_value(ogr_feature, plan.code_field) if plan.code_field else ""
        if plan.code_field and not code:
            raise LayerImportError(
                plan.path, f"empty value in code field {plan.code_field!r}", feature_number=number
            )
        label = _field_value(ogr_feature, plan.label_field) if plan.label_field else ""
        stored = _stored_geometries(geometry)
        stored["attributes"] = _attributes(ogr_feature, plan.field_names)
        yield number, stored, code, label or code, repaired, geometry


def _ensure_layer(*, slug: str, kind: str | None, title: str | None) -> Layer:
    layer = Layer.objects.select_for_update().filter(slug=slug).first()
    if layer is None:
        kind = kind or Layer.Kind.REFERENCE
        layer = Layer.objects.create(
            slug=slug,
            title=title or slug.replace("-", " ").replace("_", " ").capitalize(),
            kind=kind,
            geometry_type=GEOMETRY_TYPE_FOR_KIND[Layer.Kind(kind)],
        )
    elif kind and kind != layer.kind:
        layer.kind = kind
        layer.save(update_fields=["kind"])
    return layer


def layer_import(
    *,
    path: Path,
    layer_slug: str,
    kind: str | None = None,
    title: str | None = None,
    code_field: str | None = None,
    label_field: str | None = None,
    source_layer: str | None = None,
    skip_if_unchanged: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Replace the features of layer ``layer_slug`` with those of the file at ``path``.

    All or nothing: the layer's previous features, categories and version stay as they were
    when anything in the file is wrong (``LayerImportError`` names file, feature and reason).
    Missing categories are created with generated colours; existing ones (which planners may
    have edited in the admin) are kept as they are.
    """
    path = Path(path)
    if kind is not None and kind not in Layer.Kind.values:
        raise LayerImportError(path, f"unknown kind {kind!r} (one of {', '.join(Layer.Kind)})")
    datasource = _open_datasource(path)
    ogr_layer = _pick_layer(path, datasource, source_layer)
    field_names = list(ogr_layer.fields)
    code_field = _resolve_field(path, "--code-field", code_field, field_names)
    label_field = _resolve_field(path, "--label-field", label_field, field_names)
    driver = datasource.driver.name
    checksum = file_checksum(path)
    total = max(len(ogr_layer), 0)

    with transaction.atomic():
        layer = _ensure_layer(slug=layer_slug, kind=kind, title=title)
        if skip_if_unchanged and layer.source_checksum == checksum:
            return ImportResult(layer, layer.features.count(), 0, 0, skipped=True)
        transform = _transform_to_wgs84(path, driver, ogr_layer)
        accepted = ACCEPTED_TYPES[Layer.GeometryType(layer.geometry_type)]
        plan = _Plan(
            path=path,
            field_names=field_names,
            code_field=code_field,
            label_field=label_field,
            accepted=accepted,
            polygons_only=accepted == POLYGONAL,
            transform=transform,
            check_lonlat=transform is None,
        )
        categories = {c.code: c for c in layer.categories.all()}
        next_order = max((c.order for c in categories.values()), default=0) + 1
        created = repaired_count = count = 0
        layer.features.all().delete()
        layer.generalised_features.all().delete()
        generalise = accepted == POLYGONAL
        groups: dict[Category | None, list[BaseGeometry]] = {}
        batch: list[Feature] = []
        for number, stored, code, label, repaired, geometry in _features(plan, ogr_layer):
            category = None
            if code:
                category = categories.get(code)
                if category is None:
                    category = Category.objects.create(
                        layer=layer,
                        code=code[:100],
                        label=label[:200],
                        colour=generated_colour(code),
                        order=next_order,
                    )
                    categories[code] = category
                    next_order += 1
                    created += 1
            batch.append(Feature(layer=layer, category=category, **stored))
            if generalise:
                groups.setdefault(category, []).append(geometry)
            repaired_count += repaired
            count = number
            if len(batch) >= BATCH_SIZE:
                Feature.objects.bulk_create(batch)
                batch.clear()
                if progress:
                    progress(count, total)
        if batch:
            Feature.objects.bulk_create(batch)
        if count == 0:
            raise LayerImportError(path, "the layer holds no features")
        if progress:
            progress(count, total)
        # Only polygon layers are dissolved: points and lines of a reference layer stay
        # individual features at every zoom.
        GeneralisedFeature.objects.bulk_create(_generalised(layer=layer, groups=groups))
        Layer.objects.filter(pk=layer.pk).update(
            version=F("version") + 1,
            imported_at=timezone.now(),
            source_checksum=checksum,
            generalised=generalise,
        )
        layer.refresh_from_db()
        # The lean tile route of this process keeps layer versions for a second: drop them now.
        transaction.on_commit(layer_versions_forget)
    return ImportResult(layer, count, created, repaired_count)

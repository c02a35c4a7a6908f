"""HTTP JSON endpoints of `landuse` (mounted under /api/landuse/).

Query parameters are taken as text and parsed here, so a bad value is a 400 whose JSON body
names the field and the reason (``{"errors": [{"field": "lon", "message": "…"}]}``) rather than
the framework's generic 422.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Callable

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.http import http_date, parse_http_date_safe, quote_etag
from ninja import Query, Router, Schema

from landuse import selectors
from landuse.models import Layer

router = Router(tags=["landuse"])

# Bodies are keyed by layer version, so they never go stale; the timeout only frees memory.
CACHE_SECONDS = 3600


class FieldError(ValueError):
    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


def error_response(field: str, message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"errors": [{"field": field, "message": message}]}, status=status)


def parse_number(field: str, text: str | None, *, low: float, high: float) -> float:
    if text is None or not text.strip():
        raise FieldError(field, "is required")
    try:
        value = float(text)
    except ValueError:
        raise FieldError(field, "must be a number") from None
    if not math.isfinite(value):
        raise FieldError(field, "must be a finite number")
    if not low <= value <= high:
        raise FieldError(field, f"must be between {low:g} and {high:g}")
    return value


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """``minlon,minlat,maxlon,maxlat`` in WGS84, or None for the whole layer."""
    if text is None or text == "":
        return None
    parts = text.split(",")
    if len(parts) != 4:
        raise FieldError("bbox", "must be four numbers: minlon,minlat,maxlon,maxlat")
    minlon, maxlon = (parse_number("bbox", parts[i], low=-180, high=180) for i in (0, 2))
    minlat, maxlat = (parse_number("bbox", parts[i], low=-90, high=90) for i in (1, 3))
    if minlon >= maxlon or minlat >= maxlat:
        raise FieldError("bbox", "minimum must be below maximum (minlon,minlat,maxlon,maxlat)")
    return minlon, minlat, maxlon, maxlat


def parse_zoom(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    if not text.isdigit():
        raise FieldError("zoom", f"must be a whole number from 0 to {selectors.MAX_ZOOM}")
    zoom = int(text)
    if zoom > selectors.MAX_ZOOM:
        raise FieldError("zoom", f"must be a whole number from 0 to {selectors.MAX_ZOOM}")
    return zoom


def not_modified(request: HttpRequest, etag: str, last_modified: dt.datetime | None) -> bool:
    """RFC 9110 conditional GET: If-None-Match wins over If-Modified-Since."""
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return etag in tags or "*" in tags
    since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
    return bool(since and last_modified and int(last_modified.timestamp()) <= since)


def cache_headers(response: HttpResponse, etag: str, last_modified: dt.datetime | None) -> None:
    response["ETag"] = etag
    if last_modified:
        response["Last-Modified"] = http_date(last_modified.timestamp())
    # Revalidate every time: the ETag changes with the layer version, so a re-import shows at once.
    response["Cache-Control"] = "public, no-cache"


def layer_etag(layer: Layer, *parts: object) -> str:
    return etag_for(slug=layer.slug, pk=layer.pk, version=layer.version, parts=parts)


def etag_for(*, slug: str, pk: int, version: int, parts: tuple) -> str:
    """The ETag of one representation of a layer version (shared with ``landuse.fastpath``)."""
    key = ":".join(str(p) for p in (pk, version, *parts))
    digest = hashlib.blake2s(key.encode(), digest_size=6).hexdigest()
    return quote_etag(f"{slug}-v{version}-{digest}")


def body_cache_key(content_type: str, etag: str) -> str:
    """Shared with the lean route (``landuse.fastpath``), which answers the same requests."""
    return f"landuse:{content_type}:{etag}"


def layer_response(
    request: HttpRequest,
    *,
    layer: Layer,
    variant: tuple,
    build: Callable[[], str | bytes],
    content_type: str,
) -> HttpResponse:
    """A representation of a layer, revalidated and cached by layer version: 304 when the
    client's copy is current, the cached body when one is, else ``build()``; 204 when empty."""
    etag = layer_etag(layer, *variant)
    if not_modified(request, etag, layer.imported_at):
        response = HttpResponse(status=304)
    else:
        cache_key = body_cache_key(content_type, etag)
        body = cache.get(cache_key)
        if body is None:
            body = build()
            cache.set(cache_key, body, CACHE_SECONDS)
        response = HttpResponse(body, content_type=content_type, status=200 if body else 204)
    cache_headers(response, etag, layer.imported_at)
    return response


class LegendEntry(Schema):
    code: str
    label: str
    colour: str
    group: str


class LayerOut(Schema):
    slug: str
    title: str
    kind: str
    description: str
    geometry_type: str
    display_order: int
    visible_by_default: bool
    version: int
    source_name: str
    source_url: str
    licence: str
    source_date: dt.date | None
    legend: list[LegendEntry]

    @staticmethod
    def resolve_legend(layer: Layer) -> list[LegendEntry]:
        return [
            LegendEntry(code=c.code, label=c.label, colour=c.colour, group=c.group)
            for c in layer.categories.all()
        ]


class LayerAnswerOut(Schema):
    layer_slug: str
    layer_title: str
    kind: str
    code: str
    label: str
    colour: str
    group: str
    description: str
    feature_id: int | None


class LookupOut(Schema):
    lon: float
    lat: float
    layers: list[LayerAnswerOut]


class ErrorDetail(Schema):
    field: str
    message: str


class ErrorOut(Schema):
    errors: list[ErrorDetail]


@router.get("/layers/", response=list[LayerOut])
def layers(request: HttpRequest):
    """Every layer with its legend (category code, label, colour), in display order."""
    return list(selectors.layer_list())


class FeatureQuery(Schema):
    bbox: str | None = None
    zoom: str | None = None


@router.get(
    "/layers/{slug}/features.geojson",
    response={200: dict, 304: None, 400: ErrorOut, 404: ErrorOut},
    summary="A layer's features as RFC 7946 GeoJSON",
)
def layer_features(request: HttpRequest, slug: str, query: Query[FeatureQuery]):
    """``bbox=minlon,minlat,maxlon,maxlat`` limits the features (default: all); ``zoom``
    picks the stored simplification (default: full detail). ETag and Last-Modified follow the
    layer's version."""
    try:
        bbox = parse_bbox(query.bbox)
        zoom = parse_zoom(query.zoom)
    except FieldError as exc:
        return error_response(exc.field, exc.message)
    layer = selectors.layer_get(slug=slug)
    if layer is None:
        return error_response("slug", f"no layer {slug!r}", status=404)
    return layer_response(
        request,
        layer=layer,
        variant=(bbox, selectors.zoom_band(zoom)),
        build=lambda: selectors.layer_features_geojson(layer=layer, bbox=bbox, zoom=zoom),
        content_type="application/geo+json",
    )


class LookupQuery(Schema):
    lon: str | None = None
    lat: str | None = None


@router.get("/lookup/", response={200: LookupOut, 400: ErrorOut})
def lookup(request: HttpRequest, query: Query[LookupQuery]):
    """What every layer says at a WGS84 point: zoning, future land use, overlays."""
    try:
        lon = parse_number("lon", query.lon, low=-180, high=180)
        lat = parse_number("lat", query.lat, low=-90, high=90)
    except FieldError as exc:
        return error_response(exc.field, exc.message)
    return {"lon": lon, "lat": lat, "layers": selectors.point_lookup(lon=lon, lat=lat)}

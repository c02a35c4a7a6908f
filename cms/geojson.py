"""Validation of the plan-area GeoJSON a planner pastes into a map block.

Only RFC 7946 GeoJSON is accepted (no WKT/EWKT/HEX, no ``crs`` member), only polygons, in WGS84,
valid (no self-intersection) and of a sane size. Messages are written for a planner.
"""

from __future__ import annotations

import json
import math
from typing import Any

from django.utils.translation import gettext as _
from shapely.geometry import shape
from shapely.validation import explain_validity

MAX_VERTICES = 20_000
MAX_CHARACTERS = 2_000_000
POLYGON_TYPES = {"Polygon", "MultiPolygon"}


class PlanAreaError(ValueError):
    pass


def _refuse_constant(name: str) -> float:
    # Python's json accepts NaN and Infinity, which are not JSON.
    raise ValueError(name)


def _unwrap(data: Any) -> Any:
    """geojson.io and QGIS export a FeatureCollection of one feature; accept that shape too."""
    if isinstance(data, dict) and data.get("type") == "FeatureCollection":
        features = data.get("features")
        if not isinstance(features, list) or len(features) != 1:
            raise PlanAreaError(_("A FeatureCollection must hold exactly one polygon feature."))
        data = features[0]
    if isinstance(data, dict) and data.get("type") == "Feature":
        data = data.get("geometry")
    return data


def _check_ring(ring: Any, counter: list[int]) -> None:
    if not isinstance(ring, list) or len(ring) < 4:
        raise PlanAreaError(_("Each ring of the polygon needs at least four positions."))
    for position in ring:
        if (
            not isinstance(position, list)
            or not 2 <= len(position) <= 3
            or not all(
                isinstance(n, int | float) and not isinstance(n, bool) and math.isfinite(n)
                for n in position
            )
        ):
            raise PlanAreaError(_("Each position must be [longitude, latitude] in numbers."))
        lon, lat = position[0], position[1]
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise PlanAreaError(
                _("Coordinates must be WGS84 longitude (-180…180) and latitude (-90…90).")
            )
        counter[0] += 1
        if counter[0] > MAX_VERTICES:
            raise PlanAreaError(
                _("The plan area has more than %(max)d points; simplify it first.")
                % {"max": MAX_VERTICES}
            )
    if ring[0] != ring[-1]:
        raise PlanAreaError(_("Each ring of the polygon must end where it starts."))


def parse_plan_area(text: str) -> dict:
    """Return the plan area as a GeoJSON geometry dict, or raise PlanAreaError saying why not."""
    if len(text) > MAX_CHARACTERS:
        raise PlanAreaError(_("The plan area is too large; simplify it first."))
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise PlanAreaError(_("This is not valid GeoJSON (it could not be read as JSON).")) from exc
    data = _unwrap(data)
    if not isinstance(data, dict):
        raise PlanAreaError(_("This is not a GeoJSON geometry."))
    if "crs" in data:
        raise PlanAreaError(
            _("Remove the 'crs' member: GeoJSON is always WGS84 longitude/latitude.")
        )
    if data.get("type") not in POLYGON_TYPES:
        raise PlanAreaError(
            _("The plan area must be a Polygon or MultiPolygon, not %(type)s.")
            % {"type": str(data.get("type"))[:40]}
        )
    coordinates = data.get("coordinates")
    polygons = [coordinates] if data["type"] == "Polygon" else coordinates
    if not isinstance(polygons, list) or not polygons:
        raise PlanAreaError(_("The polygon has no coordinates."))
    counter = [0]
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            raise PlanAreaError(_("The polygon has no coordinates."))
        for ring in polygon:
            _check_ring(ring, counter)
    geometry = shape({"type": data["type"], "coordinates": coordinates})
    if not geometry.is_valid:
        raise PlanAreaError(
            _("The polygon is not valid: %(reason)s.") % {"reason": explain_validity(geometry)}
        )
    return {"type": data["type"], "coordinates": coordinates}

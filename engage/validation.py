"""Input checks for what residents send: text and GeoJSON geometry.

Every failure raises :class:`Problem` naming the field and the reason; the API turns it into
``{"errors": [{"field": …, "message": …}]}`` with its HTTP status (docs/api-errors.md).
Geometry is parsed from a GeoJSON *object* only, checked with Shapely/GEOS, and the validated
geometry is rebuilt from its WKB: no user string ever reaches ``GEOSGeometry``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field

import shapely
from django.contrib.gis.geos import GEOSGeometry
from shapely.geometry import shape
from shapely.validation import explain_validity

BODY_MAX_LENGTH = 5000
DISPLAY_NAME_MAX_LENGTH = 60
FLAG_DETAILS_MAX_LENGTH = 1000
MAX_VERTICES = 2000
MAX_RINGS = 50
GEOMETRY_TYPES = ("Point", "LineString", "Polygon")


@dataclass
class Problem(Exception):
    """One or more bad inputs. ``status`` is the HTTP status the API answers with."""

    errors: list[dict[str, str]] = field(default_factory=list)
    status: int = 400
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, field_name: str, message: str, *, status: int = 400) -> Problem:
        return cls(errors=[{"field": field_name, "message": message}], status=status)

    def __str__(self) -> str:
        return "; ".join(f"{e['field']}: {e['message']}" for e in self.errors)


# Control characters (Unicode category Cc) except tab and newline; also the bidi overrides
# that make text read differently than it is stored.
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def strip_controls(text: str, *, keep_newlines: bool) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    kept = []
    for char in text:
        if char in _BIDI:
            continue
        if unicodedata.category(char) == "Cc" and not (keep_newlines and char in "\n\t"):
            continue
        kept.append(char)
    return "".join(kept)


def clean_body(value: object, *, field_name: str = "body") -> str:
    """Plain text: control characters removed, at most two blank lines in a row, 1–5000 chars."""
    if not isinstance(value, str):
        raise Problem.of(field_name, "Must be text.")
    text = strip_controls(value, keep_newlines=True)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    if not text:
        raise Problem.of(field_name, "Must not be empty.")
    if len(text) > BODY_MAX_LENGTH:
        raise Problem.of(field_name, f"Must be at most {BODY_MAX_LENGTH} characters.")
    return text


def clean_display_name(value: object, *, field_name: str = "display_name") -> str:
    if not isinstance(value, str):
        raise Problem.of(field_name, "Must be text.")
    text = re.sub(r"\s+", " ", strip_controls(value, keep_newlines=False)).strip()
    if not text:
        raise Problem.of(field_name, "A name to show is required when posting without signing in.")
    if len(text) > DISPLAY_NAME_MAX_LENGTH:
        raise Problem.of(field_name, f"Must be at most {DISPLAY_NAME_MAX_LENGTH} characters.")
    return text


def clean_flag_details(value: object, *, field_name: str = "details") -> str:
    if not isinstance(value, str):
        raise Problem.of(field_name, "Must be text.")
    text = strip_controls(value, keep_newlines=True).strip()
    if len(text) > FLAG_DETAILS_MAX_LENGTH:
        raise Problem.of(field_name, f"Must be at most {FLAG_DETAILS_MAX_LENGTH} characters.")
    return text


# --- Geometry -----------------------------------------------------------------------------


def _position(value: object, field_name: str) -> tuple[float, float]:
    if not isinstance(value, list) or not 2 <= len(value) <= 3:
        raise Problem.of(
            field_name, "Each position must be [longitude, latitude] (or with height)."
        )
    for number in value:
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise Problem.of(field_name, "Coordinates must be numbers.")
        # A JSON integer can be longer than any float (10**400): not finite either.
        if isinstance(number, int) and abs(number) > 1_000_000:
            raise Problem.of(
                field_name,
                "Coordinates must be WGS84 longitude (-180..180) and latitude (-90..90).",
            )
        if not math.isfinite(number):
            raise Problem.of(field_name, "Coordinates must be finite numbers (no NaN or Infinity).")
    lon, lat = float(value[0]), float(value[1])
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise Problem.of(
            field_name, "Coordinates must be WGS84 longitude (-180..180) and latitude (-90..90)."
        )
    return lon, lat


def _positions(value: object, field_name: str, *, budget: list[int]) -> list[tuple[float, float]]:
    if not isinstance(value, list):
        raise Problem.of(field_name, "Coordinates must be a list of positions.")
    budget[0] -= len(value)
    if budget[0] < 0:
        raise Problem.of(field_name, f"Too many vertices: at most {MAX_VERTICES} are accepted.")
    return [_position(item, field_name) for item in value]


def geometry_from_geojson(
    value: object, *, plan_area: GEOSGeometry | None = None, field_name: str = "geometry"
) -> GEOSGeometry:
    """A valid Point, LineString or Polygon in SRID 4326 from a GeoJSON geometry object."""
    if not isinstance(value, dict):
        raise Problem.of(field_name, "Must be a GeoJSON geometry object, not text or a list.")
    if "crs" in value:
        raise Problem.of(field_name, "A 'crs' member is not accepted: send WGS84 (RFC 7946).")
    kind = value.get("type")
    if kind not in GEOMETRY_TYPES:
        raise Problem.of(
            field_name, f"The geometry type must be one of {', '.join(GEOMETRY_TYPES)}."
        )
    extra = set(value) - {"type", "coordinates", "bbox"}
    if extra:
        raise Problem.of(field_name, f"Unexpected member(s): {', '.join(sorted(map(str, extra)))}.")
    coordinates = value.get("coordinates")
    budget = [MAX_VERTICES]
    if kind == "Point":
        lon, lat = _position(coordinates, field_name)
        candidate = shapely.Point(lon, lat)
    elif kind == "LineString":
        points = _positions(coordinates, field_name, budget=budget)
        if len(points) < 2:
            raise Problem.of(field_name, "A line needs at least two positions.")
        candidate = shapely.LineString(points)
    else:
        if not isinstance(coordinates, list) or not coordinates:
            raise Problem.of(field_name, "A polygon needs at least one ring of positions.")
        if len(coordinates) > MAX_RINGS:
            raise Problem.of(field_name, f"A polygon may have at most {MAX_RINGS} rings.")
        rings = [_positions(ring, field_name, budget=budget) for ring in coordinates]
        for ring in rings:
            if len(ring) < 4:
                raise Problem.of(field_name, "Each polygon ring needs at least four positions.")
            if ring[0] != ring[-1]:
                raise Problem.of(
                    field_name, "Each polygon ring must be closed (first position = last)."
                )
        candidate = shape({"type": "Polygon", "coordinates": rings})
    if candidate.is_empty:
        raise Problem.of(field_name, "The geometry is empty.")
    if kind == "LineString" and candidate.length == 0:
        raise Problem.of(field_name, "A line needs two different positions.")
    if not candidate.is_valid:
        raise Problem.of(field_name, f"The geometry is not valid: {explain_validity(candidate)}.")
    if kind == "Polygon":
        candidate = shapely.orient_polygons(candidate)  # RFC 7946 winding on the way out
    # Rebuilt from Shapely's WKB: the object we checked is the object we store.
    geometry = GEOSGeometry(memoryview(shapely.to_wkb(candidate, output_dimension=2)), srid=4326)
    if plan_area is not None and not plan_area.covers(geometry):
        raise Problem.of(field_name, "The geometry lies outside the plan area of this discussion.")
    return geometry

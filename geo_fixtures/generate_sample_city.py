"""Generate the sample city's land-use layers into ``geo_fixtures/sample_city/``.

    .venv/bin/python -m geo_fixtures.generate_sample_city

Deterministic (fixed seed): running it again rewrites byte-identical files, which are committed.
The city is a jittered grid of blocks around a downtown, crossed by a river with an industrial
band and by arterial corridors; it uses the Denver Zoning Code's district names (contexts S-, E-,
U-, G-, C-, D-, I-, OS-, CMP-) and Blueprint Denver's future places. Every block is a polygon;
neighbours share their vertices exactly, so the zoning and the future-land-use layers each tile
the city with no gap and no overlap (``tests/landuse/test_sample_city.py`` checks it).
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from pathlib import Path

OUT = Path(__file__).resolve().parent / "sample_city"
SEED = 20261127
WEST, SOUTH = -105.06, 39.66
CELL = 0.0025  # degrees: a block of about 210 m by 280 m
COLUMNS, ROWS = 72, 56
DOWNTOWN = (34.0, 30.0)  # in cells
CORNER_JITTER = 0.18  # of a cell
EDGE_JITTER = 0.05

# Denver Zoning Code districts used here: code -> (label, group, colour).
ZONING = {
    "S-SU-D": ("Suburban Single Unit D", "Suburban Neighborhood Context", "#fff2b3"),
    "S-SU-F": ("Suburban Single Unit F", "Suburban Neighborhood Context", "#ffeb99"),
    "S-SU-I": ("Suburban Single Unit I", "Suburban Neighborhood Context", "#ffe680"),
    "S-RH-2.5": ("Suburban Row House 2.5", "Suburban Neighborhood Context", "#fdd49e"),
    "S-MU-3": ("Suburban Multi Unit 3", "Suburban Neighborhood Context", "#fdbb84"),
    "S-CC-3x": ("Suburban Commercial Corridor 3x", "Suburban Neighborhood Context", "#f4a3a8"),
    "S-MX-3": ("Suburban Mixed Use 3", "Suburban Neighborhood Context", "#ef8a9a"),
    "E-SU-D": ("Urban Edge Single Unit D", "Urban Edge Neighborhood Context", "#fff7bc"),
    "E-SU-Dx": ("Urban Edge Single Unit Dx", "Urban Edge Neighborhood Context", "#fef0a5"),
    "E-TU-C": ("Urban Edge Two Unit C", "Urban Edge Neighborhood Context", "#fee391"),
    "E-MX-2": ("Urban Edge Mixed Use 2", "Urban Edge Neighborhood Context", "#f29e91"),
    "U-SU-A": ("Urban Single Unit A", "Urban Neighborhood Context", "#fff5c2"),
    "U-SU-C": ("Urban Single Unit C", "Urban Neighborhood Context", "#ffec8b"),
    "U-SU-E": ("Urban Single Unit E", "Urban Neighborhood Context", "#ffe46b"),
    "U-TU-C": ("Urban Two Unit C", "Urban Neighborhood Context", "#fed976"),
    "U-RH-2.5": ("Urban Row House 2.5", "Urban Neighborhood Context", "#fec44f"),
    "U-MX-3": ("Urban Mixed Use 3", "Urban Neighborhood Context", "#e7697a"),
    "U-MS-3": ("Urban Main Street 3", "Urban Neighborhood Context", "#de4b63"),
    "G-RH-3": ("General Urban Row House 3", "General Urban Neighborhood Context", "#fe9929"),
    "G-MU-3": ("General Urban Multi Unit 3", "General Urban Neighborhood Context", "#ec7014"),
    "G-MU-5": ("General Urban Multi Unit 5", "General Urban Neighborhood Context", "#cc5a0c"),
    "G-MS-5": ("General Urban Main Street 5", "General Urban Neighborhood Context", "#c2334d"),
    "C-MX-5": ("Urban Center Mixed Use 5", "Urban Center Neighborhood Context", "#d7301f"),
    "C-MX-8": ("Urban Center Mixed Use 8", "Urban Center Neighborhood Context", "#b30000"),
    "C-MX-12": ("Urban Center Mixed Use 12", "Urban Center Neighborhood Context", "#8f0000"),
    "C-RX-8": (
        "Urban Center Residential Mixed Use 8",
        "Urban Center Neighborhood Context",
        "#a63603",
    ),
    "C-MS-8": ("Urban Center Main Street 8", "Urban Center Neighborhood Context", "#99000d"),
    "D-C": ("Downtown Core", "Downtown Neighborhood Context", "#54278f"),
    "D-TD": ("Downtown Theater", "Downtown Neighborhood Context", "#6a51a3"),
    "D-LD": ("Downtown Lower Downtown", "Downtown Neighborhood Context", "#807dba"),
    "D-CV": ("Downtown Civic", "Downtown Neighborhood Context", "#9e9ac8"),
    "D-AS-12": ("Downtown Arapahoe Square 12", "Downtown Neighborhood Context", "#756bb1"),
    "I-MX-3": ("Industrial Mixed Use 3", "Industrial Context", "#9ecae1"),
    "I-A": ("Light Industrial", "Industrial Context", "#6baed6"),
    "I-B": ("General Industrial", "Industrial Context", "#3182bd"),
    "OS-A": ("Open Space Public Parks", "Open Space Context", "#74c476"),
    "OS-B": ("Open Space Recreation", "Open Space Context", "#41ab5d"),
    "CMP-EI": ("Campus Education Institution", "Special Contexts and Districts", "#bdbdbd"),
    "CMP-H": ("Campus Healthcare", "Special Contexts and Districts", "#969696"),
}

# Blueprint Denver future places: code -> (group, colour). The code is the label.
FUTURE = {
    "Downtown": ("Centers", "#54278f"),
    "Regional Center": ("Centers", "#b30000"),
    "Community Center": ("Centers", "#e34a33"),
    "Neighborhood Center": ("Centers", "#fc8d59"),
    "Community Corridor": ("Corridors", "#dd3497"),
    "Local Corridor": ("Corridors", "#f768a1"),
    "High Residential": ("Residential areas", "#cc4c02"),
    "High-Medium Residential": ("Residential areas", "#fe9929"),
    "Low-Medium Residential": ("Residential areas", "#fed98e"),
    "Low Residential": ("Residential areas", "#ffffd4"),
    "Innovation Flex": ("Districts", "#6baed6"),
    "Value Manufacturing": ("Districts", "#3182bd"),
    "Campus": ("Districts", "#969696"),
    "Park and Open Space": ("Parks and open space", "#41ab5d"),
}

OVERLAYS = {
    "UO-3": ("Historic Structure Use Overlay", "#8c510a"),
    "CO-1": ("Conservation Overlay 1", "#01665e"),
    "DO-7": ("Design Overlay 7", "#762a83"),
}


def lattice(rng: random.Random) -> dict[tuple[int, int], tuple[float, float]]:
    """Block corners, jittered inside the city and straight along its boundary."""
    points = {}
    for i in range(COLUMNS + 1):
        for j in range(ROWS + 1):
            dx = 0 if i in (0, COLUMNS) else rng.uniform(-CORNER_JITTER, CORNER_JITTER)
            dy = 0 if j in (0, ROWS) else rng.uniform(-CORNER_JITTER, CORNER_JITTER)
            points[i, j] = (i + dx, j + dy)
    return points


def edge_points(rng: random.Random, corners) -> dict[tuple, list[tuple[float, float]]]:
    """Two bends on every block edge, shared by the blocks on either side."""
    bends: dict[tuple, list[tuple[float, float]]] = {}
    for (i, j), (x, y) in corners.items():
        for di, dj in ((1, 0), (0, 1)):
            end = (i + di, j + dj)
            if end not in corners:
                continue
            ex, ey = corners[end]
            on_boundary = (dj == 0 and j in (0, ROWS)) or (di == 0 and i in (0, COLUMNS))
            points = []
            for t in (1 / 3, 2 / 3):
                offset = 0 if on_boundary else rng.uniform(-EDGE_JITTER, EDGE_JITTER)
                # Offset perpendicular to the edge: x for vertical edges, y for horizontal ones.
                px = x + (ex - x) * t + (offset if di == 0 else 0)
                py = y + (ey - y) * t + (offset if dj == 0 else 0)
                points.append((px, py))
            bends[(i, j), end] = points
    return bends


def ring(i0: int, j0: int, i1: int, j1: int, corners, bends) -> list[list[float]]:
    """The counter-clockwise outline of the cells [i0, i1) x [j0, j1), in lon/lat."""
    path = (
        [(i, j0) for i in range(i0, i1)]
        + [(i1, j) for j in range(j0, j1)]
        + [(i, j1) for i in range(i1, i0, -1)]
        + [(i0, j) for j in range(j1, j0, -1)]
    )
    coordinates = []
    for start, end in zip(path, path[1:] + path[:1], strict=True):
        coordinates.append(corners[start])
        if (start, end) in bends:
            coordinates.extend(bends[start, end])
        else:
            coordinates.extend(reversed(bends[end, start]))
    coordinates.append(coordinates[0])
    return [[round(WEST + x * CELL, 6), round(SOUTH + y * CELL * 0.8, 6)] for x, y in coordinates]


def zoning_plan(rng: random.Random) -> dict[tuple[int, int], str]:
    """A zoning code for every block: downtown, rings of contexts, corridors, river, parks."""
    # Neighbourhoods of 4 x 4 blocks share a dominant district, as real ones do.
    neighbourhood_pick: dict[tuple[int, int], float] = {}
    parks = {(rng.randrange(COLUMNS), rng.randrange(ROWS)) for _ in range(40)}
    campus = {(i, j) for i in range(48, 52) for j in range(12, 15)}
    hospital = {(i, j) for i in range(20, 23) for j in range(38, 40)}
    plan = {}
    for i in range(COLUMNS):
        for j in range(ROWS):
            d = math.hypot(i + 0.5 - DOWNTOWN[0], j + 0.5 - DOWNTOWN[1])
            pick = neighbourhood_pick.setdefault((i // 4, j // 4), rng.random())
            local = rng.random()
            river = j - (0.55 * i + 6)
            if (i, j) in campus:
                code = "CMP-EI"
            elif (i, j) in hospital:
                code = "CMP-H"
            elif abs(river) < 0.8:
                code = "OS-B"
            elif abs(river) < 3.2 and d > 5:
                code = "I-B" if pick < 0.4 else ("I-A" if local < 0.8 else "I-MX-3")
            elif any(abs(i - pi) <= 1 and abs(j - pj) <= 1 for pi, pj in parks) and local < 0.7:
                code = "OS-A"
            elif d < 4.5:
                code = ["D-C", "D-TD", "D-LD", "D-CV", "D-AS-12"][int(pick * 5)]
            elif i % 12 == 5 or j % 10 == 4:
                # Arterial corridors: main streets and mixed use, denser toward downtown.
                if d < 10:
                    code = "C-MS-8" if local < 0.5 else "C-MX-5"
                elif d < 20:
                    code = ["U-MS-3", "U-MX-3", "G-MS-5"][int(local * 3)]
                else:
                    code = ["S-MX-3", "S-CC-3x", "E-MX-2"][int(local * 3)]
            elif d < 9:
                code = ["C-MX-8", "C-MX-12", "C-RX-8", "G-MU-5", "C-MX-5"][int(pick * 5)]
            elif d < 16:
                options = ["G-MU-3", "G-RH-3", "U-RH-2.5", "U-TU-C", "U-SU-C"]
                code = options[int(pick * 5)] if local < 0.8 else "U-SU-C"
            elif d < 28:
                options = ["U-SU-C", "U-SU-A", "U-SU-E", "U-TU-C", "E-SU-D", "E-SU-Dx", "E-TU-C"]
                code = options[int(pick * 7)] if local < 0.85 else "U-TU-C"
            else:
                options = ["S-SU-D", "S-SU-F", "S-SU-I", "S-SU-D", "S-RH-2.5", "S-MU-3"]
                code = options[int(pick * 6)] if local < 0.9 else "S-SU-F"
            plan[i, j] = code
    return plan


def future_place(codes: list[str], d: float) -> str:
    """Blueprint Denver's future place for a 2 x 2 group of blocks, from its zoning."""
    code = Counter(codes).most_common(1)[0][0]
    if code.startswith("D-"):
        return "Downtown"
    if code.startswith("OS-"):
        return "Park and Open Space"
    if code.startswith("CMP-"):
        return "Campus"
    if code in ("I-A", "I-B"):
        return "Value Manufacturing"
    if code == "I-MX-3":
        return "Innovation Flex"
    if code.startswith("C-"):
        return "Regional Center" if d < 9 else "Community Center"
    if "-MS-" in code or code in ("U-MX-3", "G-MS-5"):
        return "Community Corridor"
    if code in ("S-MX-3", "S-CC-3x", "E-MX-2"):
        return "Local Corridor" if d < 26 else "Neighborhood Center"
    if code.startswith("G-MU-5"):
        return "High Residential"
    if code.startswith("G-"):
        return "High-Medium Residential"
    if "-TU-" in code or "-RH-" in code or code == "S-MU-3":
        return "Low-Medium Residential"
    return "Low Residential"


def feature(coordinates: list, properties: dict) -> str:
    geometry = {"type": "Polygon", "coordinates": [coordinates]}
    body = {"type": "Feature", "properties": properties, "geometry": geometry}
    return json.dumps(body, separators=(",", ":"))


def write_collection(name: str, features: list[str]) -> None:
    text = '{"type":"FeatureCollection","features":[\n' + ",\n".join(features) + "\n]}\n"
    (OUT / name).write_text(text)


def main() -> None:
    rng = random.Random(SEED)  # noqa: S311 - a seeded, reproducible sample, not a secret
    corners = lattice(rng)
    bends = edge_points(rng, corners)
    plan = zoning_plan(rng)
    OUT.mkdir(exist_ok=True)

    zoning = [
        feature(
            ring(i, j, i + 1, j + 1, corners, bends),
            {"ZONE_DISTRICT": plan[i, j], "ZONE_LABEL": ZONING[plan[i, j]][0]},
        )
        for j in range(ROWS)
        for i in range(COLUMNS)
    ]
    write_collection("zoning.geojson", zoning)

    future = []
    for j in range(0, ROWS, 2):
        for i in range(0, COLUMNS, 2):
            codes = [plan[a, b] for a in (i, i + 1) for b in (j, j + 1)]
            d = math.hypot(i + 1 - DOWNTOWN[0], j + 1 - DOWNTOWN[1])
            place = future_place(codes, d)
            future.append(feature(ring(i, j, i + 2, j + 2, corners, bends), {"PLACE": place}))
    write_collection("future_land_use.geojson", future)

    overlay_blocks = [
        ("UO-3", 30, 31, 34, 34),
        ("UO-3", 38, 26, 41, 28),
        ("CO-1", 12, 40, 18, 46),
        ("CO-1", 54, 34, 60, 38),
        ("DO-7", 44, 20, 47, 24),
    ]
    overlays = [
        feature(ring(i0, j0, i1, j1, corners, bends), {"OVERLAY": code, "NAME": OVERLAYS[code][0]})
        for code, i0, j0, i1, j1 in overlay_blocks
    ]
    write_collection("overlays.geojson", overlays)

    legends = [
        {
            "slug": "zoning",
            "title": "Zoning",
            "kind": "zoning",
            "description": "Zone districts of the sample city, named as in the Denver Zoning Code.",
            "display_order": 10,
            "visible_by_default": True,
            "file": "zoning.geojson",
            "code_field": "ZONE_DISTRICT",
            "label_field": "ZONE_LABEL",
            "categories": [
                {"code": code, "label": label, "group": group, "colour": colour}
                for code, (label, group, colour) in ZONING.items()
            ],
        },
        {
            "slug": "future-land-use",
            "title": "Future land use",
            "kind": "future_land_use",
            "description": "Future places of the sample city, as in Blueprint Denver.",
            "display_order": 20,
            "visible_by_default": False,
            "file": "future_land_use.geojson",
            "code_field": "PLACE",
            "label_field": "PLACE",
            "categories": [
                {"code": code, "label": code, "group": group, "colour": colour}
                for code, (group, colour) in FUTURE.items()
            ],
        },
        {
            "slug": "overlays",
            "title": "Overlay districts",
            "kind": "overlay",
            "description": "Historic, conservation and design overlays.",
            "display_order": 30,
            "visible_by_default": False,
            "file": "overlays.geojson",
            "code_field": "OVERLAY",
            "label_field": "NAME",
            "categories": [
                {"code": code, "label": label, "group": "Overlay districts", "colour": colour}
                for code, (label, colour) in OVERLAYS.items()
            ],
        },
    ]
    common = {
        "source_name": "Plan Together sample city (generated)",
        "source_url": "",
        "licence": "CC0-1.0",
    }
    for entry in legends:
        entry.update(common)
    (OUT / "layers.json").write_text(json.dumps(legends, indent=2) + "\n")


if __name__ == "__main__":
    main()

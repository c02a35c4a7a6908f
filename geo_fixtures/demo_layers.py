"""The demo city's map layers: zoning, future land use and overlays from ``sample_city/``.

Loaded through ``landuse.services.layer_import`` (the code behind ``import_layer``), so the demo
exercises the real import. Layer metadata and legend colours come from ``layers.json``; a
category or title a planner changed in the admin is left alone, and an unchanged file is
skipped (its checksum is stored on the layer), so ``load_demo`` can run on every start.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from landuse.models import Category, Layer
from landuse.services import layer_import

SAMPLE_CITY = Path(__file__).resolve().parent / "sample_city"

Log = Callable[[str], None]


def ensure_layers(log: Log) -> None:
    for spec in json.loads((SAMPLE_CITY / "layers.json").read_text()):
        layer, created = Layer.objects.get_or_create(
            slug=spec["slug"],
            defaults={
                "title": spec["title"],
                "kind": spec["kind"],
                "description": spec["description"],
                "display_order": spec["display_order"],
                "visible_by_default": spec["visible_by_default"],
                "source_name": spec["source_name"],
                "source_url": spec["source_url"],
                "licence": spec["licence"],
                "geometry_type": Layer.GeometryType.POLYGON,
            },
        )
        for order, category in enumerate(spec["categories"], start=1):
            Category.objects.get_or_create(
                layer=layer,
                code=category["code"],
                defaults={
                    "label": category["label"],
                    "group": category["group"],
                    "colour": category["colour"],
                    "order": order,
                },
            )
        result = layer_import(
            path=SAMPLE_CITY / spec["file"],
            layer_slug=layer.slug,
            code_field=spec["code_field"],
            label_field=spec["label_field"],
            skip_if_unchanged=True,
        )
        if result.skipped:
            log(f"kept layer {layer.slug!r} ({result.features} features, file unchanged)")
        else:
            log(f"imported layer {layer.slug!r}: {result.features} features")

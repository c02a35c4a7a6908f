"""Reads of the land-use layers."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.gis.geos import Point

from landuse.models import Feature


@dataclass(frozen=True)
class LayerAnswer:
    """What one layer says at a point."""

    layer_slug: str
    layer_title: str
    kind: str
    code: str
    label: str
    colour: str


def point_lookup(*, lon: float, lat: float) -> list[LayerAnswer]:
    """What every layer says at ``lon``/``lat`` (WGS84), in layer display order.

    A point on a shared edge belongs to both neighbours; each layer answers once, with the
    feature of lowest id, so the answer is stable.
    """
    point = Point(lon, lat, srid=4326)
    answers: dict[str, LayerAnswer] = {}
    features = (
        Feature.objects.filter(geometry__intersects=point)
        .select_related("layer", "category")
        .order_by("layer__display_order", "layer__title", "pk")
    )
    for feature in features:
        if feature.layer.slug in answers:
            continue
        category = feature.category
        answers[feature.layer.slug] = LayerAnswer(
            layer_slug=feature.layer.slug,
            layer_title=feature.layer.title,
            kind=feature.layer.kind,
            code=category.code if category else "",
            label=category.label if category else "",
            colour=category.colour if category else "",
        )
    return list(answers.values())

"""Map layers (zoning, future land use, overlays, any reference layer), their categories and
their features. Generic on purpose: a parks or transit layer is data, not code."""

from __future__ import annotations

from django.contrib.gis.db import models
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

hex_colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Use a colour like #1f77b4."))


class Layer(models.Model):
    class Kind(models.TextChoices):
        ZONING = "zoning", _("Zoning")
        FUTURE_LAND_USE = "future_land_use", _("Future land use")
        OVERLAY = "overlay", _("Overlay")
        REFERENCE = "reference", _("Reference")

    class GeometryType(models.TextChoices):
        ANY = "any", _("Any geometry")
        POLYGON = "polygon", _("Polygons")
        LINE = "line", _("Lines")
        POINT = "point", _("Points")

    slug = models.SlugField(max_length=64, unique=True)
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, choices=Kind.choices, default=Kind.REFERENCE)
    description = models.TextField(blank=True)
    source_name = models.CharField(max_length=200, blank=True)
    source_url = models.URLField(blank=True)
    licence = models.CharField(max_length=200, blank=True)
    source_date = models.DateField(null=True, blank=True)
    display_order = models.PositiveIntegerField(default=0)
    visible_by_default = models.BooleanField(default=True)
    # Bumped by every import so caches (tiles, GeoJSON, ETags) can key on it.
    version = models.PositiveIntegerField(default=0, editable=False)
    imported_at = models.DateTimeField(null=True, blank=True, editable=False)
    # What the layer may hold; an import with other geometry types is refused.
    geometry_type = models.CharField(
        max_length=16, choices=GeometryType.choices, default=GeometryType.ANY
    )
    # SHA-256 of the last imported file, so the demo loader can skip an unchanged file.
    source_checksum = models.CharField(max_length=64, blank=True, editable=False)
    # Set by the import when the layer holds polygons only: its features were then also
    # dissolved per category into ``GeneralisedFeature`` rows, served at zooms up to
    # ``GENERALISED_MAX_ZOOM`` instead of one feature per block.
    generalised = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["display_order", "title"]

    def __str__(self) -> str:
        return self.title


class Category(models.Model):
    """One legend entry of a layer: a zoning district such as ``U-SU-C`` or a land-use class."""

    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="categories")
    code = models.CharField(max_length=100)
    label = models.CharField(max_length=200)
    group = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    colour = models.CharField(max_length=7, validators=[hex_colour], default="#888888")
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["layer", "order", "code"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(fields=["layer", "code"], name="landuse_category_unique_code")
        ]

    def __str__(self) -> str:
        return f"{self.code} – {self.label}" if self.label != self.code else self.code


class Feature(models.Model):
    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="features")
    category = models.ForeignKey(
        Category, on_delete=models.SET_NULL, null=True, blank=True, related_name="features"
    )
    geometry = models.GeometryField(srid=4326, spatial_index=True)
    # Derived at import time, never edited: simplified copies per zoom band (request-time
    # simplification was 5x slower, see PERF notes) and a Web Mercator copy for vector tiles
    # (20-25 % less tile SQL). Null means "same as ``geometry``" (points, tiny features).
    geometry_low = models.GeometryField(srid=4326, null=True, blank=True, spatial_index=False)
    geometry_mid = models.GeometryField(srid=4326, null=True, blank=True, spatial_index=False)
    geometry_3857 = models.GeometryField(srid=3857, null=True, blank=True, spatial_index=True)
    # The low and mid bands in Web Mercator, which tiles up to z12 are drawn from: fewer
    # vertices for ST_AsMVTGeom (the city's z10 tile in 21 instead of 36 ms of SQL).
    # Null as for the bands above: the tile then falls back to ``geometry_3857``.
    geometry_low_3857 = models.GeometryField(srid=3857, null=True, blank=True, spatial_index=False)
    geometry_mid_3857 = models.GeometryField(srid=3857, null=True, blank=True, spatial_index=False)
    # The source file's attributes, kept so nothing a city supplied is lost on import.
    attributes = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["layer", "category"])]

    def __str__(self) -> str:
        return f"{self.layer.slug} #{self.pk}"


class GeneralisedFeature(models.Model):
    """A cartographic generalisation made at import time: all of a layer's features of one
    category dissolved into one (Multi)Polygon and simplified for one zoom band.

    At city zoom 4,032 zoning blocks become a few dozen zone classes: the GeoJSON body drops
    from 1.2 MB to a fraction of it while the map looks the same (a block's outline is under a
    pixel wide there). Rebuilt by every import; never edited.
    """

    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="generalised_features")
    # SET_NULL as on ``Feature``: a deleted category leaves its area drawn, uncategorised.
    category = models.ForeignKey(
        Category, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The largest zoom this copy is drawn at (see ``landuse.sql.zoom_band``).
    max_zoom = models.PositiveSmallIntegerField()
    geometry = models.GeometryField(srid=4326, spatial_index=True)

    class Meta:
        indexes = [models.Index(fields=["layer", "max_zoom"])]

    def __str__(self) -> str:
        return f"{self.layer.slug} z≤{self.max_zoom} #{self.pk}"

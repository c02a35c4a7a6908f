"""``manage.py import_layer <file> --layer <slug>``: replace a layer's features from a GIS file."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from landuse.models import Layer
from landuse.services import LayerImportError, layer_import


class Command(BaseCommand):
    help = (
        "Import a GeoJSON, Shapefile (.shp, folder or .zip), GeoPackage, KML or CSV (WKT column) "
        "file into a layer, in any CRS GDAL knows. Replaces the layer's features in one "
        "transaction: a bad file changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--layer", required=True, help="slug of the layer (created if new)")
        parser.add_argument("--kind", choices=Layer.Kind.values)
        parser.add_argument("--title", help="title of a new layer (default: from the slug)")
        parser.add_argument("--code-field", help="attribute holding the category code")
        parser.add_argument("--label-field", help="attribute holding the category label")
        parser.add_argument("--source-layer", help="layer inside the file (GeoPackage, KML…)")

    def handle(self, *args, file: Path, **options) -> None:
        show_progress = sys.stderr.isatty() and options["verbosity"] > 0
        try:
            result = layer_import(
                path=file,
                layer_slug=options["layer"],
                kind=options["kind"],
                title=options["title"],
                code_field=options["code_field"],
                label_field=options["label_field"],
                source_layer=options["source_layer"],
                progress=self._progress if show_progress else None,
            )
        except LayerImportError as exc:
            raise CommandError(str(exc)) from None
        if show_progress:
            self.stderr.write("")
        self.stdout.write(
            self.style.SUCCESS(
                f"{result.layer.slug}: {result.features} features imported (version "
                f"{result.layer.version}), {result.categories_created} new categories, "
                f"{result.repaired} geometries repaired"
            )
        )

    def _progress(self, done: int, total: int) -> None:
        width = 30
        filled = width * done // total if total else width
        self.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}", ending="")
        self.stderr.flush()

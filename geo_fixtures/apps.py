from django.apps import AppConfig


class GeoFixturesConfig(AppConfig):
    """The sample city and the ``load_demo`` command (no models)."""

    name = "geo_fixtures"
    verbose_name = "Demo data"

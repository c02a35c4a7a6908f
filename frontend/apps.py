from django.apps import AppConfig


class FrontendConfig(AppConfig):
    """Base templates, CSS and JavaScript shared by every page (no models)."""

    name = "frontend"

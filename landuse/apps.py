from django.apps import AppConfig


class LanduseConfig(AppConfig):
    name = "landuse"
    verbose_name = "Land use"

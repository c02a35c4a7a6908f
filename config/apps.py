"""The project's own app: database connection set-up that belongs to no feature app."""

from __future__ import annotations

from django.apps import AppConfig
from django.db.backends.signals import connection_created


def restore_spatialite_busy_timeout(sender, connection, **kwargs) -> None:
    """Loading mod_spatialite resets SQLite's lock wait to its own 5 s, after Django has set
    ``timeout`` from OPTIONS; set it again, so a writer queued behind a long import or a
    burst of posts waits the configured time instead of failing with "database is locked"."""
    if connection.vendor != "sqlite":
        return
    timeout = connection.settings_dict.get("OPTIONS", {}).get("timeout")
    if timeout is None:
        return
    connection.connection.execute(f"PRAGMA busy_timeout = {int(float(timeout) * 1000)}")


class ConfigAppConfig(AppConfig):
    name = "config"
    label = "civicmap_config"

    def ready(self) -> None:
        connection_created.connect(
            restore_spatialite_busy_timeout, dispatch_uid="restore_spatialite_busy_timeout"
        )

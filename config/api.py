"""The JSON API (django-ninja). Each app contributes a router; the OpenAPI document is served at
``/api/openapi.json`` and the interactive docs at ``/api/docs``."""

from ninja import NinjaAPI

from engage.api import router as engage_router
from landuse.api import router as landuse_router

api = NinjaAPI(
    title="Civic map engagement API",
    version="1",
    description="Land-use layers, discussions, comments and map-pinned feedback.",
    urls_namespace="api",
)
api.add_router("/landuse/", landuse_router)
api.add_router("/engage/", engage_router)

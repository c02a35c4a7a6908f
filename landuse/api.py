"""HTTP JSON endpoints of `landuse` (mounted under /api/landuse/)."""

from ninja import Router

router = Router(tags=["landuse"])

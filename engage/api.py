"""HTTP JSON endpoints of `engage` (mounted under /api/engage/)."""

from ninja import Router

router = Router(tags=["engage"])

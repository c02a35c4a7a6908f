"""503 instead of 500 when the database cannot be reached.

A stopped PostgreSQL, a full connection pool, or a SpatiaLite file locked by another process
all surface as ``OperationalError``/``InterfaceError`` from the view. The write in progress was
inside ``transaction.atomic`` and is rolled back by the database, so nothing half-written stays;
the client gets a clear, retryable answer: JSON in the API's error shape for ``/api/`` (and any
client asking for JSON), a short HTML page otherwise, both with ``Retry-After``. No template is
rendered and nothing else is read from the database while building the answer.
"""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 10
MESSAGE = "The database is unavailable at the moment. Please try again shortly."
PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Temporarily unavailable</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>Temporarily unavailable</h1><p>{MESSAGE}</p></main></body></html>
"""


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "json" in request.headers.get("Accept", "")


def database_unavailable_response(request: HttpRequest) -> HttpResponse:
    if _wants_json(request):
        response: HttpResponse = JsonResponse(
            {"errors": [{"field": "database", "message": MESSAGE}]}, status=503
        )
    else:
        response = HttpResponse(PAGE, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    """Answer 503 for a view that failed because the database is unreachable."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.error("database unavailable: %s %s: %s", request.method, request.path, exception)
        return database_unavailable_response(request)

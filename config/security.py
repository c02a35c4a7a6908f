"""Content-Security-Policy on every response.

Public pages get a strict policy: our own origin only, no inline script or style, so markup
injected into a comment could not run even if it escaped escaping. The Wagtail admin and the
API docs get the same origin rules but allow inline script and style, which Wagtail's editor
widgets (and django-leaflet's map widget) still emit; they are reachable only by staff.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse


def build_policy(*, inline: bool, extra_img_src: str = "") -> str:
    inline_source = " 'unsafe-inline'" if inline else ""
    img_src = f"'self' data: blob:{' ' + extra_img_src if extra_img_src else ''}"
    directives = {
        "default-src": "'self'",
        "script-src": f"'self'{inline_source}",
        "style-src": f"'self'{inline_source}",
        "img-src": img_src,
        "font-src": "'self' data:",
        # 'self' covers ws:/wss: to our own host in CSP Level 3 browsers.
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        basemap = settings.BASEMAP_ORIGIN
        self.public_policy = build_policy(inline=False, extra_img_src=basemap)
        self.staff_policy = build_policy(inline=True, extra_img_src=basemap)
        self.staff_prefixes = tuple(settings.CSP_RELAXED_PATH_PREFIXES)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            relaxed = request.path.startswith(self.staff_prefixes)
            response["Content-Security-Policy"] = (
                self.staff_policy if relaxed else self.public_policy
            )
        return response


class RefuseNullBytesMiddleware:
    """400 for a NUL byte in the path or the query string.

    No URL of ours has a use for one, and a NUL in a query parameter makes PostgreSQL refuse
    the query (a 500 wherever a parameter reaches the ORM) and SQLite's full-text search fail.
    Refusing it here covers every view at once, including Wagtail's and the API's.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or "%00" in query or "\x00" in query:
            return JsonResponse(
                {"errors": [{"field": "url", "message": "NUL bytes are not allowed in URLs."}]},
                status=400,
            )
        return self.get_response(request)

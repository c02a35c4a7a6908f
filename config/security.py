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


def response_security_headers(*, secure: bool, path: str) -> dict[str, str]:
    """The security headers Django's middleware puts on a response to ``path`` (Security,
    Content-Security-Policy, X-Frame-Options), for routes answered before Django
    (``landuse.fastpath``). A test compares the two."""
    headers: dict[str, str] = {}
    if secure and settings.SECURE_HSTS_SECONDS:
        value = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            value += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            value += "; preload"
        headers["Strict-Transport-Security"] = value
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers["X-Content-Type-Options"] = "nosniff"
    referrer = settings.SECURE_REFERRER_POLICY
    if referrer:
        headers["Referrer-Policy"] = referrer if isinstance(referrer, str) else ",".join(referrer)
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers["Cross-Origin-Opener-Policy"] = settings.SECURE_CROSS_ORIGIN_OPENER_POLICY
    relaxed = path.startswith(tuple(settings.CSP_RELAXED_PATH_PREFIXES))
    headers["Content-Security-Policy"] = build_policy(
        inline=relaxed, extra_img_src=settings.BASEMAP_ORIGIN
    )
    headers["X-Frame-Options"] = getattr(settings, "X_FRAME_OPTIONS", "DENY").upper()
    return headers


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


class LoginThrottleMiddleware:
    """Sign-in lockout for the Wagtail admin login (``settings.LOGIN_THROTTLED_PATHS``).

    A POST that does not sign in (the form comes back with 200) counts one failure for the
    client address and one for the username typed; at ``LOGIN_FAILURE_LIMIT`` failures either
    counter locks further POSTs out with 429 and ``Retry-After`` until ``LOGIN_LOCKOUT_SECONDS``
    after the first failure. A successful sign-in clears the username's counter (not the
    address's: one valid account must not reset a guessing run). Counters live in Django's
    cache, shared by every worker when Redis is configured.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    @staticmethod
    def _keys(request: HttpRequest) -> list[str]:
        from django.utils.crypto import salted_hmac

        def keyed(kind: str, value: str) -> str:
            digest = salted_hmac("login.throttle", value, algorithm="sha256").hexdigest()[:32]
            return f"login:fail:{kind}:{digest}"

        username = request.POST.get("username", "")[:150].strip().lower()
        keys = [keyed("ip", request.META.get("REMOTE_ADDR", ""))]
        if username:
            keys.append(keyed("user", username))
        return keys

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST" or request.path not in settings.LOGIN_THROTTLED_PATHS:
            return self.get_response(request)
        import time

        from django.core.cache import cache

        keys = self._keys(request)
        now = time.time()
        limit = settings.LOGIN_FAILURE_LIMIT
        window = settings.LOGIN_LOCKOUT_SECONDS
        records = cache.get_many(keys)
        locked = [r for r in records.values() if r["count"] >= limit and r["until"] > now]
        if locked:
            retry_after = max(1, int(max(r["until"] for r in locked) - now) + 1)
            response = HttpResponse(
                "Too many failed sign-ins. Try again later.\n",
                status=429,
                content_type="text/plain; charset=utf-8",
            )
            response["Retry-After"] = str(retry_after)
            return response
        response = self.get_response(request)
        if response.status_code == 200:  # the form came back: not signed in
            for key in keys:
                record = records.get(key)
                if record is None or record["until"] <= now:
                    record = {"count": 0, "until": now + window}
                record["count"] += 1
                cache.set(key, record, timeout=int(record["until"] - now) + 1)
        elif response.status_code in (301, 302, 303) and len(keys) > 1:
            cache.delete(keys[1])
        return response

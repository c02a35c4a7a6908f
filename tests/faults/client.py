"""A small HTTP client for the servers the fault tests start (standard library only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request


def request(
    method: str,
    url: str,
    data: dict | None = None,
    *,
    timeout: float = 15,
    accept: str = "application/json",
):
    """(status, headers, body as text); HTTP errors are answers, not exceptions."""
    req = urllib.request.Request(  # noqa: S310 - our own test server
        url,
        method=method,
        data=json.dumps(data).encode() if data is not None else None,
        headers={"Content-Type": "application/json", "Accept": accept},
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def discussion_id(base_url: str) -> int:
    _, _, body = request("GET", base_url + "/api/engage/discussions/")
    return next(d["id"] for d in json.loads(body) if d["title"] == "Faults")


def post_comment(base_url: str, discussion: int, body: str, *, timeout: float = 15):
    return request(
        "POST",
        f"{base_url}/api/engage/discussions/{discussion}/comments/",
        {"body": body, "display_name": "Fault tester"},
        timeout=timeout,
    )


def comments_after(base_url: str, discussion: int, after: int) -> list[dict]:
    """Every published comment after ``after``, following ``next_after`` (the backfill)."""
    items: list[dict] = []
    while True:
        status, _, body = request(
            "GET",
            f"{base_url}/api/engage/discussions/{discussion}/comments/?after={after}&limit=200",
        )
        assert status == 200, body
        page = json.loads(body)
        items += page["items"]
        if not page["has_more"]:
            return items
        after = page["next_after"]

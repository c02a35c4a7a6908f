"""Every response carries a Content-Security-Policy that allows only our own origin."""

from __future__ import annotations

import pytest

from config.security import build_policy


def directives(header: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


@pytest.mark.django_db
def test_public_pages_forbid_inline_script_and_every_other_origin(client):
    policy = directives(client.get("/healthz")["Content-Security-Policy"])
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["default-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    assert "http" not in " ".join(policy.values())


@pytest.mark.django_db
def test_the_admin_allows_inline_editor_scripts_but_still_only_our_origin(client):
    policy = directives(client.get("/admin/login/")["Content-Security-Policy"])
    assert policy["script-src"] == "'self' 'unsafe-inline'"
    assert "http" not in " ".join(policy.values())


def test_a_configured_base_map_origin_is_allowed_for_images_only():
    policy = directives(build_policy(inline=False, extra_img_src="https://tiles.city.example"))
    assert policy["img-src"] == "'self' data: blob: https://tiles.city.example"
    assert "tiles.city.example" not in policy["connect-src"] + policy["script-src"]

"""load_demo over what was there before it: an older demo's standalone discussions are removed,
and a layer the land-use step made is kept. Each test starts from an empty database."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from engage.models import Discussion
from engage.services import discussion_create
from geo_fixtures.demo_discussions import STANDALONE_TITLES
from landuse.models import Layer

pytestmark = pytest.mark.django_db


def test_the_standalone_discussions_of_the_old_demo_are_removed():
    for title in STANDALONE_TITLES:
        discussion_create(title=title, is_published=True)
    call_command("load_demo")
    assert not Discussion.objects.filter(title__in=STANDALONE_TITLES).exists()


def test_the_demo_keeps_layers_the_landuse_step_made():
    assert not Layer.objects.exists()  # nor anything of another module's shared demo
    Layer.objects.create(slug="zoning", title="Zoning (2024 code)", kind=Layer.Kind.ZONING)
    call_command("load_demo")
    assert Layer.objects.get(slug="zoning").title == "Zoning (2024 code)"
    assert Layer.objects.filter(slug="future-land-use").exists()

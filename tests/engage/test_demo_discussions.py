"""The demo discussions load once and again without duplicating anything."""

from __future__ import annotations

import pytest

from engage.models import Comment, Discussion
from geo_fixtures.demo_discussions import ensure_demo_discussions

pytestmark = pytest.mark.django_db


def test_the_demo_discussions_are_created_once_with_seeded_comments():
    ensure_demo_discussions(lambda message: None)
    ensure_demo_discussions(lambda message: None)
    assert Discussion.objects.count() == 3
    assert Comment.objects.count() == 5
    assert Discussion.objects.filter(allow_anonymous=False).count() == 1
    assert all(d.categories.count() == 4 for d in Discussion.objects.all())
    assert Comment.objects.filter(geometry__isnull=False).count() == 3

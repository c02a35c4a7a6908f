"""Translations ready: Django i18n with English, Wagtail's locales with English, and the
message catalogue of our templates and code in ``locale/``."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from wagtail.models import Locale

pytestmark = pytest.mark.django_db

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES" / "django.po"


def test_wagtail_locales_are_on_with_english():
    assert settings.WAGTAIL_I18N_ENABLED
    assert ("en", "English") in settings.WAGTAIL_CONTENT_LANGUAGES


def test_pages_belong_to_the_english_locale(topic):
    assert topic.locale == Locale.objects.get(language_code="en")


def test_pages_say_they_are_in_english(client, topic):
    assert '<html lang="en">' in client.get(topic.url).content.decode()


def test_the_english_catalogue_holds_the_strings_of_templates_and_code():
    text = CATALOGUE.read_text(encoding="utf-8")
    assert '"Language: en\\n"' in text
    # One from a page template, one from a block, one from the editor's map widget.
    for msgid in ("Open for comment", "A phase cannot end before it starts.", "Draw the plan area"):
        assert f'msgid "{msgid}"' in text

"""Every page type and every block renders for the public, with the shared map contract."""

from __future__ import annotations

import datetime
import html
import json
import re

import pytest
from django.core.files.base import ContentFile
from wagtail.documents.models import Document
from wagtail.images.models import Image
from wagtail.images.tests.utils import get_test_image_file
from wagtail.rich_text import RichText

from cms.blocks import CallToActionBlock, ImageBlock, MapBlock, PollBlock, TimelineBlock
from cms.models import HomePageFeaturedTopic, PlanningTopicPage
from tests.cms.conftest import SQUARE, map_value, publish

pytestmark = pytest.mark.django_db


def body_of(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def test_the_home_page_renders_its_intro_and_featured_topics(client, home, topic):
    HomePageFeaturedTopic.objects.create(home=home, topic=topic)
    page = body_of(client.get("/"))
    assert "Help shape the city" in page
    assert 'href="/topics/mobility/"' in page


def test_the_home_page_lists_plans_in_public_review(client, plan):
    assert "Comprehensive Plan" in body_of(client.get("/"))


def test_the_topic_index_lists_its_published_topics(client, topic):
    page = body_of(client.get("/topics/"))
    assert "Mobility" in page and "Safer streets and frequent buses." in page


def test_a_planning_topic_renders_its_body(client, topic):
    page = body_of(client.get("/topics/mobility/"))
    assert "<h1>Mobility</h1>" in page
    assert "Buses every ten minutes." in page


def test_a_draft_plan_shows_status_pdf_and_table_of_contents(client, plan):
    document = Document.objects.create(title="Full plan")
    document.file.save("plan.pdf", ContentFile(b"%PDF-1.4 test"), save=True)
    plan.document = document
    plan.save_revision().publish()
    page = body_of(client.get("/plan/"))
    assert "Public review" in page
    assert document.url in page and "(PDF)" in page
    contents = page.index("Contents")
    assert page.index("1. Vision", contents) < page.index("2. Parks", contents)
    assert 'href="/plan/changes/"' in page


def test_a_chapter_shows_the_plan_contents_and_its_neighbours(client, plan):
    page = body_of(client.get("/plan/vision/"))
    assert "1. Vision text." in page
    assert 'aria-current="page">1. Vision' in page
    assert 'rel="next" href="/plan/parks/"' in page


def test_pages_carry_title_description_and_social_card_tags(client, topic):
    topic.seo_title = "Mobility — getting around"
    topic.search_description = "How we move around the city."
    topic.social_image = Image.objects.create(title="Bus", file=get_test_image_file())
    topic.save_revision().publish()
    page = body_of(client.get("/topics/mobility/"))
    assert "<title>Mobility — getting around · Plan Together</title>" in page
    assert '<meta name="description" content="How we move around the city.">' in page
    assert '<meta property="og:title" content="Mobility — getting around">' in page
    assert '<meta property="og:url" content="http://localhost/topics/mobility/">' in page
    assert '<meta property="og:image" content="http://' in page
    assert '<meta name="twitter:card" content="summary_large_image">' in page
    assert '<html lang="en">' in page
    assert 'class="skip-link" href="#main"' in page


# --- Blocks ---------------------------------------------------------------------------------


def test_the_text_block_renders_rich_text(client, topic):
    assert '<div class="block-text"><p>Buses every ten minutes.</p></div>' in body_of(
        client.get("/topics/mobility/")
    )


def test_the_map_block_renders_the_shared_contract_and_the_script_once(client, topic_index, layers):
    publish(
        topic_index,
        PlanningTopicPage(
            title="Maps",
            slug="maps",
            body=[("map", map_value(layers)), ("map", map_value(layers[:1], plan_area=""))],
        ),
    )
    page = body_of(client.get("/topics/maps/"))
    maps = re.findall(r'<div class="civic-map"[^>]*>', page)
    assert len(maps) == 2
    assert 'data-layers="zoning,future-land-use"' in maps[0]
    assert 'data-center="39.740000,-104.990000"' in maps[0]
    assert 'data-zoom="12"' in maps[0]
    plan_area = re.search(r'data-plan-area="([^"]*)"', maps[0]).group(1)
    assert json.loads(html.unescape(plan_area)) == SQUARE
    assert "data-plan-area" not in maps[1]
    assert page.count('<script src="/static/frontend/js/layers.js" defer></script>') == 1
    # The shared DOM helpers load once, before the map script that uses them.
    assert page.count('<script src="/static/frontend/js/dom.js" defer></script>') == 1
    assert page.index("frontend/js/dom.js") < page.index("frontend/js/layers.js")
    # No inline script anywhere: the CSP will forbid them.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)


def test_markup_in_a_layer_title_or_map_title_is_escaped(client, topic_index, layers):
    layers[0].title = '<img src=x onerror="alert(1)">'
    layers[0].save()
    publish(
        topic_index,
        PlanningTopicPage(
            title="XSS",
            slug="xss",
            body=[("map", map_value(layers, title='"><svg onload=alert(1)>'))],
        ),
    )
    page = body_of(client.get("/topics/xss/"))
    assert "<img src=x" not in page and "<svg onload" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page


def test_the_image_block_renders_the_image_with_its_alt_text():
    image = Image.objects.create(title="Park", file=get_test_image_file())
    rendered = ImageBlock().render(
        ImageBlock().to_python({"image": image.pk, "alt_text": "A small park", "caption": "Today"})
    )
    assert 'alt="A small park"' in rendered and "<figcaption>Today</figcaption>" in rendered


def test_the_timeline_block_renders_its_phases_with_dates():
    block = TimelineBlock()
    value = block.to_python(
        {
            "heading": "Steps",
            "phases": [
                {"title": "Draft", "starts_on": "2026-10-01", "ends_on": "2027-01-31"},
                {"title": "Adoption", "starts_on": "2027-03-01", "ends_on": None},
            ],
        }
    )
    rendered = block.render(value)
    assert '<time datetime="2026-10-01">1 October 2026</time>' in rendered
    assert '<time datetime="2027-01-31">' in rendered
    assert rendered.index("Draft") < rendered.index("Adoption")
    assert isinstance(value["phases"][0]["starts_on"], datetime.date)


def test_the_call_to_action_jumps_to_the_feedback_map():
    block = CallToActionBlock()
    rendered = block.render(
        block.to_python(
            {"heading": "Comment", "text": "", "button_label": "Go", "anchor": "feedback-map"}
        )
    )
    assert 'href="#feedback-map"' in rendered and ">Go</a>" in rendered


def test_the_poll_block_renders_a_form_on_a_live_page(client, topic_index):
    publish(
        topic_index,
        PlanningTopicPage(
            title="Poll",
            slug="poll",
            body=[
                (
                    "poll",
                    {"question": "Bus or bike?", "answers": ["Bus", "Bike"], "show_results": True},
                )
            ],
        ),
    )
    page = body_of(client.get("/topics/poll/"))
    assert '<form method="post" action="/polls/' in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert page.count('type="radio" name="answer"') == 2


def test_the_poll_block_renders_without_a_form_outside_a_page():
    block = PollBlock()
    rendered = block.render(block.to_python({"question": "Q?", "answers": ["A", "B"]}))
    assert "<form" not in rendered and "<li>A</li>" in rendered


def test_the_map_block_renders_on_its_own(layers):
    block = MapBlock()
    rendered = block.render(block.to_python(map_value(layers) | {"layers": [layers[0].pk]}))
    assert 'data-layers="zoning"' in rendered


def test_a_rich_text_javascript_link_is_not_rendered_as_a_link(client, topic_index):
    publish(
        topic_index,
        PlanningTopicPage(
            title="Links",
            slug="links",
            body=[("text", RichText('<p><a href="javascript:alert(1)">click</a></p>'))],
        ),
    )
    assert "javascript:" not in body_of(client.get("/topics/links/"))

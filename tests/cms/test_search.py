"""GET /search/?query= finds published topics, plans and chapters, and nothing else."""

from __future__ import annotations

import pytest

from cms.models import PlanningTopicPage

pytestmark = pytest.mark.django_db


def results(client, query: str) -> str:
    response = client.get("/search/", {"query": query})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    return response.content.decode().split('class="search-results"', 1)[-1]


def test_it_finds_a_topic_by_words_in_its_body(client, topic):
    assert 'href="/topics/mobility/"' in results(client, "buses")


def test_it_finds_a_plan_and_its_chapters(client, plan):
    page = results(client, "Vision")
    assert 'href="/plan/vision/"' in page
    assert 'href="/plan/"' in results(client, "Comprehensive")


def test_it_does_not_find_unpublished_pages(client, topic_index):
    page = PlanningTopicPage(title="Hidden zebra crossing", slug="hidden", live=False)
    topic_index.add_child(instance=page)
    page.save_revision()
    assert "Hidden zebra" not in results(client, "zebra")


def test_it_does_not_list_the_home_page_or_the_index(client, topic):
    page = results(client, "Topics")
    assert 'href="/topics/"' not in page


def test_an_empty_query_shows_the_form_without_results(client, topic):
    response = client.get("/search/")
    assert response.status_code == 200
    assert 'name="query"' in response.content.decode()
    assert "search-results" not in response.content.decode()


def test_markup_in_the_query_is_escaped(client, topic):
    response = client.get("/search/", {"query": "<script>alert(1)</script>"})
    assert response.status_code == 200
    assert "<script>alert(1)" not in response.content.decode()
    assert "&lt;script&gt;" in response.content.decode()


def test_a_very_long_query_is_not_an_error(client, topic):
    assert client.get("/search/", {"query": "bus " * 5000}).status_code == 200


def test_search_is_get_only(client):
    assert client.post("/search/", {"query": "x"}).status_code == 405

"""The JSON API is mounted at /api/ with its OpenAPI document and interactive docs."""

from __future__ import annotations


def test_openapi_document_is_served(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Civic map engagement API"


def test_interactive_docs_are_served_without_any_outside_host(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "openapi.json" in html
    assert "http://" not in html and "https://" not in html
    assert "/static/ninja/swagger-ui-bundle.js" in html

"""``render_body_html`` skips urlize for text that cannot hold a link: the result must be what
urlize would have given."""

from __future__ import annotations

import pytest
from django.utils.html import urlize

from engage.schemas import render_body_html

BODIES = [
    "More homes near the light rail makes sense.",
    "Keep the corner shops!\nThey are why people walk here",
    "<script>alert(1)</script> & \"quotes\" 'single' > < &amp;",
    "Café, naïve façade — 5 > 3 and 2 < 4",
    "See https://example.org/plan?a=1&b=2 for details.",
    "Mail planning@example.org or visit www.example.org.",
    "plain example.org domain",
    "a sentence.Another without a space",
    "ftp://old.example is not linked but http://localhost is",
    "",
]


@pytest.mark.parametrize("body", BODIES)
def test_the_body_html_is_what_urlize_and_the_cleaner_give(body):
    import nh3

    expected = nh3.clean(
        urlize(body, nofollow=True, autoescape=True).replace("\n", "<br>"),
        tags={"a", "br"},
        attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow ugc noopener",
    )
    assert render_body_html(body) == expected

from __future__ import annotations

import nh3
from django import template
from django.conf import settings
from django.core.cache.backends.locmem import LocMemCache
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from wagtail.templatetags.wagtailcore_tags import richtext

register = template.Library()


@register.simple_tag(takes_context=True)
def civic_map_script(context: template.Context) -> str:
    """The map script tags, once per page however many map blocks the page has: a second copy
    of a deferred script would run again and initialise every map twice. ``dom.js`` comes
    first: the map, the thread and the feedback map all use its helpers."""
    request = context.get("request")
    if request is not None:
        if getattr(request, "_civic_map_script_rendered", False):
            return ""
        request._civic_map_script_rendered = True
    return format_html(
        '<script src="{}" defer></script><script src="{}" defer></script>',
        static("frontend/js/dom.js"),
        static("frontend/js/layers.js"),
    )


# Rendered threads, in this process only: the key is read from the database on every request
# (``cms.selectors._thread_key``), so nothing needs invalidating across workers, and a new
# deployment starts empty. Rendering 20 conversations was about a fifth of a topic page's CPU.
# Bounded by entry count; an entry is a page of conversations (~25 KB for 20 short comments).
_rendered_threads = LocMemCache(
    "cms-rendered-threads", {"TIMEOUT": 3600, "OPTIONS": {"MAX_ENTRIES": 200}}
)


@register.simple_tag(takes_context=True)
def feedback_thread(context: template.Context, feedback) -> str:
    """The server-rendered thread of ``feedback`` (``cms/includes/thread.html``), reused while
    ``feedback.thread_key`` stays the same. It is rendered from ``feedback`` alone, never from
    the request, so one rendering is right for every reader with the same key. Not cached with
    ``DEBUG`` on, where an edited template must show at once."""
    thread = context.template.engine.get_template("cms/includes/thread.html")

    def render() -> str:
        return thread.render(template.Context({"feedback": feedback}, autoescape=True))

    if settings.DEBUG:
        return mark_safe(render())  # noqa: S308 - a template rendered with autoescape on
    html = _rendered_threads.get(feedback.thread_key)
    if html is None:
        html = render()
        _rendered_threads.set(feedback.thread_key, html)
    return mark_safe(html)  # noqa: S308 - a template rendered with autoescape on


SAFE_URL_SCHEMES = {"http", "https", "mailto", "tel"}


@register.filter
def richtext_clean(value: object) -> str:
    """Wagtail's ``richtext`` filter, then nh3: the editor already refuses ``javascript:`` links,
    but rich text written by code, imports or an older revision never went through it
    (Wagtail CVE-2020-11001 / CVE-2021-29434 were of this kind). nh3 strips, never escapes."""
    return mark_safe(  # noqa: S308 - nh3 output is sanitised HTML
        nh3.clean(str(richtext(value)), url_schemes=SAFE_URL_SCHEMES)
    )

from __future__ import annotations

import nh3
from django import template
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


SAFE_URL_SCHEMES = {"http", "https", "mailto", "tel"}


@register.filter
def richtext_clean(value: object) -> str:
    """Wagtail's ``richtext`` filter, then nh3: the editor already refuses ``javascript:`` links,
    but rich text written by code, imports or an older revision never went through it
    (Wagtail CVE-2020-11001 / CVE-2021-29434 were of this kind). nh3 strips, never escapes."""
    return mark_safe(  # noqa: S308 - nh3 output is sanitised HTML
        nh3.clean(str(richtext(value)), url_schemes=SAFE_URL_SCHEMES)
    )

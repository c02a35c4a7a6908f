"""The demo city: every step creates what is missing and leaves what exists, so ``load_demo``
can run on every ``make run``.

Steps are added by the feature apps' issues (layers, pages, discussions, comments); each is a
plain function taking the command's ``log`` callable.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from wagtail.models import Locale, Page, Site

from cms.models import HomePage
from engage.services import moderators_group_ensure
from geo_fixtures.demo_discussions import ensure_demo_discussions
from geo_fixtures.demo_layers import ensure_layers
from geo_fixtures.demo_pages import ensure_demo_pages

Log = Callable[[str], None]

DEMO_ADMIN_USERNAME = "admin"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str


def ensure_admin(log: Log) -> DemoLogin:
    password = os.environ.get("DEMO_ADMIN_PASSWORD", "plan-together-demo")
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=DEMO_ADMIN_USERNAME,
        defaults={"email": "admin@example.org", "is_staff": True, "is_superuser": True},
    )
    # Reset every time so the login printed by `make run` always works.
    user.set_password(password)
    user.save(update_fields=["password"])
    log(f"{'created' if created else 'kept'} admin user {user.username!r}")
    return DemoLogin(DEMO_ADMIN_USERNAME, password)


def ensure_home_page(log: Log) -> HomePage:
    home = HomePage.objects.first()
    if home is None:
        root = Page.get_first_root_node()
        Locale.objects.get_or_create(language_code="en")
        home = root.add_child(
            instance=HomePage(
                title="Plan Together",
                slug="home-city",
                intro="<p>Help shape the city's plans: read the drafts, explore the maps and "
                "tell the planners what you think.</p>",
            )
        )
        log("created the home page")
    site = Site.objects.filter(is_default_site=True).first()
    if site is None:
        Site.objects.create(hostname="localhost", port=80, root_page=home, is_default_site=True)
    elif site.root_page_id != home.pk:
        old_root = site.root_page
        site.root_page = home
        site.site_name = "Plan Together"
        site.save()
        # Wagtail's own "Welcome" placeholder page is replaced, not left orphaned.
        if old_root.specific_class is Page and old_root.depth == 2:
            old_root.delete()
        log("pointed the default site at the home page")
    return home


def ensure_moderators(log: Log):
    """The "Moderators" group: moderate and export feedback, and use the Wagtail admin where
    the queue and the exports live. Idempotent."""
    group = moderators_group_ensure(extra_permissions=[("wagtailadmin", "access_admin")])
    log(f"group {group.name!r} ready")
    return group


@transaction.atomic
def load_demo(log: Log) -> DemoLogin:
    login = ensure_admin(log)
    ensure_layers(log)
    home = ensure_home_page(log)
    ensure_demo_pages(log, home=home)
    ensure_demo_discussions(log)
    ensure_moderators(log)
    return login

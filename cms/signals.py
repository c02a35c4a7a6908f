"""Wagtail's page signals → the page's discussion. Each receiver calls one service and nothing
else (docs/cms.md says why signals rather than overriding the pages' publish path)."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from wagtail.models import Page, PageViewRestriction
from wagtail.signals import page_published, page_unpublished, post_page_move

from cms.models import DiscussionPageMixin, DraftPlanPage, PlanningTopicPage
from cms.services import (
    page_discussion_sync,
    page_discussion_unpublish,
    page_discussions_visibility_sync,
)


@receiver(page_published)
def sync_discussion_on_publish(sender, instance, alias: bool = False, **kwargs) -> None:
    # An alias shares its original's content but must not take over its discussion.
    if isinstance(instance, DiscussionPageMixin) and not alias:
        page_discussion_sync(page=instance)


@receiver(page_unpublished)
def unpublish_discussion_with_page(sender, instance, **kwargs) -> None:
    if isinstance(instance, DiscussionPageMixin):
        page_discussion_unpublish(discussion_id=instance.discussion_id)


@receiver(post_delete, sender=PlanningTopicPage)
@receiver(post_delete, sender=DraftPlanPage)
def unpublish_discussion_of_deleted_page(sender, instance, **kwargs) -> None:
    # Deleting a page sends no page_unpublished; the discussion (and its comments, which staff
    # may still export) stays, unpublished.
    page_discussion_unpublish(discussion_id=instance.discussion_id)


@receiver(post_page_move)
def follow_a_moved_page(sender, instance, **kwargs) -> None:
    # The moved page and everything under it have new URLs and may now sit under (or outside)
    # a private section. Wagtail sends the signal for the moved page only.
    page_discussions_visibility_sync(page=instance)


@receiver(post_save, sender=PageViewRestriction)
@receiver(post_delete, sender=PageViewRestriction)
def follow_a_view_restriction(sender, instance, **kwargs) -> None:
    # A restriction covers its page's whole subtree. Deleting a page deletes its restrictions
    # first (cascade): the page may then be gone already, and its own receiver above decides.
    page = Page.objects.filter(pk=instance.page_id).first()
    if page is not None:
        page_discussions_visibility_sync(page=page)

"""Who may do what in a discussion, as named predicates (django-rules).

The first argument of every predicate is a :class:`Participant` (who is acting, signed in or
not); the second the discussion or comment. Read as policy::

    can_post_in       = discussion_is_live & discussion_is_open & (is_signed_in | allows_anonymous)
    can_edit_comment  = is_comment_author & within_edit_window & comment_is_visible_to_author
    can_react_to      = comment_is_published & comment_discussion_is_open
    can_flag          = comment_is_published
    can_moderate      = is_moderator          (engage.moderate_comment; superusers)
    can_export        = is_exporter           (engage.export_feedback; superusers)
    can_export_personal_data = is_exporter & has_personal_data_permission

Being staff (``is_staff``) or a Wagtail editor grants none of these: the permissions come
from the "Moderators" group (``services.moderators_group_ensure``) or are given one by one.

Services check the parts one by one so each refusal names its reason.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

import rules
from django.utils import timezone

from engage.models import Comment, Discussion


@dataclass(frozen=True)
class Participant:
    """Who is acting. ``key`` identifies one person for reactions and flags: ``u:<id>`` when
    signed in, ``a:<keyed hash of the session key>`` when anonymous. ``edit_token`` is what an
    anonymous author sends back to edit or withdraw their comment."""

    user: object | None
    key: str
    ip_hash: str = ""
    edit_token: str = ""

    @property
    def user_id(self) -> int | None:
        return getattr(self.user, "pk", None)


def edit_token_hash(token: str) -> str:
    from django.utils.crypto import salted_hmac

    return salted_hmac("engage.edit-token", token, algorithm="sha256").hexdigest()


@rules.predicate
def is_signed_in(participant: Participant) -> bool:
    return participant.user is not None


def _has_perm(participant: Participant, permission: str) -> bool:
    user = participant.user
    return bool(
        user is not None and getattr(user, "is_active", False) and user.has_perm(permission)
    )


@rules.predicate
def is_moderator(participant: Participant) -> bool:
    return _has_perm(participant, "engage.moderate_comment")


@rules.predicate
def is_exporter(participant: Participant) -> bool:
    return _has_perm(participant, "engage.export_feedback")


@rules.predicate
def has_personal_data_permission(participant: Participant) -> bool:
    return _has_perm(participant, "engage.export_personal_data")


@rules.predicate
def discussion_is_live(participant: Participant, discussion: Discussion) -> bool:
    return discussion.is_published


@rules.predicate
def discussion_is_open(participant: Participant, discussion: Discussion) -> bool:
    return discussion.is_open_at(timezone.now())


@rules.predicate
def allows_anonymous(participant: Participant, discussion: Discussion) -> bool:
    return discussion.allow_anonymous


@rules.predicate
def is_comment_author(participant: Participant, comment: Comment) -> bool:
    if comment.author_id is not None:
        return participant.user_id == comment.author_id
    if not comment.edit_token_hash or not participant.edit_token:
        return False
    return hmac.compare_digest(comment.edit_token_hash, edit_token_hash(participant.edit_token))


@rules.predicate
def within_edit_window(participant: Participant, comment: Comment) -> bool:
    return timezone.now() < comment.created_at + comment.discussion.edit_window


@rules.predicate
def comment_is_visible_to_author(participant: Participant, comment: Comment) -> bool:
    return comment.status in {Comment.Status.PENDING, Comment.Status.PUBLISHED}


@rules.predicate
def comment_is_published(participant: Participant, comment: Comment) -> bool:
    return comment.status == Comment.Status.PUBLISHED


@rules.predicate
def comment_discussion_is_open(participant: Participant, comment: Comment) -> bool:
    return comment.discussion.is_published and comment.discussion.is_open_at(timezone.now())


can_post_in = discussion_is_live & discussion_is_open & (is_signed_in | allows_anonymous)
can_edit_comment = is_comment_author & within_edit_window & comment_is_visible_to_author
can_react_to = comment_is_published & comment_discussion_is_open
can_flag = comment_is_published
can_moderate = is_moderator
can_export = is_exporter
can_export_personal_data = is_exporter & has_personal_data_permission

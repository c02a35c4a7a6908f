"""The permission predicates, one test per actor and action."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from engage import rules as policy
from engage.models import Comment
from engage.rules import Participant, edit_token_hash
from tests.engage.conftest import open_discussion

pytestmark = pytest.mark.django_db

ANONYMOUS = Participant(user=None, key="a:visitor")


def as_participant(user) -> Participant:
    return Participant(user=user, key=f"u:{user.pk}")


def test_an_anonymous_visitor_may_post_only_where_anonymous_posting_is_allowed(db):
    assert policy.can_post_in(ANONYMOUS, open_discussion(allow_anonymous=True))
    assert not policy.can_post_in(ANONYMOUS, open_discussion(allow_anonymous=False))


def test_a_resident_may_post_where_signing_in_is_required(resident):
    assert policy.can_post_in(as_participant(resident), open_discussion(allow_anonymous=False))


def test_nobody_may_post_in_a_closed_or_unpublished_discussion(resident, moderator):
    closed = open_discussion(closes_at=timezone.now() - timedelta(seconds=1))
    draft = open_discussion(is_published=False)
    for who in (ANONYMOUS, as_participant(resident), as_participant(moderator)):
        assert not policy.can_post_in(who, closed)
        assert not policy.can_post_in(who, draft)


def test_only_the_author_may_edit_a_comment(resident, other_resident, moderator):
    discussion = open_discussion()
    comment = Comment.objects.create(discussion=discussion, author=resident, body="x")
    assert policy.can_edit_comment(as_participant(resident), comment)
    assert not policy.can_edit_comment(as_participant(other_resident), comment)
    assert not policy.can_edit_comment(as_participant(moderator), comment)
    assert not policy.can_edit_comment(ANONYMOUS, comment)


def test_an_anonymous_author_may_edit_with_the_right_token_only(db):
    comment = Comment.objects.create(
        discussion=open_discussion(), body="x", edit_token_hash=edit_token_hash("secret")
    )
    assert policy.can_edit_comment(Participant(user=None, key="a:1", edit_token="secret"), comment)
    assert not policy.can_edit_comment(Participant(user=None, key="a:1", edit_token="s"), comment)
    assert not policy.can_edit_comment(ANONYMOUS, comment)


def test_only_holders_of_the_moderation_permission_may_moderate(resident, moderator):
    from django.contrib.auth.models import Permission

    assert policy.can_moderate(as_participant(moderator))
    assert not policy.can_moderate(as_participant(resident))
    assert not policy.can_moderate(ANONYMOUS)
    resident.user_permissions.add(Permission.objects.get(codename="moderate_comment"))
    from django.contrib.auth import get_user_model

    resident = get_user_model().objects.get(pk=resident.pk)  # fresh permission cache
    assert policy.can_moderate(as_participant(resident))


def test_anyone_may_react_to_and_flag_a_published_comment_only(db):
    comment = Comment.objects.create(discussion=open_discussion(), body="x")
    assert policy.can_react_to(ANONYMOUS, comment) and policy.can_flag(ANONYMOUS, comment)
    comment.status = Comment.Status.HIDDEN
    assert not policy.can_react_to(ANONYMOUS, comment) and not policy.can_flag(ANONYMOUS, comment)

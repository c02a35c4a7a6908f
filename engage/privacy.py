"""A resident's own contributions: download them, erase them; and the IP-hash retention purge.

Who "owns" what:

- signed in: every comment whose ``author`` is the account, every reaction and flag of the
  account (``user``/``u:<id>``);
- anonymous: the comments whose edit token they present (the token the POST answered once), and
  the reactions and flags of their browser session (``a:<keyed hash of the session>``).

Erasure (docs/privacy in the README, "Security and privacy") keeps the skeleton that moderation
and the threads need and removes everything personal:

- a comment keeps its id, discussion, parent, depth, category, status history, timestamps and
  its flags (so the moderation audit trail and the replies of others stay intact); its
  ``body`` and ``display_name`` become empty, ``author``, ``geometry``, land-use answers,
  ``ip_hash`` and ``edit_token_hash`` are cleared. A published or pending comment becomes
  ``withdrawn`` (it disappears from every open page, live); hidden and rejected ones keep the
  moderator's decision. An erased comment is recognisable by its empty ``body``, which no
  posted comment can have.
- reactions are deleted (the counts change, live);
- flags the person filed stay as moderation records with reason and time only: ``details``,
  ``user``, ``ip_hash`` are cleared and the reporter key is replaced.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from engage.models import Comment, Flag, Reaction
from engage.realtime import broadcast_on_commit
from engage.rules import Participant, edit_token_hash
from engage.schemas import comment_out, geometry_out
from engage.services import reactions_changed_broadcast
from engage.validation import Problem

MAX_TOKENS = 200


def _token_hashes(edit_tokens: list[str]) -> list[str]:
    if len(edit_tokens) > MAX_TOKENS:
        raise Problem.of("edit_token", f"At most {MAX_TOKENS} edit tokens at once.")
    return [edit_token_hash(token) for token in edit_tokens if token]


def _own_comments(*, participant: Participant, edit_tokens: list[str]) -> QuerySet[Comment]:
    owned = Q(pk__in=[])
    if participant.user is not None:
        owned |= Q(author=participant.user)
    hashes = _token_hashes(edit_tokens)
    if hashes:
        owned |= Q(edit_token_hash__in=hashes)
    return Comment.objects.filter(owned).select_related("discussion", "category").order_by("pk")


def _own(model, *, participant: Participant, key_field: str) -> QuerySet:
    owned = Q(pk__in=[])
    if participant.key:
        owned |= Q(**{key_field: participant.key})
    if participant.user is not None:
        owned |= Q(user=participant.user)
    return model.objects.filter(owned).order_by("pk")


def contributions_export(*, participant: Participant, edit_tokens: list[str]) -> dict:
    """Everything stored about this person's contributions, as JSON-ready data."""
    user = participant.user
    return {
        "generated_at": timezone.now().isoformat(),
        "account": (
            {
                "username": user.get_username(),
                "name": user.get_full_name(),
                "email": getattr(user, "email", ""),
            }
            if user is not None
            else None
        ),
        "comments": [
            {
                "id": c.pk,
                "discussion": c.discussion_id,
                "discussion_title": c.discussion.title,
                "page_url": c.discussion.page_url,
                "parent": c.parent_id,
                "status": c.status,
                "display_name": c.display_name,
                "body": c.body,
                "category": c.category.slug if c.category_id else None,
                "geometry": geometry_out(c.geometry),
                "landuse": c.landuse,
                "created_at": c.created_at.isoformat(),
                "edited_at": c.edited_at.isoformat() if c.edited_at else None,
                # The keyed hash itself says nothing to its owner; whether one is kept does.
                "ip_address_hash_kept": bool(c.ip_hash),
            }
            for c in _own_comments(participant=participant, edit_tokens=edit_tokens)
        ],
        "reactions": [
            {"comment": r.comment_id, "value": r.value, "created_at": r.created_at.isoformat()}
            for r in _own(Reaction, participant=participant, key_field="voter_key")
        ],
        "flags": [
            {
                "comment": f.comment_id,
                "reason": f.reason,
                "details": f.details,
                "created_at": f.created_at.isoformat(),
                "ip_address_hash_kept": bool(f.ip_hash),
            }
            for f in _own(Flag, participant=participant, key_field="reporter_key")
        ],
    }


def contributions_erase(*, participant: Participant, edit_tokens: list[str]) -> dict[str, int]:
    """Erase this person's personal data from their contributions (see the module docstring).
    Returns how many comments, reactions and flags were touched."""
    if participant.user is None and not participant.key and not any(edit_tokens):
        raise Problem.of("edit_token", "Sign in, or send the edit tokens of your comments.")
    now = timezone.now()
    with transaction.atomic():
        comments = list(
            _own_comments(participant=participant, edit_tokens=edit_tokens).select_for_update(
                of=("self",)  # not the nullable category of the outer join
            )
        )
        for comment in comments:
            was_public = comment.status == Comment.Status.PUBLISHED
            if comment.status in (Comment.Status.PUBLISHED, Comment.Status.PENDING):
                comment.status = Comment.Status.WITHDRAWN
                comment.status_changed_at = now
            comment.body = comment.display_name = ""
            comment.author = comment.geometry = None
            comment.landuse = []
            comment.zoning_code = comment.future_land_use_code = ""
            comment.ip_hash = comment.edit_token_hash = ""
            comment.changed_at = now
            comment.save()
            if was_public:
                payload = {
                    "type": "comment.updated",
                    "discussion": comment.discussion_id,
                    "comment": comment_out(comment),
                }
                broadcast_on_commit(discussion_id=comment.discussion_id, build=lambda p=payload: p)
        reactions = list(
            _own(Reaction, participant=participant, key_field="voter_key").select_related("comment")
        )
        Reaction.objects.filter(pk__in=[r.pk for r in reactions]).delete()
        for comment_id, discussion_id in {
            (r.comment_id, r.comment.discussion_id) for r in reactions
        }:
            reactions_changed_broadcast(comment_id=comment_id, discussion_id=discussion_id)
        flags = list(_own(Flag, participant=participant, key_field="reporter_key"))
        for flag in flags:
            flag.user = None
            flag.details = flag.ip_hash = ""
            flag.reporter_key = f"erased:{flag.pk}"
            flag.save(update_fields=["user", "details", "ip_hash", "reporter_key"])
    return {"comments": len(comments), "reactions": len(reactions), "flags": len(flags)}


def ip_hashes_purge(*, older_than: timedelta) -> dict[str, int]:
    """Clear the keyed IP hashes of comments and flags created before ``now - older_than``."""
    cutoff = timezone.now() - older_than
    with transaction.atomic():
        comments = (
            Comment.objects.filter(created_at__lt=cutoff).exclude(ip_hash="").update(ip_hash="")
        )
        flags = Flag.objects.filter(created_at__lt=cutoff).exclude(ip_hash="").update(ip_hash="")
    return {"comments": comments, "flags": flags}

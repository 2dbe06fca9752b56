"""Comments shared by Facebook and Instagram: storing them once, and the inbox's actions on them
(reply, hide, delete). The platform's `InboxSpec` gives the models, field names and Graph calls;
reading Meta's comment payloads (feed changes, comment webhooks, backfills) stays in each app."""

from datetime import datetime
from typing import Any

from django.db import IntegrityError
from django.utils import timezone

from botopia_meta.inbox.spec import InboxSpec


def comment_store(
    spec: InboxSpec,
    *,
    asset: Any,
    comment_id: str,
    post_id: str,
    parent_id: str,
    author: dict,
    message: str,
    created_time: datetime | None,
    link_own_reply: bool = True,
    **extra: Any,
) -> tuple[Any, bool]:
    """Insert once per (asset, comment id): Meta redelivers, and backfill overlaps webhooks.
    Someone else's new comment is counted; with `link_own_reply`, the asset's own new reply
    marks the comment it answers replied (it was answered on Facebook / Instagram itself).
    `extra`: platform columns (Instagram's `is_mention`)."""
    Comment = spec.comment_model
    lookup = {spec.asset: asset, "comment_id": comment_id}
    try:
        comment, created = Comment.all_objects.get_or_create(
            **lookup,
            defaults={
                spec.post_field: post_id,
                "parent_id": parent_id,
                "author_id": str(author.get("id") or ""),
                "author_name": str(author.get(spec.name_field) or "")[:255],
                "message": message,
                "created_time": created_time or timezone.now(),
                **extra,
            },
        )
    except IntegrityError:
        comment, created = Comment.all_objects.get(**lookup), False
    if not created:
        return comment, created
    if not spec.is_own(comment, asset):
        spec.record(
            asset=asset,
            metric="mentions_received" if extra.get("is_mention") else "comments_received",
            at=comment.created_time,
            key=f"comment:{comment_id}:received",
        )
    elif link_own_reply and parent_id:
        Comment.objects.filter(**{spec.asset: asset}, comment_id=parent_id, reply_id="").update(
            reply_id=comment_id, reply_message=message, replied_at=comment.created_time
        )
    return comment, created


def comment_reply(spec: InboxSpec, *, comment: Any, message: str) -> Any:
    asset = getattr(comment, spec.asset)
    reply_id = spec.graph.comment_reply(asset, comment.comment_id, message)
    first_reply = not comment.reply_id
    comment.reply_id, comment.reply_message, comment.replied_at = reply_id, message, timezone.now()
    comment.save(update_fields=["reply_id", "reply_message", "replied_at", "updated_at"])
    # Our own reply also comes back as a webhook: store it now so it is not "unreplied".
    comment_store(
        spec,
        asset=asset,
        comment_id=reply_id,
        post_id=getattr(comment, spec.post_field),
        parent_id=comment.comment_id,
        author=spec.own_author_of(asset),
        message=message,
        created_time=comment.replied_at,
    )
    if first_reply:
        spec.record(
            asset=asset,
            metric="comments_replied",
            at=comment.replied_at,
            key=f"comment:{comment.comment_id}:replied",
        )
    return comment


def comment_set_hidden(spec: InboxSpec, *, comment: Any, hidden: bool) -> Any:
    spec.graph.comment_hide(getattr(comment, spec.asset), comment.comment_id, hidden)
    comment.hidden = hidden
    comment.save(update_fields=["hidden", "updated_at"])
    return comment


def comment_delete(spec: InboxSpec, *, comment: Any) -> Any:
    spec.graph.comment_delete(getattr(comment, spec.asset), comment.comment_id)
    comment.soft_delete()
    return comment

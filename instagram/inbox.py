"""Instagram's part of the cross-platform inbox (see botopia_meta.registry.INBOX_SOURCES)."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from botopia_meta.exceptions import MissingMetaPermission, ValidationFailed
from botopia_meta.registry import register_inbox_source
from instagram import selectors, services
from instagram.models import Comment, Conversation, ConversationMessage

PLATFORM = "instagram"


def _require(account, permission: str) -> None:
    missing = account.has_permissions((permission,))
    if missing:
        raise MissingMetaPermission(missing)


def _filtered_comments(user: AbstractBaseUser, filters: dict) -> QuerySet[Comment]:
    qs = selectors.comment_list(user=user)
    if filters.get("ig_account_id"):
        qs = qs.filter(ig_account__ig_account_id=filters["ig_account_id"])
    if filters.get("post_id"):
        qs = qs.filter(media_id=filters["post_id"])
    if filters.get("unreplied"):
        # Our own comments (the account's replies) never need an answer.
        qs = (
            qs.filter(reply_id="", replied_at__isnull=True)
            .exclude(author_id=F("ig_account__ig_account_id"))
            .exclude(author_name=F("ig_account__username"))
        )
    if filters.get("start"):
        qs = qs.filter(created_time__gte=filters["start"])
    if filters.get("end"):
        qs = qs.filter(created_time__lt=filters["end"])
    return qs


_COMMENT_COLUMNS = (
    "pk",
    "comment_id",
    "media_id",
    "parent_id",
    "author_id",
    "author_name",
    "message",
    "created_time",
    "hidden",
    "reply_message",
    "replied_at",
)


def _comment_values_row(values: dict) -> dict[str, Any]:
    return {
        "id": values["pk"],
        "platform": PLATFORM,
        "page_id": None,
        "ig_account_id": values["asset"],
        "post_id": values["media_id"],
        "comment_id": values["comment_id"],
        "parent_id": values["parent_id"],
        "author_id": values["author_id"],
        "author_name": values["author_name"],
        "text": values["message"],
        "created_time": values["created_time"],
        "hidden": values["hidden"],
        "reply_text": values["reply_message"] or None,
        "replied_at": values["replied_at"],
    }


def comment_row(comment: Comment) -> dict[str, Any]:
    return _comment_values_row(
        {
            **{name: getattr(comment, name) for name in _COMMENT_COLUMNS},
            "asset": comment.ig_account.ig_account_id,
        }
    )


def comment_list(*, user: AbstractBaseUser, filters: dict, upto: int) -> tuple[int, list[dict]]:
    if filters.get("page_id"):
        return 0, []
    qs = _filtered_comments(user, filters)
    # values(): a list never builds model instances (nor decrypts the page's token per row).
    rows = qs.order_by("-created_time", "-pk").values(
        *_COMMENT_COLUMNS, asset=F("ig_account__ig_account_id")
    )[:upto]
    return qs.count(), [_comment_values_row(values) for values in rows]


def comment_act(
    *, user: AbstractBaseUser, comment_id: Any, action: str, message: str | None = None
) -> dict | None:
    comment = selectors.comment_list(user=user).filter(pk=comment_id).first()
    if comment is None:
        return None
    _require(comment.ig_account.account, "instagram_manage_comments")
    if action == "reply":
        comment = services.comment_reply(comment=comment, message=message or "")
    elif action in ("hide", "unhide"):
        comment = services.comment_set_hidden(comment=comment, hidden=action == "hide")
    elif action == "delete":
        comment = services.comment_delete(comment=comment)
    else:
        raise ValidationFailed(f"Unknown action {action!r}.", details={"action": ["Unknown."]})
    return comment_row(comment)


def conversation_row(conversation: Conversation) -> dict[str, Any]:
    return _conversation_values_row(
        {
            "pk": conversation.pk,
            "contact_id": conversation.contact_id,
            "contact_name": conversation.contact_name,
            "last_message_at": conversation.last_message_at,
            "last_inbound_at": conversation.last_inbound_at,
            "unread_count": conversation.unread_count,
            "last_message_text": conversation.messages.order_by("-sent_at")
            .values_list("text", flat=True)
            .first(),
            "asset": conversation.ig_account.ig_account_id,
        }
    )


def conversation_list(*, user: AbstractBaseUser, filters: dict, upto: int) -> tuple[int, list[dict]]:
    if filters.get("page_id"):
        return 0, []
    qs = selectors.conversation_list(user=user).filter(last_message_at__isnull=False)
    if filters.get("ig_account_id"):
        qs = qs.filter(ig_account__ig_account_id=filters["ig_account_id"])
    if filters.get("unread") is not None:
        qs = qs.filter(unread_count__gt=0) if filters["unread"] else qs.filter(unread_count=0)
    if filters.get("contact"):
        qs = qs.filter(Q(contact_id=filters["contact"]) | Q(contact_name__icontains=filters["contact"]))
    last_text = (
        ConversationMessage.objects.filter(conversation=OuterRef("pk"))
        .order_by("-sent_at")
        .values("text")[:1]
    )
    rows = (
        qs.order_by("-last_message_at", "-pk")
        .annotate(last_message_text=Subquery(last_text))
        .values(
            "pk",
            "contact_id",
            "contact_name",
            "last_message_at",
            "last_inbound_at",
            "unread_count",
            "last_message_text",
            asset=F("ig_account__ig_account_id"),
        )[:upto]
    )
    return qs.count(), [_conversation_values_row(values) for values in rows]


def _conversation_values_row(values: dict) -> dict[str, Any]:
    last_inbound = values["last_inbound_at"]
    return {
        "id": values["pk"],
        "platform": PLATFORM,
        "page_id": None,
        "ig_account_id": values["asset"],
        "contact_id": values["contact_id"],
        "contact_name": values["contact_name"] or None,
        "last_message_at": values["last_message_at"],
        "last_message_text": values["last_message_text"],
        "unread_count": values["unread_count"],
        "can_reply": bool(last_inbound and timezone.now() - last_inbound <= services.SERVICE_WINDOW),
        "window_expires_at": last_inbound + services.SERVICE_WINDOW if last_inbound else None,
    }


def message_row(message: ConversationMessage) -> dict[str, Any]:
    return {
        "id": message.pk,
        "conversation_id": message.conversation_id,
        "mid": message.mid,
        "direction": message.direction,
        "text": message.text,
        "image_url": message.image_url or None,
        "attachments": message.attachments,
        "status": message.status,
        "sent_at": message.sent_at,
        "error": message.error or None,
    }


def conversation_messages(
    *, user: AbstractBaseUser, conversation_id: Any, limit: int, offset: int
) -> tuple[int, list[dict]] | None:
    conversation = selectors.conversation_list(user=user).filter(pk=conversation_id).first()
    if conversation is None:
        return None
    qs = conversation.messages.order_by("-sent_at", "-pk")
    return qs.count(), [message_row(m) for m in qs[offset : offset + limit]]


def conversation_send(
    *, user: AbstractBaseUser, conversation_id: Any, text: str, image_url: str
) -> dict | None:
    conversation = selectors.conversation_list(user=user).filter(pk=conversation_id).first()
    if conversation is None:
        return None
    _require(conversation.ig_account.account, "instagram_manage_messages")
    return message_row(services.message_queue(conversation=conversation, text=text, image_url=image_url))


def conversation_read(*, user: AbstractBaseUser, conversation_id: Any) -> dict | None:
    conversation = selectors.conversation_list(user=user).filter(pk=conversation_id).first()
    if conversation is None:
        return None
    services.conversation_mark_read(conversation=conversation)
    conversation.unread_count = 0
    return conversation_row(conversation)


class _Source:
    comment_list = staticmethod(comment_list)
    comment_act = staticmethod(comment_act)
    conversation_list = staticmethod(conversation_list)
    conversation_messages = staticmethod(conversation_messages)
    conversation_send = staticmethod(conversation_send)
    conversation_read = staticmethod(conversation_read)


register_inbox_source(PLATFORM, _Source)

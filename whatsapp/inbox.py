"""WhatsApp's part of the unified inbox (/api/meta/conversations): one conversation per contact
and number (the `Contact` row, whose id is the conversation's), registered as an inbox source
(see botopia_meta.registry.INBOX_SOURCES). WhatsApp has no comments.

Reads come from whatsapp/messages/selectors.py; a reply goes through the same service as
POST /api/meta/whatsapp/messages (validation, 24-hour window, queue, one send), and reading a
conversation sends Meta a read receipt through the same mark-read service."""

from typing import Any
from uuid import UUID

from accounts.permissions import WHATSAPP_MESSAGING
from accounts.selectors import require_permissions
from botopia_meta.api.pagination import Total, count_rows, keyset_after
from botopia_meta.inbox.source import CONVERSATION_ORDER
from botopia_meta.registry import register_inbox_source
from orgs.models import Organization
from whatsapp.messages import readable, selectors, services
from whatsapp.models import Contact, Message

PLATFORM = "whatsapp"
# Keys of the other platforms' assets: a filter naming one matches no WhatsApp conversation.
OTHER_ASSETS = ("page_id", "ig_account_id")
HIDDEN_CONTENT = ("_context", "_clamped_timestamp")  # our own bookkeeping inside `content`


def _public(content: Any) -> Any:
    if isinstance(content, dict):
        return {key: value for key, value in content.items() if key not in HIDDEN_CONTENT}
    return content


def conversation_row(contact: Contact) -> dict[str, Any]:
    """`contact` as selectors.conversation_list reads it (its last message joined)."""
    last_inbound = contact.last_inbound_at
    last = contact.last_message
    last_type = last.type if last is not None else ""
    text = readable.content_text(last_type, last.content) if last is not None else None
    return {
        "id": contact.pk,
        "platform": PLATFORM,
        "page_id": None,
        "ig_account_id": None,
        "phone_number_id": contact.phone_number.phone_number_id,
        "contact_id": contact.wa_id,
        "contact_name": contact.name or None,
        "last_message_at": contact.last_message_at,
        "last_message_text": text or (f"[{last_type}]" if last_type else None),
        "unread_count": contact.unread_count,
        "can_reply": services.window_open(contact),
        "window_expires_at": last_inbound + services.WINDOW if last_inbound else None,
    }


def message_row(message: Message, *, conversation_id: UUID) -> dict[str, Any]:
    content = _public(message.content)
    media = content.get("media") if isinstance(content, dict) else None
    image_url = None
    if message.type in ("image", "sticker") and isinstance(content, dict):
        image_url = (media or {}).get("url") if isinstance(media, dict) else None
        image_url = image_url or content.get("link") or None
    has_words = message.type == "text"
    error = None
    if message.error_code is not None or message.error_title:
        error = {"code": message.error_code, "title": message.error_title}
    return {
        "id": message.pk,
        "conversation_id": conversation_id,
        "mid": message.wamid or None,
        "direction": message.direction,
        "text": readable.content_text(message.type, content),
        "image_url": image_url,
        "attachments": [] if has_words else [{"type": message.type, "payload": content}],
        "status": message.status,
        "sent_at": message.created_at,
        "error": error,
    }


class WhatsAppInboxSource:
    """The inbox source protocol (botopia_meta/registry.py), every method scoped to `org`."""

    @staticmethod
    def comment_list(
        *, org: Organization, filters: dict, upto: int, before: list | None = None
    ) -> tuple[Total, list[dict]]:
        return Total(0), []

    @staticmethod
    def comment_act(*, org: Organization, comment_id: Any, action: str, message: str | None = None) -> None:
        return None

    @staticmethod
    def conversation_list(
        *, org: Organization, filters: dict, upto: int, before: list | None = None
    ) -> tuple[Total, list[dict]]:
        """`upto` conversations newest first (after the sort key `before`, a cursor's) and the
        total, ordered as the other platforms' (CONVERSATION_ORDER) so the merged list pages by it."""
        if any(filters.get(key) for key in OTHER_ASSETS):
            return Total(0), []
        conversations = selectors.conversation_list(
            org=org,
            unread=filters.get("unread"),
            contact=filters.get("contact"),
            phone_number_id=filters.get("phone_number_id"),
        )
        page = conversations.filter(keyset_after(CONVERSATION_ORDER, before)) if before else conversations
        return count_rows(conversations), [conversation_row(contact) for contact in page[:upto]]

    @staticmethod
    def conversation_messages(
        *, org: Organization, conversation_id: Any, limit: int, offset: int, before: list | None = None
    ) -> tuple[Total, list[dict]] | None:
        """One page (`limit` rows from `offset`, or after the sort key `before`) and the total."""
        contact = selectors.conversation_get(org=org, conversation_id=conversation_id)
        if contact is None:
            return None
        messages = selectors.conversation_messages(contact=contact)  # newest first by (created_at, id)
        page = (
            messages.filter(keyset_after(("-created_at", "-id"), before))[:limit]
            if before
            else messages[offset : offset + limit]
        )
        return count_rows(messages), [message_row(m, conversation_id=contact.pk) for m in page]

    @staticmethod
    def conversation_send(
        *, org: Organization, sender_id: int, conversation_id: Any, text: str, image_url: str
    ) -> dict | None:
        contact = selectors.conversation_get(org=org, conversation_id=conversation_id)
        if contact is None:
            return None
        number = contact.phone_number
        require_permissions(number.waba.account, *WHATSAPP_MESSAGING)
        kind, value = ("image", {"link": image_url}) if image_url else ("text", {"body": text})
        message, _ = services.message_create(
            user_id=sender_id,
            number=number,
            to=contact.wa_id,
            type=kind,
            body={"to": contact.wa_id, "type": kind, kind: value},
        )
        return message_row(message, conversation_id=contact.pk)

    @staticmethod
    def conversation_read(*, org: Organization, conversation_id: Any) -> dict | None:
        contact = selectors.conversation_get(org=org, conversation_id=conversation_id)
        if contact is None:
            return None
        require_permissions(contact.phone_number.waba.account, *WHATSAPP_MESSAGING)
        services.conversation_mark_read(contact=contact)
        read = selectors.conversation_get(org=org, conversation_id=conversation_id)
        return conversation_row(read or contact)


register_inbox_source(PLATFORM, WhatsAppInboxSource())

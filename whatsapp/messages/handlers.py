"""Webhook handler for WhatsApp `messages` changes (inbound messages and outbound statuses):
find the number's rows (one per organization that connected it), parse the change, hand it to
whatsapp.messages.services, which owns a message's state. Registers with
botopia_meta.registry on import."""

from dataclasses import replace

from botopia_meta.registry import ItemIgnored, WebhookItem, register_webhook_handler
from whatsapp.account.selectors import phone_numbers_for_webhook
from whatsapp.messages import services
from whatsapp.models import WhatsAppPhoneNumber


def _numbers(item: WebhookItem) -> list[WhatsAppPhoneNumber]:
    metadata = item.value.get("metadata")
    if not isinstance(metadata, dict):
        raise ItemIgnored("Malformed change: `metadata` is not an object.")
    phone_number_id = str(metadata.get("phone_number_id") or "")
    numbers = phone_numbers_for_webhook(phone_number_id=phone_number_id)
    if not numbers:
        raise ItemIgnored(f"No active account has phone number {phone_number_id or '(none)'}.")
    return numbers


def handle_messages(item: WebhookItem) -> None:
    numbers = _numbers(item)
    value = item.value
    contacts = value.get("contacts")
    profiles = {
        str(c.get("wa_id")): str(c["profile"].get("name") or "")
        for c in (contacts if isinstance(contacts, list) else [])
        if isinstance(c, dict) and isinstance(c.get("profile"), dict)
    }
    messages, statuses = value.get("messages") or [], value.get("statuses") or []
    if not messages and not statuses:
        raise ItemIgnored("No messages or statuses in the change.")
    services.messages_apply_webhook(
        numbers=numbers, messages=messages, statuses=statuses, profiles=profiles, received_at=item.received_at
    )


def split_messages(item: WebhookItem, size: int) -> list[tuple[WebhookItem, int]]:
    """A change of more than `size` messages and statuses, as parts of at most `size`: its
    messages, then its statuses, in their order (what handle_messages does with the whole)."""
    value = item.value
    messages, statuses = value.get("messages") or [], value.get("statuses") or []
    if not (isinstance(messages, list) and isinstance(statuses, list)):
        return [(item, 1)]
    if len(messages) + len(statuses) <= size:
        return [(item, max(1, len(messages) + len(statuses)))]
    return [
        (
            replace(
                item, value={**value, "messages": [], "statuses": [], key: entries[start : start + size]}
            ),
            n,
        )
        for key, entries in (("messages", messages), ("statuses", statuses))
        for start in range(0, len(entries), size)
        if (n := len(entries[start : start + size]))
    ]


def statuses_key(item: WebhookItem) -> tuple[str, int] | None:
    """Changes of statuses only (no messages), of one number, apply as one set: `statuses`
    are idempotent and end the same in any order (services.messages_apply_webhook)."""
    value = item.value
    metadata, statuses = value.get("metadata"), value.get("statuses")
    if value.get("messages") or not (isinstance(metadata, dict) and isinstance(statuses, list) and statuses):
        return None
    return str(metadata.get("phone_number_id") or ""), len(statuses)


def merge_statuses(items: list[WebhookItem]) -> WebhookItem:
    """One change of the statuses of changes with the same `statuses_key`, in their order."""
    first = items[0]
    statuses = [status for item in items for status in item.value["statuses"]]
    return replace(first, value={"metadata": first.value["metadata"], "statuses": statuses})


register_webhook_handler(
    "whatsapp_business_account",
    "messages",
    handle_messages,
    split=split_messages,
    merge=(statuses_key, merge_statuses),
)

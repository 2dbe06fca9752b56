"""Webhook handlers for the `page` object: `feed` (comments) and `messages` (Messenger)."""

from botopia_meta.registry import ItemIgnored, WebhookItem, register_webhook_handler
from facebook import selectors, services


def _pages(item: WebhookItem):
    pages = selectors.connected_pages_for_webhook(item.entry_id)
    if not pages:
        raise ItemIgnored(f"page {item.entry_id} is not connected to an active account")
    return pages


def handle_feed(item: WebhookItem) -> None:
    value = item.value or {}
    if value.get("item") != "comment":
        # Posts, reactions and status updates: Meta keeps them; the posts list reads them live.
        raise ItemIgnored(f"feed item {value.get('item')!r} is not stored")
    if not value.get("comment_id"):
        raise ItemIgnored("comment without comment_id")
    for page in _pages(item):
        services.comment_apply_feed_change(page=page, value=value)


def handle_messages(item: WebhookItem) -> None:
    message = (item.value or {}).get("message")
    if not isinstance(message, dict) or not message.get("mid"):
        raise ItemIgnored("messaging item without a message")
    for page in _pages(item):
        services.message_apply_webhook(page=page, item=item.value)


register_webhook_handler("page", "feed", handle_feed)
register_webhook_handler("page", "messages", handle_messages)

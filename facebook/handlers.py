"""Webhook handlers for the `page` object: `feed` (comments) and `messages` (Messenger)."""

from botopia_meta.registry import ItemIgnored, WebhookItem, register_webhook_handler
from facebook import selectors, services

POST_ITEMS = frozenset({"status", "post", "photo", "video", "share"})


def _pages(item: WebhookItem):
    pages = selectors.connected_pages_for_webhook(item.entry_id)
    if not pages:
        raise ItemIgnored(f"page {item.entry_id} is not connected to an active account")
    return pages


def handle_feed(item: WebhookItem) -> None:
    value = item.value or {}
    kind = value.get("item")
    if kind in POST_ITEMS and value.get("verb") == "add":
        for page in _pages(item):
            services.post_apply_feed_change(page=page, value=value)
        return
    if kind != "comment":
        # Reactions, edits and likes: Meta keeps them; the posts list reads counts live.
        raise ItemIgnored(f"feed item {kind!r} ({value.get('verb')}) is not stored")
    if not value.get("comment_id"):
        raise ItemIgnored("comment without comment_id")
    for page in _pages(item):
        services.comment_apply_feed_change(page=page, value=value)


def handle_messages(item: WebhookItem) -> None:
    value = item.value or {}
    if services.inbound_message(value) is None:
        if isinstance(value.get("read"), dict) or isinstance(value.get("delivery"), dict):
            for page in _pages(item):
                services.message_apply_receipt(page=page, item=value)
            return
        # Reactions, typing indicators, referrals: nothing to show in the inbox.
        raise ItemIgnored("messaging item without a message, postback or receipt")
    for page in _pages(item):
        services.message_apply_webhook(page=page, item=item.value)


register_webhook_handler("page", "feed", handle_feed)
register_webhook_handler("page", "messages", handle_messages)

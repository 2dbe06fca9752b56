"""Webhook handlers for the `page` object: `feed` (posts, comments) and `messages` (Messenger)."""

from functools import partial

from botopia_meta.inbox.handlers import connected_assets, handle_messages
from botopia_meta.registry import ItemIgnored, WebhookItem, register_webhook_handler
from facebook import services
from facebook.inbox import SPEC

POST_ITEMS = frozenset({"status", "post", "photo", "video", "share"})


def handle_feed(item: WebhookItem) -> None:
    value = item.value or {}
    kind = value.get("item")
    if kind in POST_ITEMS and value.get("verb") == "add":
        for page in connected_assets(SPEC, item):
            services.post_apply_feed_change(page=page, value=value)
        return
    if kind != "comment":
        # Reactions, edits and likes: Meta keeps them; the posts list reads counts live.
        raise ItemIgnored(f"feed item {kind!r} ({value.get('verb')}) is not stored")
    if not value.get("comment_id"):
        raise ItemIgnored("comment without comment_id")
    for page in connected_assets(SPEC, item):
        services.comment_apply_feed_change(page=page, value=value)


register_webhook_handler("page", "feed", handle_feed)
register_webhook_handler("page", "messages", partial(handle_messages, SPEC))

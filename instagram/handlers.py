"""Webhook handlers for the `instagram` object: `comments`, `mentions` and `messages` (DMs)."""

from functools import partial

from botopia_meta.inbox.handlers import connected_assets, handle_messages
from botopia_meta.registry import ItemIgnored, WebhookItem, register_webhook_handler
from instagram import services
from instagram.graph import PageTokenMissing
from instagram.inbox import SPEC


def handle_comments(item: WebhookItem) -> None:
    if not (item.value or {}).get("id"):
        raise ItemIgnored("comment without id")
    for ig in connected_assets(SPEC, item):
        services.comment_apply_webhook(ig=ig, value=item.value, sent_at=item.entry_time)


def handle_mentions(item: WebhookItem) -> None:
    if not (item.value or {}).get("comment_id"):
        # Mentions in captions carry only media_id; there is no comment to answer.
        raise ItemIgnored("caption mention without comment_id")
    for ig in connected_assets(SPEC, item):
        try:
            services.mention_apply_webhook(ig=ig, value=item.value)
        except PageTokenMissing as exc:
            raise ItemIgnored(f"cannot read the mention: {exc.message}") from None


register_webhook_handler("instagram", "comments", handle_comments)
register_webhook_handler("instagram", "live_comments", handle_comments)  # same shape, on a live video
register_webhook_handler("instagram", "mentions", handle_mentions)
register_webhook_handler("instagram", "messages", partial(handle_messages, SPEC))

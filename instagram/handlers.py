"""Webhook handlers for the `instagram` object: `comments`, `mentions` and `messages` (DMs)."""

from botopia_meta.registry import ItemIgnored, WebhookItem, register_webhook_handler
from instagram import selectors, services
from instagram.graph import PageTokenMissing


def _accounts(item: WebhookItem):
    accounts = selectors.connected_accounts_for_webhook(item.entry_id)
    if not accounts:
        raise ItemIgnored(f"Instagram account {item.entry_id} is not connected to an active account")
    return accounts


def handle_comments(item: WebhookItem) -> None:
    if not (item.value or {}).get("id"):
        raise ItemIgnored("comment without id")
    for ig in _accounts(item):
        services.comment_apply_webhook(ig=ig, value=item.value, sent_at=item.entry_time)


def handle_mentions(item: WebhookItem) -> None:
    if not (item.value or {}).get("comment_id"):
        # Mentions in captions carry only media_id; there is no comment to answer.
        raise ItemIgnored("caption mention without comment_id")
    for ig in _accounts(item):
        try:
            services.mention_apply_webhook(ig=ig, value=item.value)
        except PageTokenMissing as exc:
            raise ItemIgnored(f"cannot read the mention: {exc.message}") from None


def handle_messages(item: WebhookItem) -> None:
    value = item.value or {}
    if services.inbound_message(value) is None:
        if isinstance(value.get("read"), dict) or isinstance(value.get("delivery"), dict):
            for ig in _accounts(item):
                services.message_apply_receipt(ig=ig, item=value)
            return
        # Reactions, typing indicators, referrals: nothing to show in the inbox.
        raise ItemIgnored("messaging item without a message, postback or receipt")
    for ig in _accounts(item):
        services.message_apply_webhook(ig=ig, item=item.value)


register_webhook_handler("instagram", "comments", handle_comments)
register_webhook_handler("instagram", "live_comments", handle_comments)  # same shape, on a live video
register_webhook_handler("instagram", "mentions", handle_mentions)
register_webhook_handler("instagram", "messages", handle_messages)

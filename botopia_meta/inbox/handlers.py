"""Webhook handling shared by Facebook and Instagram: finding the connected asset an item is for,
and Messenger-style `messages` items (the same payload on both platforms)."""

from typing import Any

from botopia_meta.inbox import messaging
from botopia_meta.inbox.selectors import connected_for_webhook
from botopia_meta.inbox.spec import InboxSpec
from botopia_meta.registry import ItemIgnored, WebhookItem


def connected_assets(spec: InboxSpec, item: WebhookItem) -> list[Any]:
    """The connected rows the item's entry id names; none is an ignored item, with why."""
    assets = connected_for_webhook(spec, item.entry_id)
    if not assets:
        raise ItemIgnored(f"{spec.asset_label} {item.entry_id} is not connected to an active account")
    return assets


def handle_messages(spec: InboxSpec, item: WebhookItem) -> None:
    """Register as `functools.partial(handle_messages, SPEC)`."""
    value = item.value or {}
    if messaging.inbound_message(value) is None:
        if isinstance(value.get("read"), dict) or isinstance(value.get("delivery"), dict):
            for asset in connected_assets(spec, item):
                messaging.message_apply_receipt(spec, asset=asset, item=value)
            return
        # Reactions, typing indicators, referrals: nothing to show in the inbox.
        raise ItemIgnored("messaging item without a message, postback or receipt")
    for asset in connected_assets(spec, item):
        messaging.message_apply_webhook(spec, asset=asset, item=item.value)

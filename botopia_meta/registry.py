"""Extension points the platform apps plug into from their AppConfig.ready(), so that
`accounts` and `webhooks` never import the platform apps.

- Discovery: after a Meta account connects (and on re-discovery), accounts runs every
  registered step with the account; each step stores that platform's assets idempotently.
- Webhook handlers: the webhooks app routes each item of a delivery by (object, field).
- Page subscription users: a Facebook page's webhook subscription also carries the events of
  what is linked to it (an Instagram account); the page is unsubscribed only when none uses it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

DISCOVERY_STEPS: dict[str, Callable[..., dict]] = {}
WEBHOOK_HANDLERS: dict[tuple[str, str], Callable[["WebhookItem"], None]] = {}


def register_discovery(name: str, step: Callable[..., dict]) -> None:
    """`step(account) -> {"<asset kind>": count, ...}`; must be re-runnable without duplicates."""
    DISCOVERY_STEPS[name] = step


# A handler whose items can be large (a WhatsApp change with thousands of statuses) may give a
# splitter: `split(item, size) -> [(part, weight), ...]`, parts of at most `size` sub-items
# (weight: how many) that its handler applies one after another with the outcome of the
# whole; an item of `size` or fewer comes back as itself. Lets a big delivery run in chunks.
WEBHOOK_SPLITTERS: dict[tuple[str, str], Callable[["WebhookItem", int], list[tuple["WebhookItem", int]]]] = {}


# A handler whose small items are cheaper applied together (WhatsApp statuses: one set of
# queries for many) may give a merger: `key(item) -> (key, weight) | None` says which items
# can be applied as one (same key; None: on its own) and how many sub-items it holds, and
# `merge(items) -> item` builds the one item the handler applies with the outcome of each.
# The webhooks worker merges items of several deliveries claimed together (up to
# WEBHOOK_CHUNK_ITEMS sub-items a merge), only while `handler` is the one registered.
MergeKey = Callable[["WebhookItem"], tuple[Any, int] | None]
Merge = Callable[[list["WebhookItem"]], "WebhookItem"]


@dataclass(frozen=True)
class WebhookMerger:
    handler: Callable[["WebhookItem"], None]
    key: MergeKey
    merge: Merge


WEBHOOK_MERGERS: dict[tuple[str, str], WebhookMerger] = {}


def register_webhook_handler(
    object_type: str,
    field_name: str,
    handler: Callable[["WebhookItem"], None],
    split: Callable[["WebhookItem", int], list[tuple["WebhookItem", int]]] | None = None,
    merge: tuple[MergeKey, Merge] | None = None,
) -> None:
    WEBHOOK_HANDLERS[(object_type, field_name)] = handler
    if split is not None:
        WEBHOOK_SPLITTERS[(object_type, field_name)] = split
    if merge is not None:
        WEBHOOK_MERGERS[(object_type, field_name)] = WebhookMerger(handler, *merge)


def webhook_merger(item: "WebhookItem") -> WebhookMerger | None:
    """The merger of the handler at work for this item, if it registered one."""
    merger = WEBHOOK_MERGERS.get((item.object, item.field))
    if merger is None or WEBHOOK_HANDLERS.get((item.object, item.field)) is not merger.handler:
        return None
    return merger


PAGE_SUBSCRIPTION_USERS: dict[str, Callable[[str], bool]] = {}


def register_page_subscription_user(name: str, uses: Callable[[str], bool]) -> None:
    """`uses(page_id) -> bool`: something connected still needs that page's subscription."""
    PAGE_SUBSCRIPTION_USERS[name] = uses


def page_subscription_in_use(page_id: str) -> bool:
    return any(uses(page_id) for uses in PAGE_SUBSCRIPTION_USERS.values())


class ItemIgnored(Exception):
    """A handler raises this for an item it deliberately does not apply (unknown asset,
    revoked account, a type we don't handle). The reason is stored with the event."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class WebhookItem:
    """One change (entry[].changes[]) or one messaging item (entry[].messaging[], field
    "messages") of a stored webhook event."""

    event_id: Any
    object: str
    field: str
    entry_id: str
    value: dict
    entry_time: int | None = None
    index: str = ""  # position in the delivery, e.g. "0.2", for per-item errors
    # When we received the delivery: no event Meta describes happened later than this.
    received_at: datetime | None = None


# --- Cross-platform inbox ---------------------------------------------------------------------
# Each platform with comments or conversations registers one source (facebook, instagram,
# whatsapp); the /api/meta/comments and /api/meta/conversations views merge them. Every
# method is scoped to the request's organization `org` and answers rows already shaped for the
# API (dicts); `sender_id` is the member who sends (recorded where the platform keeps it).
#   comment_list(*, org, filters, upto) -> (total, [row, ...] newest first, at most `upto`)
#   comment_act(*, org, comment_id, action, message=None) -> row | None (None: not this source's)
#   conversation_list(*, org, filters, upto) -> (total, [row, ...])
#   conversation_messages(*, org, conversation_id, limit, offset) -> (total, [row, ...]) | None
#   conversation_send(*, org, sender_id, conversation_id, text, image_url) -> row | None
#   conversation_read(*, org, conversation_id) -> row | None
INBOX_SOURCES: dict[str, Any] = {}


def register_inbox_source(name: str, source: Any) -> None:
    INBOX_SOURCES[name] = source

"""Reading a stored delivery: its summary at intake, and its items for routing.

Meta's shape: {"object", "entry": [{"id", "time", "changes": [{"field", "value"}],
"messaging": [{...}]}]}. `messaging[]` (Messenger and Instagram DMs) routes as field
"messages". Unknown keys anywhere are ignored, never rejected."""

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from botopia_meta import registry, text
from botopia_meta.registry import WebhookItem

logger = logging.getLogger(__name__)

MESSAGING_FIELD = "messages"


class NotJson(ValueError):
    pass


class UnknownShape(ValueError):
    pass


def parse(raw_body: bytes) -> dict[str, Any]:
    """The delivery as a dict with a string `object` and a list `entry`, or NotJson/UnknownShape.
    Its text is cleaned by the one rule (botopia_meta.text): a NUL or a lone surrogate in one
    message must not fail the whole change on PostgreSQL, nor break a page that shows it."""
    try:
        payload = text.loads(raw_body)
    except text.TooDeep as exc:
        logger.warning("Webhook body refused: %s", exc)  # no traceback: not our bug
        raise NotJson(f"The body is not usable JSON: {exc}") from None
    except text.MalformedJson:
        raise NotJson("The body is not JSON.") from None
    if not isinstance(payload, dict):
        raise UnknownShape("Unknown shape: the body is not a JSON object.")
    if not isinstance(payload.get("object"), str) or not payload["object"]:
        raise UnknownShape("Unknown shape: no 'object'.")
    if not isinstance(payload.get("entry"), list):
        raise UnknownShape("Unknown shape: no 'entry' list.")
    return payload


@dataclass(frozen=True)
class Slot:
    """One position of a delivery: a routable item, or the reason it can't be routed."""

    index: str
    field: str
    item: WebhookItem | None
    problem: str = ""


def _entry_time(entry: dict) -> int | None:
    value = entry.get("time")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def slots(event_id: Any, payload: dict[str, Any], received_at: datetime | None = None) -> Iterator[Slot]:
    object_type = payload["object"]
    for e, entry in enumerate(payload["entry"]):
        if not isinstance(entry, dict):
            yield Slot(index=str(e), field="", item=None, problem="malformed entry")
            continue
        entry_id = str(entry.get("id") or "")
        entry_time = _entry_time(entry)

        # What every item of this entry shares.
        item_of = partial(
            WebhookItem,
            event_id=event_id,
            object=object_type,
            entry_id=entry_id,
            entry_time=entry_time,
            received_at=received_at,
        )
        changes = entry.get("changes")
        for c, change in enumerate(changes if isinstance(changes, list) else []):
            index = f"{e}.{c}"
            if not (isinstance(change, dict) and isinstance(change.get("field"), str)):
                yield Slot(index=index, field="", item=None, problem="malformed change: no field")
                continue
            field, value = change["field"], change.get("value")
            if not isinstance(value, dict):
                yield Slot(index=index, field=field, item=None, problem="malformed change: no value")
                continue
            yield Slot(index=index, field=field, item=item_of(field=field, value=value, index=index))
        messaging = entry.get("messaging")
        for m, message in enumerate(messaging if isinstance(messaging, list) else []):
            index = f"{e}.m{m}"
            if not isinstance(message, dict):
                yield Slot(index=index, field=MESSAGING_FIELD, item=None, problem="malformed messaging item")
                continue
            item = item_of(field=MESSAGING_FIELD, value=message, index=index)
            yield Slot(index=index, field=MESSAGING_FIELD, item=item)


def summarise(payload: dict[str, Any]) -> tuple[str, int]:
    """(comma-joined distinct fields, number of items) for the admin's filters."""
    fields: set[str] = set()
    count = 0
    for slot in slots(None, payload):
        count += 1
        if slot.field:
            fields.add(slot.field)
    return ",".join(sorted(fields))[:255], count


def chunks(slots: list[Slot], size: int) -> list[list[Slot]]:
    """The delivery's slots in consecutive chunks of at most `size` sub-items (a WhatsApp
    status or message counts one; an item its handler can't split counts one as a whole), an
    item larger than `size` cut into parts by its registered splitter. A part keeps its slot's
    index. A delivery of `size` or fewer is one chunk of its slots as they are."""
    result: list[list[Slot]] = [[]]
    weight = 0
    for slot in slots:
        split = registry.WEBHOOK_SPLITTERS.get((slot.item.object, slot.item.field)) if slot.item else None
        parts = split(slot.item, size) if split and slot.item else [(slot.item, 1)]
        for item, n in parts:
            if result[-1] and weight + n > size:
                result.append([])
                weight = 0
            result[-1].append(slot if item is slot.item else Slot(slot.index, slot.field, item))
            weight += n
    return result

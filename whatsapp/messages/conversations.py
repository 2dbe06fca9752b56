"""A WhatsApp conversation's state kept on its Contact row (last message, its time, unread
inbound messages), so the inbox lists conversations straight off the
(phone_number, -last_message_at, -id) index instead of computing them from every message.

Every write is a single conditional UPDATE of the row (or of rows locked in wa_id order, the
order the webhook intake locks contacts in), so concurrent writers never lose one another's
change: `last_message` moves only to a newer message (by (created_at, id), the inbox's order),
`unread_count` moves by the number of messages that actually changed state.

A message to a number we have no contact for starts no conversation (the customer writes first:
the contact is created by the first inbound message)."""

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from django.db.models import Case, F, Q, QuerySet, Value, When
from django.db.models.functions import Greatest

from whatsapp.models import Contact, Message


def _contact(message: Message) -> QuerySet[Contact]:
    return Contact.objects.filter(phone_number_id=message.phone_number_id, wa_id=message.contact_wa_id)


def _older_than(at: datetime, pk: object) -> Q:
    """The conversation's last message is older than (at, pk), or there is none."""
    return (
        Q(last_message_at__isnull=True)
        | Q(last_message_at__lt=at)
        | Q(last_message_at=at, last_message_id__lt=pk)
    )


def conversation_note(*, message: Message, also: dict | None = None) -> None:
    """`message` (just stored, either way) becomes its conversation's last message unless a newer
    one already is; an unread inbound one counts as unread. `also`: other fields of the contact
    to write in the same UPDATE (the caller holds its row lock)."""
    newer = _older_than(message.created_at, message.pk)
    fields: dict = {
        **(also or {}),
        "last_message": Case(When(newer, then=Value(message.pk)), default=F("last_message")),
        "last_message_at": Case(When(newer, then=Value(message.created_at)), default=F("last_message_at")),
    }
    if message.direction == Message.Direction.INBOUND and message.read_at is None:
        fields["unread_count"] = F("unread_count") + 1
    _contact(message).update(**fields)


def conversations_note(*, number_id: UUID | None, messages: Sequence[Message], at: datetime) -> None:
    """Outbound `messages` of one number, all created at `at` (a broadcast batch, one per
    recipient), each its contact's last message unless a newer one already is."""
    by_wa_id = {m.contact_wa_id: m for m in messages}
    # Lock in wa_id order first (as the webhook intake does): two batches reaching the same
    # contacts never wait on each other in a cycle.
    contacts = list(
        Contact.objects.select_for_update()
        .filter(phone_number_id=number_id, wa_id__in=list(by_wa_id))
        .filter(Q(last_message_at__isnull=True) | Q(last_message_at__lt=at))
        .order_by("wa_id")
        .values_list("pk", "wa_id")
    )
    if not contacts:
        return
    Contact.objects.filter(pk__in=[pk for pk, _ in contacts]).update(
        last_message_at=at,
        last_message=Case(*(When(pk=pk, then=Value(by_wa_id[wa_id].pk)) for pk, wa_id in contacts)),
    )


def conversation_read(*, number_id: UUID | None, wa_id: str, count: int) -> None:
    """`count` of the conversation's inbound messages were just marked read (by an UPDATE that
    only touched unread ones, so each is counted once)."""
    if count:
        Contact.objects.filter(phone_number_id=number_id, wa_id=wa_id).update(
            unread_count=Greatest(F("unread_count") - count, Value(0))
        )

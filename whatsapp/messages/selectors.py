"""Reads of messages and contacts, always starting from the requesting user's own accounts."""

from datetime import datetime
from uuid import UUID

from django.contrib.auth.models import User
from django.db.models import Count, QuerySet

from botopia_meta.api.ids import uuid_or_404
from botopia_meta.exceptions import NotFound
from whatsapp.account.selectors import waba_owned_by
from whatsapp.models import Broadcast, Contact, Message, WhatsAppPhoneNumber

VIA = "phone_number__waba"  # messages, contacts and broadcasts all hang off a number


def message_list(
    *,
    user: User,
    direction: str | None = None,
    status: str | None = None,
    contact: str | None = None,
    phone_number_id: str | None = None,
    broadcast_id: UUID | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> QuerySet[Message]:
    # The caller's numbers first (a handful), then their messages by number id: the planner
    # then reads "this number, newest first" straight off a (phone_number, ..., created_at)
    # index instead of sorting every message reached through the ownership joins.
    numbers = WhatsAppPhoneNumber.all_objects.filter(waba_owned_by(user, via="waba"))
    if phone_number_id:
        numbers = numbers.filter(phone_number_id=phone_number_id)
    messages = Message.objects.filter(phone_number_id__in=list(numbers.values_list("pk", flat=True)))
    if direction:
        messages = messages.filter(direction=direction)
    if status:
        messages = messages.filter(status=status)
    if contact:
        messages = messages.filter(contact_wa_id=contact.lstrip("+"))
    if broadcast_id:
        messages = messages.filter(broadcast_id=broadcast_id)
    if start:
        messages = messages.filter(created_at__gte=start)
    if end:
        messages = messages.filter(created_at__lt=end)
    return messages.select_related("phone_number").order_by("-created_at", "-id")


def message_get(*, user: User, message_id: UUID | str) -> Message:
    pk = uuid_or_404(message_id, "message")
    message = message_list(user=user).select_related("phone_number__waba").filter(pk=pk).first()
    if message is None:
        raise NotFound("No such message.")
    return message


def contact_get(*, user: User, wa_id: str, phone_number_id: str | None = None) -> Contact:
    contacts = Contact.objects.filter(waba_owned_by(user, via=VIA), wa_id=wa_id.lstrip("+")).select_related(
        "phone_number"
    )
    if phone_number_id:
        contacts = contacts.filter(phone_number__phone_number_id=phone_number_id)
    contact = contacts.order_by("-last_inbound_at").first()
    if contact is None:
        raise NotFound("No such contact.")
    return contact


def broadcast_get(*, user: User, broadcast_id: UUID | str) -> Broadcast:
    pk = uuid_or_404(broadcast_id, "broadcast")
    broadcast = (
        Broadcast.objects.filter(waba_owned_by(user, via=VIA), pk=pk).select_related("phone_number").first()
    )
    if broadcast is None:
        raise NotFound("No such broadcast.")
    return broadcast


PROGRESS_STATES = ("queued", "sending", "sent", "delivered", "read", "failed", "unknown", "cancelled")


def broadcast_progress(broadcast: Broadcast) -> dict[str, int]:
    counts = dict(
        Message.objects.filter(broadcast=broadcast).values_list("status").annotate(n=Count("pk")).order_by()
    )
    # Recipients the fan-out has not turned into messages yet: queued, or cancelled with it.
    pending = max(0, broadcast.total - sum(counts.values()))
    state = "cancelled" if broadcast.cancelled_at else "queued"
    counts[state] = counts.get(state, 0) + pending
    return {name: counts.get(name, 0) for name in PROGRESS_STATES}


def broadcast_status(broadcast: Broadcast, progress: dict[str, int]) -> str:
    """`completed` once nothing is waiting or in flight."""
    if broadcast.status == Broadcast.Status.SENDING and not (progress["queued"] or progress["sending"]):
        return Broadcast.Status.COMPLETED
    return broadcast.status

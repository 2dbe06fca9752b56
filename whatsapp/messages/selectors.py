"""Reads of messages, contacts and conversations, always starting from the request's
organization's accounts."""

from datetime import datetime
from uuid import UUID

from django.db.models import Count, Q, QuerySet

from accounts.selectors import active_for
from botopia_meta.api.ids import uuid_or_404
from botopia_meta.exceptions import NotFound
from orgs.models import Organization
from whatsapp.account.selectors import waba_owned_by
from whatsapp.models import Broadcast, Contact, Message, WhatsAppPhoneNumber

VIA = "phone_number__waba"  # messages, contacts and broadcasts all hang off a number


def message_list(
    *,
    org: Organization,
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
    numbers = WhatsAppPhoneNumber.all_objects.filter(waba_owned_by(org, via="waba"))
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


def message_get(*, org: Organization, message_id: UUID | str) -> Message:
    pk = uuid_or_404(message_id, "message")
    message = message_list(org=org).select_related("phone_number__waba").filter(pk=pk).first()
    if message is None:
        raise NotFound("No such message.")
    return message


def contact_get(*, org: Organization, wa_id: str, phone_number_id: str | None = None) -> Contact:
    contacts = Contact.objects.filter(waba_owned_by(org, via=VIA), wa_id=wa_id.lstrip("+")).select_related(
        "phone_number"
    )
    if phone_number_id:
        contacts = contacts.filter(phone_number__phone_number_id=phone_number_id)
    contact = contacts.order_by("-last_inbound_at").first()
    if contact is None:
        raise NotFound("No such contact.")
    return contact


def broadcast_get(*, org: Organization, broadcast_id: UUID | str) -> Broadcast:
    pk = uuid_or_404(broadcast_id, "broadcast")
    broadcast = (
        Broadcast.objects.filter(waba_owned_by(org, via=VIA), pk=pk).select_related("phone_number").first()
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


# --- conversations (the unified inbox) ------------------------------------------------------
# One conversation per contact and number: the Contact row (its id is the conversation's id).


def conversation_list(
    *,
    org: Organization,
    unread: bool | None = None,
    contact: str | None = None,
    phone_number_id: str | None = None,
) -> QuerySet[Contact]:
    """Conversations under the caller's connected accounts and live numbers (the inbox lists
    what can be answered), newest first by their stored last message (kept on the contact by
    whatsapp/messages/conversations.py). A contact with no message is no conversation.

    The numbers are looked up first (a handful) and their contacts then read by number id, so
    a page (by cursor too) comes straight off the (phone_number, -last_message_at, -id) index."""
    numbers = WhatsAppPhoneNumber.objects.filter(
        active_for(org, via="waba__account"), waba__deleted_at__isnull=True
    )
    if phone_number_id:
        numbers = numbers.filter(phone_number_id=phone_number_id)
    conversations = Contact.objects.filter(
        phone_number_id__in=list(numbers.values_list("pk", flat=True)), last_message_at__isnull=False
    ).select_related("phone_number", "last_message")
    if unread is not None:
        conversations = (
            conversations.filter(unread_count__gt=0) if unread else conversations.filter(unread_count=0)
        )
    if contact:
        conversations = conversations.filter(Q(wa_id=contact.lstrip("+")) | Q(name__icontains=contact))
    return conversations.order_by("-last_message_at", "-id")


def conversation_get(*, org: Organization, conversation_id: UUID | str) -> Contact | None:
    """The caller's conversation (as in the list), or None: someone else's is
    indistinguishable from a missing one."""
    conversations = conversation_list(org=org).select_related("phone_number__waba__account")
    return conversations.filter(pk=conversation_id).first()


def conversation_messages(*, contact: Contact) -> QuerySet[Message]:
    return Message.objects.filter(
        phone_number_id=contact.phone_number_id, contact_wa_id=contact.wa_id
    ).order_by("-created_at", "-pk")

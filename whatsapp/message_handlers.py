"""Webhook handlers for WhatsApp `messages` changes: inbound messages and outbound statuses.

Registers with botopia_meta.registry on import. Meta redelivers and reorders: every write
here is idempotent (unique wamid, one status event per (wamid, status)) and a message's
status is derived from the timestamps it has collected, so any arrival order ends the same.
"""

import logging
from datetime import UTC, datetime, timedelta
from uuid import UUID

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from accounts.models import MetaAccount
from analytics.recording import deferred, record, record_message_status
from botopia_meta.registry import ItemIgnored, WebhookItem, register_webhook_handler
from whatsapp.models import Contact, Message, MessageStatusEvent, WhatsAppPhoneNumber

logger = logging.getLogger(__name__)

CLOCK_SKEW = timedelta(minutes=5)
STATUS_FIELDS = {"sent": "sent_at", "delivered": "delivered_at", "read": "read_at", "failed": "failed_at"}


def _ts(value: object) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):  # OverflowError: past year 9999
        return timezone.now()


def _number(item: WebhookItem) -> WhatsAppPhoneNumber:
    metadata = item.value.get("metadata")
    if not isinstance(metadata, dict):
        raise ItemIgnored("Malformed change: `metadata` is not an object.")
    phone_number_id = str(metadata.get("phone_number_id") or "")
    number = (
        WhatsAppPhoneNumber.objects.filter(
            phone_number_id=phone_number_id,
            waba__deleted_at__isnull=True,
            waba__account__status=MetaAccount.Status.ACTIVE,
            waba__account__deleted_at__isnull=True,
        )
        .select_related("waba")
        .order_by("created_at")
        .first()
    )
    if number is None:
        raise ItemIgnored(f"No active account has phone number {phone_number_id or '(none)'}.")
    return number


def derived_status(message: Message) -> str:
    """read > delivered > failed > sent: a failure never erases a later read or delivery."""
    if message.read_at:
        return Message.Status.READ
    if message.delivered_at:
        return Message.Status.DELIVERED
    if message.failed_at:
        return Message.Status.FAILED
    if message.sent_at:
        return Message.Status.SENT
    return message.status


def inbound_apply(
    *,
    number: WhatsAppPhoneNumber,
    message: dict,
    profiles: dict[str, str],
    received_at: datetime | None = None,
) -> bool:
    wamid, wa_id = message.get("id"), str(message.get("from") or "")
    if not wamid or not wa_id:
        return False
    at = _ts(message.get("timestamp"))
    # A timestamp after we received the message (a sender's clock, a forged payload) would
    # hold the 24-hour window open until then: it counts as received when we got it.
    # Seconds ahead are clock skew between Meta and us: clamped too, flagged only beyond that.
    received_at = received_at or timezone.now()
    clamped = at > received_at + CLOCK_SKEW
    if clamped:
        logger.warning("Inbound %s dated %s, after its receipt: clamped to %s", wamid, at, received_at)
    at = min(at, received_at)
    kind = message.get("type") or "unknown"
    content = (
        message.get(kind)
        if isinstance(message.get(kind), dict)
        else {k: v for k, v in message.items() if k not in {"from", "id", "timestamp", "type", "context"}}
    )
    if message.get("context"):
        content = {**content, "_context": message["context"]}
    if clamped:
        content = {**content, "_clamped_timestamp": str(message.get("timestamp"))}  # the flag
    try:
        with transaction.atomic():
            Message.objects.create(
                direction=Message.Direction.INBOUND,
                phone_number=number,
                contact_wa_id=wa_id,
                type=kind,
                content=content,
                wamid=wamid,
                status=Message.Status.RECEIVED,
                status_updated_at=at,
            )
    except IntegrityError:
        return False  # a redelivery: already stored
    contact, _ = Contact.objects.select_for_update().get_or_create(phone_number=number, wa_id=wa_id)
    changed = []
    if contact.last_inbound_at is None or at > contact.last_inbound_at:
        contact.last_inbound_at = at
        changed.append("last_inbound_at")
    name = profiles.get(wa_id)
    if name and name != contact.name:
        contact.name = name[:255]
        changed.append("name")
    if changed:
        contact.save(update_fields=[*changed, "updated_at"])
    record(
        account_id=number.waba.account_id,
        platform="whatsapp",
        metric="received",
        at=at,
        asset_id=number.phone_number_id,
        dimensions={"type": kind},
        key=f"{wamid}:received",
    )
    return True


def _callback_uuid(value: object) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None


def status_apply(*, number: WhatsAppPhoneNumber, status: dict) -> bool:
    wamid, name = status.get("id"), status.get("status")
    if not wamid or name not in STATUS_FIELDS:
        return False
    at = _ts(status.get("timestamp"))
    try:
        with transaction.atomic():
            MessageStatusEvent.objects.create(wamid=wamid, status=name, at=at, payload=status)
    except IntegrityError:
        return False  # this (wamid, status) was applied already
    message = Message.objects.select_for_update().filter(wamid=wamid, phone_number=number).first()
    if message is None and (pk := _callback_uuid(status.get("biz_opaque_callback_data"))):
        message = Message.objects.select_for_update().filter(pk=pk, phone_number=number).first()
    if message is None:
        # Sent outside Botopia, or before its row existed: kept so nothing is lost.
        try:
            with transaction.atomic():
                message = Message.objects.create(
                    direction=Message.Direction.OUTBOUND,
                    phone_number=number,
                    contact_wa_id=str(status.get("recipient_id") or ""),
                    type="unknown",
                    wamid=wamid,
                    status=Message.Status.UNKNOWN,
                )
        except IntegrityError:
            # Another status of the same orphan (Meta sends sent and delivered close together)
            # inserted it first: update that row. None: the wamid is on another number's row
            # (a WABA shared by two accounts, the first since disconnected): not this one's.
            message = Message.objects.select_for_update().filter(wamid=wamid, phone_number=number).first()
            if message is None:
                return False
    field = STATUS_FIELDS[name]
    if getattr(message, field) is None or at < getattr(message, field):
        setattr(message, field, at)
    if not message.wamid:
        message.wamid = wamid
    error_code = None
    if name == "failed":
        error = (status.get("errors") or [{}])[0] or {}
        error_code = error.get("code")
        message.error_code = error_code if isinstance(error_code, int) else None
        message.error_title = str(error.get("title") or error.get("message") or "")[:512]
    if status.get("pricing"):
        message.pricing = status["pricing"]
    if status.get("conversation"):
        message.conversation = status["conversation"]
    message.status = derived_status(message)
    message.status_updated_at = timezone.now()
    message.save()
    record_message_status(
        account_id=number.waba.account_id,
        phone_number_id=number.phone_number_id,
        message_id=wamid,
        status=name,
        at=at,
        dimensions={"template": message.template_name} if message.template_name else None,
        error_code=error_code,
    )
    return True


def handle_messages(item: WebhookItem) -> None:
    number = _number(item)
    value = item.value
    profiles = {
        str(c.get("wa_id")): str(c["profile"].get("name") or "")
        for c in (value.get("contacts") if isinstance(value.get("contacts"), list) else [])
        if isinstance(c, dict) and isinstance(c.get("profile"), dict)
    }
    messages, statuses = value.get("messages") or [], value.get("statuses") or []
    if not messages and not statuses:
        raise ItemIgnored("No messages or statuses in the change.")
    # Concurrent deliveries touch the same rows (a message's statuses arrive in different
    # batches, every status counts into the same analytics buckets): each transaction takes
    # its row locks in one global order (contacts, then messages by id, then the analytics
    # buckets at the end), so two of them never wait on each other in a cycle.
    messages = sorted(
        (m for m in messages if isinstance(m, dict)), key=lambda m: (str(m.get("from")), str(m.get("id")))
    )
    statuses = [s for s in statuses if isinstance(s, dict)]
    with transaction.atomic(), deferred():
        _lock_messages(number, statuses)
        for message in messages:
            inbound_apply(number=number, message=message, profiles=profiles, received_at=item.received_at)
        for status in statuses:
            status_apply(number=number, status=status)


def _lock_messages(number: WhatsAppPhoneNumber, statuses: list[dict]) -> None:
    """Lock, in primary-key order, every stored message the statuses name."""
    wamids = {str(s["id"]) for s in statuses if s.get("id")}
    pks = {pk for s in statuses if (pk := _callback_uuid(s.get("biz_opaque_callback_data")))}
    if not wamids and not pks:
        return
    query = Message.objects.filter(phone_number=number).filter(
        models.Q(wamid__in=wamids) | models.Q(pk__in=pks)
    )
    list(query.order_by("pk").select_for_update().values_list("pk", flat=True))


register_webhook_handler("whatsapp_business_account", "messages", handle_messages)

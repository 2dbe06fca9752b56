"""Writes for WhatsApp messages: queue a send (validated, window-checked, idempotent), deliver
it from the actor, mark an inbound message as read."""

import logging
import re
import time
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, OuterRef
from django.utils import timezone

from accounts.selectors import account_for_work
from accounts.tokens import graph_for
from analytics.recording import record_message_status
from botopia_meta.exceptions import NotFound, OutsideServiceWindow, ValidationFailed
from botopia_meta.graph import GraphError
from botopia_meta.safe_urls import meta_fetched_url_reason
from botopia_meta.tasks import enqueue_on_commit
from whatsapp import graph_messages
from whatsapp.models import Broadcast, BroadcastBatch, Contact, Message, WhatsAppPhoneNumber, WhatsAppTemplate
from whatsapp.substitution import SubstitutionError, build_components
from whatsapp.throughput import pacer

logger = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)
THROTTLE_CODES = (130429, 131056)
AWAITING_WEBHOOK = "No answer from Meta; awaiting its status webhook."
NO_WAMID = "Meta answered without a message id; awaiting its status webhook."
SWEEP_BATCH = 10_000
NOT_CONNECTED = (
    "Not sent: the Meta account is no longer connected (expired, revoked or removed). Reconnect it."
)
MEDIA_TYPES = ("image", "document", "audio", "video")
SEND_TYPES = ("text", "template", "interactive", "reaction", *MEDIA_TYPES)
PHONE = re.compile(r"^\+?[1-9]\d{6,14}$")


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details={field: [message]})


def normalize_wa_id(to: Any) -> str:
    """'+57 300-111 2233' → '573001112233' (Meta's wa_id form), or 400 naming `to`."""
    raw = re.sub(r"[\s\-().]", "", str(to or ""))
    if not PHONE.match(raw):
        raise _invalid("to", "Must be a phone number in international format, e.g. +573001112233.")
    return raw.lstrip("+")


def window_open(contact: Contact | None, *, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return bool(contact and contact.last_inbound_at and contact.last_inbound_at > now - WINDOW)


def _media(kind: str, value: Any) -> dict:
    if not isinstance(value, dict):
        raise _invalid(kind, "Must be an object with `link` or `id`.")
    link, media_id = value.get("link"), value.get("id")
    if bool(link) == bool(media_id):
        raise _invalid(kind, "Give exactly one of `link` (https URL) or `id` (an uploaded media id).")
    if link and (reason := meta_fetched_url_reason(link)):
        raise _invalid(f"{kind}.link", reason)
    out: dict = {"link": link} if link else {"id": str(media_id)}
    caption = value.get("caption")
    if caption:
        if kind == "audio":
            raise _invalid(f"{kind}.caption", "Audio takes no caption.")
        if not isinstance(caption, str) or len(caption) > 1024:
            raise _invalid(f"{kind}.caption", "A string of at most 1024 characters.")
        out["caption"] = caption
    if value.get("filename"):
        if kind != "document":
            raise _invalid(f"{kind}.filename", "Only documents take a filename.")
        out["filename"] = str(value["filename"])[:240]
    return out


def _text(value: Any) -> dict:
    body = value.get("body") if isinstance(value, dict) else None
    if not isinstance(body, str) or not body.strip():
        raise _invalid("text.body", "Required: the message text.")
    if len(body) > 4096:
        raise _invalid("text.body", "At most 4096 characters.")
    return {"body": body, "preview_url": bool(value.get("preview_url", False))}


def _interactive(value: Any) -> dict:
    if not isinstance(value, dict):
        raise _invalid("interactive", "Must be an object.")
    kind = value.get("type")
    body = (value.get("body") or {}).get("text") if isinstance(value.get("body"), dict) else None
    if not isinstance(body, str) or not body.strip() or len(body) > 1024:
        raise _invalid("interactive.body.text", "Required, at most 1024 characters.")
    action = value.get("action")
    if not isinstance(action, dict):
        raise _invalid("interactive.action", "Required.")
    if kind == "button":
        buttons = action.get("buttons")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
            raise _invalid("interactive.action.buttons", "Give 1 to 3 reply buttons.")
        ids = set()
        for i, button in enumerate(buttons):
            reply = button.get("reply") if isinstance(button, dict) else None
            if button.get("type") != "reply" or not isinstance(reply, dict):
                raise _invalid(
                    f"interactive.action.buttons[{i}]", 'Must be {"type": "reply", "reply": {...}}.'
                )
            if not reply.get("id") or not reply.get("title") or len(str(reply["title"])) > 20:
                raise _invalid(
                    f"interactive.action.buttons[{i}].reply", "Needs an id and a title of 1-20 characters."
                )
            if reply["id"] in ids:
                raise _invalid(f"interactive.action.buttons[{i}].reply.id", "Button ids must be unique.")
            ids.add(reply["id"])
    elif kind == "list":
        sections = action.get("sections")
        if not action.get("button") or len(str(action["button"])) > 20:
            raise _invalid("interactive.action.button", "Required, at most 20 characters.")
        if not isinstance(sections, list) or not 1 <= len(sections) <= 10:
            raise _invalid("interactive.action.sections", "Give 1 to 10 sections.")
        rows = [row for s in sections if isinstance(s, dict) for row in (s.get("rows") or [])]
        if not 1 <= len(rows) <= 10 or any(
            not isinstance(r, dict) or not r.get("id") or not r.get("title") for r in rows
        ):
            raise _invalid("interactive.action.sections", "1 to 10 rows in all, each with an id and a title.")
    else:
        raise _invalid("interactive.type", "Must be `button` or `list`.")
    return value


def _reaction(value: Any) -> dict:
    if not isinstance(value, dict) or not value.get("message_id"):
        raise _invalid("reaction.message_id", "Required: the wamid of the message to react to.")
    emoji = value.get("emoji", "")
    if not isinstance(emoji, str) or len(emoji) > 10:
        raise _invalid("reaction.emoji", "One emoji, or empty to remove the reaction.")
    return {"message_id": str(value["message_id"]), "emoji": emoji}


def _template_payload(name: str, language: str) -> dict:
    return {"name": name, "language": {"code": language}}


def _template(
    number: WhatsAppPhoneNumber, value: Any, *, check_only: bool = False
) -> tuple[dict, WhatsAppTemplate]:
    if not isinstance(value, dict) or not value.get("name"):
        raise _invalid("template.name", "Required.")
    language = value.get("language")
    if isinstance(language, dict):
        language = language.get("code")
    if not language:
        raise _invalid("template.language", "Required, e.g. en_US.")
    versions = WhatsAppTemplate.objects.filter(waba_id=number.waba_id, name=value["name"])
    if not versions.exists():
        raise _invalid("template.name", f"No template named {value['name']!r} on this WhatsApp account.")
    template = versions.filter(language=language).first()
    if template is None:
        have = sorted(versions.values_list("language", flat=True))
        raise _invalid("template.language", f"The template has no {language!r} version (it has {have}).")
    if template.status != WhatsAppTemplate.Status.APPROVED:
        raise _invalid(
            "template.name", f"The template is {template.status}: only APPROVED templates can be sent."
        )
    payload = _template_payload(template.name, template.language)
    if check_only:
        return payload, template
    try:
        components = build_components(
            components=template.components,
            parameter_format=template.parameter_format,
            parameters=value.get("parameters"),
        )
    except SubstitutionError as exc:
        raise _invalid(f"template.parameters.{exc.field}", exc.message) from None
    if components:
        payload["components"] = components
    return payload, template


def message_content(
    *, number: WhatsAppPhoneNumber, type: str, body: dict
) -> tuple[dict, WhatsAppTemplate | None]:
    """The validated `<type>` object of Meta's send payload, and the template when one is used."""
    if type not in SEND_TYPES:
        raise _invalid("type", f"Must be one of {', '.join(SEND_TYPES)}.")
    value = body.get(type)
    if value is None:
        raise _invalid(type, f"Required for a {type} message.")
    if type == "template":
        return _template(number, value)
    if type == "text":
        return _text(value), None
    if type == "interactive":
        return _interactive(value), None
    if type == "reaction":
        return _reaction(value), None
    return _media(type, value), None


def message_create(
    *,
    user_id: int,
    number: WhatsAppPhoneNumber,
    to: str,
    type: str,
    body: dict,
    idempotency_key: str | None = None,
    context_wamid: str | None = None,
) -> tuple[Message, bool]:
    """Validate, check the window, store as queued and enqueue the send after commit.
    → (message, created); a repeated Idempotency-Key answers the first message."""
    if idempotency_key:
        existing = Message.objects.filter(
            user_id=user_id, phone_number=number, idempotency_key=idempotency_key
        ).first()
        if existing is not None:
            return existing, False
    wa_id = normalize_wa_id(to)
    content, template = message_content(number=number, type=type, body=body)
    if type != "template":
        contact = Contact.objects.filter(phone_number=number, wa_id=wa_id).first()
        if not window_open(contact):
            raise OutsideServiceWindow()
    if context_wamid:
        if not Message.objects.filter(wamid=context_wamid, phone_number=number).exists():
            raise NotFound("No such message to reply to.")  # only this number's own can be quoted
        content = {**content, "_context": {"message_id": context_wamid}}
    try:
        with transaction.atomic():
            message = Message.objects.create(
                direction=Message.Direction.OUTBOUND,
                phone_number=number,
                contact_wa_id=wa_id,
                type=type,
                content=content,
                status=Message.Status.QUEUED,
                status_updated_at=timezone.now(),
                enqueued_at=timezone.now(),
                template=template,
                template_name=template.name if template else "",
                template_language=template.language if template else "",
                user_id=user_id,
                idempotency_key=idempotency_key or None,
            )
    except IntegrityError:
        # Two concurrent POSTs with the same key: the first one wins.
        return Message.objects.get(
            user_id=user_id, phone_number=number, idempotency_key=idempotency_key
        ), False
    _enqueue(message)
    return message, True


def _enqueue(message: Message) -> None:
    from whatsapp.message_actors import send_message

    enqueue_on_commit(send_message, str(message.pk), swept=True)  # messages_sweep re-queues it


def send_payload(message: Message) -> dict:
    content = dict(message.content)
    context = content.pop("_context", None)
    payload = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": message.contact_wa_id,
        "type": message.type,
        message.type: content,
        # Lets a status webhook find this message even when the send's answer was lost.
        "biz_opaque_callback_data": str(message.pk),
    }
    if context:
        payload["context"] = context
    return payload


def _set_status(message: Message, status: str, **fields: Any) -> None:
    now = timezone.now()
    message.status = status
    message.status_updated_at = now
    for key, value in fields.items():
        setattr(message, key, value)
    Message.objects.filter(pk=message.pk).update(status=status, status_updated_at=now, **fields)


def _requeue(message: Message, wait: float) -> None:
    from whatsapp.message_actors import send_message

    Message.objects.filter(pk=message.pk).update(enqueued_at=timezone.now())
    send_message.send_with_options(args=(str(message.pk),), delay=max(1, int(wait * 1000)))


def _release(message: Message) -> None:
    """Back from `sending` to `queued`: Meta refused before sending, the job runs again."""
    Message.objects.filter(pk=message.pk, status=Message.Status.SENDING).update(status=Message.Status.QUEUED)


def _fail(message: Message, *, account_id: int, code: int | None, title: str) -> None:
    now = timezone.now()
    _set_status(message, Message.Status.FAILED, failed_at=now, error_code=code, error_title=title[:512])
    record_message_status(
        account_id=account_id,
        phone_number_id=message.phone_number.phone_number_id,
        message_id=str(message.pk),
        status="failed",
        at=now,
        error_code=code,
    )


def message_deliver(*, message_id: str) -> None:
    """Send one queued message to Meta (from the actor). Idempotent: anything not queued is left."""
    message = (
        Message.objects.filter(pk=message_id, status=Message.Status.QUEUED)
        .select_related("phone_number__waba", "broadcast")
        .first()
    )
    if message is None or message.phone_number is None:
        return
    number = message.phone_number
    if message.broadcast_id and message.broadcast.cancelled_at:
        _set_status(message, Message.Status.CANCELLED)
        return
    account = account_for_work(account_id=number.waba.account_id)
    if account is None or number.waba.deleted_at or number.deleted_at:
        _set_status(message, Message.Status.FAILED, failed_at=timezone.now(), error_title=NOT_CONNECTED)
        return
    if (wait := pacer.pair_wait(number.phone_number_id, message.contact_wa_id)) > 0:
        _requeue(message, wait)  # only this recipient waits; the others keep flowing
        return
    reserved, wait = pacer.reserve(number.phone_number_id, number.max_send_rate)
    if not reserved:
        _requeue(message, wait)
        return
    if wait > 0:
        time.sleep(wait)
    # Claim it: one job sends it. A worker killed from here on leaves it `sending`; the sweep
    # then marks it `unknown` for the status webhook to settle, never sends it a second time.
    claimed = Message.objects.filter(pk=message.pk, status=Message.Status.QUEUED).update(
        status=Message.Status.SENDING, status_updated_at=timezone.now(), attempts=F("attempts") + 1
    )
    if not claimed:
        return
    # Meta's answers decide below. Any other exception (our own code around the call) leaves
    # it `sending`: the request may have left, so the sweep makes it `unknown`, never resends.
    try:
        data = graph_messages.message_send(graph_for(account), number.phone_number_id, send_payload(message))
    except GraphError as exc:
        if exc.code in THROTTLE_CODES:
            # Meta's throughput (130429) or pair-rate (131056) limit: slow down, don't fail.
            _release(message)
            _requeue(message, pacer.throttled(number.phone_number_id, message.contact_wa_id, exc.code))
            return
        if exc.outcome_unknown:
            # The request may have been sent: resending could deliver it twice. The status
            # webhook (matched by biz_opaque_callback_data) settles it.
            _set_status(message, Message.Status.UNKNOWN, error_title=AWAITING_WEBHOOK)
            return
        if not exc.permanent:
            _release(message)
            raise  # the actor retries with backoff; `message_give_up` when it stops
        _fail(message, account_id=account.pk, code=exc.code, title=exc.user_title or exc.message or "")
        return
    wamid = _sent_wamid(data)
    if wamid is None:
        # Meta said 200 but named no message: we cannot tell whether it went out, nor match
        # its statuses by wamid. Like a lost answer: unknown, never resent; a status webhook
        # (found by biz_opaque_callback_data) settles it.
        logger.warning("Meta accepted message %s without a message id", message.pk)
        _set_status(message, Message.Status.UNKNOWN, error_title=NO_WAMID)
        return
    now = timezone.now()
    # Only sending → sent: a status webhook that raced ahead already moved it further.
    Message.objects.filter(pk=message.pk, wamid__isnull=True).update(wamid=wamid)
    Message.objects.filter(pk=message.pk, status=Message.Status.SENDING).update(
        status=Message.Status.SENT, status_updated_at=now, sent_at=now
    )
    dims = {"template": message.template_name} if message.template_name else None
    record_message_status(
        account_id=account.pk,
        phone_number_id=number.phone_number_id,
        message_id=wamid or str(message.pk),
        status="sent",
        at=now,
        dimensions=dims,
    )


def _sent_wamid(data: Any) -> str | None:
    """`messages[0].id` of Meta's send answer, or None when it is missing or not a string."""
    messages = data.get("messages") if isinstance(data, dict) else None
    first = messages[0] if isinstance(messages, list) and messages else None
    wamid = first.get("id") if isinstance(first, dict) else None
    return wamid[:255] if isinstance(wamid, str) and wamid.strip() else None


def message_give_up(*, message_id: str, exc: BaseException) -> None:
    """The send job stopped retrying: a message still waiting is failed, with the reason."""
    message = (
        Message.objects.filter(pk=message_id, status=Message.Status.QUEUED)
        .select_related("phone_number__waba")
        .first()
    )
    if message is None or message.phone_number is None:
        return
    if isinstance(exc, GraphError):
        code, title = exc.code, f"Meta kept failing ({exc.user_title or exc.message}). Send it again later."
    else:
        code, title = None, "Not sent: an internal error stopped the send. Send it again later."
    _fail(message, account_id=message.phone_number.waba.account_id, code=code, title=title)


def messages_sweep(*, now: datetime | None = None) -> tuple[int, int]:
    """Settle what a lost job left behind (periodic). → (sending marked unknown, re-queued).

    - `sending` for longer than STALE_SENDING_SECONDS: the worker died mid-send; the
      request may have reached Meta, so it becomes `unknown` (the status webhook settles it).
    - `queued` since its job was queued REQUEUE_AFTER_SECONDS ago, while its number sent
      nothing queued before it in that time: the broker lost the job (flushed, restarted
      without persistence); it is queued again. A job that was not lost only finds it claimed
      or sent, so this never sends twice; a backlog still draining gets no duplicate jobs.
    - broadcasts with batches nobody is fanning out get their fan-out job again."""
    from whatsapp.message_actors import broadcast_fanout, send_message

    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.STALE_SENDING_SECONDS)
    unknown = Message.objects.filter(status=Message.Status.SENDING, status_updated_at__lt=stale).update(
        status=Message.Status.UNKNOWN, status_updated_at=now, error_title=AWAITING_WEBHOOK
    )
    lost = now - timedelta(seconds=settings.REQUEUE_AFTER_SECONDS)
    # While its number is still sending messages queued before it, a message is waiting its
    # turn in a long backlog, not lost (the queue is first in, first out).
    ahead_moving = Message.objects.filter(
        phone_number=OuterRef("phone_number"), sent_at__gte=lost, enqueued_at__lte=OuterRef("enqueued_at")
    )
    waiting = Message.objects.filter(status=Message.Status.QUEUED, enqueued_at__lt=lost).exclude(
        Exists(ahead_moving)
    )
    ids = list(waiting.values_list("pk", flat=True)[:SWEEP_BATCH])
    Message.objects.filter(pk__in=ids).update(enqueued_at=now)
    for pk in ids:
        send_message.send(str(pk))
    for broadcast_id in (
        Broadcast.objects.filter(cancelled_at__isnull=True, batches__isnull=False, updated_at__lt=lost)
        .values_list("pk", flat=True)
        .distinct()
    ):
        Broadcast.objects.filter(pk=broadcast_id).update(updated_at=now)
        broadcast_fanout.send(str(broadcast_id))
    return unknown, len(ids)


def message_mark_read(*, message: Message) -> Message:
    if message.direction != Message.Direction.INBOUND or not message.wamid:
        raise _invalid("id", "Only a received message can be marked as read.")
    account = account_for_work(account_id=message.phone_number.waba.account_id)
    if account is None:
        raise NotFound("No such message.")
    graph_messages.message_mark_read(graph_for(account), message.phone_number.phone_number_id, message.wamid)
    if message.read_at is None:
        message.read_at = timezone.now()
        Message.objects.filter(pk=message.pk).update(read_at=message.read_at)
    return message


# --- broadcasts -----------------------------------------------------------------------------

MAX_RECIPIENTS = 100_000
BATCH_SIZE = 2_000


def broadcast_create(
    *, user_id: int, number: WhatsAppPhoneNumber, template: dict, recipients: list
) -> Broadcast:
    """Validate every recipient up front (invalid ones are listed, not sent) and store the
    valid ones in batches; the fan-out actor turns them into queued messages and sends them
    through the same queue and bucket. The request does no per-message writes: 100,000
    recipients answer in about a second."""
    if not isinstance(template, dict):
        raise _invalid("template", "Must be an object with name and language.")
    if not isinstance(recipients, list) or not recipients:
        raise _invalid("recipients", "Give at least one recipient.")
    if len(recipients) > MAX_RECIPIENTS:
        raise _invalid("recipients", f"At most {MAX_RECIPIENTS} recipients per broadcast.")
    _, mirror = _template(number, template, check_only=True)
    invalid: list[dict] = []
    valid: list[list] = []
    seen: set[str] = set()
    for index, recipient in enumerate(recipients):
        to = recipient.get("to") if isinstance(recipient, dict) else None
        try:
            wa_id = normalize_wa_id(to)
            if wa_id in seen:
                raise _invalid("to", "Duplicate recipient in this broadcast.")
            components = build_components(
                components=mirror.components,
                parameter_format=mirror.parameter_format,
                parameters=recipient.get("parameters"),
            )
        except ValidationFailed as exc:
            invalid.append({"index": index, "to": to, "error": exc.message})
            continue
        except SubstitutionError as exc:
            invalid.append({"index": index, "to": to, "error": f"parameters.{exc.field}: {exc.message}"})
            continue
        seen.add(wa_id)
        valid.append([wa_id, components or None])
    with transaction.atomic():
        broadcast = Broadcast.objects.create(
            phone_number=number,
            template=mirror,
            template_name=mirror.name,
            template_language=mirror.language,
            total=len(valid),
            invalid=invalid,
            user_id=user_id,
            status=Broadcast.Status.QUEUED if valid else Broadcast.Status.COMPLETED,
        )
        BroadcastBatch.objects.bulk_create(
            BroadcastBatch(broadcast=broadcast, recipients=chunk)
            for chunk in (valid[i : i + BATCH_SIZE] for i in range(0, len(valid), BATCH_SIZE))
        )
        if valid:
            from whatsapp.message_actors import broadcast_fanout

            enqueue_on_commit(broadcast_fanout, str(broadcast.pk), swept=True)  # resumed by messages_sweep
    return broadcast


def _take_batch(broadcast: Broadcast) -> list[Message] | None:
    """Turn the broadcast's next batch into queued messages, in one transaction: the batch row
    is deleted with the messages created, so two fan-outs never both take it. None: no batch."""
    with transaction.atomic():
        batch = (
            BroadcastBatch.objects.select_for_update(skip_locked=True)
            .filter(broadcast=broadcast)
            .order_by("pk")
            .first()
        )
        if batch is None:
            return None
        if not BroadcastBatch.objects.filter(pk=batch.pk).delete()[0]:
            return []  # another fan-out took it first (SQLite has no row locks)
        now = timezone.now()
        payload = _template_payload(broadcast.template_name, broadcast.template_language)
        rows = [
            Message(
                direction=Message.Direction.OUTBOUND,
                phone_number_id=broadcast.phone_number_id,
                contact_wa_id=wa_id,
                type="template",
                content={**payload, "components": components} if components else payload,
                status=Message.Status.QUEUED,
                status_updated_at=now,
                enqueued_at=now,
                template_id=broadcast.template_id,
                template_name=broadcast.template_name,
                template_language=broadcast.template_language,
                broadcast=broadcast,
                user_id=broadcast.user_id,
            )
            for wa_id, components in batch.recipients
        ]
        Message.objects.bulk_create(rows)
        Broadcast.objects.filter(pk=broadcast.pk, status=Broadcast.Status.QUEUED).update(
            status=Broadcast.Status.SENDING
        )
    return rows


def broadcast_fanout(*, broadcast_id: str) -> int:
    """Batch by batch, create the broadcast's messages and queue one send for each (from an
    actor; resumable: a batch is either still stored or already messages). → messages queued."""
    from whatsapp.message_actors import send_message

    count = 0
    while True:
        broadcast = Broadcast.objects.filter(pk=broadcast_id, cancelled_at__isnull=True).first()
        if broadcast is None:
            return count
        rows = _take_batch(broadcast)
        if rows is None:
            break
        for row in rows:
            send_message.send(str(row.pk))
        count += len(rows)
    return count


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


def broadcast_cancel(*, broadcast: Broadcast) -> Broadcast:
    """Stop what has not been sent yet; what Meta already has is not recalled."""
    with transaction.atomic():
        updated = Broadcast.objects.filter(pk=broadcast.pk, cancelled_at__isnull=True).update(
            cancelled_at=timezone.now(), status=Broadcast.Status.CANCELLED
        )
        if updated:
            Message.objects.filter(broadcast=broadcast, status=Message.Status.QUEUED).update(
                status=Message.Status.CANCELLED, status_updated_at=timezone.now()
            )
            BroadcastBatch.objects.filter(broadcast=broadcast).delete()  # recipients not needed now
    broadcast.refresh_from_db()
    return broadcast

"""Writes for WhatsApp messages: queue a send (validated, window-checked, idempotent), deliver
it from the actor, mark an inbound message as read."""

import logging
import re
import time
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from accounts.selectors import account_for_work
from accounts.tokens import graph_for
from analytics.recording import record_message_status
from botopia_meta.exceptions import NotFound, OutsideServiceWindow, ValidationFailed
from botopia_meta.graph import GraphError
from whatsapp import graph_messages
from whatsapp.models import Broadcast, Contact, Message, WhatsAppPhoneNumber, WhatsAppTemplate
from whatsapp.substitution import SubstitutionError, build_components
from whatsapp.throughput import pacer

logger = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)
THROTTLE_CODES = (130429, 131056)
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
    if link and not (isinstance(link, str) and link.startswith("https://")):
        raise _invalid(f"{kind}.link", "Must be an https:// URL.")
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
    payload: dict = {"name": template.name, "language": {"code": template.language}}
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

    transaction.on_commit(lambda: send_message.send(str(message.pk)))


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

    send_message.send_with_options(args=(str(message.pk),), delay=max(1, int(wait * 1000)))


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
        _set_status(
            message,
            Message.Status.FAILED,
            failed_at=timezone.now(),
            error_title=NOT_CONNECTED,
        )
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
    Message.objects.filter(pk=message.pk).update(attempts=message.attempts + 1)
    try:
        data = graph_messages.message_send(graph_for(account), number.phone_number_id, send_payload(message))
    except GraphError as exc:
        if exc.code in THROTTLE_CODES:
            # Meta's throughput (130429) or pair-rate (131056) limit: slow down, don't fail.
            _requeue(message, pacer.throttled(number.phone_number_id, message.contact_wa_id, exc.code))
            return
        if exc.outcome_unknown:
            # The request may have been sent: resending could deliver it twice. The status
            # webhook (matched by biz_opaque_callback_data) settles it.
            _set_status(
                message,
                Message.Status.UNKNOWN,
                error_title="No answer from Meta; awaiting its status webhook.",
            )
            return
        if not exc.permanent:
            raise  # the actor retries with backoff
        _set_status(
            message,
            Message.Status.FAILED,
            failed_at=timezone.now(),
            error_code=exc.code,
            error_title=(exc.user_title or exc.message or "")[:512],
        )
        record_message_status(
            account_id=account.pk,
            phone_number_id=number.phone_number_id,
            message_id=str(message.pk),
            status="failed",
            at=timezone.now(),
            error_code=exc.code,
        )
        return
    wamid = ((data.get("messages") or [{}])[0] or {}).get("id")
    now = timezone.now()
    # Only queued → sent: a status webhook that raced ahead already moved it further.
    Message.objects.filter(pk=message.pk, wamid__isnull=True).update(wamid=wamid)
    Message.objects.filter(pk=message.pk, status=Message.Status.QUEUED).update(
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


def broadcast_create(
    *, user_id: int, number: WhatsAppPhoneNumber, template: dict, recipients: list
) -> Broadcast:
    """Validate every recipient up front (invalid ones are listed, not sent), store the valid
    ones as queued messages and fan them out through the same queue and bucket."""
    if not isinstance(template, dict):
        raise _invalid("template", "Must be an object with name and language.")
    if not isinstance(recipients, list) or not recipients:
        raise _invalid("recipients", "Give at least one recipient.")
    if len(recipients) > MAX_RECIPIENTS:
        raise _invalid("recipients", f"At most {MAX_RECIPIENTS} recipients per broadcast.")
    payload, mirror = _template(number, template, check_only=True)
    invalid: list[dict] = []
    rows: list[Message] = []
    seen: set[str] = set()
    now = timezone.now()
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
        content = {**payload, **({"components": components} if components else {})}
        rows.append(
            Message(
                direction=Message.Direction.OUTBOUND,
                phone_number=number,
                contact_wa_id=wa_id,
                type="template",
                content=content,
                status=Message.Status.QUEUED,
                status_updated_at=now,
                template=mirror,
                template_name=mirror.name,
                template_language=mirror.language,
                user_id=user_id,
            )
        )
    with transaction.atomic():
        broadcast = Broadcast.objects.create(
            phone_number=number,
            template=mirror,
            template_name=mirror.name,
            template_language=mirror.language,
            total=len(rows),
            invalid=invalid,
            status=Broadcast.Status.SENDING if rows else Broadcast.Status.COMPLETED,
        )
        for row in rows:
            row.broadcast = broadcast
        Message.objects.bulk_create(rows, batch_size=2000)
        if rows:
            from whatsapp.message_actors import broadcast_fanout

            transaction.on_commit(lambda: broadcast_fanout.send(str(broadcast.pk)))
    return broadcast


def broadcast_fanout(*, broadcast_id: str) -> int:
    """Enqueue one send per queued message of the broadcast (from an actor: a 100k-recipient
    POST must not push 100k queue messages inside the request)."""
    from whatsapp.message_actors import send_message

    broadcast = Broadcast.objects.filter(pk=broadcast_id, cancelled_at__isnull=True).first()
    if broadcast is None:
        return 0
    ids = Message.objects.filter(broadcast=broadcast, status=Message.Status.QUEUED).values_list(
        "pk", flat=True
    )
    count = 0
    for pk in ids.iterator(chunk_size=2000):
        send_message.send(str(pk))
        count += 1
    return count


def broadcast_progress(broadcast: Broadcast) -> dict[str, int]:
    counts = dict(
        Message.objects.filter(broadcast=broadcast).values_list("status").annotate(n=Count("pk")).order_by()
    )
    return {
        s: counts.get(s, 0) for s in ("queued", "sent", "delivered", "read", "failed", "unknown", "cancelled")
    }


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
    broadcast.refresh_from_db()
    return broadcast

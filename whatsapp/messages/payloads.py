"""The rules of a send payload: what each message type may carry, checked before a message is
queued, and the request body the actor sends to Meta. Checks raise ValidationFailed naming the
field, in the contract's error shape."""

import re
from typing import Any

from botopia_meta.exceptions import ValidationFailed
from botopia_meta.safe_urls import meta_fetched_url_reason
from whatsapp.messages.substitution import SubstitutionError, build_components
from whatsapp.models import Message, WhatsAppPhoneNumber, WhatsAppTemplate

MEDIA_TYPES = ("image", "document", "audio", "video")
# The one list of what can be sent: the send serializer's choices, and the check below.
SEND_TYPES = ("text", "template", *MEDIA_TYPES, "interactive", "reaction")
PHONE = re.compile(r"^\+?[1-9]\d{6,14}$")


def invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details={field: [message]})


def normalize_wa_id(to: Any) -> str:
    """'+57 300-111 2233' → '573001112233' (Meta's wa_id form), or 400 naming `to`."""
    raw = re.sub(r"[\s\-().]", "", str(to or ""))
    if not PHONE.match(raw):
        raise invalid("to", "Must be a phone number in international format, e.g. +573001112233.")
    return raw.lstrip("+")


def _media(kind: str, value: Any) -> dict:
    if not isinstance(value, dict):
        raise invalid(kind, "Must be an object with `link` or `id`.")
    link, media_id = value.get("link"), value.get("id")
    if bool(link) == bool(media_id):
        raise invalid(kind, "Give exactly one of `link` (https URL) or `id` (an uploaded media id).")
    if link and (reason := meta_fetched_url_reason(link)):
        raise invalid(f"{kind}.link", reason)
    out: dict = {"link": link} if link else {"id": str(media_id)}
    caption = value.get("caption")
    if caption:
        if kind == "audio":
            raise invalid(f"{kind}.caption", "Audio takes no caption.")
        if not isinstance(caption, str) or len(caption) > 1024:
            raise invalid(f"{kind}.caption", "A string of at most 1024 characters.")
        out["caption"] = caption
    if value.get("filename"):
        if kind != "document":
            raise invalid(f"{kind}.filename", "Only documents take a filename.")
        out["filename"] = str(value["filename"])[:240]
    return out


def _text(value: Any) -> dict:
    body = value.get("body") if isinstance(value, dict) else None
    if not isinstance(body, str) or not body.strip():
        raise invalid("text.body", "Required: the message text.")
    if len(body) > 4096:
        raise invalid("text.body", "At most 4096 characters.")
    return {"body": body, "preview_url": bool(value.get("preview_url", False))}


def _interactive(value: Any) -> dict:
    if not isinstance(value, dict):
        raise invalid("interactive", "Must be an object.")
    kind = value.get("type")
    body = (value.get("body") or {}).get("text") if isinstance(value.get("body"), dict) else None
    if not isinstance(body, str) or not body.strip() or len(body) > 1024:
        raise invalid("interactive.body.text", "Required, at most 1024 characters.")
    action = value.get("action")
    if not isinstance(action, dict):
        raise invalid("interactive.action", "Required.")
    if kind == "button":
        buttons = action.get("buttons")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
            raise invalid("interactive.action.buttons", "Give 1 to 3 reply buttons.")
        ids = set()
        for i, button in enumerate(buttons):
            reply = button.get("reply") if isinstance(button, dict) else None
            if button.get("type") != "reply" or not isinstance(reply, dict):
                raise invalid(
                    f"interactive.action.buttons[{i}]", 'Must be {"type": "reply", "reply": {...}}.'
                )
            if not reply.get("id") or not reply.get("title") or len(str(reply["title"])) > 20:
                raise invalid(
                    f"interactive.action.buttons[{i}].reply", "Needs an id and a title of 1-20 characters."
                )
            if reply["id"] in ids:
                raise invalid(f"interactive.action.buttons[{i}].reply.id", "Button ids must be unique.")
            ids.add(reply["id"])
    elif kind == "list":
        sections = action.get("sections")
        if not action.get("button") or len(str(action["button"])) > 20:
            raise invalid("interactive.action.button", "Required, at most 20 characters.")
        if not isinstance(sections, list) or not 1 <= len(sections) <= 10:
            raise invalid("interactive.action.sections", "Give 1 to 10 sections.")
        rows = [row for s in sections if isinstance(s, dict) for row in (s.get("rows") or [])]
        if not 1 <= len(rows) <= 10 or any(
            not isinstance(r, dict) or not r.get("id") or not r.get("title") for r in rows
        ):
            raise invalid("interactive.action.sections", "1 to 10 rows in all, each with an id and a title.")
    else:
        raise invalid("interactive.type", "Must be `button` or `list`.")
    return value


def _reaction(value: Any) -> dict:
    if not isinstance(value, dict) or not value.get("message_id"):
        raise invalid("reaction.message_id", "Required: the wamid of the message to react to.")
    emoji = value.get("emoji", "")
    if not isinstance(emoji, str) or len(emoji) > 10:
        raise invalid("reaction.emoji", "One emoji, or empty to remove the reaction.")
    return {"message_id": str(value["message_id"]), "emoji": emoji}


def template_payload(name: str, language: str) -> dict:
    return {"name": name, "language": {"code": language}}


def template_content(
    number: WhatsAppPhoneNumber, value: Any, *, check_only: bool = False
) -> tuple[dict, WhatsAppTemplate]:
    if not isinstance(value, dict) or not value.get("name"):
        raise invalid("template.name", "Required.")
    language = value.get("language")
    if isinstance(language, dict):
        language = language.get("code")
    if not language:
        raise invalid("template.language", "Required, e.g. en_US.")
    versions = WhatsAppTemplate.objects.filter(waba_id=number.waba_id, name=value["name"])
    if not versions.exists():
        raise invalid("template.name", f"No template named {value['name']!r} on this WhatsApp account.")
    template = versions.filter(language=language).first()
    if template is None:
        have = sorted(versions.values_list("language", flat=True))
        raise invalid("template.language", f"The template has no {language!r} version (it has {have}).")
    if template.status != WhatsAppTemplate.Status.APPROVED:
        raise invalid(
            "template.name", f"The template is {template.status}: only APPROVED templates can be sent."
        )
    payload = template_payload(template.name, template.language)
    if check_only:
        return payload, template
    try:
        components = build_components(
            components=template.components,
            parameter_format=template.parameter_format,
            parameters=value.get("parameters"),
        )
    except SubstitutionError as exc:
        raise invalid(f"template.parameters.{exc.field}", exc.message) from None
    if components:
        payload["components"] = components
    return payload, template


def message_content(
    *, number: WhatsAppPhoneNumber, type: str, body: dict
) -> tuple[dict, WhatsAppTemplate | None]:
    """The validated `<type>` object of Meta's send payload, and the template when one is used."""
    if type not in SEND_TYPES:
        raise invalid("type", f"Must be one of {', '.join(SEND_TYPES)}.")
    value = body.get(type)
    if value is None:
        raise invalid(type, f"Required for a {type} message.")
    if type == "template":
        return template_content(number, value)
    if type == "text":
        return _text(value), None
    if type == "interactive":
        return _interactive(value), None
    if type == "reaction":
        return _reaction(value), None
    return _media(type, value), None


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

"""The rules of a send payload: what each message type may carry, checked before a message is
queued, and the request body the actor sends to Meta. Checks raise ValidationFailed naming the
field, in the contract's error shape."""

import re
from typing import Any

from whatsapp.messages.interactive import check_interactive
from whatsapp.messages.shapes import Anything, Bool, List, Media, Obj, Shape, Str, const, invalid
from whatsapp.messages.substitution import SubstitutionError, build_components
from whatsapp.messages.template_components import LOCATION, check_components
from whatsapp.models import Message, WhatsAppPhoneNumber, WhatsAppTemplate

MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")
# The one list of what can be sent: the send serializer's choices, and the check below.
SEND_TYPES = ("text", "template", *MEDIA_TYPES, "location", "contacts", "interactive", "reaction")
# Types whose Meta object is a list (stored as {"<type>": [...]}, as inbound ones are).
LIST_TYPES = ("contacts",)
# The top level of a send body besides the `<type>` objects: Meta's own fields (with Meta's
# only values, so a body copied from Meta's reference works) and ours.
META_FIELDS = {"messaging_product": "whatsapp", "recipient_type": "individual"}
OUR_FIELDS = ("to", "type", "phone_number_id", "reply_to", "context")
PHONE = re.compile(r"^\+?[1-9]\d{6,14}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def normalize_wa_id(to: Any) -> str:
    """'+57 300-111 2233' → '573001112233' (Meta's wa_id form), or 400 naming `to`."""
    raw = re.sub(r"[\s\-().]", "", str(to or ""))
    if not PHONE.match(raw):
        raise invalid("to", "Must be a phone number in international format, e.g. +573001112233.")
    return raw.lstrip("+")


def check_top_level(data: Any) -> None:
    """Nothing a user sends is silently dropped: an unknown top-level field, or an object for
    another type than `type`, is a 400 naming it."""
    if not isinstance(data, dict):
        return
    kind = data.get("type")
    for key, value in data.items():
        if key in META_FIELDS:
            if value != META_FIELDS[key]:
                raise invalid(key, f"Must be {META_FIELDS[key]!r} (Meta's only value here), or left out.")
        elif key in SEND_TYPES:
            if key != kind and kind in SEND_TYPES:
                raise invalid(key, f"Only the `{kind}` object goes with type {kind!r}: remove `{key}`.")
        elif key == "biz_opaque_callback_data":
            raise invalid(key, "Botopia sets this field itself, to match Meta's statuses to the message.")
        elif key not in OUR_FIELDS:
            raise invalid(
                key,
                "Unknown field. A send takes: to, type, the object named by type, context, "
                "phoneNumberId, messaging_product, recipient_type.",
            )


CONTEXT = Obj({"message_id": Str(max=255)}, required=("message_id",), what="`context`")


def reply_wamid(body: dict) -> str | None:
    """The wamid a reply quotes: Meta's `context.message_id`, or our `replyTo` alias."""
    context, alias = body.get("context"), body.get("reply_to")
    if context is not None:
        CONTEXT.check(context, "context")
        if alias and alias != context["message_id"]:
            raise invalid("reply_to", "Differs from context.message_id: give one of them.")
        return str(context["message_id"])
    return str(alias) if alias else None


def _text(value: Any) -> dict:
    Obj({"body": Str(max=4096), "preview_url": Bool()}, required=("body",), what="`text`").check(
        value, "text"
    )
    return {"body": value["body"], "preview_url": value.get("preview_url", False)}


def _contact_name(value: dict, path: str) -> None:
    parts = ("first_name", "last_name", "middle_name", "suffix", "prefix")
    if not any(value.get(p) for p in parts):
        raise invalid(path, f"Besides formatted_name, give at least one of {', '.join(parts)}.")


def _typed(what: str, **fields: Shape) -> Obj:
    return Obj({**fields, "type": Str(max=40)}, what=what)


CONTACT = Obj(
    {
        "addresses": List(
            _typed(
                "An address",
                street=Str(max=500),
                city=Str(max=200),
                state=Str(max=200),
                zip=Str(max=40),
                country=Str(max=200),
                country_code=Str(max=8),
            ),
        ),
        "birthday": Str(pattern=DATE, hint="YYYY-MM-DD."),
        "emails": List(_typed("An email", email=Str(max=320))),
        "name": Obj(
            {
                "formatted_name": Str(max=500),
                "first_name": Str(max=200),
                "last_name": Str(max=200),
                "middle_name": Str(max=200),
                "suffix": Str(max=50),
                "prefix": Str(max=50),
            },
            required=("formatted_name",),
            rules=(_contact_name,),
            what="`name`",
        ),
        "org": Obj(
            {"company": Str(max=200), "department": Str(max=200), "title": Str(max=200)}, what="`org`"
        ),
        "phones": List(_typed("A phone", phone=Str(max=40), wa_id=Str(max=32))),
        "urls": List(_typed("A URL", url=Str(max=2000))),
    },
    required=("name",),
    what="A contact",
)
CONTACTS = List(CONTACT, max=257)

MEDIA = {
    "image": Media(caption=True),
    "video": Media(caption=True),
    "document": Media(caption=True, filename=True),
    "audio": Media(),
    "sticker": Media(),
}

REACTION = Obj(
    {"message_id": Str(max=255), "emoji": Anything(types=(str,))}, required=("message_id",), what="`reaction`"
)


def _reaction(value: Any) -> dict:
    REACTION.check(value, "reaction")
    emoji = value.get("emoji", "")
    if len(emoji) > 10:
        raise invalid("reaction.emoji", "One emoji, or empty to remove the reaction.")
    return {"message_id": value["message_id"], "emoji": emoji}


def template_payload(name: str, language: str) -> dict:
    return {"name": name, "language": {"code": language}}


TEMPLATE_FIELDS = ("name", "language", "parameters", "components")
LANGUAGE = Obj({"code": Str(max=16), "policy": const("deterministic")}, required=("code",), what="`language`")


def template_content(
    number: WhatsAppPhoneNumber, value: Any, *, check_only: bool = False
) -> tuple[dict, WhatsAppTemplate]:
    """Our `parameters` shape, or Meta's own `components` checked against the mirror."""
    if not isinstance(value, dict) or not value.get("name"):
        raise invalid("template.name", "Required.")
    for key in value:
        if check_only and key in ("parameters", "components"):
            raise invalid(f"template.{key}", "A broadcast's parameters go with each recipient.")
        if key not in TEMPLATE_FIELDS:
            raise invalid(
                f"template.{key}", f"Unknown field. A template takes: {', '.join(TEMPLATE_FIELDS)}."
            )
    if value.get("parameters") is not None and value.get("components") is not None:
        raise invalid("template.components", "Give `parameters` (ours) or `components` (Meta's), not both.")
    language = value.get("language")
    if isinstance(language, dict):
        LANGUAGE.check(language, "template.language")
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
    if value.get("components") is not None:
        check_components(
            components=template.components,
            parameter_format=template.parameter_format,
            given=value["components"],
            path="template.components",
        )
        if value["components"]:
            payload["components"] = value["components"]
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
        return check_interactive(value), None
    if type == "reaction":
        return _reaction(value), None
    if type == "location":
        LOCATION.check(value, "location")
        return value, None
    if type == "contacts":
        CONTACTS.check(value, "contacts")
        return {"contacts": value}, None
    MEDIA[type].check(value, type)
    return value, None


def send_payload(message: Message) -> dict:
    content = dict(message.content)
    context = content.pop("_context", None)
    payload = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": message.contact_wa_id,
        "type": message.type,
        message.type: content[message.type] if message.type in LIST_TYPES else content,
        # Lets a status webhook find this message even when the send's answer was lost.
        "biz_opaque_callback_data": str(message.pk),
    }
    if context:
        payload["context"] = context
    return payload

"""WhatsApp Cloud API: the demo WABA, its numbers and business profiles, templates, sends."""

import re

from django.db import IntegrityError, transaction

from sandbox import demo, events, insights
from sandbox.context import Ctx
from sandbox.meta import MetaError, field_names, new_id, paged, pick
from sandbox.models import BusinessProfile, Message, Subscription, Template
from whatsapp.message_templates import rules as template_rules

SEND_TYPES = (
    "text", "template", "image", "video", "audio", "document", "sticker", "interactive", "reaction",
    "location", "contacts",
)  # fmt: skip
TEXT_MAX = 4096
# Meta's interactive kinds (Cloud API messages reference) and the action each must carry.
INTERACTIVE_ACTIONS = {
    "button": "buttons", "list": "sections", "cta_url": "parameters", "flow": "parameters",
    "location_request_message": "name", "product": "product_retailer_id", "product_list": "sections",
    "catalog_message": "name", "order_details": "parameters", "order_status": "parameters",
    "carousel": "cards", "voice_call": "parameters", "address_message": "parameters",
}  # fmt: skip


def ensure_seeded() -> None:
    """The demo WABA starts with a few approved templates (created on first use)."""
    if Template.objects.filter(waba_id=demo.WABA_ID).exists():
        return
    for seed in demo.SEED_TEMPLATES:
        Template.objects.get_or_create(
            waba_id=demo.WABA_ID,
            name=seed["name"],
            language=seed["language"],
            defaults={
                "template_id": new_id(),
                "category": seed["category"],
                "components": seed["components"],
                "status": "APPROVED",
            },
        )


# --- account and numbers -----------------------------------------------------------------


def waba_get(ctx: Ctx, node: str) -> dict:
    body = pick(demo.WABA, ctx.get("fields"), default=("name",))
    # Analytics fields: deterministic daily series over the sandbox's history.
    body.update(insights.waba_fields(str(ctx.get("fields") or "")))
    return body


def business_wabas(ctx: Ctx, node: str) -> dict:
    return paged(
        [pick(demo.WABA, ctx.get("fields"))],
        limit=ctx.limit(),
        after=ctx.get("after"),
        url=ctx.url_without_cursor(),
    )


def phone_numbers(ctx: Ctx, node: str) -> dict:
    items = [pick(number, ctx.get("fields"), default=tuple(number)) for number in demo.PHONE_NUMBERS.values()]
    return paged(items, limit=ctx.limit(), after=ctx.get("after"), url=ctx.url_without_cursor())


def phone_get(ctx: Ctx, node: str) -> dict:
    return pick(
        demo.PHONE_NUMBERS[node], ctx.get("fields"), default=("display_phone_number", "verified_name")
    )


def profile_get(ctx: Ctx, node: str) -> dict:
    stored = BusinessProfile.objects.filter(phone_number_id=node).first()
    profile = {**demo.PROFILE, **(stored.data if stored else {})}
    wanted = field_names(str(ctx.get("fields") or "")) or list(profile)
    return {"data": [{name: profile[name] for name in ["messaging_product", *wanted] if name in profile}]}


def profile_update(ctx: Ctx, node: str) -> dict:
    if ctx.get("messaging_product") != "whatsapp":
        raise MetaError("(#100) The parameter messaging_product is required.", code=100)
    allowed = set(demo.PROFILE) - {"messaging_product", "profile_picture_url"}
    changes = {k: v for k, v in ctx.data.items() if k in allowed}
    if isinstance(changes.get("about"), str) and not 1 <= len(changes["about"]) <= 139:
        raise MetaError("(#100) Param about must be 1 to 139 characters long.", code=100)
    stored, _ = BusinessProfile.objects.get_or_create(phone_number_id=node)
    stored.data = {**stored.data, **changes}
    stored.save()
    return {"success": True}


def subscribed_apps_get(ctx: Ctx, node: str) -> dict:
    if not Subscription.objects.filter(target=node).exists():
        return {"data": []}
    return {"data": [{"whatsapp_business_api_data": {"id": "100000000000001", "name": "Botopia (sandbox)"}}]}


def subscribed_apps_add(ctx: Ctx, node: str) -> dict:
    fields = [f for f in str(ctx.get("subscribed_fields") or "").split(",") if f]
    Subscription.objects.update_or_create(target=node, defaults={"fields": fields})
    return {"success": True}


def subscribed_apps_remove(ctx: Ctx, node: str) -> dict:
    Subscription.objects.filter(target=node).delete()
    return {"success": True}


# --- templates ----------------------------------------------------------------------------


def templates_list(ctx: Ctx, node: str) -> dict:
    ensure_seeded()
    rows = Template.objects.filter(waba_id=node).order_by("-created_at", "-id")
    if ctx.get("name"):
        rows = rows.filter(name=ctx.get("name"))
    if ctx.get("status"):
        rows = rows.filter(status=str(ctx.get("status")).upper())
    default = ("name", "language", "status", "category", "components")
    items = [pick(row.as_meta(), ctx.get("fields"), default=default) for row in rows]
    return paged(items, limit=ctx.limit(), after=ctx.get("after"), url=ctx.url_without_cursor())


def _invalid_template(errors: dict[str, list[str]]) -> MetaError:
    field, messages = next(iter(errors.items()))
    return MetaError(
        "Invalid parameter",
        code=100,
        subcode=2388043,
        user_title="Message template validation failed",
        user_msg=f"{field}: {messages[0]}",
    )


def template_create(ctx: Ctx, node: str) -> dict:
    """Created PENDING; review_template approves or rejects it a few seconds later."""
    ensure_seeded()
    values = {
        "name": ctx.get("name"),
        "language": ctx.get("language"),
        "category": ctx.get("category"),
        "components": ctx.get("components"),
        "parameter_format": ctx.get("parameter_format") or "POSITIONAL",
    }
    # Meta's rules as the product knows them (whatsapp/message_templates/rules.py).
    if errors := template_rules.template_errors(**values):
        raise _invalid_template(errors)
    try:
        with transaction.atomic():
            template = Template.objects.create(waba_id=node, template_id=new_id(), **values)
    except IntegrityError:
        raise MetaError(
            "Invalid parameter",
            code=100,
            subcode=2388024,
            user_title="Message template already exists",
            user_msg=f"There is already {values['language']} content for this template ({values['name']}).",
        ) from None
    _review_later(template)
    return {"id": template.template_id, "status": template.status, "category": template.category}


def _review_later(template: Template) -> None:
    from django.conf import settings

    from sandbox.actors import review_template

    template_id = template.template_id
    transaction.on_commit(
        lambda: review_template.send_with_options(args=(template_id,), delay=settings.SANDBOX_REVIEW_DELAY_MS)
    )


def template_get(ctx: Ctx, node: str) -> dict:
    return pick(Template.objects.get(template_id=node).as_meta(), ctx.get("fields"), ("name", "status"))


def template_edit(ctx: Ctx, node: str) -> dict:
    """POST /{template-id}: new components and/or category; the template goes back to review."""
    template = Template.objects.get(template_id=node)
    if template.status not in ("APPROVED", "REJECTED", "PAUSED"):
        raise MetaError(
            "Invalid parameter",
            code=100,
            subcode=2388019,  # Meta: only approved, rejected or paused templates can be edited
            user_title="Message template can't be edited",
            user_msg=f"A {template.status} template cannot be edited.",
        )
    components = ctx.get("components", template.components)
    category = ctx.get("category", template.category)
    errors = template_rules.template_errors(
        name=template.name,
        language=template.language,
        category=category,
        components=components,
        parameter_format=template.parameter_format,
    )
    if errors:
        raise _invalid_template(errors)
    template.components, template.category, template.status = components, category, "PENDING"
    template.rejected_reason = "NONE"
    template.save()
    _review_later(template)
    return {"success": True}


def template_delete(ctx: Ctx, node: str) -> dict:
    name = ctx.get("name")
    if not name:
        raise MetaError("(#100) The parameter name is required.", code=100)
    rows = Template.objects.filter(waba_id=node, name=name)
    if ctx.get("hsm_id"):
        rows = rows.filter(template_id=str(ctx.get("hsm_id")))
    if not rows.delete()[0]:
        raise MetaError(
            "Invalid parameter",
            code=100,
            subcode=2593002,
            user_title="Message template not found",
            user_msg=f"No message template named {name}.",
        )
    return {"success": True}


# --- messages -----------------------------------------------------------------------------


def _placeholders(text: str) -> int:
    return len(set(template_rules.PLACEHOLDER_RE.findall(text or "")))


def _check_template(payload: dict, waba_id: str) -> Template:
    value = payload.get("template")
    if not isinstance(value, dict) or not value.get("name"):
        raise MetaError("(#131008) Required parameter is missing", code=131008, user_msg="template.name")
    language = (value.get("language") or {}).get("code") if isinstance(value.get("language"), dict) else None
    template = Template.objects.filter(
        waba_id=waba_id, name=value["name"], language=language or "", status="APPROVED"
    ).first()
    if template is None:
        raise MetaError(
            "(#132001) Template name does not exist in the translation",
            code=132001,
            status=404,
            user_msg=f"template name ({value['name']}) does not exist in {language}",
        )
    # Meta counts the body's parameters against the body's variables.
    expected = sum(_placeholders(c.get("text", "")) for c in template.components if c.get("type") == "BODY")
    given = sum(
        len(c.get("parameters") or [])
        for c in value.get("components") or []
        if isinstance(c, dict) and str(c.get("type", "")).lower() == "body"
    )
    if expected != given:
        raise MetaError(
            "(#132000) Number of parameters does not match the expected number of params",
            code=132000,
            user_msg=f"body: {given} parameters given, the template has {expected}.",
        )
    return template


def _check_kind(kind: str, value: dict | list) -> None:
    """The few checks Meta makes on each new type before it accepts a send (its answer to a
    body it would refuse): the interactive kind and its action, a location's coordinates, a
    contact's formatted name, a media id or link."""
    if kind == "interactive" and isinstance(value, dict):
        action_key = INTERACTIVE_ACTIONS.get(str(value.get("type")))
        if action_key is None:
            raise MetaError(
                f"(#100) Param interactive['type'] must be one of {{{', '.join(INTERACTIVE_ACTIONS)}}}",
                code=100,
            )
        if not isinstance(value.get("action"), dict) or action_key not in value["action"]:
            raise MetaError(
                f"(#100) The parameter interactive['action']['{action_key}'] is required.", code=100
            )
    elif kind == "location" and isinstance(value, dict):
        if value.get("latitude") is None or value.get("longitude") is None:
            raise MetaError("(#100) The parameter location['latitude'] is required.", code=100)
    elif kind == "contacts":
        for contact in value:
            if not isinstance(contact, dict) or not (contact.get("name") or {}).get("formatted_name"):
                raise MetaError(
                    "(#100) The parameter contacts[0]['name']['formatted_name'] is required.", code=100
                )
    elif kind in ("image", "video", "audio", "document", "sticker") and not (
        isinstance(value, dict) and (value.get("id") or value.get("link"))
    ):
        raise MetaError(f"(#100) Param {kind} must contain one of id or link.", code=100)


def messages_send(ctx: Ctx, node: str) -> dict:
    payload = ctx.data
    if payload.get("messaging_product") != "whatsapp":
        raise MetaError("(#100) The parameter messaging_product is required.", code=100)
    if payload.get("status") == "read":
        if not payload.get("message_id"):
            raise MetaError("(#100) The parameter message_id is required.", code=100)
        indicator = payload.get("typing_indicator")
        if indicator is not None and (not isinstance(indicator, dict) or indicator.get("type") != "text"):
            raise MetaError("(#100) Param typing_indicator['type'] must be one of {text}.", code=100)
        return {"success": True}
    to = re.sub(r"[\s()+-]", "", str(payload.get("to") or ""))
    if not to.isdigit() or not 7 <= len(to) <= 15:
        raise MetaError(
            "(#131009) Parameter value is not valid", code=131009, user_msg="to: not a phone number"
        )
    kind = payload.get("type") or "text"
    if kind not in SEND_TYPES:
        raise MetaError(f"(#100) Param type must be one of {{{', '.join(SEND_TYPES)}}}", code=100)
    if not isinstance(payload.get(kind), list if kind == "contacts" else dict) or not payload[kind]:
        raise MetaError(
            "(#131008) Required parameter is missing",
            code=131008,
            user_msg=f"Parameter '{kind}' is required.",
        )
    _check_kind(kind, payload[kind])
    context = payload.get("context")
    if context is not None and not (isinstance(context, dict) and context.get("message_id")):
        raise MetaError("(#100) The parameter context['message_id'] is required.", code=100)
    category = "service"
    if kind == "text":
        body = payload["text"].get("body")
        if not isinstance(body, str) or not body:
            raise MetaError("(#100) The parameter text['body'] is required.", code=100)
        if len(body) > TEXT_MAX:
            raise MetaError(
                f"(#100) Param text['body'] must be at most {TEXT_MAX} characters long.", code=100
            )
    elif kind == "template":
        category = _check_template(payload, demo.WABA_ID).category.lower()
    message = Message.objects.create(
        wamid=events.new_wamid(), phone_number_id=node, to=to, type=kind, payload=payload
    )
    events.schedule(events.message_lifecycle(message, category=category))
    sent = {"id": message.wamid}
    if kind == "template":
        sent["message_status"] = "accepted"
    return {
        "messaging_product": "whatsapp",
        "contacts": [{"input": str(payload.get("to")), "wa_id": to}],
        "messages": [sent],
    }

"""Simulated Meta traffic: the webhook bodies Meta sends (shaped like tests/fixtures/meta/),
signed with the app secret and delivered to our receiver by an actor, never inside a request."""

import base64
import hashlib
import hmac
import json
import secrets
import time

import requests
from django.conf import settings
from django.db import transaction

from sandbox import demo
from sandbox.media import IMAGE, VOICE, Asset
from sandbox.models import Message, Subscription, Template
from webhooks.services import WEBHOOK_PATH

WABA_OBJECT = "whatsapp_business_account"
# Meta's pricing and conversation blocks by template category (lowercase in webhooks).
_SERVICE = "service"


def callback_url(object_type: str) -> str:
    """Where Meta would deliver: the callback the app subscribed for this object; before any
    subscription, this service's own receiver (so a fresh demo works without configuring)."""
    sub = Subscription.objects.filter(target=f"app:{object_type}").exclude(callback_url="").first()
    return sub.callback_url if sub else settings.PUBLIC_BASE_URL + WEBHOOK_PATH


def subscribed(payload: dict) -> bool:
    """Whether Meta would send this page or Instagram event: only while the page has the app
    subscribed (POST /{page-id}/subscribed_apps), for Facebook only the fields the page chose,
    and, once the app subscribed the object (POST /{app-id}/subscriptions), only its fields.
    WhatsApp events always go (a fresh demo works before anything is subscribed)."""
    object_type = payload.get("object")
    if object_type not in ("page", "instagram"):
        return True
    page = Subscription.objects.filter(target=demo.PAGE_ID).first()
    if page is None:
        return False
    entry = payload["entry"][0]
    if "changes" in entry:
        field = entry["changes"][0]["field"]
    else:
        item = entry["messaging"][0]
        field = (
            "message_deliveries" if "delivery" in item else "message_reads" if "read" in item else "messages"
        )
    if object_type == "page" and field not in page.fields:
        return False
    app = Subscription.objects.filter(target=f"app:{object_type}").first()
    return app is None or field in app.fields


def sign(body: bytes) -> str:
    return "sha256=" + hmac.new(settings.META_APP_SECRET.encode(), body, hashlib.sha256).hexdigest()


def encode(payload: dict) -> bytes:
    # Meta escapes non-ASCII as \uXXXX in the bytes it signs.
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode()


def post(payload: dict, *, url: str | None = None, timeout: float = 10) -> requests.Response:
    """One signed delivery, as Meta makes it."""
    body = encode(payload)
    return requests.post(
        url or callback_url(payload["object"]),
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": sign(body),
            "User-Agent": "facebookexternalua (Botopia sandbox)",
        },
        timeout=timeout,
    )


def _waba_change(field: str, value: dict, at: float) -> dict:
    return {
        "object": WABA_OBJECT,
        "entry": [{"id": demo.WABA_ID, "time": int(at), "changes": [{"value": value, "field": field}]}],
    }


def _metadata(phone_number_id: str) -> dict:
    display = demo.PHONE_NUMBERS[phone_number_id]["display_phone_number"]
    return {
        "display_phone_number": "".join(c for c in display if c.isdigit()),
        "phone_number_id": phone_number_id,
    }


def status_payload(
    *,
    phone_number_id: str,
    wamid: str,
    to: str,
    status: str,
    at: float,
    category: str = _SERVICE,
    callback_data: str = "",
) -> dict:
    item: dict = {"id": wamid, "status": status, "timestamp": str(int(at)), "recipient_id": to}
    if callback_data:
        item["biz_opaque_callback_data"] = callback_data
    if status == "failed":
        item["errors"] = [
            {
                "code": 131026,
                "title": "Message undeliverable",
                "message": "Message undeliverable",
                "error_data": {"details": "Message Undeliverable."},
                "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
            }
        ]
    else:
        item["pricing"] = {"billable": True, "pricing_model": "PMP", "category": category, "type": "regular"}
        if status in ("sent", "delivered"):
            item["conversation"] = {
                "id": hashlib.md5(f"{phone_number_id}:{to}".encode()).hexdigest(),  # noqa: S324 (an id)
                "expiration_timestamp": str(int(at) + 86400),
                "origin": {"type": category},
            }
    value = {"messaging_product": "whatsapp", "metadata": _metadata(phone_number_id), "statuses": [item]}
    return _waba_change("messages", value, at)


def inbound_payload(
    *,
    phone_number_id: str,
    wamid: str,
    sender: str,
    name: str,
    text: str,
    at: float,
    context: str = "",
    media: Asset | None = None,
) -> dict:
    """A customer's message: `text`, or with `media` an image or voice note (captioned
    `text` where Meta allows a caption)."""
    message: dict = {"from": sender, "id": wamid, "timestamp": str(int(at))}
    if media is None:
        message.update(type="text", text={"body": text})
    else:
        body = media.webhook_object()
        if media.kind == "image":
            body["caption"] = text
        message.update({"type": media.kind, media.kind: body})
    if context:
        message["context"] = {"from": _metadata(phone_number_id)["display_phone_number"], "id": context}
    value = {
        "messaging_product": "whatsapp",
        "metadata": _metadata(phone_number_id),
        "contacts": [{"profile": {"name": name}, "wa_id": sender}],
        "messages": [message],
    }
    return _waba_change("messages", value, at)


def template_status_payload(template: Template, at: float) -> dict:
    value = {
        "event": template.status,
        "message_template_id": int(template.template_id),
        "message_template_name": template.name,
        "message_template_language": template.language,
        "reason": template.rejected_reason,
        "message_template_category": template.category,
    }
    return _waba_change("message_template_status_update", value, at)


def new_wamid() -> str:
    return "wamid." + base64.b64encode(b"\x15\x02\x00\x11\x18\x12" + secrets.token_bytes(18)).decode()


def message_lifecycle(message: Message, *, category: str = _SERVICE) -> list[tuple[int, dict]]:
    """What Meta sends after accepting a message: (delay in ms, webhook body) for each of
    sent → delivered → read (or sent → failed), and the recipient's reply when they reply."""
    step = settings.SANDBOX_STATUS_DELAY_MS
    now = time.time()
    common = {
        "phone_number_id": message.phone_number_id,
        "wamid": message.wamid,
        "to": message.to,
        "category": category,
        "callback_data": str(message.payload.get("biz_opaque_callback_data") or ""),
    }
    failing = message.to.endswith(demo.FAILING_SUFFIX)
    names = ["sent", "failed"] if failing else ["sent", "delivered", "read"]
    events = [
        (step * (i + 1), status_payload(**common, status=name, at=now + step * (i + 1) / 1000))
        for i, name in enumerate(names)
    ]
    if names[-1] == "read" and message.to.endswith(demo.REPLYING_SUFFIX):
        delay = step * (len(names) + 1)
        events.append(
            (
                delay,
                inbound_payload(
                    phone_number_id=message.phone_number_id,
                    wamid=new_wamid(),
                    sender=message.to,
                    name="Sandbox Customer",
                    text=demo.REPLY_TEXT,
                    at=now + delay / 1000,
                    context=message.wamid,
                    media=reply_media(),
                ),
            )
        )
    return events


def reply_media() -> Asset | None:
    """A replying customer sometimes answers with a photo or a voice note (a third of the
    time each), whose media the sandbox serves offline."""
    return (None, IMAGE, VOICE)[secrets.randbelow(3)]


def schedule(events: list[tuple[int, dict]]) -> None:
    """Hand each delivery to the actor, delayed, once the sandbox's own rows are committed."""
    from sandbox.actors import deliver_webhook

    def send() -> None:
        for delay, payload in events:
            deliver_webhook.send_with_options(args=(payload,), delay=delay)

    transaction.on_commit(send)

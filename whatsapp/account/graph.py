"""WhatsApp Business Management calls (account, numbers, profile, templates), built on the
shared transport. Message sends live in whatsapp/graph_messages.py."""

from collections.abc import Iterator

from botopia_meta.graph import GraphClient

WABA_FIELDS = "id,name,currency,timezone_id,message_template_namespace,account_review_status"
PHONE_FIELDS = (
    "id,display_phone_number,verified_name,quality_rating,messaging_limit_tier,throughput,"
    "code_verification_status,name_status,platform_type,status"
)
PROFILE_FIELDS = "about,address,description,email,profile_picture_url,websites,vertical"
TEMPLATE_FIELDS = "id,name,language,status,category,components,parameter_format,quality_score,rejected_reason"
TEMPLATE_PAGE_SIZE = 100


def waba_get(client: GraphClient, waba_id: str) -> dict:
    return client.get(waba_id, {"fields": WABA_FIELDS}).data


def phone_numbers_list(client: GraphClient, waba_id: str) -> list[dict]:
    return list(client.iter_items(f"{waba_id}/phone_numbers", {"fields": PHONE_FIELDS}))


def business_profile_get(client: GraphClient, phone_number_id: str) -> dict:
    data = client.get(f"{phone_number_id}/whatsapp_business_profile", {"fields": PROFILE_FIELDS}).data
    items = data.get("data") or [{}]
    return items[0] if isinstance(items[0], dict) else {}


def business_profile_update(client: GraphClient, phone_number_id: str, fields: dict) -> None:
    client.post(
        f"{phone_number_id}/whatsapp_business_profile", json={"messaging_product": "whatsapp", **fields}
    )


def templates_iter(client: GraphClient, waba_id: str) -> Iterator[dict]:
    yield from client.iter_items(
        f"{waba_id}/message_templates", {"fields": TEMPLATE_FIELDS, "limit": TEMPLATE_PAGE_SIZE}
    )


def template_create(client: GraphClient, waba_id: str, payload: dict) -> dict:
    """→ {"id", "status", "category"}. Not retried after a timeout: a second POST could
    create nothing new but would answer 'already exists' and hide the first outcome."""
    return client.post(f"{waba_id}/message_templates", json=payload, idempotent=False).data


def template_edit(client: GraphClient, template_id: str, payload: dict) -> dict:
    # A retried edit would spend a second of Meta's limited edits on an approved template.
    return client.post(template_id, json=payload, idempotent=False).data


def template_delete(client: GraphClient, waba_id: str, name: str, hsm_id: str | None) -> dict:
    params = {"name": name}
    if hsm_id:
        params["hsm_id"] = hsm_id  # with the id, only this language goes; without, every one
    return client.delete(f"{waba_id}/message_templates", params).data

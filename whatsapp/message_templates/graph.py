"""WhatsApp Business Management calls for message templates, built on the shared transport."""

from collections.abc import Iterator

from botopia_meta.graph import GraphClient

TEMPLATE_FIELDS = "id,name,language,status,category,components,parameter_format,quality_score,rejected_reason"
TEMPLATE_PAGE_SIZE = 100


def templates_iter(client: GraphClient, waba_id: str) -> Iterator[dict]:
    yield from client.iter_items(
        f"{waba_id}/message_templates", {"fields": TEMPLATE_FIELDS, "limit": TEMPLATE_PAGE_SIZE}
    )


def template_create(client: GraphClient, waba_id: str, payload: dict) -> dict:
    """→ {"id", "status", "category"}. Not retried after a timeout: a second POST could
    create nothing new but would answer 'already exists' and hide the first outcome."""
    return client.post(f"{waba_id}/message_templates", json=payload, idempotent=False).json_object


def template_edit(client: GraphClient, template_id: str, payload: dict) -> dict:
    # A retried edit would spend a second of Meta's limited edits on an approved template.
    return client.post(template_id, json=payload, idempotent=False).json_object


def template_delete(client: GraphClient, waba_id: str, name: str, hsm_id: str | None) -> dict:
    params = {"name": name}
    if hsm_id:
        params["hsm_id"] = hsm_id  # with the id, only this language goes; without, every one
    return client.delete(f"{waba_id}/message_templates", params).json_object

"""Cloud API message sends, built on the shared transport."""

from collections.abc import Callable

from botopia_meta.graph import GraphClient


def message_send(
    client: GraphClient, phone_number_id: str, payload: dict, *, before_send: Callable[[], None] | None = None
) -> dict:
    """→ {"messaging_product", "contacts": [{"input", "wa_id"}], "messages": [{"id": wamid}]}.

    Not retried in-process: the actor retries (a 5xx) or re-paces (throttling), and never
    repeats a request whose outcome is unknown (it would send the message twice).
    `before_send`: the pacer's gate, run right before the request leaves.
    """
    return client.post(
        f"{phone_number_id}/messages", json=payload, idempotent=False, retries=0, before_send=before_send
    ).json_object


def message_mark_read(
    client: GraphClient, phone_number_id: str, wamid: str, *, typing_indicator: dict | None = None
) -> dict:
    """Blue ticks for the customer; with `typing_indicator` ({"type": "text"}) Meta also shows
    "typing…" until we answer (or about 25 seconds)."""
    body: dict = {"messaging_product": "whatsapp", "status": "read", "message_id": wamid}
    if typing_indicator is not None:
        body["typing_indicator"] = typing_indicator
    return client.post(f"{phone_number_id}/messages", json=body).json_object

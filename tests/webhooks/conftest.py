import hashlib
import hmac
import json

import pytest
from django.test import Client

from botopia_meta import registry

URL = "/api/meta/webhook/events"


def sign(body: bytes, secret: str = "test-app-secret") -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def encode(payload: dict) -> bytes:
    """As Meta sends it: non-ASCII escaped as \\uXXXX."""
    return json.dumps(payload).encode()


def deliver(client: Client, body: bytes | dict, *, signature: str | None = None, **extra):
    raw = encode(body) if isinstance(body, dict) else body
    headers = {"HTTP_X_HUB_SIGNATURE_256": sign(raw) if signature is None else signature}
    if signature == "":
        headers = {}
    return client.generic("POST", URL, raw, content_type="application/json", **headers, **extra)


class Recorder:
    """Test handlers registered for (object, field): they record every item they get."""

    def __init__(self):
        self.items: list[registry.WebhookItem] = []

    def __call__(self, item: registry.WebhookItem) -> None:
        self.items.append(item)

    def routes(self) -> list[tuple[str, str, str]]:
        return [(item.object, item.field, item.entry_id) for item in self.items]


ROUTES = [
    ("whatsapp_business_account", "messages"),
    ("whatsapp_business_account", "message_template_status_update"),
    ("whatsapp_business_account", "message_template_quality_update"),
    ("whatsapp_business_account", "phone_number_quality_update"),
    ("page", "feed"),
    ("page", "messages"),
    ("instagram", "comments"),
    ("instagram", "messages"),
]


@pytest.fixture
def handlers(monkeypatch):
    """An empty handler registry (platform handlers left out): tests register their own."""
    table: dict = {}
    monkeypatch.setattr(registry, "WEBHOOK_HANDLERS", table)
    return table


@pytest.fixture
def recorder(handlers) -> Recorder:
    rec = Recorder()
    for route in ROUTES:
        handlers[route] = rec
    return rec

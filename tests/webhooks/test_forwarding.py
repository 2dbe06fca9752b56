"""(ext) Notifications forwarded to a URL configured per account, signed, retried, SSRF-safe."""

import hashlib
import hmac
import ipaddress
import json
import socket

import pytest
from django.utils import timezone

from accounts.notifications import notify
from botopia_meta import safe_urls
from tests.conftest import graph_url
from tests.factories import make_account
from whatsapp.models import WhatsAppBusinessAccount

CONFIGURE = "/api/meta/webhook/configure"
HOOK = "https://hooks.example.com/botopia"
PUBLIC = {"hooks.example.com": "93.184.215.14", "evil.example.com": "169.254.169.254"}
# We connect to the address we checked (TLS still verified as hooks.example.com): DNS that
# changes after the check cannot send the forward into our network.
PINNED = "https://93.184.215.14/botopia"


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch):
    def resolve(host, port, *args, **kwargs):
        try:
            address = PUBLIC.get(host) or str(ipaddress.ip_address(host))
        except ValueError:
            raise socket.gaierror("no such host") from None
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(safe_urls, "_resolve", resolve)


def configure(client, meta, **extra):
    meta.post(graph_url("111111111111111/subscriptions"), json={"success": True})
    meta.post(graph_url("310000000000001/subscribed_apps"), json={"success": True})
    body = {"verifyToken": "alice-verify-token-123", "fields": {"messages": True}, **extra}
    return client.post(CONFIGURE, body, format="json")


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/x",
        "https://127.0.0.1/x",
        "https://10.1.2.3/x",
        "https://[::1]/x",
        "https://evil.example.com/x",
        "https://nowhere.invalid/x",
        "https://user:pw@hooks.example.com/x",
        "https://hooks.example.com:99999/x",
    ],
)
def test_it_refuses_forward_urls_into_private_networks(alice_client, alice, meta, db, url):
    WhatsAppBusinessAccount.objects.create(account=make_account(alice), waba_id="310000000000001")
    response = configure(alice_client, meta, forwardUrl=url)
    assert response.status_code == 400
    assert "forwardUrl" in response.json()["error"]["details"]


def test_it_forwards_each_new_notification_signed(alice_client, alice, meta, worker):
    account = make_account(alice)
    WhatsAppBusinessAccount.objects.create(account=account, waba_id="310000000000001")
    data = configure(alice_client, meta, forwardUrl=HOOK).json()["data"]
    secret = data["forwardSecret"]
    assert len(secret) >= 32 and data["forwardUrl"] == HOOK
    shown = alice_client.get("/api/meta/webhook").json()["data"]
    assert shown["forwardSecretPreview"] == f"{secret[:4]}…{secret[-3:]}"
    assert secret not in json.dumps(shown)
    # Configuring again keeps the secret and does not show it again.
    assert configure(alice_client, meta, forwardUrl=HOOK).json()["data"]["forwardSecret"] is None

    meta.post(PINNED, status=503)
    meta.post(PINNED, status=200)
    notification = notify(account=account, kind="template_approved", title="Template approved")
    worker.drain()

    calls = [c for c in meta.calls if c.request.url == PINNED]
    assert len(calls) == 2  # one 503, retried, then accepted
    request = calls[-1].request
    assert request.headers["Host"] == "hooks.example.com"
    assert request.headers["X-Botopia-Delivery"] == str(notification.pk)
    fields = dict(part.split("=", 1) for part in request.headers["X-Botopia-Signature"].split(","))
    assert abs(int(fields["t"]) - timezone.now().timestamp()) < 60
    expected = hmac.new(
        secret.encode(), f"{fields['t']}.".encode() + request.body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(fields["v1"], expected)
    assert json.loads(request.body)["title"] == "Template approved"


def test_it_forwards_nothing_without_a_url_and_stops_on_a_refusal(alice_client, alice, bob, meta, worker):
    account = make_account(alice)
    WhatsAppBusinessAccount.objects.create(account=account, waba_id="310000000000001")
    notify(account=make_account(bob), kind="x", title="Bob's")  # bob has no forward URL
    configure(alice_client, meta, forwardUrl=HOOK)
    meta.post(PINNED, status=410)
    notify(account=account, kind="x", title="Alice's")
    worker.drain()
    calls = [c for c in meta.calls if c.request.url == PINNED]
    assert len(calls) == 1
    assert json.loads(calls[0].request.body)["title"] == "Alice's"

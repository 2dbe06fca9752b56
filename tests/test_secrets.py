"""Secrets never leave: a full flow (OAuth connect through the API, discovery with page tokens,
a page connected, webhook configuration with a verify token, Meta's handshake, a signed
inbound delivery, a send, admin pages, an exception report from a failing Graph call) runs
with every logger at DEBUG (urllib3 and requests included), and no access token, page token,
app secret, verify token or encryption key may appear in a log record, an API response, an
admin page or Django's exception report."""

import hashlib
import hmac
import json
import logging
import sys
import time
from urllib.parse import quote

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views.debug import ExceptionReporter

from botopia_meta.graph import GraphError
from facebook import graph as facebook_graph
from facebook.models import FacebookPage
from tests.conftest import load_payload
from tests.fake_graph import USER_TOKEN, FakeGraph

ACCOUNT_VERIFY_TOKEN = "alice-own-verify-token-7f3a9c"


class Everything(logging.Handler):
    """Keeps every record, formatted with its traceback, and its raw attributes."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record)
        extras = {k: v for k, v in record.__dict__.items() if k not in ("msg", "args", "exc_info")}
        self.texts.append(f"{text}\n{record.msg!r} {record.args!r}\n{extras!r}")


@pytest.fixture
def all_logs():
    """Every logger at DEBUG, the root one included, for the length of the test."""
    handler = Everything()
    root = logging.getLogger()
    loggers = [root, *(logging.getLogger(name) for name in list(logging.root.manager.loggerDict))]
    loggers += [logging.getLogger(n) for n in ("urllib3", "urllib3.connectionpool", "requests", "django")]
    saved = [(logger, logger.level, logger.disabled) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)
    for logger, level, disabled in saved:
        logger.setLevel(level)
        logger.disabled = disabled


def secrets(fake: FakeGraph) -> dict[str, str]:
    found = {
        "user token": USER_TOKEN,
        "webhook verify token (app)": settings.META_WEBHOOK_VERIFY_TOKEN,
        "webhook verify token (account)": ACCOUNT_VERIFY_TOKEN,
    }
    for page_id, token in fake.page_tokens.items():
        found[f"page token {page_id}"] = token
    for i, secret in enumerate(settings.META_APP_SECRETS):
        found[f"app secret {i}"] = secret
    for i, key in enumerate(settings.FIELD_ENCRYPTION_KEYS):
        found[f"encryption key {i}"] = key
    return found


def assert_clean(where: str, texts: list[str], fake: FakeGraph) -> None:
    leaks = []
    for name, secret in secrets(fake).items():
        forms = {secret, quote(secret, safe=""), json.dumps(secret)[1:-1]}
        for i, text in enumerate(texts):
            if any(form in text for form in forms):
                at = next(text.find(form) for form in forms if form in text)
                leaks.append(f"{name} in {where} #{i}: ...{text[max(0, at - 150) : at + 60]}...")
    assert not leaks, "\n".join(leaks[:10])


def sign(body: bytes) -> str:
    return "sha256=" + hmac.new(settings.META_APP_SECRET.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture
def fake(meta):
    graph = FakeGraph(waba="2001", phones=["3001"], pages=["4001", "4002"], ig="5001")
    graph.install(meta)
    return graph


def test_no_secret_in_logs_responses_admin_or_exception_reports(all_logs, fake, alice_client, worker):
    bodies: list[str] = []

    def keep(response):
        content = b"".join(response.streaming_content) if response.streaming else response.content
        bodies.append(f"{response.status_code} {dict(response.headers)!r} {content.decode(errors='replace')}")
        return response

    # Connect by OAuth through the API; discovery runs in the worker (pages and their tokens).
    connected = keep(alice_client.post("/api/meta/auth/connect", {"code": "AQDcode123"}, format="json"))
    assert connected.status_code == 201, connected.content
    worker.drain()
    for url in (
        "/api/meta/auth/status",
        "/api/meta/facebook/pages",
        "/api/meta/instagram/accounts",
        "/api/meta/whatsapp/account",
        "/api/meta/whatsapp/phone-numbers",
    ):
        assert keep(alice_client.get(url)).status_code == 200, bodies[-1]
    assert any(c[1] == "me/accounts" for c in fake.calls), "discovery did not read the pages"
    assert keep(alice_client.post("/api/meta/facebook/pages/4001/connect")).status_code == 200, bodies[-1]
    assert keep(alice_client.post("/api/meta/instagram/accounts/5001/connect")).status_code == 200, bodies[-1]

    # Webhook configuration with the account's own verify token, and Meta's handshake.
    configured = keep(
        alice_client.post(
            "/api/meta/webhook/configure",
            {"verifyToken": ACCOUNT_VERIFY_TOKEN, "fields": {"messages": True}},
            format="json",
        )
    )
    assert configured.status_code == 200, configured.content
    assert keep(alice_client.get("/api/meta/webhook")).status_code == 200
    anon = Client()
    for token in (ACCOUNT_VERIFY_TOKEN, settings.META_WEBHOOK_VERIFY_TOKEN, "wrong-token"):
        keep(
            anon.get(
                "/api/meta/webhook/events",
                {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1158201444"},
            )
        )

    # A delivery signed with the app secret (and one with a bad signature), then a reply.
    payload = load_payload("messages__text")
    for entry in payload["entry"]:
        entry["id"] = "2001"
        for change in entry["changes"]:
            change["value"]["metadata"]["phone_number_id"] = "3001"
            for message in change["value"]["messages"]:
                message["timestamp"] = str(int(time.time()))  # the customer just wrote
    raw = json.dumps(payload).encode()
    for signature in (sign(raw), "sha256=" + "0" * 64):
        keep(
            anon.generic(
                "POST",
                "/api/meta/webhook/events",
                raw,
                content_type="application/json",
                HTTP_X_HUB_SIGNATURE_256=signature,
            )
        )
    worker.drain()
    customer = payload["entry"][0]["changes"][0]["value"]["messages"][0]["from"]
    sent = keep(
        alice_client.post(
            "/api/meta/whatsapp/messages",
            {"to": customer, "type": "text", "text": {"body": "¡Hola!"}},
            format="json",
        )
    )
    assert sent.status_code == 202, sent.content
    worker.drain()
    assert any(c[1] == "3001/messages" for c in fake.calls), "the message was not sent"
    assert keep(alice_client.get("/api/meta/whatsapp/messages")).status_code == 200
    keep(
        alice_client.post(
            "/api/meta/auth/refresh-token",
            {"accountId": connected.json()["data"]["accountId"]},
            format="json",
        )
    )

    # Every admin changelist and change page.
    staff = get_user_model().objects.create_superuser("root", "root@example.com", "root-password-123")
    admin_client = Client()
    admin_client.force_login(staff)
    pages: list[str] = []
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        changelist = admin_client.get(reverse("admin:{}_{}_changelist".format(*info)))
        assert changelist.status_code == 200, (info, changelist.status_code)
        pages.append(changelist.content.decode())
        for obj in model_admin.get_queryset(changelist.wsgi_request)[:3]:
            change = admin_client.get(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
            assert change.status_code == 200, (info, change.status_code)
            pages.append(change.content.decode())
    assert len(pages) > len(admin.site._registry), "no change page was rendered"

    # Django's exception report for a request during which a Graph call fails.
    fake.fail_next = True
    request = RequestFactory().post(
        "/api/meta/facebook/pages/4001/connect", HTTP_AUTHORIZATION="Token not-a-secret-of-meta"
    )
    page = FacebookPage.objects.get(page_id="4001")
    try:
        facebook_graph.subscribe(page)
    except GraphError:
        reporter = ExceptionReporter(request, *sys.exc_info())
        reports = [reporter.get_traceback_text(), reporter.get_traceback_html()]
    else:
        pytest.fail("the Graph call did not fail")
    assert "subscribed_apps" in reports[0]

    assert_clean("API response", bodies, fake)
    assert_clean("admin page", pages, fake)
    assert_clean("exception report", reports, fake)
    assert_clean("log record", all_logs.texts, fake)
    assert len(all_logs.texts) > 20, "log capture saw too little to prove anything"


def test_the_leak_detector_sees_each_form_of_a_secret(meta):
    fake = FakeGraph()
    for text in (
        f"GET /me?access_token={USER_TOKEN}",
        quote(settings.META_APP_SECRET, safe=""),
        "x" + settings.FIELD_ENCRYPTION_KEYS[0],
    ):
        with pytest.raises(AssertionError):
            assert_clean("a sample", [text], fake)
    assert_clean("a sample", ["EAAG...6789 (a preview)"], fake)

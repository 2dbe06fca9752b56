"""GET /api/meta/webhook and POST /api/meta/webhook/configure, against Meta faked by responses."""

from urllib.parse import parse_qs
from uuid import uuid4

import pytest
from django.test import Client
from responses import matchers

from facebook.models import FacebookPage
from tests.conftest import graph_url, meta_error
from tests.factories import make_account
from tests.webhooks.conftest import URL
from webhooks.models import WebhookConfig
from whatsapp.models import WhatsAppBusinessAccount

pytestmark = pytest.mark.django_db

CONFIGURE = "/api/meta/webhook/configure"
BODY = {
    "verifyToken": "alice-verify-token-123",
    "fields": {"messages": True, "message_template_status_update": True, "feed": True, "mentions": False},
}


@pytest.fixture
def alice_assets(alice):
    account = make_account(alice)
    waba = WhatsAppBusinessAccount.objects.create(account=account, waba_id="310000000000001")
    page = FacebookPage.objects.create(
        account=account, page_id="330000000000001", access_token="EAAG-page-token-abcdef", status="connected"
    )
    FacebookPage.objects.create(account=account, page_id="330000000000002", status="available")
    return account, waba, page


def fake_meta_subscriptions(meta, *, refuse_page: bool = False) -> None:
    meta.post(graph_url("111111111111111/subscriptions"), json={"success": True})
    meta.post(graph_url("310000000000001/subscribed_apps"), json={"success": True})
    if refuse_page:
        meta.post(
            graph_url("330000000000001/subscribed_apps"),
            json=meta_error(200, "(#200) Requires pages_manage_metadata permission"),
            status=403,
        )
    else:
        meta.post(
            graph_url("330000000000001/subscribed_apps"),
            json={"success": True},
            # The page's subscription is shared by every tenant on it: always every field we
            # handle, never just this tenant's choice.
            match=[
                matchers.query_param_matcher(
                    {
                        "subscribed_fields": "feed,mention,message_deliveries,message_reads,"
                        "messages,messaging_postbacks"
                    },
                    strict_match=False,
                )
            ],
        )


def test_it_configures_and_subscribes_every_target(alice_client, alice_assets, meta, settings):
    settings.PUBLIC_BASE_URL = "https://botopia.example"
    _, waba, _ = alice_assets
    fake_meta_subscriptions(meta)
    response = alice_client.post(CONFIGURE, BODY, format="json")
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["status"] == "active"
    assert data["fields"] == BODY["fields"]
    assert data["results"] == [
        {"target": "app:whatsapp_business_account", "ok": True},
        {"target": "app:page", "ok": True},
        {"target": "waba:310000000000001", "ok": True},
        {"target": "page:330000000000001", "ok": True},
    ]

    app_calls = [c for c in meta.calls if "/subscriptions" in c.request.url]
    sent = [parse_qs(c.request.body) for c in app_calls]
    assert [(s["object"], s["fields"]) for s in sent] == [
        (["whatsapp_business_account"], ["message_template_status_update,messages"]),
        (["page"], ["feed,messages"]),
    ]
    assert all(s["callback_url"] == ["https://botopia.example/api/meta/webhook/events"] for s in sent)
    assert all(s["verify_token"] == ["alice-verify-token-123"] for s in sent)
    assert all(s["access_token"] == ["111111111111111|test-app-secret"] for s in sent)
    page_call = next(c for c in meta.calls if "330000000000001/subscribed_apps" in c.request.url)
    assert "access_token=EAAG-page-token-abcdef" in page_call.request.url + (page_call.request.body or "")
    waba.refresh_from_db()
    assert waba.subscribed is True

    config = WebhookConfig.objects.get()
    assert config.verify_token == "alice-verify-token-123"
    params = {"hub.mode": "subscribe", "hub.verify_token": "alice-verify-token-123", "hub.challenge": "42"}
    assert Client().get(URL, params).content == b"42"


def test_it_reports_what_meta_refused(alice_client, alice_assets, meta):
    fake_meta_subscriptions(meta, refuse_page=True)
    data = alice_client.post(CONFIGURE, BODY, format="json").json()["data"]
    assert data["status"] == "partial"
    refused = [r for r in data["results"] if not r["ok"]]
    assert refused == [
        {
            "target": "page:330000000000001",
            "ok": False,
            "error": {
                "metaCode": 200,
                "metaMessage": "(#200) Requires pages_manage_metadata permission",
                "fbtraceId": "AbCdEfGh123",
            },
        }
    ]


def test_it_shows_the_config_with_a_masked_token(alice_client, alice_assets, meta):
    assert alice_client.get("/api/meta/webhook").status_code == 404
    fake_meta_subscriptions(meta)
    alice_client.post(CONFIGURE, BODY, format="json")
    response = alice_client.get("/api/meta/webhook")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["verifyToken"] == "alic…123"
    assert "alice-verify-token-123" not in response.content.decode()
    assert data["targetUrl"].endswith("/api/meta/webhook/events")
    assert data["fields"] == BODY["fields"]
    assert data["status"] == "active"
    assert {"id", "createdAt", "updatedAt"} <= set(data)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**BODY, "verifyToken": "short"}, "verifyToken"),
        ({**BODY, "verifyToken": "has spaces in it"}, "verifyToken"),
        ({**BODY, "fields": {"messages": True, "not_a_field": True}}, "fields"),
        ({**BODY, "fields": {"messages": False}}, "fields"),
        ({**BODY, "fields": {"messages": "yes please"}}, "fields"),
        ({"fields": BODY["fields"]}, "verifyToken"),
    ],
)
def test_it_refuses_bad_input_and_changes_nothing(alice_client, alice_assets, meta, body, field):
    response = alice_client.post(CONFIGURE, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
    assert not WebhookConfig.objects.exists()
    assert len(meta.calls) == 0


def test_it_answers_404_for_someone_elses_account(bob_client, alice_client, alice_assets, meta, bob):
    account, _, _ = alice_assets
    make_account(bob)
    fake_meta_subscriptions(meta)
    alice_client.post(CONFIGURE, BODY, format="json")
    for account_id in (account.pk, uuid4()):
        response = bob_client.get("/api/meta/webhook", {"accountId": str(account_id)})
        assert response.status_code == 404
        response = bob_client.post(CONFIGURE, {**BODY, "accountId": str(account_id)}, format="json")
        assert response.status_code == 404
    assert WebhookConfig.objects.get().verify_token == "alice-verify-token-123"


def test_it_answers_409_without_a_connected_account(charlie_client):
    assert charlie_client.get("/api/meta/webhook").status_code == 409
    assert charlie_client.post(CONFIGURE, BODY, format="json").status_code == 409


def test_it_subscribes_only_objects_the_account_has_assets_for(alice_client, alice, meta):
    from instagram.models import InstagramAccount

    account = make_account(alice)
    InstagramAccount.objects.create(account=account, ig_account_id="17841400000000002", status="connected")
    meta.post(graph_url("111111111111111/subscriptions"), json={"success": True})
    data = alice_client.post(CONFIGURE, BODY, format="json").json()["data"]
    assert data["results"] == [{"target": "app:instagram", "ok": True}]
    assert parse_qs(meta.calls[0].request.body)["fields"] == ["messages"]


def test_it_refuses_fields_that_apply_to_no_asset_of_the_account(alice_client, alice, meta):
    make_account(alice)
    response = alice_client.post(CONFIGURE, BODY, format="json")
    assert response.status_code == 400
    assert "fields" in response.json()["error"]["details"]
    assert not WebhookConfig.objects.exists() and not meta.calls


def test_meta_can_verify_the_callback_while_the_subscription_call_is_in_flight(
    alice_client, alice_assets, meta
):
    """Meta calls our handshake before it answers POST /{app-id}/subscriptions."""
    answers: list[tuple[int, bytes]] = []

    def meta_verifies(request):
        sent = parse_qs(request.body)
        params = {
            "hub.mode": "subscribe",
            "hub.verify_token": sent["verify_token"][0],
            "hub.challenge": "31337",
        }
        response = Client().get(URL, params)
        answers.append((response.status_code, response.content))
        if response.content != b"31337":
            return 400, {}, '{"error": {"message": "callback verification failed", "code": 2200}}'
        return 200, {}, '{"success": true}'

    meta.add_callback("POST", graph_url("111111111111111/subscriptions"), callback=meta_verifies)
    meta.post(graph_url("310000000000001/subscribed_apps"), json={"success": True})
    meta.post(graph_url("330000000000001/subscribed_apps"), json={"success": True})
    data = alice_client.post(CONFIGURE, BODY, format="json").json()["data"]
    assert answers == [(200, b"31337"), (200, b"31337")]
    assert data["status"] == "active"


def test_it_never_narrows_the_app_subscription_another_business_relies_on(
    alice_client, alice_assets, bob, meta
):
    from tests.factories import make_account as make_webhook_account

    # Bob configured earlier with template status updates...
    bobs = make_webhook_account(bob)
    WebhookConfig.objects.create(
        account=bobs,
        verify_token="bob-token-0123456789",
        target_url="https://x",
        status="active",
        fields={"messages": True, "message_template_status_update": True},
    )
    fake_meta_subscriptions(meta)

    alice_client.post(
        "/api/meta/webhook/configure",
        {"verifyToken": "alice-verify-token-123", "fields": {"messages": True}},
        format="json",
    )

    app_calls = [c for c in meta.calls if c.request.url.endswith("/subscriptions")]
    waba_call = next(c for c in app_calls if "whatsapp_business_account" in c.request.body)
    # ...so the shared app subscription keeps his template updates too.
    assert "message_template_status_update" in waba_call.request.body

"""The product's real flows against the sandbox, through HTTP: connect, templates approved
or rejected by webhook, sends followed by status webhooks, metrics. Nothing is mocked."""

import json

import pytest
import requests

from accounts.models import MetaAccount
from facebook.models import FacebookPage
from instagram.models import InstagramAccount
from sandbox import demo, events
from tests.sandbox.conftest import connect
from webhooks.models import WebhookEvent
from whatsapp.models import Message, WhatsAppPhoneNumber, WhatsAppTemplate

pytestmark = pytest.mark.usefixtures("sandbox")

BODY = {"type": "BODY", "text": "Hi {{1}}, spring sale today.", "example": {"body_text": [["Ana"]]}}


def configure_webhooks(client) -> None:
    response = client.post(
        "/api/meta/webhook/configure",
        {
            "verifyToken": "sandbox-verify-1",
            "fields": {"messages": True, "message_template_status_update": True},
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["data"]["status"] == "active"


@pytest.fixture
def connected(alice, alice_client, worker):
    connect(alice_client, worker)
    configure_webhooks(alice_client)
    response = alice_client.post("/api/meta/whatsapp/templates/sync", format="json")
    assert response.status_code in (200, 202), response.content
    worker.drain()
    return alice_client


def received_changes(field: str) -> list[dict]:
    """The `value` of every change our receiver stored for `field`."""
    return [
        change["value"]
        for event in WebhookEvent.objects.all()
        for entry in json.loads(bytes(event.raw_body))["entry"]
        for change in entry["changes"]
        if change["field"] == field
    ]


def send(client, to: str, **extra) -> dict:
    body = {
        "to": to,
        "type": "template",
        "template": {"name": "order_update", "language": "en_US", "parameters": {"body": ["Ana", "#1042"]}},
        **extra,
    }
    response = client.post("/api/meta/whatsapp/messages", body, format="json")
    assert response.status_code == 202, response.content
    return response.json()["data"]


def test_it_connects_to_the_demo_business_and_discovers_its_assets(alice, alice_client, worker):
    data = connect(alice_client, worker)

    account = MetaAccount.objects.get(connected_by=alice)
    assert data == {"accountId": str(account.pk), "status": "connected", "permissions": demo.PERMISSIONS}
    assert account.meta_user_id == demo.USER_ID
    assert account.access_token.startswith("EAAGsbx")  # the long-lived token the sandbox issued
    assert 59 <= (account.token_expiry - account.connected_at).days <= 60
    numbers = WhatsAppPhoneNumber.objects.filter(waba__account=account, waba__waba_id=demo.WABA_ID)
    assert sorted(numbers.values_list("phone_number_id", flat=True)) == sorted(demo.PHONE_NUMBERS)
    assert FacebookPage.objects.get(account=account).page_id == demo.PAGE_ID
    assert InstagramAccount.objects.get(account=account).username == demo.IG_USERNAME
    status = alice_client.get("/api/meta/auth/status").json()["data"]
    assert status["connected"] is True
    assert status["platforms"] == {"whatsapp": True, "facebook": True, "instagram": True}


def test_it_refuses_the_documented_bad_code_with_metas_error(alice, alice_client):
    response = alice_client.post("/api/meta/auth/connect", {"code": "bad-code"}, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "META_AUTH_FAILED"
    assert (error["details"]["metaCode"], error["details"]["metaSubcode"]) == (100, 36008)
    assert not MetaAccount.all_objects.exists()


def test_it_syncs_the_demo_templates(connected):
    templates = connected.get("/api/meta/whatsapp/templates").json()["data"]["templates"]
    assert {(t["name"], t["status"]) for t in templates} == {
        (seed["name"], "APPROVED") for seed in demo.SEED_TEMPLATES
    }


def test_a_new_template_is_approved_by_webhook(connected, worker):
    response = connected.post(
        "/api/meta/whatsapp/templates",
        {"name": "spring_sale", "language": "en_US", "category": "MARKETING", "components": [BODY]},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["data"]["status"] == "PENDING"

    worker.drain()

    template = WhatsAppTemplate.objects.get(name="spring_sale")
    assert template.status == "APPROVED"
    # It got there through Meta's webhook, stored and processed by our receiver.
    [value] = received_changes("message_template_status_update")
    assert (value["message_template_id"], value["event"]) == (int(template.template_id), "APPROVED")


def test_a_template_named_reject_is_rejected_by_webhook(connected, worker):
    connected.post(
        "/api/meta/whatsapp/templates",
        {"name": "please_reject_me", "language": "en_US", "category": "MARKETING", "components": [BODY]},
        format="json",
    )
    worker.drain()
    template = WhatsAppTemplate.objects.get(name="please_reject_me")
    assert (template.status, template.rejected_reason) == ("REJECTED", "INVALID_FORMAT")


def test_a_send_is_sent_delivered_then_read_by_webhook_and_counted(connected, worker):
    data = send(connected, "+1 555 123 4564")
    worker.drain()

    message = Message.objects.get(pk=data["id"])
    assert message.wamid.startswith("wamid.")
    assert message.status == "read"
    assert message.sent_at <= message.delivered_at <= message.read_at
    statuses = [value["statuses"][0]["status"] for value in received_changes("messages")]
    assert sorted(statuses) == ["delivered", "read", "sent"]
    assert not Message.objects.filter(direction="inbound").exists()  # 4564 does not reply

    totals = connected.get("/api/meta/whatsapp/metrics").json()["data"]["totals"]
    assert (totals["sent"], totals["delivered"], totals["read"], totals["failed"]) == (1, 1, 1, 0)
    assert totals["deliveryRate"] == 1.0


def test_new_send_types_are_sent_delivered_then_read_by_webhook(connected, worker):
    from datetime import timedelta

    from django.utils import timezone

    from tests.whatsapp.send_examples import ALL
    from whatsapp.models import Contact

    for number in WhatsAppPhoneNumber.objects.all():  # the customer wrote a moment ago
        Contact.objects.create(
            phone_number=number, wa_id="15551234564", last_inbound_at=timezone.now() - timedelta(minutes=5)
        )
    ids = []
    for name in ("location", "contacts", "sticker-link", "interactive-cta_url", "interactive-flow"):
        body = {"to": "+1 555 123 4564", "messaging_product": "whatsapp", **ALL[name]}
        response = connected.post("/api/meta/whatsapp/messages", body, format="json")
        assert response.status_code == 202, response.content
        ids.append(response.json()["data"]["id"])
    worker.drain()
    assert [Message.objects.get(pk=pk).status for pk in ids] == ["read"] * len(ids)


def test_a_send_to_a_number_ending_in_000_fails_by_webhook(connected, worker):
    data = send(connected, "+1 555 123 4000")
    worker.drain()

    message = Message.objects.get(pk=data["id"])
    assert message.status == "failed"
    assert message.error_code == 131026
    totals = connected.get("/api/meta/whatsapp/metrics").json()["data"]["totals"]
    assert (totals["sent"], totals["failed"], totals["delivered"]) == (1, 1, 0)


def test_a_number_ending_in_7_replies_after_reading(connected, worker, monkeypatch):
    monkeypatch.setattr(events, "reply_media", lambda: None)  # a text reply (media: test_media.py)
    data = send(connected, "+1 555 123 4567")
    worker.drain()

    reply = Message.objects.get(direction="inbound")
    assert reply.contact_wa_id == "15551234567"
    sent = Message.objects.get(pk=data["id"])
    assert reply.content["body"] == demo.REPLY_TEXT
    assert reply.content["_context"]["id"] == sent.wamid  # a reply to our message
    assert sent.status == "read"


def test_the_reply_is_a_whatsapp_conversation_answered_and_read_from_the_inbox(
    connected, worker, monkeypatch
):
    monkeypatch.setattr(events, "reply_media", lambda: None)  # a text reply (media: test_media.py)
    send(connected, "+1 555 123 4567")
    worker.drain()

    (thread,) = connected.get("/api/meta/conversations?platform=whatsapp").json()["data"]["conversations"]
    assert (thread["contactId"], thread["unreadCount"], thread["canReply"]) == ("15551234567", 1, True)
    assert thread["lastMessageText"] == demo.REPLY_TEXT
    url = f"/api/meta/conversations/{thread['id']}"
    answer = connected.post(f"{url}/messages", {"text": "Thanks!"}, format="json")
    assert answer.status_code == 202, answer.content
    assert connected.post(f"{url}/read").json()["data"]["unreadCount"] == 0
    worker.drain()

    # Oldest first: our template, the customer's reply, our answer (which the sandbox's
    # customer reads and answers again, unread).
    thread_messages = connected.get(f"{url}/messages").json()["data"]["messages"][::-1]
    assert [(m["direction"], m["text"]) for m in thread_messages[:3]] == [
        ("outbound", "order_update (en_US)"),
        ("inbound", demo.REPLY_TEXT),
        ("outbound", "Thanks!"),
    ]
    assert thread_messages[2]["status"] in ("sent", "delivered", "read")
    assert Message.objects.get(wamid=thread_messages[1]["mid"]).read_at is not None


def test_sandbox_responses_and_our_own_are_marked(connected, sandbox):
    assert connected.get("/api/meta/auth/status")["X-Botopia-Sandbox"] == "true"
    answer = requests.get(f"{sandbox.url}/sandbox/graph/v26.0/{demo.WABA_ID}", timeout=5)
    assert answer.headers["X-Botopia-Sandbox"] == "true"
    assert answer.json()["error"]["code"] == 104  # no token: Meta's error body


def test_a_page_post_is_published_and_listed_through_the_sandbox(alice, alice_client, worker):
    connect(alice_client, worker)
    assert alice_client.post(f"/api/meta/facebook/pages/{demo.PAGE_ID}/connect").status_code == 200

    response = alice_client.post(
        "/api/meta/facebook/posts", {"pageId": demo.PAGE_ID, "message": "Fresh croissants"}, format="json"
    )

    assert response.status_code == 201, response.content
    post_id = response.json()["data"]["id"]
    assert post_id.startswith(f"{demo.PAGE_ID}_") and response.json()["data"]["permalinkUrl"]
    posts = alice_client.get("/api/meta/facebook/posts", {"pageId": demo.PAGE_ID}).json()["data"]["posts"]
    assert [(p["id"], p["message"]) for p in posts] == [(post_id, "Fresh croissants")]


def test_an_instagram_image_is_published_through_containers(alice, alice_client, worker):
    connect(alice_client, worker)
    alice_client.post(f"/api/meta/facebook/pages/{demo.PAGE_ID}/connect")
    assert alice_client.post(f"/api/meta/instagram/accounts/{demo.IG_ID}/connect").status_code == 200

    response = alice_client.post(
        "/api/meta/instagram/media",
        # The product checks the host is public by resolving it: offline, an IP literal needs no DNS.
        {"accountId": demo.IG_ID, "mediaType": "IMAGE", "mediaUrl": "https://151.101.1.1/a.jpg"},
        format="json",
    )
    assert response.status_code == 202, response.content
    worker.drain()

    media = alice_client.get("/api/meta/instagram/media", {"accountId": demo.IG_ID}).json()["data"]["media"]
    assert len(media) == 1 and media[0]["mediaType"] == "IMAGE"
    publishes = alice_client.get("/api/meta/instagram/publishes").json()["data"]
    assert [p["status"] for p in publishes["publishes"]] == ["published"]


def test_the_periodic_pulls_run_cleanly_against_the_sandbox(alice, alice_client, worker):
    from analytics.actors import pull_all_insights
    from whatsapp.account.actors import refresh_all_wabas
    from whatsapp.message_templates.actors import sync_all_templates

    connect(alice_client, worker)
    for job in (pull_all_insights, refresh_all_wabas, sync_all_templates):
        job.send()
    worker.drain(fail_fast=True)

    account = alice_client.get("/api/meta/whatsapp/account").json()["data"]
    assert account["wabaId"] == demo.WABA_ID
    assert account["businessProfile"]["about"] == demo.PROFILE["about"]

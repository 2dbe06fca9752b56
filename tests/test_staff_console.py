"""The staff console (Django admin): secrets by prefix only, read-only mirrors, triage by phone
number and wamid, the overview, and the failed-send notification."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts.models import MetaAccount, Notification
from analytics.models import DailyMetric
from botopia_meta.templatetags.staff_overview import overview
from facebook.models import FacebookPage
from instagram.models import InstagramAccount
from tests.conftest import graph_url, load_payload, meta_error
from tests.factories import PHONE_ID
from tests.webhooks.conftest import deliver
from tests.world import build_world
from webhooks.admin import summarise_body
from webhooks.models import WebhookEvent
from whatsapp.models import (
    Message,
    MessageStatusEvent,
    WhatsAppBusinessAccount,
    WhatsAppMedia,
    WhatsAppPhoneNumber,
    WhatsAppTemplate,
)

MIRRORS = [
    Message,
    MessageStatusEvent,
    WhatsAppTemplate,
    WhatsAppBusinessAccount,
    WhatsAppPhoneNumber,
    WhatsAppMedia,
    FacebookPage,
    InstagramAccount,
    WebhookEvent,
    DailyMetric,
    MetaAccount,
]


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_superuser("root", "root@example.com", "root-password-123")


@pytest.fixture
def staff_client(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def world(alice):
    return build_world(alice, 1)


def _admin_url(model, action: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{action}", args=args)


def test_it_shows_api_tokens_by_their_prefix_only(staff_client, alice, alice_client):
    key = Token.objects.get(user=alice).key
    listing = staff_client.get("/admin/authtoken/tokenproxy/")
    assert listing.status_code == 200
    assert key.encode() not in listing.content
    assert f"{key[:6]}…".encode() in listing.content
    page = staff_client.get(f"/admin/authtoken/tokenproxy/{alice.pk}/change/")
    assert page.status_code == 200
    assert key.encode() not in page.content
    assert b"Revoke this token" in page.content
    assert staff_client.get(f"/admin/authtoken/tokenproxy/{alice.pk}/history/").status_code == 404
    assert staff_client.get(f"/admin/authtoken/tokenproxy/{alice.pk}/delete/").status_code in (302, 403)


def test_it_revokes_a_token_from_its_page(staff_client, alice, alice_client):
    response = staff_client.post(f"/admin/authtoken/tokenproxy/{alice.pk}/revoke/")
    assert response.status_code == 302
    assert not Token.objects.filter(user=alice).exists()
    assert alice_client.get("/api/meta/auth/status").status_code == 401


@pytest.mark.parametrize("model", MIRRORS, ids=lambda m: m.__name__)
def test_it_refuses_to_add_change_or_delete_a_mirror(staff_client, world, model):
    model_admin = admin.site._registry[model]
    request = staff_client.get(_admin_url(model, "changelist")).wsgi_request
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    obj = model_admin.get_queryset(request).first()
    assert staff_client.get(_admin_url(model, "add")).status_code == 403
    if obj is None:
        return
    count = model_admin.get_queryset(request).count()
    page = staff_client.get(_admin_url(model, "change", obj.pk))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content  # view only
    assert staff_client.post(_admin_url(model, "change", obj.pk), {}).status_code == 403
    assert staff_client.post(_admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert model_admin.get_queryset(request).count() == count


def test_it_finds_a_message_by_a_formatted_phone_number_and_by_wamid(staff_client, world):
    url = _admin_url(Message, "changelist")
    for term in ("+57 300 100 0001", "(57) 300-1000001", "573001000001"):
        listing = staff_client.get(url, {"q": term})
        assert listing.status_code == 200
        assert listing.context["cl"].result_count == 2, term  # the inbound and the outbound
    listing = staff_client.get(url, {"q": world.outbound.wamid})
    assert [m.pk for m in listing.context["cl"].result_list] == [world.outbound.pk]
    assert b"+573001000001" in listing.content


def test_it_links_a_message_and_the_webhook_events_that_touched_it(staff_client, world, worker):
    payload = load_payload("statuses__failed")
    value = payload["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = world.phone.phone_number_id
    payload["entry"][0]["id"] = world.waba.waba_id
    value["statuses"][0].update(id=world.outbound.wamid, biz_opaque_callback_data="")
    assert deliver(Client(), payload).status_code == 200
    worker.drain()
    event = WebhookEvent.objects.get()
    # Meta reporting the send failed raises the number's notification too.
    failing = Notification.objects.get(kind="message_failed")
    assert failing.related_id == world.phone.phone_number_id and "131047" in failing.body

    events = staff_client.get(_admin_url(WebhookEvent, "changelist"), {"q": world.outbound.wamid})
    assert [e.pk for e in events.context["cl"].result_list] == [event.pk]
    assert b"1 status: failed" in events.content
    message_page = staff_client.get(_admin_url(Message, "change", world.outbound.pk))
    assert _admin_url(WebhookEvent, "change", event.pk).encode() in message_page.content
    event_page = staff_client.get(_admin_url(WebhookEvent, "change", event.pk))
    assert _admin_url(Message, "change", world.outbound.pk).encode() in event_page.content
    assert b"Re-process" in event_page.content
    assert event_page.content.count(b"Item outcomes") == 1

    response = staff_client.post(reverse("admin:webhooks_webhookevent_reprocess", args=[event.pk]))
    assert response.status_code == 302
    worker.drain()
    event.refresh_from_db()
    assert event.attempts == 2


def test_it_summarises_an_events_content():
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "statuses": [{"status": "delivered"}, {"status": "read"}, {"status": "delivered"}]
                        },
                    }
                ]
            }
        ],
    }
    assert summarise_body(body) == "3 statuses: delivered \u00d72, read"
    assert summarise_body(load_payload("messages__text")) == "1 inbound message: text"
    assert summarise_body(load_payload("message_template_status_update__approved")).startswith(
        "message_template_status_update APPROVED"
    )


def test_the_overview_counts_what_needs_attention(staff_client, world, bob):
    now = timezone.now()
    MetaAccount.objects.filter(pk=world.account.pk).update(token_expiry=now + timedelta(days=3))
    expired = build_world(bob, 2).account
    MetaAccount.objects.filter(pk=expired.pk).update(status=MetaAccount.Status.EXPIRED, needs_reauth=True)
    Message.objects.filter(pk=world.outbound.pk).update(status="failed", failed_at=now)
    Message.objects.filter(pk=world.inbound.pk).update(status="failed", failed_at=now - timedelta(days=2))
    WebhookEvent.objects.create(dedupe_key="a" * 64, raw_body=b"{}", received_at=now - timedelta(minutes=10))
    WebhookEvent.objects.create(dedupe_key="b" * 64, raw_body=b"{}", status=WebhookEvent.Status.FAILED)
    WebhookEvent.objects.create(dedupe_key="c" * 64, raw_body=b"{}", status=WebhookEvent.Status.PROCESSED)
    WhatsAppTemplate.objects.filter(pk=world.template.pk).update(status="REJECTED")

    rows = {row["key"]: row for row in overview(now)}
    assert rows["accounts_relogin"]["value"] == 1
    assert rows["accounts_expiring"]["value"] == 1
    assert rows["messages_failed_today"]["value"] == 1
    assert rows["events_pending"]["value"] == 1
    assert rows["events_pending"]["note"] == "oldest waiting 10 min"
    assert rows["events_failed"]["value"] == 1
    assert rows["templates_rejected"]["value"] == 1
    assert rows["jobs_failed"]["value"] == 0

    index = staff_client.get("/admin/")
    assert index.status_code == 200
    assert b'data-overview="accounts_relogin">1<' in index.content
    for key in rows:  # every link opens
        if rows[key]["url"]:
            response = staff_client.get(rows[key]["url"])
            assert response.status_code == 200, rows[key]["url"]
    relogin = staff_client.get(rows["accounts_relogin"]["url"])
    assert [a.pk for a in relogin.context["cl"].result_list] == [expired.pk]


def test_a_failed_send_raises_one_notification_per_number_per_hour(alice_client, alice, meta, worker):
    from tests.factories import make_whatsapp_account

    _, _, number = make_whatsapp_account(alice)
    number.contacts.create(wa_id="573001112233", last_inbound_at=timezone.now())
    meta.post(graph_url(f"{PHONE_ID}/messages"), json=meta_error(131026, "Message undeliverable"), status=400)
    for _ in range(2):
        response = alice_client.post(
            "/api/meta/whatsapp/messages",
            {"to": "+57 300 111 2233", "type": "text", "text": {"body": "Hi"}},
            format="json",
        )
        assert response.status_code == 202, response.content
    worker.drain()
    assert Message.objects.filter(status="failed").count() == 2
    notification = Notification.objects.get(kind="message_failed")
    assert notification.related_id == PHONE_ID
    assert "131026" in notification.body


def test_the_event_pages_show_a_body_rejected_for_its_nesting(staff_client):
    body = b'{"object": "page", "entry": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    assert deliver(Client(), body).status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.REJECTED
    listing = staff_client.get(reverse("admin:webhooks_webhookevent_changelist"))
    assert listing.status_code == 200
    assert "not JSON" in listing.content.decode()
    page = staff_client.get(reverse("admin:webhooks_webhookevent_change", args=[event.pk]))
    assert page.status_code == 200

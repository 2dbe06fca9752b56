"""WhatsApp in the unified inbox (/api/meta/conversations): threads built by Meta's webhooks
through the real receiver and worker, replies through the same send path as
POST /api/meta/whatsapp/messages, read receipts through the mark-read service."""

import json
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import MetaAccount
from facebook.models import FacebookPage
from tests.conftest import graph_url, load_payload, meta_error
from tests.facebook.test_inbox import make_conversation
from tests.factories import PHONE_ID, make_page, make_whatsapp_account
from tests.webhooks.conftest import deliver
from whatsapp.messages.actors import send_message
from whatsapp.messages.conversations import conversation_note
from whatsapp.models import Contact, Message

LIST = "/api/meta/conversations"
SEND_URL = graph_url(f"{PHONE_ID}/messages")
CUSTOMER = "5215512345678"  # the sender in Meta's bodies under tests/fixtures/meta/
WAMID = "wamid.HBgNNTIxNTUxMjM0NTY3OBUCABIYFjNFQjBDMEQ5RTVBMTIzNDU2Nzg5AA=="


@pytest.fixture
def alice_number(alice):
    _, _, number = make_whatsapp_account(alice)
    return number


def receive(name: str, *, seconds_ago: int = 0) -> dict:
    """Meta delivers the fixture's inbound message, dated now (so the window is open)."""
    payload = load_payload(name)
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["timestamp"] = str(int(time.time()) - seconds_ago)
    assert deliver(Client(), payload).status_code == 200
    return message


def inbound(number, *, wamid: str, text: str, minutes_ago: int = 0) -> Message:
    at = timezone.now() - timedelta(minutes=minutes_ago)
    contact, _ = Contact.objects.get_or_create(phone_number=number, wa_id=CUSTOMER)
    if contact.last_inbound_at is None or contact.last_inbound_at < at:
        Contact.objects.filter(pk=contact.pk).update(last_inbound_at=at, name="Sofía Pérez")
    message = Message.objects.create(
        direction="inbound",
        phone_number=number,
        contact_wa_id=CUSTOMER,
        type="text",
        content={"body": text},
        wamid=wamid,
        status="received",
        status_updated_at=at,
        created_at=at,
    )
    conversation_note(message=message)  # as the webhook intake does
    return message


def meta_sends(meta) -> list[dict]:
    return [json.loads(c.request.body) for c in meta.calls if c.request.url.startswith(SEND_URL)]


def test_a_whatsapp_thread_appears_in_the_inbox_with_its_unread_count(alice_client, alice_number, worker):
    page = make_page(alice_number.waba.account, status=FacebookPage.Status.CONNECTED)
    messenger = make_conversation(page, hours_ago=1)
    # One delivery after the other: a thread is in the order we stored its messages (as
    # GET /whatsapp/messages lists them), and concurrent workers could store two at once.
    receive("messages__text", seconds_ago=60)
    worker.drain()
    receive("messages__image")
    worker.drain()

    (thread,) = alice_client.get(f"{LIST}?platform=whatsapp").json()["data"]["conversations"]
    contact = Contact.objects.get(phone_number=alice_number, wa_id=CUSTOMER)
    assert thread["id"] == str(contact.pk)
    assert thread["platform"] == "whatsapp"
    assert (thread["phoneNumberId"], thread["pageId"], thread["igAccountId"]) == (PHONE_ID, None, None)
    assert (thread["contactId"], thread["contactName"]) == (CUSTOMER, "Sofía Pérez")
    assert thread["unreadCount"] == 2
    assert thread["lastMessageText"] == "Este modelo"  # the image's caption
    assert thread["canReply"] is True and thread["windowExpiresAt"] is not None
    # The same keys as a Messenger conversation, one shape for every platform.
    everything = alice_client.get(LIST).json()["data"]
    assert [(c["platform"], c["id"]) for c in everything["conversations"]] == [
        ("whatsapp", str(contact.pk)),  # its last message is newer
        ("facebook", str(messenger.pk)),
    ]
    assert everything["pagination"]["total"] == 2
    assert set(everything["conversations"][0]) == set(everything["conversations"][1])
    assert [
        c["platform"] for c in alice_client.get(f"{LIST}?platform=facebook").json()["data"]["conversations"]
    ] == ["facebook"]
    assert [c["id"] for c in alice_client.get(f"{LIST}?unread=false").json()["data"]["conversations"]] == []
    by_name = alice_client.get(f"{LIST}?contact=sof%C3%ADa").json()["data"]["conversations"]
    assert [c["id"] for c in by_name] == [str(contact.pk)]
    by_number = alice_client.get(f"{LIST}?phoneNumberId={PHONE_ID}").json()["data"]["conversations"]
    assert [c["id"] for c in by_number] == [str(contact.pk)]

    messages = alice_client.get(f"{LIST}/{contact.pk}/messages").json()["data"]
    assert messages["pagination"]["total"] == 2
    image, text = messages["messages"]
    assert (image["direction"], image["text"], image["conversationId"]) == (
        "inbound",
        "Este modelo",
        str(contact.pk),
    )
    assert image["attachments"][0]["type"] == "image"
    assert image["attachments"][0]["payload"]["id"] == "1244556677889900"
    assert (text["text"], text["mid"], text["attachments"]) == (
        "Hola, ¿tienen envíos a Monterrey? 🚚",
        WAMID,
        [],
    )
    page_two = alice_client.get(f"{LIST}/{contact.pk}/messages?limit=1&offset=1").json()["data"]
    assert [m["mid"] for m in page_two["messages"]] == [WAMID]


def test_a_reply_posted_through_the_inbox_reaches_meta_once_and_appears_in_the_thread(
    alice_client, alice_number, meta, worker
):
    receive("messages__text")
    worker.drain()
    contact = Contact.objects.get(wa_id=CUSTOMER)
    meta.post(
        SEND_URL,
        json={
            "messaging_product": "whatsapp",
            "contacts": [{"input": CUSTOMER, "wa_id": CUSTOMER}],
            "messages": [{"id": "wamid.HBgNreplyFromInbox01"}],
        },
    )

    response = alice_client.post(
        f"{LIST}/{contact.pk}/messages", {"text": "Sí, a todo México"}, format="json"
    )
    assert response.status_code == 202, response.content
    reply = response.json()["data"]
    assert (reply["status"], reply["direction"], reply["conversationId"]) == (
        "queued",
        "outbound",
        str(contact.pk),
    )
    worker.drain()

    message = Message.objects.get(pk=reply["id"])
    assert (message.status, message.wamid) == ("sent", "wamid.HBgNreplyFromInbox01")
    assert meta_sends(meta) == [
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": CUSTOMER,
            "type": "text",
            "text": {"body": "Sí, a todo México", "preview_url": False},
            "biz_opaque_callback_data": str(message.pk),
        }
    ]
    send_message(str(message.pk))  # a redelivered job sends nothing more
    assert len(meta_sends(meta)) == 1
    newest = alice_client.get(f"{LIST}/{contact.pk}/messages").json()["data"]["messages"][0]
    assert (newest["id"], newest["text"], newest["status"], newest["mid"]) == (
        str(message.pk),
        "Sí, a todo México",
        "sent",
        "wamid.HBgNreplyFromInbox01",
    )
    # One message, the same row the WhatsApp API lists.
    listed = alice_client.get("/api/meta/whatsapp/messages?direction=outbound").json()["data"]["messages"]
    assert [m["id"] for m in listed] == [str(message.pk)]
    assert alice_client.get(LIST).json()["data"]["conversations"][0]["lastMessageText"] == "Sí, a todo México"


def test_an_inbox_reply_follows_the_whatsapp_send_rules(alice_client, alice_number, meta):
    first = inbound(alice_number, wamid="wamid.OLD", text="Hola", minutes_ago=25 * 60)
    url = f"{LIST}/{Contact.objects.get().pk}/messages"

    closed = alice_client.post(url, {"text": "Hola"}, format="json")
    assert closed.status_code == 409 and closed.json()["error"]["code"] == "OUTSIDE_SERVICE_WINDOW"
    Contact.objects.update(last_inbound_at=timezone.now())
    bad = alice_client.post(url, {"imageUrl": "http://example.com/a.jpg"}, format="json")
    assert bad.status_code == 400 and "imageUrl" in bad.json()["error"]["details"]
    assert alice_client.post(url, {"text": "   "}, format="json").status_code == 400
    MetaAccount.objects.update(permissions=["whatsapp_business_management"])
    refused = alice_client.post(url, {"text": "Hola"}, format="json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "MISSING_META_PERMISSION"

    assert list(Message.objects.values_list("pk", flat=True)) == [first.pk]
    assert len(meta.calls) == 0


def test_reading_a_conversation_marks_it_read_at_meta(alice_client, alice_number, meta):
    inbound(alice_number, wamid="wamid.FIRST", text="Hola", minutes_ago=2)
    inbound(alice_number, wamid="wamid.SECOND", text="¿Siguen ahí?", minutes_ago=1)
    contact = Contact.objects.get()
    meta.post(SEND_URL, json={"success": True})
    assert alice_client.get(LIST).json()["data"]["conversations"][0]["unreadCount"] == 2

    response = alice_client.post(f"{LIST}/{contact.pk}/read")
    assert response.status_code == 200, response.content
    assert response.json()["data"]["unreadCount"] == 0
    # One read receipt, for the newest message: Meta marks the earlier ones read with it.
    assert meta_sends(meta) == [
        {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.SECOND"}
    ]
    assert Message.objects.filter(read_at__isnull=True).count() == 0
    assert alice_client.get(f"{LIST}?unread=true").json()["data"]["conversations"] == []

    assert alice_client.post(f"{LIST}/{contact.pk}/read").status_code == 200
    assert len(meta.calls) == 1  # nothing unread: nothing to tell Meta


def test_someone_elses_whatsapp_conversation_is_a_404(alice_client, bob_client, alice_number, bob, meta):
    make_whatsapp_account(bob, waba_id="310000000000009", phone_id="320000000000009")
    inbound(alice_number, wamid="wamid.ALICE", text="Hola")
    contact = Contact.objects.get()
    base = f"{LIST}/{contact.pk}"

    assert bob_client.get(LIST).json()["data"]["conversations"] == []
    assert bob_client.get(f"{LIST}?phoneNumberId={PHONE_ID}").status_code == 404
    assert bob_client.get(f"{base}/messages").status_code == 404
    assert bob_client.post(f"{base}/messages", {"text": "mine"}, format="json").status_code == 404
    assert bob_client.post(f"{base}/read").status_code == 404

    assert Message.objects.count() == 1 and Message.objects.get().read_at is None
    assert len(meta.calls) == 0
    assert alice_client.get(f"{base}/messages").status_code == 200


def test_a_disconnected_accounts_whatsapp_threads_leave_the_inbox(alice_client, alice_number):
    inbound(alice_number, wamid="wamid.ALICE", text="Hola")
    assert len(alice_client.get(LIST).json()["data"]["conversations"]) == 1
    MetaAccount.objects.update(status=MetaAccount.Status.REVOKED)
    assert alice_client.get(LIST).json()["data"]["conversations"] == []
    assert alice_client.get(f"{LIST}/{Contact.objects.get().pk}/messages").status_code == 404


def test_a_read_receipt_meta_refuses_still_reads_the_conversation_here(alice_client, alice_number, meta):
    inbound(alice_number, wamid="wamid.OLD", text="Hola", minutes_ago=60 * 24 * 40)
    contact = Contact.objects.get()
    meta.post(SEND_URL, json=meta_error(100, "(#100) Invalid parameter"), status=400)

    response = alice_client.post(f"{LIST}/{contact.pk}/read")

    assert response.status_code == 200, response.content
    assert response.json()["data"]["unreadCount"] == 0
    assert len(meta_sends(meta)) == 1


def test_meta_down_on_read_leaves_the_conversation_unread(alice_client, alice_number, meta, settings):
    settings.META_GRAPH_MAX_RETRIES = 0
    inbound(alice_number, wamid="wamid.NEW", text="Hola")
    contact = Contact.objects.get()
    meta.post(SEND_URL, json=meta_error(2, "Service temporarily unavailable"), status=503)

    response = alice_client.post(f"{LIST}/{contact.pk}/read")

    assert response.status_code >= 500
    assert Message.objects.get().read_at is None
    assert alice_client.get(LIST).json()["data"]["conversations"][0]["unreadCount"] == 1

"""A WhatsApp conversation's last message and unread count are stored on its contact (the inbox
lists them off an index): they follow what arrives, what we send (one by one and by broadcast)
and what is read, and the list pages by cursor while conversations arrive."""

import json
import time
from datetime import timedelta
from uuid import UUID

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import load_payload
from tests.factories import make_template, make_whatsapp_account
from tests.test_list_pagination import walk
from tests.webhooks.conftest import deliver
from tests.whatsapp.test_inbox import CUSTOMER, LIST, SEND_URL, inbound, receive
from whatsapp.models import Contact, Message

WA_LIST = f"{LIST}?platform=whatsapp"


@pytest.fixture
def alice_number(alice):
    _, waba, number = make_whatsapp_account(alice)
    make_template(waba, language="en_US")
    return number


def write(wa_id: str, wamid: str, text: str) -> None:
    """Meta delivers a text from `wa_id`, through the real receiver (the worker stores it)."""
    payload = load_payload("messages__text")
    value = payload["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["wa_id"] = wa_id
    value["messages"][0].update(
        {"from": wa_id, "id": wamid, "timestamp": str(int(time.time())), "text": {"body": text}}
    )
    assert deliver(Client(), payload).status_code == 200


def threads(client, query: str = "") -> dict[str, dict]:
    rows = client.get(f"{WA_LIST}{query}").json()["data"]["conversations"]
    return {row["contactId"]: row for row in rows}


def order(client) -> list[str]:
    return [row["contactId"] for row in client.get(WA_LIST).json()["data"]["conversations"]]


def test_last_message_and_unread_count_follow_inbound_outbound_and_read(
    alice_client, alice_number, meta, worker
):
    receive("messages__text", seconds_ago=60)
    worker.drain()
    (thread,) = threads(alice_client).values()
    assert (thread["unreadCount"], thread["lastMessageText"]) == (1, "Hola, ¿tienen envíos a Monterrey? 🚚")
    write(CUSTOMER, "wamid.C2", "Este modelo")
    worker.drain()  # one after the other: stored (and so ordered) in the order they arrive
    write("5215500000002", "wamid.OTHER1", "¿Abren el domingo?")
    worker.drain()
    assert order(alice_client) == ["5215500000002", CUSTOMER]  # the other customer wrote last
    assert threads(alice_client)[CUSTOMER]["unreadCount"] == 2
    assert threads(alice_client)[CUSTOMER]["lastMessageText"] == "Este modelo"

    # Our reply is the conversation's last message (and brings it to the top); nothing is read.
    meta.post(SEND_URL, json={"messaging_product": "whatsapp", "messages": [{"id": "wamid.REPLY1"}]})
    contact = Contact.objects.get(wa_id=CUSTOMER)
    reply = alice_client.post(f"{LIST}/{contact.pk}/messages", {"text": "Sí, a todo México"}, format="json")
    assert reply.status_code == 202, reply.content
    worker.drain()
    thread = threads(alice_client)[CUSTOMER]
    assert (thread["unreadCount"], thread["lastMessageText"]) == (2, "Sí, a todo México")
    sent_at = Message.objects.get(pk=reply.json()["data"]["id"]).created_at
    assert thread["lastMessageAt"] == sent_at.isoformat().replace("+00:00", "Z")
    assert order(alice_client) == [CUSTOMER, "5215500000002"]

    # A message stored late with an older time counts as unread but never moves the last one back.
    late = inbound(alice_number, wamid="wamid.LATE", text="(late)", minutes_ago=30)
    thread = threads(alice_client)[CUSTOMER]
    assert (thread["unreadCount"], thread["lastMessageText"]) == (3, "Sí, a todo México")

    # Marking one message read (twice: the second changes nothing) takes one off.
    meta.post(SEND_URL, json={"success": True})
    for _ in range(2):
        assert alice_client.post(f"/api/meta/whatsapp/messages/{late.pk}/read").status_code == 200
        assert threads(alice_client)[CUSTOMER]["unreadCount"] == 2
    assert list(threads(alice_client, "&unread=true")) == [CUSTOMER, "5215500000002"]

    # Reading the conversation reads the rest.
    assert alice_client.post(f"{LIST}/{contact.pk}/read").json()["data"]["unreadCount"] == 0
    assert threads(alice_client)[CUSTOMER]["unreadCount"] == 0
    assert list(threads(alice_client, "&unread=true")) == ["5215500000002"]
    assert list(threads(alice_client, "&unread=false")) == [CUSTOMER]


def test_a_broadcast_moves_existing_conversations_and_starts_none(alice_client, alice_number, meta, worker):
    write("5215500000001", "wamid.A1", "Hola")
    worker.drain()
    write("5215500000002", "wamid.B1", "Buenas")
    worker.drain()
    assert order(alice_client) == ["5215500000002", "5215500000001"]
    counter = iter(range(100))
    meta.add_callback(
        "POST",
        SEND_URL,
        callback=lambda r: (
            200,
            {},
            json.dumps({"messaging_product": "whatsapp", "messages": [{"id": f"wamid.T{next(counter)}"}]}),
        ),
    )
    body = {
        "template": {"name": "order_update", "language": "en_US"},
        "recipients": [
            {"to": f"+{wa_id}", "parameters": {"body": ["Ana", "A-1"]}}
            for wa_id in ("5215500000001", "5215599999999")  # a customer, and someone who never wrote
        ],
    }
    assert alice_client.post("/api/meta/whatsapp/broadcasts", body, format="json").status_code == 202
    worker.drain()

    rows = alice_client.get(WA_LIST).json()["data"]
    assert [row["contactId"] for row in rows["conversations"]] == ["5215500000001", "5215500000002"]
    assert rows["pagination"]["total"] == 2  # a message to a stranger starts no conversation
    first = rows["conversations"][0]
    sent = Message.objects.get(contact_wa_id="5215500000001", direction="outbound")
    assert first["lastMessageAt"] == sent.created_at.isoformat().replace("+00:00", "Z")
    assert first["unreadCount"] == 1 and first["lastMessageText"]


def test_whatsapp_conversations_page_by_cursor_while_customers_write(alice_client, alice_number, worker):
    now = timezone.now()
    Contact.objects.bulk_create(
        Contact(phone_number=alice_number, wa_id=f"52155{i:08}", last_message_at=now - timedelta(minutes=i))
        for i in range(23)
    )
    Contact.objects.create(phone_number=alice_number, wa_id="5215577777777")  # no message: not listed
    expected = [f"52155{i:08}" for i in range(23)]
    written = iter(range(100))

    def customers_write(page: int) -> None:
        # a new customer, and one already served writing again: both go to the top, neither is
        # served again, nothing is skipped
        write(f"52166{next(written):08}", f"wamid.NEW{page}", "nuevo")
        write(expected[0], f"wamid.AGAIN{page}", "otra vez")
        worker.drain()
        assert order(alice_client)[0] in (expected[0], f"52166{page - 1:08}")

    ids = walk(alice_client, WA_LIST, 5, between=customers_write)
    served = dict(Contact.objects.values_list("pk", "wa_id"))
    assert [served[UUID(pk)] for pk in ids] == expected

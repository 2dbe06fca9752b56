"""Meta's message and status webhooks through the real URL and worker into our handlers."""

import itertools

import pytest
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import MetaAccount
from analytics.models import HourlyMetric
from botopia_meta.registry import WebhookItem
from tests.conftest import load_payload, payload_item
from tests.factories import make_whatsapp_account
from tests.webhooks.conftest import deliver
from webhooks.models import WebhookEvent
from whatsapp.messages.handlers import handle_messages
from whatsapp.models import Contact, Message

WABA_ID, PHONE_ID = "310000000000001", "320000000000001"
OUR_UUID = "9b1c2f3e-0000-4000-8000-000000000001"  # biz_opaque_callback_data in the fixtures
WAMID = "wamid.HBgNNTIxNTUxMjM0NTY3OBUCABEYEjQ1RkE2QTdFQjMwQjQ5QjNGQQA="
CUSTOMER = "5215512345678"


@pytest.fixture
def number(alice):
    _, _, number = make_whatsapp_account(alice, waba_id=WABA_ID, phone_id=PHONE_ID)
    return number


def outbound(number, **kwargs) -> Message:
    values = {
        "pk": OUR_UUID,
        "direction": "outbound",
        "phone_number": number,
        "contact_wa_id": CUSTOMER,
        "type": "template",
        "status": "queued",
        "template_name": "order_update",
        **kwargs,
    }
    return Message.objects.create(**values)


def metric(name: str) -> int:
    return sum(HourlyMetric.objects.filter(metric=name, dim_key="").values_list("count", flat=True))


@pytest.mark.parametrize(
    ("fixture", "kind", "content_check"),
    [
        ("messages__text", "text", lambda c: c["body"].startswith("Hola")),
        ("messages__image", "image", lambda c: "id" in c),
        (
            "messages__interactive_button_reply",
            "interactive",
            lambda c: c["button_reply"]["id"] == "confirm_order",
        ),
        ("messages__reaction", "reaction", lambda c: "emoji" in c),
    ],
)
def test_it_stores_each_inbound_message_once_and_opens_the_window(
    worker, number, alice_client, fixture, kind, content_check
):
    payload = load_payload(fixture)
    deliver(Client(), payload)
    worker.drain()
    deliver(Client(), payload)  # Meta redelivers
    worker.drain()
    message = Message.objects.get(direction="inbound")
    assert message.type == kind and message.contact_wa_id == CUSTOMER and message.status == "received"
    assert content_check(message.content)
    contact = Contact.objects.get()
    assert contact.wa_id == CUSTOMER and contact.last_inbound_at is not None
    assert metric("received") == 1
    listed = alice_client.get("/api/meta/whatsapp/messages", {"direction": "inbound"}).json()["data"]
    assert listed["messages"][0]["from"] == CUSTOMER


def test_it_names_the_contact_from_the_profile(worker, number):
    deliver(Client(), load_payload("messages__text"))
    worker.drain()
    assert Contact.objects.get().name == "Sofía Pérez"


def test_statuses_move_our_message_forward_matched_by_our_uuid(worker, number):
    message = outbound(number)  # its send answer was lost: no wamid yet
    for name in ("statuses__read", "statuses__sent", "statuses__delivered", "statuses__sent"):
        deliver(Client(), load_payload(name))
        worker.drain()  # one at a time: SQLite locks out concurrent writers
    message.refresh_from_db()
    assert message.wamid == WAMID and message.status == "read"
    assert message.sent_at and message.delivered_at and message.read_at
    assert message.conversation["id"] == "c0ffee0000000000000000000000000a"
    assert message.pricing["category"] == "utility"
    assert (metric("sent"), metric("delivered"), metric("read")) == (1, 1, 1)


def test_a_failure_is_recorded_with_metas_error_but_does_not_erase_a_read(worker, number):
    message = outbound(number, wamid=WAMID, status="sent")
    deliver(Client(), load_payload("statuses__failed"))
    worker.drain()
    message.refresh_from_db()
    assert message.status == "failed" and message.error_code == 131047
    assert message.error_title == "Re-engagement message"
    assert HourlyMetric.objects.filter(metric="failed", dim_key__contains="131047").exists()
    deliver(Client(), load_payload("statuses__read"))
    worker.drain()
    message.refresh_from_db()
    assert message.status == "read" and message.error_code == 131047


def test_a_status_for_an_unknown_message_is_kept_as_an_orphan(worker, number):
    payload = load_payload("statuses__delivered")
    payload["entry"][0]["changes"][0]["value"]["statuses"][0].pop("biz_opaque_callback_data", None)
    deliver(Client(), payload)
    worker.drain()
    orphan = Message.objects.get()
    assert orphan.wamid == WAMID and orphan.status == "delivered" and orphan.contact_wa_id == CUSTOMER
    assert WebhookEvent.objects.get().status == "processed"


def test_a_status_of_a_message_stored_under_a_departed_sharers_number_is_skipped(worker, number, bob):
    # Alice and Bob share the WABA; Alice's row holds the message, then Alice leaves.
    make_whatsapp_account(bob, waba_id=WABA_ID, phone_id=PHONE_ID)
    mine = outbound(number, wamid=WAMID, status="sent")
    MetaAccount.objects.filter(organization=number.waba.account.organization).update(
        status=MetaAccount.Status.REVOKED
    )
    deliver(Client(), load_payload("statuses__delivered"))
    worker.drain()
    assert WebhookEvent.objects.get().status == "processed"  # not failed
    mine.refresh_from_db()
    assert mine.status == "sent" and Message.objects.count() == 1


def test_an_unknown_or_revoked_number_is_ignored(worker, number):
    MetaAccount.objects.update(status=MetaAccount.Status.REVOKED)
    deliver(Client(), load_payload("messages__text"))
    worker.drain()
    assert WebhookEvent.objects.get().status == "ignored"
    assert not Message.objects.exists()


# --- any arrival order ends in the same state ------------------------------------------------


EVENTS = ["statuses__sent", "statuses__delivered", "statuses__read", "statuses__failed"]


def _final_state(number, order: list[str]) -> tuple:
    with transaction.atomic():
        outbound(number)
        for name in order:
            handle_messages(payload_item(name))
        m = Message.objects.get(pk=OUR_UUID)
        state = (m.status, m.wamid, m.error_code, bool(m.sent_at), bool(m.delivered_at), bool(m.read_at))
        transaction.set_rollback(True)
    return state


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.lists(st.sampled_from(EVENTS), min_size=1, max_size=8))
def test_any_arrival_order_ends_in_the_same_state(number, order):
    canonical = _final_state(number, sorted(set(order), key=EVENTS.index))
    assert _final_state(number, order) == canonical
    # and the status is the furthest one seen; a failure only shows when nothing later came
    seen = set(order)
    expected = (
        "read"
        if "statuses__read" in seen
        else "delivered"
        if "statuses__delivered" in seen
        else ("failed" if "statuses__failed" in seen else "sent")
    )
    assert canonical[0] == expected


def test_every_permutation_agrees(db, number):
    states = {_final_state(number, list(p)) for p in itertools.permutations(EVENTS)}
    assert len(states) == 1


def test_concurrent_statuses_of_one_orphan_make_one_row(transactional_db, number):
    """Meta sends `sent` and `delivered` close together; two workers may handle them at once.
    (Found by the sandbox's traffic generator on PostgreSQL: the second insert of the orphan
    failed the unique wamid.)"""
    import threading

    from django.db import connection

    def orphan_item(name: str, wamid: str) -> WebhookItem:
        item = payload_item(name)
        status = item.value["statuses"][0]
        status.pop("biz_opaque_callback_data", None)
        status["id"] = wamid
        return item

    for round_ in range(8):
        wamid = f"wamid.race{round_}"
        barrier, errors = threading.Barrier(2), []

        def apply(name: str, wamid: str = wamid, barrier: threading.Barrier = barrier, errors: list = errors):
            try:
                barrier.wait()
                handle_messages(orphan_item(name, wamid))
            except Exception as exc:
                errors.append(exc)
            finally:
                connection.close()

        threads = [
            threading.Thread(target=apply, args=(name,)) for name in ("statuses__sent", "statuses__delivered")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert errors == []
        orphan = Message.objects.get(wamid=wamid)
        assert orphan.sent_at and orphan.delivered_at and orphan.status == "delivered"


@pytest.mark.parametrize("metadata", ["320000000000001", ["320000000000001"], 42])
def test_a_metadata_that_is_not_an_object_ignores_the_item_with_a_reason(worker, number, metadata):
    payload = load_payload("messages__text")
    payload["entry"][0]["changes"][0]["value"]["metadata"] = metadata
    deliver(Client(), payload)
    worker.drain()
    event = WebhookEvent.objects.get()
    assert event.status == "ignored"
    assert event.item_results[0]["outcome"] == "ignored"
    assert "metadata" in event.item_results[0]["reason"]
    assert not Message.objects.exists()


def test_a_timestamp_in_the_future_is_clamped_to_the_receive_time_and_flagged(worker, number, alice_client):
    payload = load_payload("messages__text")
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = "4102444800"  # 2100-01-01
    deliver(Client(), payload)
    worker.drain()
    event = WebhookEvent.objects.get()
    assert event.status == "processed"
    contact = Contact.objects.get(wa_id=CUSTOMER)
    assert contact.last_inbound_at <= event.received_at
    message = Message.objects.get()
    assert message.status_updated_at <= event.received_at
    assert message.content["_clamped_timestamp"] == "4102444800"
    window = alice_client.get(f"/api/meta/whatsapp/contacts/{CUSTOMER}").json()["data"]
    assert window["windowExpiresAt"] < "2027"  # 24 hours from receipt, not from 2100

"""Meta's messaging limit, enforced before Meta (issue #17, point 10): the cap per business
portfolio, the unique customers reached outside a window across its numbers, a 409 with the
figures for a send or broadcast that would exceed it."""

import contextlib
import json
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Notification
from botopia_meta.registry import WEBHOOK_HANDLERS
from tests.conftest import payload_item
from tests.factories import WABA_ID, make_template, make_whatsapp_account
from tests.webhooks.conftest import deliver
from tests.whatsapp.test_messages_api import error_of
from whatsapp.models import (
    Broadcast,
    Contact,
    LimitedRecipient,
    Message,
    MessagingLimit,
    WhatsAppBusinessAccount,
    WhatsAppPhoneNumber,
)

pytestmark = pytest.mark.django_db
MESSAGES = "/api/meta/whatsapp/messages"
BROADCASTS = "/api/meta/whatsapp/broadcasts"
TEMPLATE = {"name": "order_update", "language": "en_US", "parameters": {"body": ["Ana", "A-1"]}}


def capability_update() -> dict:
    """Meta's business_capability_update as documented for v24.0+ (kept here rather than in
    tests/fixtures/meta/, whose every file tests/webhooks routes through a recorder)."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": WABA_ID,
                "time": 1764460800,
                "changes": [
                    {
                        "value": {
                            "max_daily_conversation_per_phone": 2000,
                            "max_daily_conversations_per_business": 2000,
                            "max_phone_numbers_per_business": 20,
                            "max_phone_numbers_per_waba": 20,
                        },
                        "field": "business_capability_update",
                    }
                ],
            }
        ],
    }


@pytest.fixture
def number(alice):
    _, waba, number = make_whatsapp_account(alice)
    make_template(waba, language="en_US")
    return number


def _cap(number: WhatsAppPhoneNumber, tier: str) -> None:
    WhatsAppPhoneNumber.objects.filter(pk=number.pk).update(messaging_limit_tier=tier)


def _send(client, to: str, **extra):
    body = {"to": to, "type": "template", "template": TEMPLATE, **extra}
    return client.post(MESSAGES, body, format="json")


def _broadcast(client, count: int, *, start: int = 0, phone_number_id: str | None = None):
    body = {
        "template": {"name": "order_update", "language": "en_US"},
        "recipients": [
            {"to": f"+5730{i:08d}", "parameters": {"body": ["Ana", "A-1"]}}
            for i in range(start, start + count)
        ],
    }
    if phone_number_id:
        body["phoneNumberId"] = phone_number_id
    return client.post(BROADCASTS, body, format="json")


def test_it_refuses_a_broadcast_over_the_cap_with_the_figures(alice_client, number):
    _cap(number, "TIER_250")
    assert _broadcast(alice_client, 200).status_code == 202
    error = error_of(_broadcast(alice_client, 60, start=1_000), 409, "MESSAGING_LIMIT_REACHED")
    assert error["details"] == {
        "businessId": f"waba:{WABA_ID}",
        "limit": 250,
        "used": 200,
        "requested": 60,
        "available": 50,
        "windowHours": 24,
    }
    assert Broadcast.objects.count() == 1  # nothing stored for the refused one
    assert _broadcast(alice_client, 50, start=1_000).status_code == 202  # exactly what is left


def test_it_counts_a_customer_once_and_not_while_their_window_is_open(alice_client, number):
    _cap(number, "TIER_250")
    assert _broadcast(alice_client, 250).status_code == 202
    # Already reached in the last 24 h: sending to them again costs nothing.
    assert _broadcast(alice_client, 100).status_code == 202
    # A customer who wrote in the last 24 h is inside a window: free as well.
    Contact.objects.create(phone_number=number, wa_id="573099999999", last_inbound_at=timezone.now())
    assert _send(alice_client, "+573099999999").status_code == 202
    error = error_of(_send(alice_client, "+573088888888"), 409, "MESSAGING_LIMIT_REACHED")
    assert (error["details"]["used"], error["details"]["requested"]) == (250, 1)
    assert Message.objects.filter(contact_wa_id="573088888888").count() == 0


def test_it_forgets_customers_reached_more_than_24_hours_ago(alice_client, number):
    _cap(number, "TIER_250")
    assert _broadcast(alice_client, 250).status_code == 202
    LimitedRecipient.objects.update(reached_at=timezone.now() - timedelta(hours=24, minutes=1))
    assert _send(alice_client, "+573088888888").status_code == 202


def test_it_shares_the_cap_across_the_numbers_of_one_business(alice, alice_client, number):
    _cap(number, "TIER_250")
    WhatsAppBusinessAccount.objects.filter(pk=number.waba_id).update(business_id="880000000000001")
    other_waba = WhatsAppBusinessAccount.objects.create(
        account=number.waba.account, waba_id="310000000000002", business_id="880000000000001"
    )
    other = WhatsAppPhoneNumber.objects.create(
        waba=other_waba, phone_number_id="106540352242999", messaging_limit_tier="TIER_250"
    )
    make_template(other_waba, language="en_US", template_id="594425479261599")
    assert _broadcast(alice_client, 200).status_code == 202
    error = error_of(
        _broadcast(alice_client, 100, start=500, phone_number_id=other.phone_number_id),
        409,
        "MESSAGING_LIMIT_REACHED",
    )
    assert error["details"]["businessId"] == "880000000000001" and error["details"]["used"] == 200


def test_it_takes_the_cap_meta_announces_by_webhook(alice_client, number, worker):
    _cap(number, "TIER_10K")
    payload = capability_update()
    payload["entry"][0]["changes"][0]["value"]["max_daily_conversations_per_business"] = 250
    assert deliver(Client(), payload).status_code == 200
    worker.drain()
    assert MessagingLimit.objects.get(business_key=f"waba:{WABA_ID}").max_daily == 250
    error = error_of(_broadcast(alice_client, 251), 409, "MESSAGING_LIMIT_REACHED")
    assert error["details"]["limit"] == 250


def test_it_ignores_an_older_announcement_and_honours_unlimited(alice_client, number):
    _cap(number, "TIER_250")
    payload = capability_update()
    payload["entry"][0]["changes"][0]["value"]["max_daily_conversations_per_business"] = -1
    older = json.loads(json.dumps(payload))
    older["entry"][0]["time"] -= 3600
    older["entry"][0]["changes"][0]["value"]["max_daily_conversations_per_business"] = 250
    for delivered in (payload, older):  # out of order, as Meta may deliver them
        item = payload_item(delivered)
        WEBHOOK_HANDLERS[(item.object, item.field)](item)
    assert MessagingLimit.objects.get(business_key=f"waba:{WABA_ID}").max_daily == -1
    assert _broadcast(alice_client, 300).status_code == 202


def test_it_warns_the_business_once_it_passes_80_percent(alice_client, number):
    _cap(number, "TIER_250")
    assert _broadcast(alice_client, 150).status_code == 202
    assert not Notification.objects.filter(kind="whatsapp_messaging_limit").exists()
    assert _broadcast(alice_client, 60, start=1_000).status_code == 202
    note = Notification.objects.get(kind="whatsapp_messaging_limit")
    assert "210 of 250" in note.body


def test_it_counts_nothing_when_meta_gave_no_limit(alice_client, number):
    _cap(number, "")
    assert _broadcast(alice_client, 300).status_code == 202
    assert not LimitedRecipient.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks across connections")
def test_it_lets_only_one_of_two_concurrent_broadcasts_pass_a_nearly_full_cap(alice, number, monkeypatch):
    """Both fit alone (150 of 250 left), not together. Each broadcast, once it has counted and
    is about to record its recipients, waits (up to 1 s) for the other to get that far too:
    without the business row's lock both would, and both would pass; with it the second is
    still waiting for the lock, and counts the first one's recipients once it gets it."""
    _cap(number, "TIER_250")
    # The business's row exists (as after its first send): inserting it is no lock of its own.
    MessagingLimit.objects.create(business_key=f"waba:{WABA_ID}")
    both_counted = threading.Barrier(2, timeout=1)  # under the web lock_timeout (3 s)
    record = LimitedRecipient.objects.bulk_create

    def record_when_both_counted(*args, **kwargs):
        with contextlib.suppress(threading.BrokenBarrierError):  # the other waits for the lock
            both_counted.wait()
        return record(*args, **kwargs)

    monkeypatch.setattr(LimitedRecipient.objects, "bulk_create", record_when_both_counted)
    answers: list[int] = []

    def post(start: int) -> None:
        client = APIClient()
        client.force_authenticate(alice)
        try:
            answers.append(_broadcast(client, 150, start=start).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(start,)) for start in (0, 10_000)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [202, 409]
    assert LimitedRecipient.objects.count() == 150


def test_it_reads_the_business_that_owns_a_waba_at_discovery():
    from whatsapp.discovery import WABA_FIELDS, _waba_values

    assert "owner_business_info" in WABA_FIELDS
    assert (
        _waba_values({"name": "Shop", "owner_business_info": {"id": "880000000000001", "name": "Shop SA"}})[
            "business_id"
        ]
        == "880000000000001"
    )
    assert "business_id" not in _waba_values({"name": "Shop"})  # never blanks a known one

"""Broadcasts: one template to many recipients, validated up front, sent through the queue."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import make_template, make_whatsapp_account
from tests.whatsapp.test_messages_api import SEND_URL, error_of, meta_accepted
from whatsapp.messages import services as message_services
from whatsapp.messages.actors import sweep_and_requeue
from whatsapp.models import Broadcast, BroadcastBatch, LimitedRecipient, Message, WhatsAppPhoneNumber

URL = "/api/meta/whatsapp/broadcasts"


@pytest.fixture
def alice_template(alice):
    _, waba, _ = make_whatsapp_account(alice)
    return make_template(waba, language="en_US")


def _body(recipients: list) -> dict:
    return {"template": {"name": "order_update", "language": "en_US"}, "recipients": recipients}


def test_it_sends_valid_recipients_and_lists_invalid_ones(alice_client, alice_template, meta, worker):
    counter = iter(range(1000))
    meta.add_callback(
        "POST", SEND_URL, callback=lambda r: (200, {}, json.dumps(meta_accepted(f"wamid.B{next(counter)}")))
    )
    recipients = [
        {"to": "+573001110001", "parameters": {"body": ["Ana", "A-1"]}},
        {"to": "+573001110002", "parameters": {"body": ["Bo", "A-2"]}},
        {"to": "nope", "parameters": {"body": ["x", "y"]}},
        {"to": "+573001110003", "parameters": {"body": ["only one"]}},
        {"to": "+573001110001", "parameters": {"body": ["Ana", "A-1"]}},
    ]
    response = alice_client.post(URL, _body(recipients), format="json")
    assert response.status_code == 202, response.content
    data = response.json()["data"]
    assert data["total"] == 2
    assert [(i["index"], i["to"]) for i in data["invalid"]] == [
        (2, "nope"),
        (3, "+573001110003"),
        (4, "+573001110001"),
    ]
    assert "body" in data["invalid"][1]["error"] and "Duplicate" in data["invalid"][2]["error"]
    worker.drain()
    sent = sorted(json.loads(c.request.body)["to"] for c in meta.calls)
    assert sent == ["573001110001", "573001110002"]
    first = next(
        json.loads(c.request.body) for c in meta.calls if json.loads(c.request.body)["to"].endswith("1")
    )
    assert first["template"]["components"][0]["parameters"][0] == {"type": "text", "text": "Ana"}
    progress = alice_client.get(f"{URL}/{data['id']}").json()["data"]["progress"]
    assert progress["sent"] == 2 and progress["queued"] == 0
    listed = alice_client.get("/api/meta/whatsapp/messages", {"broadcastId": data["id"]}).json()["data"]
    assert listed["pagination"]["total"] == 2


def test_it_refuses_an_unapproved_template_before_anything(alice_client, alice_template, meta):
    alice_template.status = "PAUSED"
    alice_template.save()
    response = alice_client.post(URL, _body([{"to": "+573001110001"}]), format="json")
    error_of(response, 400, "VALIDATION_ERROR")
    assert not Broadcast.objects.exists() and not Message.objects.exists()


def test_cancel_stops_what_was_not_sent(alice_client, alice_template, meta):
    # No worker: everything is still queued when the cancel arrives.
    recipients = [{"to": f"+57300111{i:04d}", "parameters": {"body": ["a", "b"]}} for i in range(5)]
    data = alice_client.post(URL, _body(recipients), format="json").json()["data"]
    cancelled = alice_client.post(f"{URL}/{data['id']}/cancel").json()["data"]
    assert cancelled["status"] == "cancelled" and cancelled["progress"]["cancelled"] == 5
    assert not meta.calls


def test_other_users_get_404(alice_client, bob_client, alice_template, bob):
    make_whatsapp_account(bob, waba_id="999", phone_id="888")
    data = alice_client.post(
        URL, _body([{"to": "+573001110001", "parameters": {"body": ["a", "b"]}}]), format="json"
    )
    broadcast_id = data.json()["data"]["id"]
    error_of(bob_client.get(f"{URL}/{broadcast_id}"), 404, "NOT_FOUND")
    error_of(bob_client.post(f"{URL}/{broadcast_id}/cancel"), 404, "NOT_FOUND")
    assert Broadcast.objects.get().cancelled_at is None


def test_a_100k_recipient_broadcast_is_validated_and_accepted_in_one_request(alice_client, alice_template):
    # Meta's 100K tier: all of them fit the messaging limit (whatsapp/messages/limits.py), which is counted.
    WhatsAppPhoneNumber.objects.update(messaging_limit_tier="TIER_100K")
    recipients = [{"to": f"+5730{i:08d}", "parameters": {"body": ["Ana", f"A-{i}"]}} for i in range(100_000)]
    recipients[7] = {"to": "+5730", "parameters": {"body": ["x", "y"]}}
    body = json.dumps(_body(recipients))
    assert len(body) > 5_000_000  # more than Django's default request body limit
    response = alice_client.post(URL, body, content_type="application/json")
    assert response.status_code == 202, response.content[:300]
    data = response.json()["data"]
    assert data["total"] == 99_999 and [i["index"] for i in data["invalid"]] == [7]
    assert data["status"] == "queued" and data["progress"]["queued"] == 99_999
    assert not Message.objects.exists()  # the request wrote batches, not 100k messages
    assert LimitedRecipient.objects.count() == 99_999
    cancelled = alice_client.post(f"{URL}/{data['id']}/cancel").json()["data"]
    assert cancelled["progress"]["queued"] == 0 and cancelled["progress"]["cancelled"] == 99_999
    assert not BroadcastBatch.objects.exists()  # the recipients' numbers are not kept


def test_fan_out_resumes_after_a_crash_and_sends_each_recipient_once(
    alice_client, alice_template, meta, worker, monkeypatch
):
    monkeypatch.setattr(message_services, "BATCH_SIZE", 2)
    counter = iter(range(1000))
    meta.add_callback(
        "POST", SEND_URL, callback=lambda r: (200, {}, json.dumps(meta_accepted(f"wamid.R{next(counter)}")))
    )
    recipients = [{"to": f"+57300111{i:04d}", "parameters": {"body": ["a", str(i)]}} for i in range(5)]
    data = alice_client.post(URL, _body(recipients), format="json").json()["data"]
    broadcast = Broadcast.objects.get(pk=data["id"])
    # A fan-out took the first batch, then its worker died before queueing the sends.
    assert len(message_services._take_batch(broadcast)) == 2
    assert broadcast.batches.count() == 2
    worker.drain()  # the fan-out job resumes with the remaining batches
    sent = sorted(json.loads(c.request.body)["to"] for c in meta.calls)
    assert sent == [f"57300111{i:04d}" for i in range(2, 5)]
    # The two orphaned messages are picked up by the sweep once their job is given up for lost.
    Message.objects.filter(status="queued").update(enqueued_at=timezone.now() - timedelta(days=1))
    assert len(sweep_and_requeue().messages) == 2
    worker.drain()
    sent = sorted(json.loads(c.request.body)["to"] for c in meta.calls)
    assert sent == [f"57300111{i:04d}" for i in range(5)]
    progress = alice_client.get(f"{URL}/{data['id']}").json()["data"]
    assert progress["status"] == "completed" and progress["progress"]["sent"] == 5


def test_bodies_over_the_limits_get_413_in_the_envelope(alice_client, alice_template, settings):
    settings.LARGE_BODY_MAX_BYTES = 1000
    big = json.dumps(_body([{"to": f"+57300111{i:04d}"} for i in range(100)]))
    error_of(alice_client.post(URL, big, content_type="application/json"), 413, "PAYLOAD_TOO_LARGE")
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000  # every other endpoint keeps Django's limit
    error_of(
        alice_client.post("/api/meta/whatsapp/messages", big, content_type="application/json"),
        413,
        "PAYLOAD_TOO_LARGE",
    )
    assert not Broadcast.objects.exists() and not Message.objects.exists()


def test_a_broadcast_body_that_is_not_json_is_malformed_json(alice_client, alice_template):
    error_of(alice_client.post(URL, "{not json", content_type="application/json"), 400, "MALFORMED_JSON")
    assert not Broadcast.objects.exists()

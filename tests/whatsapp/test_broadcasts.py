"""Broadcasts: one template to many recipients, validated up front, sent through the queue."""

import json

import pytest

from tests.whatsapp.factories_templates import make_account, make_template
from tests.whatsapp.test_messages_api import SEND_URL, error_of, meta_accepted
from whatsapp.models import Broadcast, Message

URL = "/api/meta/whatsapp/broadcasts"


@pytest.fixture
def alice_template(alice):
    _, waba, _ = make_account(alice)
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
    make_account(bob, waba_id="999", phone_id="888")
    data = alice_client.post(
        URL, _body([{"to": "+573001110001", "parameters": {"body": ["a", "b"]}}]), format="json"
    )
    broadcast_id = data.json()["data"]["id"]
    error_of(bob_client.get(f"{URL}/{broadcast_id}"), 404, "NOT_FOUND")
    error_of(bob_client.post(f"{URL}/{broadcast_id}/cancel"), 404, "NOT_FOUND")
    assert Broadcast.objects.get().cancelled_at is None

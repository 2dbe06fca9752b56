"""Sending messages through the API and the real send actor; Meta faked with `responses`."""

import json
from datetime import timedelta

import pytest
import requests
from django.test import Client
from django.utils import timezone

from accounts.models import MetaAccount
from botopia_meta.tasks import DEFAULT_MAX_RETRIES
from tests.conftest import graph_url, load_payload, meta_error
from tests.factories import PHONE_ID, make_template, make_whatsapp_account
from tests.webhooks.conftest import deliver
from whatsapp.messages import services as message_services
from whatsapp.messages.actors import send_message, sweep_and_requeue
from whatsapp.models import Contact, Message

URL = "/api/meta/whatsapp/messages"
SEND_URL = graph_url(f"{PHONE_ID}/messages")
TO = "+57 300 111 2233"
WA_ID = "573001112233"


def _swept() -> tuple[int, int]:
    """The message sweep as the scheduler runs it: (sends settled as unknown, jobs queued again)."""
    swept = sweep_and_requeue()
    return swept.unknown, len(swept.messages)


def meta_accepted(wamid: str = "wamid.HBgMNTczMDAxMTEyMjMzFQIAERgSQUFBQQ==") -> dict:
    return {
        "messaging_product": "whatsapp",
        "contacts": [{"input": WA_ID, "wa_id": WA_ID}],
        "messages": [{"id": wamid}],
    }


@pytest.fixture
def alice_number(alice):
    _, _, number = make_whatsapp_account(alice)
    return number


@pytest.fixture
def open_window(alice_number):
    return Contact.objects.create(
        phone_number=alice_number,
        wa_id=WA_ID,
        name="Ana",
        last_inbound_at=timezone.now() - timedelta(hours=1),
    )


def error_of(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == code
    return body["error"]


def sent_body(meta) -> dict:
    calls = [c for c in meta.calls if c.request.url.startswith(SEND_URL)]
    assert len(calls) == 1, [c.request.url for c in meta.calls]
    return json.loads(calls[0].request.body)


# --- every send type's payload, as Meta documents it -------------------------------------

PAYLOADS = [
    (
        {"type": "text", "text": {"body": "Hi Ana", "previewUrl": True}},
        {"type": "text", "text": {"body": "Hi Ana", "preview_url": True}},
    ),
    (
        {"type": "image", "image": {"link": "https://cdn.example/a.jpg", "caption": "Your order"}},
        {"type": "image", "image": {"link": "https://cdn.example/a.jpg", "caption": "Your order"}},
    ),
    (
        {"type": "document", "document": {"id": "1037543291543636", "filename": "invoice.pdf"}},
        {"type": "document", "document": {"id": "1037543291543636", "filename": "invoice.pdf"}},
    ),
    ({"type": "audio", "audio": {"id": "55"}}, {"type": "audio", "audio": {"id": "55"}}),
    (
        {"type": "video", "video": {"link": "https://cdn.example/v.mp4"}},
        {"type": "video", "video": {"link": "https://cdn.example/v.mp4"}},
    ),
    (
        {
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": "Confirm?"},
                "action": {"buttons": [{"type": "reply", "reply": {"id": "yes", "title": "Yes"}}]},
            },
        },
        {
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": "Confirm?"},
                "action": {"buttons": [{"type": "reply", "reply": {"id": "yes", "title": "Yes"}}]},
            },
        },
    ),
    (
        {
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": {"text": "Pick one"},
                "action": {
                    "button": "Options",
                    "sections": [{"title": "S", "rows": [{"id": "r1", "title": "R1"}]}],
                },
            },
        },
        {
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": {"text": "Pick one"},
                "action": {
                    "button": "Options",
                    "sections": [{"title": "S", "rows": [{"id": "r1", "title": "R1"}]}],
                },
            },
        },
    ),
    (
        {"type": "reaction", "reaction": {"messageId": "wamid.IN1", "emoji": "👍"}},
        {"type": "reaction", "reaction": {"message_id": "wamid.IN1", "emoji": "👍"}},
    ),
]


@pytest.mark.parametrize(
    ("request_body", "meta_part"), PAYLOADS, ids=lambda v: v.get("type", "") if isinstance(v, dict) else ""
)
def test_it_sends_each_type_with_metas_documented_payload(
    alice_client, open_window, meta, worker, request_body, meta_part
):
    meta.post(SEND_URL, json=meta_accepted())
    response = alice_client.post(URL, {"to": TO, **request_body}, format="json")
    assert response.status_code == 202, response.content
    data = response.json()["data"]
    assert data["status"] == "queued" and data["to"] == WA_ID and data["direction"] == "outbound"
    worker.drain()
    body = sent_body(meta)
    assert body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": WA_ID,
        "biz_opaque_callback_data": data["id"],
        **meta_part,
    }
    message = Message.objects.get(pk=data["id"])
    assert message.status == "sent" and message.wamid == meta_accepted()["messages"][0]["id"]
    got = alice_client.get(f"{URL}/{data['id']}").json()["data"]
    assert got["status"] == "sent" and got["wamid"] == message.wamid


def test_it_sends_a_template_with_substituted_parameters(alice_client, alice_number, meta, worker):
    make_template(alice_number.waba, language="en_US")
    meta.post(SEND_URL, json=meta_accepted())
    response = alice_client.post(
        URL,
        {
            "to": TO,
            "type": "template",
            "template": {
                "name": "order_update",
                "language": "en_US",
                "parameters": {"body": ["Ana", "A-17"]},
            },
        },
        format="json",
    )
    assert response.status_code == 202, response.content
    worker.drain()
    assert sent_body(meta)["template"] == {
        "name": "order_update",
        "language": {"code": "en_US"},
        "components": [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "A-17"}],
            }
        ],
    }


@pytest.mark.parametrize(
    ("template", "field"),
    [
        (
            {"name": "order_update", "language": "en_US", "parameters": {"body": ["Ana"]}},
            "template.parameters.body",
        ),
        (
            {"name": "order_update", "language": "fr_FR", "parameters": {"body": ["a", "b"]}},
            "template.language",
        ),
        ({"name": "nope", "language": "en_US"}, "template.name"),
        ({"name": "order_update", "language": "en_US"}, "template.parameters.body"),
        (
            {
                "name": "order_update",
                "language": "en_US",
                "parameters": {"body": ["a", "b"], "header": ["x"]},
            },
            "template.parameters.header",
        ),
    ],
)
def test_it_rejects_template_mistakes_before_calling_meta(alice_client, alice_number, meta, template, field):
    make_template(alice_number.waba, language="en_US")
    response = alice_client.post(URL, {"to": TO, "type": "template", "template": template}, format="json")
    error = error_of(response, 400, "VALIDATION_ERROR")
    assert field in error["details"], error
    assert not meta.calls and not Message.objects.exists()


def test_it_refuses_a_template_that_is_not_approved(alice_client, alice_number, meta):
    make_template(alice_number.waba, language="en_US", status="PENDING")
    body = {"to": TO, "type": "template", "template": {"name": "order_update", "language": "en_US"}}
    error = error_of(alice_client.post(URL, body, format="json"), 400, "VALIDATION_ERROR")
    assert "PENDING" in error["details"]["template.name"][0]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"to": "12", "type": "text", "text": {"body": "x"}}, "to"),
        ({"to": TO, "type": "text", "text": {"body": ""}}, "text.body"),
        ({"to": TO, "type": "image", "image": {"link": "http://insecure/a.jpg"}}, "image.link"),
        ({"to": TO, "type": "image", "image": {}}, "image"),
        ({"to": TO, "type": "audio", "audio": {"id": "1", "caption": "no"}}, "audio.caption"),
        ({"to": TO, "type": "text"}, "text"),
        ({"to": TO, "type": "postcard"}, "type"),
        ({"to": TO, "type": "sticker"}, "sticker"),
    ],
)
def test_it_rejects_bad_input_naming_the_field(alice_client, open_window, meta, body, field):
    error = error_of(alice_client.post(URL, body, format="json"), 400, "VALIDATION_ERROR")
    assert field in error["details"], error
    assert not Message.objects.exists()


# --- the 24-hour window ---------------------------------------------------------------------


def test_it_refuses_free_form_outside_the_window_but_allows_templates(alice_client, alice_number, meta):
    Contact.objects.create(
        phone_number=alice_number, wa_id=WA_ID, last_inbound_at=timezone.now() - timedelta(hours=25)
    )
    response = alice_client.post(URL, {"to": TO, "type": "text", "text": {"body": "Hi"}}, format="json")
    error_of(response, 409, "OUTSIDE_SERVICE_WINDOW")
    never = alice_client.post(
        URL, {"to": "+573009998877", "type": "text", "text": {"body": "Hi"}}, format="json"
    )
    error_of(never, 409, "OUTSIDE_SERVICE_WINDOW")
    make_template(alice_number.waba, language="en_US")
    ok = alice_client.post(
        URL,
        {
            "to": TO,
            "type": "template",
            "template": {"name": "order_update", "language": "en_US", "parameters": {"body": ["a", "b"]}},
        },
        format="json",
    )
    assert ok.status_code == 202
    assert not meta.calls


def test_it_shows_a_contacts_window(alice_client, bob_client, open_window):
    data = alice_client.get(f"/api/meta/whatsapp/contacts/{WA_ID}").json()["data"]
    assert data["waId"] == WA_ID and data["windowOpen"] is True and data["name"] == "Ana"
    error_of(bob_client.get(f"/api/meta/whatsapp/contacts/{WA_ID}"), 404, "NOT_FOUND")


# --- idempotency ----------------------------------------------------------------------------


def test_an_idempotency_key_returns_the_first_message(alice_client, open_window, meta, worker):
    meta.post(SEND_URL, json=meta_accepted())
    body = {"to": TO, "type": "text", "text": {"body": "Hi"}}
    first = alice_client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = alice_client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.json()["data"]["id"] == second.json()["data"]["id"]
    worker.drain()
    assert Message.objects.count() == 1
    sent_body(meta)  # exactly one send
    third = alice_client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert third.json()["data"]["id"] != first.json()["data"]["id"]


# --- the actor ------------------------------------------------------------------------------


def _queue_text(client) -> str:
    response = client.post(URL, {"to": TO, "type": "text", "text": {"body": "Hi"}}, format="json")
    assert response.status_code == 202, response.content
    return response.json()["data"]["id"]


def test_the_actor_retries_on_a_500(alice_client, open_window, meta, worker, settings):
    settings.META_GRAPH_MAX_RETRIES = 0  # let the actor's own retry do it
    meta.post(SEND_URL, json=meta_error(2, "Service temporarily unavailable"), status=500)
    meta.post(SEND_URL, json=meta_accepted())
    message_id = _queue_text(alice_client)
    worker.drain()
    assert Message.objects.get(pk=message_id).status == "sent"
    assert len([c for c in meta.calls if c.request.url.startswith(SEND_URL)]) == 2


def test_a_permanent_error_marks_the_message_failed_with_metas_code(alice_client, open_window, meta, worker):
    meta.post(
        SEND_URL,
        json=meta_error(131026, "Message undeliverable", error_user_title="Message undeliverable"),
        status=400,
    )
    message_id = _queue_text(alice_client)
    worker.drain()
    data = alice_client.get(f"{URL}/{message_id}").json()["data"]
    assert data["status"] == "failed"
    assert data["error"] == {"code": 131026, "title": "Message undeliverable"}
    assert len(meta.calls) == 1


def test_a_read_timeout_marks_it_unknown_and_does_not_resend(alice_client, open_window, meta, worker):
    meta.post(SEND_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    message_id = _queue_text(alice_client)
    worker.drain()
    assert Message.objects.get(pk=message_id).status == "unknown"
    assert len(meta.calls) == 1


@pytest.mark.parametrize(
    "answer",
    [
        {"messaging_product": "whatsapp", "contacts": [{"input": WA_ID, "wa_id": WA_ID}]},
        {"messaging_product": "whatsapp", "messages": []},
        {"messaging_product": "whatsapp", "messages": [{"message_status": "accepted"}]},
        {"messaging_product": "whatsapp", "messages": [{"id": ""}]},
        {"messaging_product": "whatsapp", "messages": "wamid.X"},
    ],
    ids=["no-messages", "empty", "no-id", "empty-id", "not-a-list"],
)
def test_a_200_without_a_message_id_marks_it_unknown_not_sent(
    alice_client, open_window, meta, worker, answer
):
    meta.post(SEND_URL, json=answer)
    message_id = _queue_text(alice_client)
    worker.drain()
    message = Message.objects.get(pk=message_id)
    assert (message.status, message.wamid, message.sent_at) == ("unknown", None, None)
    assert "awaiting its status webhook" in message.error_title
    assert len(meta.calls) == 1


def test_an_oversized_answer_is_not_read_and_marks_the_send_unknown(
    alice_client, open_window, meta, worker, monkeypatch
):
    from botopia_meta import graph

    monkeypatch.setattr(graph, "MAX_ANSWER_BYTES", 4096)
    padding = "x" * 10_000
    meta.post(SEND_URL, json={**meta_accepted(), "padding": padding})
    message_id = _queue_text(alice_client)
    worker.drain()
    assert Message.objects.get(pk=message_id).status == "unknown"
    assert len(meta.calls) == 1


def deliver_status(*, wamid: str, status: str, callback: str) -> None:
    """Meta's status webhook for our message, through the real receiver (the worker runs it)."""
    payload = load_payload(f"statuses__{status}")
    value = payload["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = PHONE_ID
    value["statuses"][0].update(id=wamid, biz_opaque_callback_data=callback, recipient_id=WA_ID)
    assert deliver(Client(), payload).status_code == 200


def test_when_meta_keeps_failing_the_message_fails_after_the_bounded_retries(
    alice_client, open_window, meta, worker, settings
):
    settings.META_GRAPH_MAX_RETRIES = 0
    settings.META_GRAPH_CIRCUIT_FAILURES = 100  # every retry reaches Meta (no circuit pause)
    meta.post(SEND_URL, json=meta_error(2, "Service temporarily unavailable"), status=503)
    message_id = _queue_text(alice_client)
    worker.drain()
    data = alice_client.get(f"{URL}/{message_id}").json()["data"]
    assert data["status"] == "failed"
    assert "Meta kept failing" in data["error"]["title"] and data["error"]["code"] == 2
    # The first try and DEFAULT_MAX_RETRIES retries, then no more.
    assert len(meta.calls) == DEFAULT_MAX_RETRIES + 1


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing after it in the worker runs."""


def test_a_worker_killed_mid_send_never_causes_a_second_send(alice_client, open_window, meta, worker):
    message_id = _queue_text(alice_client)
    send_message.broker.flush_all()

    def killed(request):
        raise WorkerKilled  # Meta got the request; the worker died before recording the answer

    meta.add_callback("POST", SEND_URL, callback=killed)
    with pytest.raises(WorkerKilled):
        message_services.message_deliver(message_id=message_id)
    assert Message.objects.get(pk=message_id).status == "sending"
    send_message.send(message_id)  # the broker redelivers the dead worker's job
    worker.drain()
    assert len(meta.calls) == 1
    assert Message.objects.get(pk=message_id).status == "sending"  # until the sweep or a webhook


def test_the_sweep_settles_a_dead_workers_send_and_the_status_webhook_finishes_it(
    alice_client, open_window, meta, worker, settings
):
    message_id = _queue_text(alice_client)
    long_ago = timezone.now() - timedelta(seconds=settings.STALE_SENDING_SECONDS + 1)
    Message.objects.filter(pk=message_id).update(status="sending", status_updated_at=long_ago)
    assert _swept() == (1, 0)
    assert alice_client.get(f"{URL}/{message_id}").json()["data"]["status"] == "unknown"
    worker.drain()
    assert not meta.calls  # unknown is never resent
    deliver_status(wamid="wamid.LOST", status="delivered", callback=message_id)
    worker.drain()
    data = alice_client.get(f"{URL}/{message_id}").json()["data"]
    assert data["status"] == "delivered" and data["wamid"] == "wamid.LOST"


def test_the_sweep_requeues_a_message_whose_job_was_lost_and_it_is_sent_once(
    alice_client, open_window, meta, worker, settings
):
    meta.post(SEND_URL, json=meta_accepted())
    message_id = _queue_text(alice_client)
    send_message.broker.flush_all()  # the broker lost the job
    assert _swept() == (0, 0)  # not yet: it may just be waiting its turn
    long_ago = timezone.now() - timedelta(seconds=settings.REQUEUE_AFTER_SECONDS + 1)
    Message.objects.filter(pk=message_id).update(enqueued_at=long_ago)
    assert _swept() == (0, 1)
    assert _swept() == (0, 0)  # once per interval, not every minute
    worker.drain()
    assert Message.objects.get(pk=message_id).status == "sent"
    assert len(meta.calls) == 1


def test_the_sweep_leaves_a_long_backlog_alone_while_messages_ahead_are_being_sent(
    alice_client, open_window, settings
):
    hours_ago = timezone.now() - timedelta(seconds=settings.REQUEUE_AFTER_SECONDS + 60)
    ahead, behind = (_queue_text(alice_client) for _ in range(2))
    Message.objects.filter(pk=ahead).update(
        status="sent", sent_at=timezone.now(), enqueued_at=hours_ago - timedelta(minutes=1)
    )
    Message.objects.filter(pk=behind).update(enqueued_at=hours_ago)
    assert _swept() == (0, 0)  # its turn has not come: no duplicate job
    Message.objects.filter(pk=ahead).update(sent_at=hours_ago)  # the number went quiet
    assert _swept() == (0, 1)


@pytest.mark.parametrize("gone", ["account revoked", "number removed"])
def test_a_revoked_account_does_not_send_the_queued_message(gone, alice_client, open_window, meta, worker):
    # Queued while connected, revoked (or its number removed) before a worker got to it.
    queued = Message.objects.create(
        direction="outbound",
        phone_number=open_window.phone_number,
        contact_wa_id=WA_ID,
        type="text",
        content={"body": "Hi"},
        status="queued",
    )
    if gone == "account revoked":
        MetaAccount.objects.update(status=MetaAccount.Status.REVOKED)
    else:
        open_window.phone_number.soft_delete()
    send_message.send(str(queued.pk))
    message_id = queued.pk
    worker.drain()
    message = Message.objects.get(pk=message_id)
    assert message.status == "failed" and "no longer connected" in message.error_title
    assert not meta.calls


# --- lists and other people's messages ------------------------------------------------------


def test_it_lists_with_filters_and_hides_other_users_messages(alice_client, bob_client, open_window, bob):
    make_whatsapp_account(bob, waba_id="999", phone_id="888")
    mid = _queue_text(alice_client)
    Message.objects.create(
        direction="inbound",
        phone_number=open_window.phone_number,
        contact_wa_id=WA_ID,
        type="text",
        status="received",
        wamid="wamid.IN",
    )
    data = alice_client.get(URL, {"direction": "outbound"}).json()["data"]
    assert [m["id"] for m in data["messages"]] == [mid] and data["pagination"]["total"] == 1
    assert alice_client.get(URL, {"contact": WA_ID}).json()["data"]["pagination"]["total"] == 2
    error_of(alice_client.get(URL, {"status": "bogus"}), 400, "VALIDATION_ERROR")
    assert bob_client.get(URL).json()["data"]["messages"] == []
    error_of(bob_client.get(f"{URL}/{mid}"), 404, "NOT_FOUND")
    error_of(bob_client.post(f"{URL}/{mid}/read"), 404, "NOT_FOUND")


def test_it_marks_an_inbound_message_read_at_meta(alice_client, open_window, meta):
    inbound = Message.objects.create(
        direction="inbound",
        phone_number=open_window.phone_number,
        contact_wa_id=WA_ID,
        type="text",
        status="received",
        wamid="wamid.IN",
    )
    meta.post(SEND_URL, json={"success": True})
    response = alice_client.post(f"{URL}/{inbound.pk}/read")
    assert response.status_code == 200, response.content
    assert json.loads(meta.calls[0].request.body) == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.IN",
    }


def test_admin_finds_a_message_by_wamid(admin_client, open_window):
    Message.objects.create(
        direction="inbound",
        phone_number=open_window.phone_number,
        contact_wa_id=WA_ID,
        type="text",
        status="received",
        wamid="wamid.FINDME",
    )
    Message.objects.create(
        direction="inbound",
        phone_number=open_window.phone_number,
        contact_wa_id=WA_ID,
        type="text",
        status="received",
        wamid="wamid.OTHER",
    )
    response = admin_client.get("/admin/whatsapp/message/", {"q": "wamid.FINDME"})
    assert response.status_code == 200 and b"wamid.FINDME" in response.content
    assert b"wamid.OTHER" not in response.content


def test_our_own_error_around_the_call_never_leads_to_a_second_send(
    alice_client, open_window, meta, worker, monkeypatch
):
    meta.post(SEND_URL, json=meta_accepted())
    real_send = message_services.graph.message_send

    def send_then_crash(*args, **kwargs):
        real_send(*args, **kwargs)  # Meta accepted it...
        raise RuntimeError("...and our code failed before recording it")

    monkeypatch.setattr(message_services.graph, "message_send", send_then_crash)
    message_id = _queue_text(alice_client)
    worker.drain()
    assert len(meta.calls) == 1  # no retry sent it again
    assert Message.objects.get(pk=message_id).status == "sending"  # the sweep makes it unknown

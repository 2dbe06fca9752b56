"""Faults the system test (tests/system) cannot provoke precisely, at unit level with the real
URL, the real actors and the real handlers: the database refusing the intake, a process that
dies between its commit and its enqueue, a send whose answer never comes back."""

import copy
from datetime import timedelta

import dramatiq
import pytest
import requests
from django.db import OperationalError, connection, transaction
from django.test import Client
from django.utils import timezone

from analytics.models import DailyMetric, HourlyMetric, RecordedKey
from tests.conftest import graph_url, load_payload
from tests.factories import PHONE_ID, make_whatsapp_account
from tests.webhooks.conftest import deliver, encode
from webhooks import services as webhook_services
from webhooks.actors import sweep_webhook_events
from webhooks.models import WebhookEvent
from whatsapp.models import Contact, Message, MessageStatusEvent

pytestmark = pytest.mark.django_db

MESSAGES_URL = "/api/meta/whatsapp/messages"
SEND_URL = graph_url(f"{PHONE_ID}/messages")
WA_ID = "573001112233"
WAMID = "wamid.HBgMNTczMDAxMTEyMjMzFQIAERgSRkFVTFRURVNUAA=="


@pytest.fixture
def number(alice):
    _, _, number = make_whatsapp_account(alice)
    return number


def queued(name: str = "webhooks") -> int:
    queue = dramatiq.get_broker().queues.get(name)
    return queue.qsize() if queue is not None else 0


def inbound_text(wamid: str = "wamid.FAULT-IN-1") -> dict:
    payload = copy.deepcopy(load_payload("messages__text"))
    value = payload["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = PHONE_ID
    value["messages"][0]["id"] = wamid
    return payload


def status_of(message_id: str, status: str, timestamp: int) -> dict:
    payload = copy.deepcopy(load_payload(f"statuses__{status}"))
    value = payload["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = PHONE_ID
    value["statuses"][0].update(
        {
            "id": WAMID,
            "recipient_id": WA_ID,
            "timestamp": str(timestamp),
            "biz_opaque_callback_data": message_id,
        }
    )
    return payload


def metric_total(name: str) -> tuple[int, int]:
    """(hourly, daily) totals of a metric, undimensioned rows."""
    return tuple(
        sum(model.objects.filter(metric=name, dim_key="").values_list("count", flat=True))
        for model in (HourlyMetric, DailyMetric)
    )


# --- the database is unavailable at intake ---------------------------------------------------


@pytest.mark.parametrize("where", ["connect", "insert"])
def test_intake_answers_503_in_the_envelope_and_stores_nothing_when_the_database_is_down(
    where, number, monkeypatch, caplog
):
    body = encode(inbound_text())
    if where == "connect":

        def refused(*args, **kwargs):
            raise OperationalError(
                'connection to server at "127.0.0.1", port 5432 failed: Connection refused'
            )

        monkeypatch.setattr(connection, "cursor", refused)
        response = deliver(Client(), body)
        monkeypatch.undo()
    else:

        def fails(execute, sql, params, many, context):
            if sql.lstrip().upper().startswith("INSERT"):
                raise OperationalError("server closed the connection unexpectedly")
            return execute(sql, params, many, context)

        with connection.execute_wrapper(fails):
            response = deliver(Client(), body)

    assert response.status_code == 503
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == "STORAGE_UNAVAILABLE"
    assert body["error"]["message"]
    # Nothing half-stored: no row, no queued job, no effect.
    assert not WebhookEvent.objects.exists()
    assert queued() == 0
    assert not Message.objects.exists()
    # The body and the secret never reach the log.
    assert "Hola" not in caplog.text and "test-app-secret" not in caplog.text

    # Meta retries the same bytes once the database is back: stored and applied once.
    assert deliver(Client(), body).status_code == 200
    assert WebhookEvent.objects.count() == 1


# --- committed, then the process died before enqueueing ------------------------------------


def test_an_event_committed_by_a_process_that_died_before_enqueueing_is_recovered_once(
    number, worker, monkeypatch
):
    body = encode(inbound_text("wamid.FAULT-IN-2"))
    # The row commits, then the process dies: its after-commit enqueue never runs.
    lost = []
    with monkeypatch.context() as patch:
        patch.setattr(transaction, "on_commit", lambda callback, *args, **kwargs: lost.append(callback))
        assert deliver(Client(), body).status_code == 200
    assert len(lost) == 1  # the enqueue that died with the process
    event = WebhookEvent.objects.get()
    assert event.status == "pending" and queued() == 0

    # Meta's retry of the same delivery changes nothing (one row, still pending).
    assert deliver(Client(), body).status_code == 200
    worker.drain()
    assert WebhookEvent.objects.count() == 1 and Message.objects.count() == 0

    # Young pending rows are left alone (their job may just be queued) ...
    sweep_webhook_events.send()
    worker.drain()
    assert WebhookEvent.objects.get().status == "pending"

    # ... older ones are enqueued by the sweeper and processed.
    WebhookEvent.objects.update(
        received_at=timezone.now() - webhook_services.SWEEP_AFTER - timedelta(seconds=1)
    )
    sweep_webhook_events.send()
    worker.drain()
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("processed", 1)

    # The lost job turning up late, and later sweeps, apply nothing twice.
    lost[0]()
    WebhookEvent.objects.update(
        swept_at=timezone.now() - webhook_services.RESWEEP_AFTER - timedelta(seconds=1)
    )
    sweep_webhook_events.send()
    worker.drain()
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("processed", 1)
    message = Message.objects.get()
    assert (message.wamid, message.direction) == ("wamid.FAULT-IN-2", "inbound")
    assert Contact.objects.get().last_inbound_at is not None
    assert metric_total("received") == (1, 1)
    assert RecordedKey.objects.filter(key="wamid.FAULT-IN-2:received").count() == 1


# --- a send whose answer never comes back --------------------------------------------------


def test_a_graph_timeout_leaves_the_message_unknown_until_its_status_webhook_settles_it(
    alice_client, number, meta, worker
):
    Contact.objects.create(
        phone_number=number, wa_id=WA_ID, last_inbound_at=timezone.now() - timedelta(minutes=5)
    )
    # Meta received the send, but its answer timed out on the way back.
    meta.post(SEND_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    response = alice_client.post(
        MESSAGES_URL, {"to": WA_ID, "type": "text", "text": {"body": "Your order shipped"}}, format="json"
    )
    assert response.status_code == 202, response.content
    message_id = response.json()["data"]["id"]
    worker.drain()

    data = alice_client.get(f"{MESSAGES_URL}/{message_id}").json()["data"]
    assert data["status"] == "unknown"
    assert data["wamid"] is None
    send_calls = [c for c in meta.calls if c.request.url.startswith(SEND_URL)]
    assert len(send_calls) == 1  # never resent: that could deliver it twice
    assert f'"biz_opaque_callback_data": "{message_id}"' in send_calls[0].request.body.decode()
    assert metric_total("sent") == (0, 0)

    # Meta's status webhooks carry our id back; `delivered` arrives before `sent`.
    now = int(timezone.now().timestamp())
    for status, at in (("delivered", now + 2), ("sent", now + 1)):
        assert deliver(Client(), status_of(message_id, status, at)).status_code == 200
        worker.drain()

    data = alice_client.get(f"{MESSAGES_URL}/{message_id}").json()["data"]
    assert data["status"] == "delivered"
    assert data["wamid"] == WAMID
    assert len([c for c in meta.calls if c.request.url.startswith(SEND_URL)]) == 1
    assert set(MessageStatusEvent.objects.values_list("status", flat=True)) == {"sent", "delivered"}
    assert metric_total("sent") == (1, 1) and metric_total("delivered") == (1, 1)


# --- Redis unreachable inside an actor -------------------------------------------------------


def test_a_send_that_meets_a_redis_outage_is_retried_not_dropped(alice_client, number, meta, worker):
    import redis

    from whatsapp.messages import throughput

    Contact.objects.create(
        phone_number=number, wa_id=WA_ID, last_inbound_at=timezone.now() - timedelta(minutes=5)
    )
    meta.post(
        SEND_URL,
        json={"messaging_product": "whatsapp", "contacts": [{"wa_id": WA_ID}], "messages": [{"id": WAMID}]},
    )
    real_reserve = throughput.pacer.reserve
    outage = iter([redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379.")])

    def reserve(*args, **kwargs):
        for exc in outage:
            raise exc
        return real_reserve(*args, **kwargs)

    throughput.pacer.reserve = reserve
    try:
        response = alice_client.post(
            MESSAGES_URL, {"to": WA_ID, "type": "text", "text": {"body": "Back online"}}, format="json"
        )
        worker.drain()
    finally:
        throughput.pacer.reserve = real_reserve
    message = Message.objects.get(pk=response.json()["data"]["id"])
    assert (message.status, message.wamid) == ("sent", WAMID)
    assert len(meta.calls) == 1


class _CacheDown:
    """Cache calls fail as redis-py's do when Redis is unreachable, from when `down()` says so."""

    def __init__(self, real, down=lambda: True):
        self.real, self.down = real, down

    def __getattr__(self, name):
        import redis

        def call(*args, **kwargs):
            if self.down():
                raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379.")
            return getattr(self.real, name)(*args, **kwargs)

        return call


def test_a_send_meta_accepted_is_not_sent_again_when_the_cache_fails_around_the_call(
    alice_client, number, meta, worker, monkeypatch
):
    """The Graph client's breaker keeps its counts in the cache: Redis going down between the
    request and the answer must not turn Meta's 200 into an error (the send would be released
    and sent a second time)."""
    from analytics import recording
    from botopia_meta import graph

    Contact.objects.create(
        phone_number=number, wa_id=WA_ID, last_inbound_at=timezone.now() - timedelta(minutes=5)
    )
    meta.post(
        SEND_URL,
        json={"messaging_product": "whatsapp", "contacts": [{"wa_id": WA_ID}], "messages": [{"id": WAMID}]},
    )
    # Redis goes down while the request is at Meta: from the answer on, every cache call fails.
    monkeypatch.setattr(graph, "cache", _CacheDown(graph.cache, down=lambda: bool(meta.calls)))
    monkeypatch.setattr(recording, "cache", _CacheDown(recording.cache))
    response = alice_client.post(
        MESSAGES_URL, {"to": WA_ID, "type": "text", "text": {"body": "Once only"}}, format="json"
    )
    worker.drain()
    message = Message.objects.get(pk=response.json()["data"]["id"])
    assert (message.status, message.wamid, message.attempts) == ("sent", WAMID, 1)
    assert len(meta.calls) == 1
    assert metric_total("sent") == (1, 1)

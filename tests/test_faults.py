"""Faults the system test (tests/system) cannot provoke precisely, at unit level with the real
URL, the real actors and the real handlers: the database refusing the intake, a process that
dies between its commit and its enqueue, a send whose answer never comes back."""

import copy
from datetime import datetime, timedelta

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
    real_take = throughput.pacer.take
    outage = iter([redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379.")])
    raised = []

    def take(*args, **kwargs):
        for exc in outage:
            raised.append(exc)
            raise exc
        return real_take(*args, **kwargs)

    throughput.pacer.take = take
    try:
        response = alice_client.post(
            MESSAGES_URL, {"to": WA_ID, "type": "text", "text": {"body": "Back online"}}, format="json"
        )
        worker.drain()
    finally:
        throughput.pacer.take = real_take
    assert raised, "the outage never reached the send path"
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


# --- the broker unreachable at the enqueue that follows the commit ---------------------------
# The row is committed before the queue is asked: an error answer then would be a lie (the sweep
# sends the row later, and the client's retry would send a second copy). So every endpoint that
# stores something to send answers 2xx with it, and its sweep sends it once the broker is back.


@pytest.fixture
def broker_down(monkeypatch):
    """broker.enqueue fails as redis-py does while `state["down"]`."""
    import redis

    broker = dramatiq.get_broker()
    real = broker.enqueue
    state = {"down": True, "refused": 0}

    def enqueue(message, *, delay=None):
        if state["down"]:
            state["refused"] += 1
            raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379.")
        return real(message, delay=delay)

    monkeypatch.setattr(broker, "enqueue", enqueue)
    return state


@pytest.fixture
def world_and_graph(alice, meta):
    from tests.fake_graph import FakeGraph
    from tests.world import build_world

    world = build_world(alice, base=1)
    fake = FakeGraph(
        waba=world.waba.waba_id,
        phones=[world.phone.phone_number_id],
        pages=[world.page.page_id],
        ig=world.ig_account.ig_account_id,
    )
    fake.install(meta)
    return world, fake


def _calls(fake, path: str) -> int:
    return sum(1 for method, called, _ in fake.calls if method == "POST" and called == path)


def _long_ago(settings) -> datetime:
    return timezone.now() - timedelta(seconds=settings.REQUEUE_AFTER_SECONDS + 1)


def test_a_send_stored_while_the_broker_is_down_answers_202_and_is_sent_once_by_the_sweep(
    alice_client, world_and_graph, broker_down, worker, settings
):
    from whatsapp.messages.actors import sweep_and_requeue

    world, fake = world_and_graph
    body = {"to": world.contact.wa_id, "type": "text", "text": {"body": "hola"}}
    first = alice_client.post(MESSAGES_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 202, first.content
    assert broker_down["refused"] == 1
    message_id = first.json()["data"]["id"]
    assert Message.objects.get(pk=message_id).status == "queued"
    # The client retries anyway: the same message, nothing new stored or sent.
    again = alice_client.post(MESSAGES_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 202 and again.json()["data"]["id"] == message_id

    broker_down["down"] = False
    Message.objects.filter(pk=message_id).update(enqueued_at=_long_ago(settings))
    swept = sweep_and_requeue()
    assert (swept.unknown, len(swept.messages)) == (0, 1)
    worker.drain()
    assert Message.objects.get(pk=message_id).status == "sent"
    assert _calls(fake, f"{world.phone.phone_number_id}/messages") == 1


def test_a_broadcast_stored_while_the_broker_is_down_answers_202_and_the_sweep_sends_it(
    alice_client, world_and_graph, broker_down, worker, settings
):
    from whatsapp.messages.actors import sweep_and_requeue
    from whatsapp.models import Broadcast

    world, fake = world_and_graph
    body = {
        "template": {"name": "order_update", "language": "en_US"},
        "recipients": [{"to": "+573001110001", "parameters": {"body": ["A-1"]}}],
    }
    response = alice_client.post("/api/meta/whatsapp/broadcasts", body, format="json")
    assert response.status_code == 202, response.content
    assert broker_down["refused"] == 1

    broker_down["down"] = False
    Broadcast.objects.filter(pk=response.json()["data"]["id"]).update(updated_at=_long_ago(settings))
    sweep_and_requeue()
    worker.drain()
    sent = Message.objects.filter(broadcast_id=response.json()["data"]["id"])
    assert [m.status for m in sent] == ["sent"]
    assert _calls(fake, f"{world.phone.phone_number_id}/messages") == 1


@pytest.mark.parametrize("platform", ["facebook", "instagram"])
def test_a_reply_stored_while_the_broker_is_down_answers_202_and_is_sent_once_by_the_sweep(
    alice_client, world_and_graph, broker_down, worker, settings, platform
):
    from facebook.actors import fb_sweep_messages
    from instagram.actors import ig_sweep_messages

    world, fake = world_and_graph
    conversation = world.fb_conversation if platform == "facebook" else world.ig_conversation
    response = alice_client.post(
        f"/api/meta/conversations/{conversation.pk}/messages", {"text": "gracias"}, format="json"
    )
    assert response.status_code == 202, response.content
    assert broker_down["refused"] == 1
    model = type(conversation).messages.rel.related_model
    reply = model.objects.get(pk=response.json()["data"]["id"])
    assert reply.status == "queued"

    broker_down["down"] = False
    model.objects.filter(pk=reply.pk).update(updated_at=_long_ago(settings))
    (fb_sweep_messages if platform == "facebook" else ig_sweep_messages)()
    worker.drain()
    reply.refresh_from_db()
    assert reply.status == "sent"
    assert sum(1 for method, path, _ in fake.calls if method == "POST" and path.endswith("/messages")) == 1


@pytest.mark.parametrize("scheduled", [False, True])
def test_a_publish_stored_while_the_broker_is_down_is_answered_and_published_once_by_the_sweep(
    alice_client, world_and_graph, broker_down, worker, scheduled
):
    from instagram.actors import ig_sweep_publishes
    from instagram.models import MediaPublish

    world, fake = world_and_graph
    body = {
        "accountId": world.ig_account.ig_account_id,
        "mediaType": "IMAGE",
        "mediaUrl": "https://cdn.example.com/a.jpg",
    }
    if scheduled:
        body["scheduledPublishTime"] = (timezone.now() + timedelta(minutes=5)).isoformat()
    response = alice_client.post("/api/meta/instagram/media", body, format="json")
    assert response.status_code in (201, 202), response.content
    assert broker_down["refused"] == 1

    broker_down["down"] = False
    publish = MediaPublish.objects.get(pk=response.json()["data"]["id"])
    MediaPublish.objects.filter(pk=publish.pk).update(
        updated_at=timezone.now() - timedelta(minutes=6), scheduled_publish_time=timezone.now()
    )
    ig_sweep_publishes()
    worker.drain()
    publish.refresh_from_db()
    assert publish.status == "published"
    assert _calls(fake, f"{world.ig_account.ig_account_id}/media_publish") == 1


def test_a_post_meta_published_is_answered_201_when_redis_fails_after_it(
    alice_client, world_and_graph, monkeypatch
):
    """The post exists at Meta once it answered: Redis failing at the list cache's bump must
    not answer 503, whose retry would publish the post twice."""
    from botopia_meta.inbox import meta as inbox_meta

    world, fake = world_and_graph
    monkeypatch.setattr(inbox_meta, "cache", _CacheDown(inbox_meta.cache, down=lambda: bool(fake.calls)))
    response = alice_client.post(
        "/api/meta/facebook/posts", {"pageId": world.page.page_id, "message": "Hola"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert _calls(fake, f"{world.page.page_id}/feed") == 1

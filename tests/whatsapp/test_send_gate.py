"""The send path around the pacer's gate (Pacer.depart, right before the request leaves) and
the job's one write of its sends."""

import redis
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.whatsapp.test_broadcasts import alice_template as alice_template
from tests.whatsapp.test_send_jobs import _answer_every_send, _broadcast, _sent_to
from whatsapp.messages import services as message_services
from whatsapp.messages.throughput import MAX_WAIT
from whatsapp.models import Message


def test_the_gate_is_asked_right_before_each_request_leaves(
    alice_client, alice_template, meta, worker, monkeypatch
):
    _answer_every_send(meta)
    asked: list[int] = []
    real = message_services.pacer.depart

    def depart(*args):
        asked.append(len(meta.calls))  # Meta has seen every send before this one, not this one
        return real(*args)

    monkeypatch.setattr(message_services.pacer, "depart", depart)
    broadcast_id = _broadcast(alice_client, 12)
    worker.drain()
    assert sorted(asked) == list(range(12))
    assert set(Message.objects.filter(broadcast_id=broadcast_id).values_list("status", flat=True)) == {"sent"}


def test_a_send_the_gate_holds_too_long_is_queued_again_and_sent_once(
    alice_client, alice_template, meta, worker, monkeypatch
):
    _answer_every_send(meta)
    answers = iter([MAX_WAIT + 0.01])  # the number's past second is full for a while, once
    real = message_services.pacer.depart
    monkeypatch.setattr(message_services.pacer, "depart", lambda *args: next(answers, None) or real(*args))
    requeue = []
    real_requeue = message_services._requeue
    monkeypatch.setattr(
        message_services,
        "_requeue",
        lambda message, wait: requeue.append(wait) or real_requeue(message, wait),
    )
    broadcast_id = _broadcast(alice_client, 3)
    worker.drain()
    assert requeue and requeue[0] > MAX_WAIT
    sent = _sent_to(meta)
    assert len(sent) == 3 and len(set(sent)) == 3
    assert set(Message.objects.filter(broadcast_id=broadcast_id).values_list("status", flat=True)) == {"sent"}


def test_a_redis_outage_at_the_gate_releases_the_send_for_the_retry(
    alice_client, alice_template, meta, worker, monkeypatch
):
    """Claimed but never sent: left `sending`, the sweep would make it `unknown` for good."""
    _answer_every_send(meta)
    outage = iter([redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379.")])
    raised = []
    real = message_services.pacer.depart

    def depart(*args):
        for exc in outage:
            raised.append(exc)
            raise exc
        return real(*args)

    monkeypatch.setattr(message_services.pacer, "depart", depart)
    broadcast_id = _broadcast(alice_client, 4)
    worker.drain()
    assert raised
    sent = _sent_to(meta)
    assert len(sent) == 4 and len(set(sent)) == 4
    assert set(Message.objects.filter(broadcast_id=broadcast_id).values_list("status", flat=True)) == {"sent"}


def test_a_job_writes_its_sends_in_one_statement(alice_client, alice_template, meta, worker):
    _answer_every_send(meta)
    broadcast_id = _broadcast(alice_client, 10)
    message_services.broadcast_fanout(broadcast_id=broadcast_id)  # the messages (their job waits)
    ids = [str(pk) for pk in Message.objects.filter(broadcast_id=broadcast_id).values_list("pk", flat=True)]
    with CaptureQueriesContext(connection) as queries:
        message_services.messages_deliver(message_ids=ids)
    writes = [
        q["sql"] for q in queries.captured_queries if "wamid" in q["sql"] and q["sql"].startswith("UPDATE")
    ]
    assert len(writes) == 1
    messages = Message.objects.filter(broadcast_id=broadcast_id)
    assert {m.status for m in messages} == {"sent"} and len({m.wamid for m in messages}) == 10
    assert all(m.sent_at is not None and m.status_updated_at == m.sent_at for m in messages)


def test_a_fanned_out_message_is_stored_whole(alice_client, alice_template, meta, worker):
    """The fan-out writes its rows with one COPY on PostgreSQL: every column as the model's
    defaults would have it, and the row found again by the send and by its conversation."""
    broadcast_id = _broadcast(alice_client, 3)
    rows = message_services.broadcast_fanout(broadcast_id=broadcast_id)
    assert rows == 3
    message = Message.objects.filter(broadcast_id=broadcast_id).order_by("contact_wa_id").first()
    assert message is not None
    assert (message.status, message.attempts, message.error_title, message.pricing) == ("queued", 0, "", {})
    assert message.created_at == message.enqueued_at and message.updated_at is not None
    assert message.content["name"] == "order_update" and message.content["components"]
    assert message.template_name == "order_update" and message.user_id is not None

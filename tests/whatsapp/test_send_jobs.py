"""Send jobs that carry several messages (a broadcast's): each message is still paced,
claimed and sent once on its own; what the job shares is the loading and the counting."""

import itertools
import json
import threading
from unittest import mock

import pytest

from analytics.models import HourlyMetric
from tests.conftest import meta_error
from tests.whatsapp.test_broadcasts import URL, _body
from tests.whatsapp.test_broadcasts import alice_template as alice_template
from tests.whatsapp.test_messages_api import SEND_URL, meta_accepted
from whatsapp.messages import services as message_services
from whatsapp.messages.actors import send_message, send_messages
from whatsapp.models import Message, WhatsAppPhoneNumber


def _recipients(n: int) -> list[dict]:
    return [{"to": f"+57300222{i:04d}", "parameters": {"body": ["a", "b"]}} for i in range(n)]


def _answer_every_send(
    meta, *, refuse: set[str] = frozenset(), flaky: set[str] = frozenset(), down: set[str] = frozenset()
):
    """Meta's answers: a fresh wamid per send; `refuse`: 131026 for those recipients;
    `flaky`: one 500 (code 2, transient) the first time each of them is sent; `down`: always."""
    lock, counter, failed_once = threading.Lock(), iter(range(100_000)), set()

    def answer(request):
        to = json.loads(request.body)["to"]
        with lock:
            if to in refuse:
                return 400, {}, json.dumps(meta_error(131026, "Message undeliverable"))
            if to in down or (to in flaky and to not in failed_once):
                failed_once.add(to)
                return 500, {}, json.dumps(meta_error(2, "Service temporarily unavailable"))
            return 200, {}, json.dumps(meta_accepted(f"wamid.J{next(counter)}"))

    meta.add_callback("POST", SEND_URL, callback=answer)


def _sent_to(meta) -> list[str]:
    return [json.loads(c.request.body)["to"] for c in meta.calls if c.request.url.startswith(SEND_URL)]


def _broadcast(alice_client, n: int) -> str:
    response = alice_client.post(URL, _body(_recipients(n)), format="json")
    assert response.status_code == 202, response.content
    return response.json()["data"]["id"]


def test_a_broadcast_goes_out_in_jobs_of_several_messages_each_sent_and_counted_once(
    alice_client, alice_template, meta, worker
):
    _answer_every_send(meta)
    jobs: list[list[str]] = []
    real = message_services.messages_deliver

    def spy(*, message_ids):
        jobs.append(list(message_ids))
        real(message_ids=message_ids)

    broadcast_id = _broadcast(alice_client, 25)
    with mock.patch.object(message_services, "messages_deliver", spy):
        worker.drain()
    assert sorted(len(job) for job in jobs) == [5, 10, 10]
    sent = _sent_to(meta)
    assert len(sent) == 25 and len(set(sent)) == 25
    messages = Message.objects.filter(broadcast_id=broadcast_id)
    assert {m.status for m in messages} == {"sent"}
    assert len({m.wamid for m in messages}) == 25
    counted = HourlyMetric.objects.filter(metric="sent", dim_key="").values_list("count", flat=True)
    assert sum(counted) == 25
    progress = alice_client.get(f"{URL}/{broadcast_id}").json()["data"]["progress"]
    assert progress["sent"] == 25 and progress["queued"] == 0


def test_jobs_naming_the_same_messages_twice_send_each_once(alice_client, alice_template, meta, worker):
    _answer_every_send(meta)
    broadcast_id = _broadcast(alice_client, 12)
    message_services.broadcast_fanout(broadcast_id=broadcast_id)  # the messages, and their jobs
    ids = [str(pk) for pk in Message.objects.filter(broadcast_id=broadcast_id).values_list("pk", flat=True)]
    send_messages.send(ids)  # a second job for all of them, and a single send for each
    send_messages.send(list(reversed(ids)))
    for message_id in ids:
        send_message.send(message_id)
    worker.drain()
    sent = _sent_to(meta)
    assert len(sent) == 12 and len(set(sent)) == 12
    assert sum(HourlyMetric.objects.filter(metric="sent", dim_key="").values_list("count", flat=True)) == 12


def test_one_refused_message_fails_alone_and_the_rest_of_its_job_is_sent(
    alice_client, alice_template, meta, worker
):
    _answer_every_send(meta, refuse={"573002220003"})
    broadcast_id = _broadcast(alice_client, 10)
    worker.drain()
    statuses = dict(Message.objects.filter(broadcast_id=broadcast_id).values_list("contact_wa_id", "status"))
    assert statuses.pop("573002220003") == "failed"
    assert set(statuses.values()) == {"sent"} and len(statuses) == 9


def test_a_transient_error_retries_the_job_and_no_message_is_sent_twice(
    alice_client, alice_template, meta, worker, settings
):
    settings.META_GRAPH_MAX_RETRIES = 0  # the actor's retry, not the client's
    _answer_every_send(meta, flaky={"573002220004"})
    broadcast_id = _broadcast(alice_client, 10)
    worker.drain()
    sent = _sent_to(meta)
    assert len(sent) == 11 and sent.count("573002220004") == 2  # the 500, then the send
    assert set(Message.objects.filter(broadcast_id=broadcast_id).values_list("status", flat=True)) == {"sent"}


def test_a_recipient_meta_keeps_failing_fails_alone_after_the_retries(
    alice_client, alice_template, meta, worker, settings
):
    settings.META_GRAPH_MAX_RETRIES = 0
    settings.META_GRAPH_CIRCUIT_FAILURES = 1000  # the breaker is not what this is about
    _answer_every_send(meta, down={"573002220002"})
    broadcast_id = _broadcast(alice_client, 10)
    worker.drain()
    statuses = dict(Message.objects.filter(broadcast_id=broadcast_id).values_list("contact_wa_id", "status"))
    assert statuses.pop("573002220002") == "failed"
    assert set(statuses.values()) == {"sent"} and len(statuses) == 9
    sent = _sent_to(meta)
    assert all(sent.count(to) == 1 for to in statuses)


def test_without_a_slot_soon_the_rest_of_the_job_waits_and_the_cap_holds(
    alice_client, alice_template, meta, worker, monkeypatch
):
    monkeypatch.setattr(message_services, "SEND_BATCH", 3)  # two jobs race for the slots
    WhatsAppPhoneNumber.objects.update(max_send_rate=2)
    _answer_every_send(meta)
    times: list[float] = []
    real = message_services.graph.message_send

    def timed(*args, **kwargs):
        import time

        times.append(time.monotonic())
        return real(*args, **kwargs)

    requeued = mock.patch.object(message_services, "_requeue_rest", wraps=message_services._requeue_rest)
    broadcast_id = _broadcast(alice_client, 6)
    with mock.patch.object(message_services.graph, "message_send", timed), requeued as rest:
        worker.drain()
    assert rest.call_count >= 1
    assert set(Message.objects.filter(broadcast_id=broadcast_id).values_list("status", flat=True)) == {"sent"}
    assert len(times) == 6
    times.sort()
    assert all(b - a >= 0.5 for a, b in itertools.pairwise(times))  # 2/s, never faster


@pytest.fixture(autouse=True)
def _send_batch(monkeypatch):
    monkeypatch.setattr(message_services, "SEND_BATCH", 10)


def test_a_send_late_for_its_slot_takes_a_new_one_before_calling_meta(
    alice_client, alice_template, meta, worker, monkeypatch
):
    """Woken late (a busy machine, a slow claim), a send would bunch with later slots' sends."""
    _answer_every_send(meta)
    calls = iter(range(1_000_000))
    real_clock = message_services.pacer.clock

    def clock():  # 100 ms lost between the slot and the call, once
        return real_clock() + (0.1 if next(calls) >= 2 else 0.0)

    monkeypatch.setattr(message_services.pacer, "clock", clock)
    take = mock.patch.object(message_services.pacer, "take", wraps=message_services.pacer.take)
    broadcast_id = _broadcast(alice_client, 1)
    with take as taken:
        worker.drain()
    assert taken.call_count == 2  # its slot, then a fresh one
    assert Message.objects.get(broadcast_id=broadcast_id).status == "sent" and len(_sent_to(meta)) == 1

"""Deliveries claimed together (issue 14): a worker takes the deliveries queued in one message,
tops them up with other pending small ones, and applies each number's statuses from all of
them as one set. The outcome is exactly that of one delivery at a time; one bad delivery
never fails the others; a transient failure runs them again."""

import json
import random
from unittest import mock

import pytest
from django.db import OperationalError, transaction
from django.db.models import Sum

from analytics.models import HourlyMetric
from botopia_meta.tasks import RetryLater
from tests.factories import make_template_messages, make_whatsapp_account
from webhooks.models import WebhookEvent
from webhooks.services import webhook_event_record, webhook_events_process
from whatsapp.messages import services as message_services
from whatsapp.models import Message

BASE_TS = 1764330000


def body(phone_id: str, statuses: list[dict]) -> bytes:
    change = {
        "field": "messages",
        "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001111", "phone_number_id": phone_id},
            "statuses": statuses,
        },
    }
    entry = {"id": "310000000000001", "changes": [change]}
    return json.dumps({"object": "whatsapp_business_account", "entry": [entry]}).encode()


def sent_messages(number, count: int, prefix: str) -> list[Message]:
    return make_template_messages(number, count, prefix=prefix, status="sent")


def statuses_of(rows: list[Message], names=("sent", "delivered", "read")) -> list[dict]:
    return [
        {
            "id": row.wamid,
            "status": name,
            "timestamp": str(BASE_TS + 10 * phase + i),
            "recipient_id": row.contact_wa_id,
            "biz_opaque_callback_data": str(row.pk),
        }
        for phase, name in enumerate(names)
        for i, row in enumerate(rows)
    ]


def store_all(bodies: list[bytes]) -> list[WebhookEvent]:
    """Stored as the receiver stores them, each queued on its own message at commit."""
    with transaction.atomic():
        events = [webhook_event_record(raw_body=raw) for raw in bodies]
    return [e for e in events if e is not None]


def counted(name: str) -> int:
    rows = HourlyMetric.objects.filter(metric=name, dim_key="")
    return rows.aggregate(n=Sum("count"))["n"] or 0


def test_many_deliveries_are_applied_as_one_set_per_number_with_the_outcome_of_one_by_one(worker, alice, bob):
    number = make_whatsapp_account(alice)[2]
    theirs = make_whatsapp_account(bob, waba_id="310000000000002", phone_id="320000000000002")[2]
    ours, others = sent_messages(number, 30, "a"), sent_messages(theirs, 5, "b")
    statuses = statuses_of(ours)
    random.Random(14).shuffle(statuses)  # read before delivered, for some
    bodies = [body(number.phone_number_id, [s]) for s in statuses]
    bodies += [body(number.phone_number_id, statuses[:3] + statuses[40:41])]  # Meta re-batches
    bodies += [body(theirs.phone_number_id, statuses_of(others)[i : i + 5]) for i in range(0, 15, 5)]
    events = store_all(bodies)
    assert len(events) == 94

    with mock.patch.object(
        message_services, "messages_apply_webhook", wraps=message_services.messages_apply_webhook
    ) as applied:
        worker.drain()

    assert applied.call_count <= 4  # a set per number (a second worker thread may claim a few)
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}
    assert all([r["outcome"] for r in e.item_results] == ["applied"] for e in WebhookEvent.objects.all())
    assert set(Message.objects.values_list("status", flat=True)) == {"read"}
    assert Message.objects.filter(delivered_at__isnull=True).count() == 0
    for name in ("sent", "delivered", "read"):
        assert counted(name) == 35  # once per message, the redelivered ones too


def test_one_bad_delivery_in_a_set_fails_alone(worker, alice):
    number = make_whatsapp_account(alice)[2]
    rows = sent_messages(number, 6, "p")
    statuses = statuses_of(rows, names=("delivered",))
    poison = rows[2].wamid
    real = message_services.messages_apply_webhook

    def apply(**kwargs):
        if any(s.get("id") == poison for s in kwargs["statuses"]):
            raise ValueError("a bug in one delivery")
        return real(**kwargs)

    events = store_all([body(number.phone_number_id, [s]) for s in statuses])
    with mock.patch.object(message_services, "messages_apply_webhook", side_effect=apply):
        worker.drain()

    by_status = {e.pk: e.status for e in WebhookEvent.objects.all()}
    assert by_status[events[2].pk] == "failed"
    assert [by_status[e.pk] for i, e in enumerate(events) if i != 2] == ["processed"] * 5
    delivered = set(Message.objects.filter(status="delivered").values_list("wamid", flat=True))
    assert delivered == {r.wamid for r in rows} - {poison}
    assert counted("delivered") == 5


def test_a_transient_failure_of_a_set_runs_all_its_deliveries_again(worker, alice):
    number = make_whatsapp_account(alice)[2]
    rows = sent_messages(number, 8, "t")
    real = message_services.messages_apply_webhook
    calls = []

    def flaky(**kwargs):
        calls.append(len(kwargs["statuses"]))
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(**kwargs)

    events = store_all([body(number.phone_number_id, [s]) for s in statuses_of(rows, names=("delivered",))])
    with mock.patch.object(message_services, "messages_apply_webhook", side_effect=flaky):
        with pytest.raises(RetryLater):  # what the actor retries with backoff
            webhook_events_process(event_ids=[str(events[0].pk)])
        assert calls == [8]  # the set failed as a whole: every delivery goes back to the queue
        assert set(WebhookEvent.objects.values_list("status", "attempts")) == {("pending", 1)}
        worker.drain()  # their messages (and the retry) run them again

    assert set(WebhookEvent.objects.values_list("status", "attempts")) == {("processed", 2)}
    assert set(Message.objects.values_list("status", flat=True)) == {"delivered"}
    assert counted("delivered") == 8


def test_a_large_pending_delivery_is_left_to_its_own_message(transactional_db, alice, settings):
    settings.WEBHOOK_BATCH_MAX_BYTES = 1000
    number = make_whatsapp_account(alice)[2]
    rows = sent_messages(number, 6, "l")
    small, large = store_all(
        [
            body(number.phone_number_id, statuses_of(rows[:1], names=("delivered",))),
            body(number.phone_number_id, statuses_of(rows[1:], names=("delivered",))),
        ]
    )
    assert len(large.raw_body) > 1000 > len(small.raw_body)

    assert webhook_events_process(event_ids=[str(small.pk)]) == 1
    assert WebhookEvent.objects.get(pk=large.pk).status == "pending"
    assert webhook_events_process(event_ids=[str(large.pk), "not-a-uuid"]) == 1
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}
    assert Message.objects.filter(status="delivered").count() == 6

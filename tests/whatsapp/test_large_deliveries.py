"""A delivery of 10,000 statuses: processed in chunks, each committed with its progress, so a
kill resumes at the next chunk and other accounts' events are not stuck behind it."""

import json
from datetime import timedelta

import dramatiq
import pytest
from django.db import OperationalError, transaction
from django.utils import timezone

from analytics.models import DailyMetric, HourlyMetric
from tests.factories import make_template_messages, make_whatsapp_account
from webhooks import services as webhook_services
from webhooks.models import WebhookEvent
from webhooks.services import webhook_event_process, webhook_event_record, webhook_events_process
from whatsapp.messages import services as message_services
from whatsapp.models import Message, MessageStatusEvent

WABA_ID, PHONE_ID = "310000000000001", "320000000000001"
MESSAGES = 5000  # two statuses each: 10,000 in one change
BASE_TS = 1764330000


@pytest.fixture
def number(alice):
    return make_whatsapp_account(alice, waba_id=WABA_ID, phone_id=PHONE_ID)[2]


def body(waba_id: str, phone_id: str, statuses: list[dict]) -> bytes:
    change = {
        "field": "messages",
        "value": {
            "messaging_product": "whatsapp",
            "metadata": {"phone_number_id": phone_id},
            "statuses": statuses,
        },
    }
    return json.dumps(
        {"object": "whatsapp_business_account", "entry": [{"id": waba_id, "changes": [change]}]}
    ).encode()


def store(raw: bytes) -> WebhookEvent:
    with transaction.atomic():
        event = webhook_event_record(raw_body=raw)
    assert event is not None
    return event


def big_delivery(number, messages: int = MESSAGES) -> tuple[WebhookEvent, list[Message]]:
    """`messages` messages we sent (5,000); their `read` and `sent` statuses in one change, the `read` of
    every other message before its `sent` (Meta reorders)."""
    rows = make_template_messages(number, messages, prefix="big", status="queued")
    statuses = []
    for i, row in enumerate(rows):
        pair = [
            {
                "id": row.wamid,
                "status": "sent",
                "timestamp": str(BASE_TS + i),
                "recipient_id": row.contact_wa_id,
            },
            {
                "id": row.wamid,
                "status": "read",
                "timestamp": str(BASE_TS + i + 5),
                "recipient_id": row.contact_wa_id,
            },
        ]
        statuses += pair[::-1] if i % 2 else pair
    return store(body(WABA_ID, PHONE_ID, statuses)), rows


def totals(model) -> dict[str, int]:
    counts: dict[str, int] = {}
    for metric, count in model.objects.filter(dim_key="").values_list("metric", "count"):
        counts[metric] = counts.get(metric, 0) + count
    return counts


def assert_exact(rows: list[Message]) -> None:
    assert Message.objects.count() == MESSAGES  # no orphan made, none lost
    assert (
        Message.objects.filter(status="read", sent_at__isnull=False, read_at__isnull=False).count()
        == MESSAGES
    )
    assert MessageStatusEvent.objects.count() == 2 * MESSAGES
    want = {"sent": MESSAGES, "delivered": MESSAGES, "read": MESSAGES}  # read implies delivered
    assert totals(HourlyMetric) == want and totals(DailyMetric) == want
    by_template = HourlyMetric.objects.filter(metric="read", dim_key="template=order_update")
    assert sum(by_template.values_list("count", flat=True)) == MESSAGES


def test_a_delivery_of_10000_statuses_ends_exactly_in_chunks_queued_one_after_another(
    worker, number, settings
):
    settings.WEBHOOK_SLICE_SECONDS = 0  # one chunk per run: every continuation goes through the queue
    event, rows = big_delivery(number)
    worker.drain(timeout=600)
    event.refresh_from_db()
    assert event.status == "processed" and event.chunks_done == 20  # 10,000 / 500
    assert event.item_results == [{"index": "0.0", "field": "messages", "outcome": "applied"}]
    assert_exact(rows)


def test_a_kill_between_chunks_resumes_at_the_next_chunk_without_counting_twice(
    transactional_db, number, settings, monkeypatch
):
    settings.WEBHOOK_SLICE_SECONDS = 600
    event, rows = big_delivery(number)
    run_chunk = webhook_services._run_chunk

    def killed_after_chunk_3(event, slots, done, results):
        results = run_chunk(event, slots, done, results)
        if done + 1 == 3:
            raise SystemExit("worker killed")  # after chunk 3 committed, before chunk 4
        return results

    monkeypatch.setattr(webhook_services, "_run_chunk", killed_after_chunk_3)
    with pytest.raises(SystemExit):
        webhook_event_process(event_id=event.pk)
    event.refresh_from_db()
    assert event.status == "pending" and event.chunks_done == 3  # handed back for the retry
    assert MessageStatusEvent.objects.count() == 1500
    assert totals(HourlyMetric)["sent"] == 750

    applied = []
    apply = message_services.messages_apply_webhook

    def counting(**kwargs):
        applied.extend(kwargs["statuses"])
        apply(**kwargs)

    monkeypatch.setattr(message_services, "messages_apply_webhook", counting)
    webhook_event_process(event_id=event.pk)  # the retry
    event.refresh_from_db()
    assert event.status == "processed" and event.chunks_done == 20
    assert len(applied) == 2 * MESSAGES - 1500  # chunks 1-3 were not run again
    assert_exact(rows)


def test_another_accounts_event_is_not_stuck_behind_a_big_delivery(transactional_db, number, bob, settings):
    settings.WEBHOOK_SLICE_SECONDS = 0
    broker = dramatiq.get_broker()
    broker.flush_all()
    big, _ = big_delivery(number)
    _, _, other_number = make_whatsapp_account(bob, waba_id="310000000000002", phone_id="320000000000002")
    theirs = Message.objects.create(
        direction="outbound", phone_number=other_number, contact_wa_id="5215599999999", type="text",
        wamid="wamid.theirs", status="sent",
    )  # fmt: skip
    small = store(
        body(
            "310000000000002",
            "320000000000002",
            [{"id": "wamid.theirs", "status": "delivered", "timestamp": str(BASE_TS)}],
        )
    )

    # One worker thread taking the queue in order: the big delivery's message comes first.
    queue = broker.queues["webhooks"]
    messages = 0
    while not queue.empty():
        event_ids = dramatiq.Message.decode(queue.get_nowait()).args[0]
        queue.task_done()  # as a worker would: the next test's worker joins this queue
        webhook_events_process(event_ids=event_ids)
        messages += 1
        if messages == 1:
            assert event_ids == [str(big.pk)]
            big.refresh_from_db()
            theirs.refresh_from_db()
            # The small one was claimed beside it and applied first; the big one goes on later.
            assert theirs.status == "delivered"
            assert WebhookEvent.objects.get(pk=small.pk).status == "processed"
            assert big.status == "pending" and 0 < big.chunks_done < 20
    big.refresh_from_db()
    assert big.status == "processed" and messages > 2


@pytest.mark.parametrize("late", ["next chunk", "slice hand-back", "transient hand-back"])
def test_a_worker_whose_claim_was_taken_over_stops_and_leaves_the_outcome_to_the_other(
    late, transactional_db, number, settings, monkeypatch
):
    """Its claim went stale after a chunk (a stalled worker): the sweeper queued the event
    again, another worker claimed it and finished it. At its next write (the next chunk's
    progress, the hand-back after its slice, or after a transient failure) the late worker
    finds the claim is no longer its own: it stops, and the other's outcome stands."""
    settings.WEBHOOK_CHUNK_ITEMS = 10
    slice_seconds = 0 if late == "slice hand-back" else 600
    settings.WEBHOOK_SLICE_SECONDS = slice_seconds
    event, _ = big_delivery(number, messages=30)  # 60 statuses: 6 chunks
    run_chunk, apply = webhook_services._run_chunk, message_services.messages_apply_webhook
    stalled, theirs = [], []

    def taken_over_after_the_first_chunk(event, slots, done, results):
        results = run_chunk(event, slots, done, results)
        if not stalled:  # the late worker, after its first chunk (not the one taking over)
            stalled.append(done)
            WebhookEvent.objects.filter(pk=event.pk).update(claimed_at=timezone.now() - timedelta(hours=1))
            settings.WEBHOOK_SLICE_SECONDS = 600  # the other worker runs it to the end
            theirs.append(webhook_event_process(event_id=event.pk))
            settings.WEBHOOK_SLICE_SECONDS = slice_seconds
            theirs[0].refresh_from_db()
        return results

    applied_late = []

    def failing_once_taken_over(**kwargs):
        if theirs:
            applied_late.extend(kwargs["statuses"])
            if late == "transient hand-back":
                raise OperationalError("could not connect to server")
        apply(**kwargs)

    monkeypatch.setattr(webhook_services, "_run_chunk", taken_over_after_the_first_chunk)
    monkeypatch.setattr(message_services, "messages_apply_webhook", failing_once_taken_over)
    webhook_event_process(event_id=event.pk)  # no RetryLater: nothing is left to retry

    event.refresh_from_db()
    assert (theirs[0].status, theirs[0].chunks_done) == ("processed", 6)
    assert (event.status, event.chunks_done, event.item_results) == ("processed", 6, theirs[0].item_results)
    assert len(applied_late) <= 10  # at most the chunk in flight (rolled back), not the 4 after it
    assert Message.objects.filter(status="read").count() == 30
    assert MessageStatusEvent.objects.count() == 60
    assert totals(HourlyMetric) == {"sent": 30, "delivered": 30, "read": 30}

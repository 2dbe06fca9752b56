"""Processing: each item of a stored delivery routed by (object, field) to its handler, with
its own outcome; one bad item never stops its siblings; a settled event is not re-run."""

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import OperationalError
from django.test import Client

from accounts.models import Notification
from accounts.notifications import notify
from botopia_meta.registry import ItemIgnored, WebhookItem
from tests.conftest import FIXTURES, load_payload
from tests.factories import make_account
from tests.webhooks.conftest import deliver
from webhooks.actors import process_webhook_event
from webhooks.models import WebhookEvent

# Every fixture in tests/fixtures/meta/ and where it must be routed: (object, field, entry id).
FIXTURE_ROUTES = {
    "instagram_comments__add": ("instagram", "comments", "17841400000000002"),
    "instagram_messaging__message": ("instagram", "messages", "17841400000000002"),
    "message_template_quality_update__red": (
        "whatsapp_business_account",
        "message_template_quality_update",
        "310000000000001",
    ),
    "message_template_status_update__approved": (
        "whatsapp_business_account",
        "message_template_status_update",
        "310000000000001",
    ),
    "message_template_status_update__rejected": (
        "whatsapp_business_account",
        "message_template_status_update",
        "310000000000001",
    ),
    "messages__image": ("whatsapp_business_account", "messages", "310000000000001"),
    "messages__interactive_button_reply": ("whatsapp_business_account", "messages", "310000000000001"),
    "messages__reaction": ("whatsapp_business_account", "messages", "310000000000001"),
    "messages__text": ("whatsapp_business_account", "messages", "310000000000001"),
    "page_feed__comment_add": ("page", "feed", "330000000000001"),
    "page_feed__post_add": ("page", "feed", "330000000000001"),
    "page_messaging__message": ("page", "messages", "330000000000001"),
    "phone_number_quality_update__downgrade": (
        "whatsapp_business_account",
        "phone_number_quality_update",
        "310000000000001",
    ),
    "statuses__delivered": ("whatsapp_business_account", "messages", "310000000000001"),
    "statuses__failed": ("whatsapp_business_account", "messages", "310000000000001"),
    "statuses__read": ("whatsapp_business_account", "messages", "310000000000001"),
    "statuses__sent": ("whatsapp_business_account", "messages", "310000000000001"),
}


def test_every_fixture_has_a_route():
    assert {path.stem for path in Path(FIXTURES).glob("*.json")} == set(FIXTURE_ROUTES)


@pytest.mark.parametrize("name", sorted(FIXTURE_ROUTES))
def test_it_stores_and_routes_each_fixture_through_the_real_url(name, worker, recorder):
    payload = load_payload(name)
    assert deliver(Client(), payload).status_code == 200
    worker.drain()
    event = WebhookEvent.objects.get()
    assert event.status == "processed", event.item_results
    assert event.object == FIXTURE_ROUTES[name][0]
    assert recorder.routes() == [FIXTURE_ROUTES[name]]
    item = recorder.items[0]
    entry = payload["entry"][0]
    expected_value = entry["changes"][0]["value"] if "changes" in entry else entry["messaging"][0]
    assert item.value == expected_value
    assert item.event_id == event.pk
    assert event.item_results == [{"index": item.index, "field": item.field, "outcome": "applied"}]


def test_it_ignores_items_without_a_handler_yet(worker, handlers):
    assert deliver(Client(), load_payload("page_feed__post_add")).status_code == 200
    worker.drain()
    event = WebhookEvent.objects.get()
    assert event.status == "ignored"
    assert event.status_reason == "no handler yet"
    assert event.item_results == [
        {"index": "0.0", "field": "feed", "outcome": "ignored", "reason": "no handler yet"}
    ]


def test_it_ignores_an_event_for_an_unknown_number_and_attaches_it_to_nobody(worker, handlers, alice, bob):
    alice_account = make_account(alice)
    make_account(bob)
    known_numbers = {"329999999999999": alice_account}

    def quality_handler(item: WebhookItem) -> None:
        account = known_numbers.get(
            item.value.get("phone_number_id") or item.value.get("metadata", {}).get("phone_number_id")
        )
        if account is None:
            raise ItemIgnored("unknown phone number")
        notify(account=account, kind="message", title="New message")

    handlers[("whatsapp_business_account", "messages")] = quality_handler
    deliver(Client(), load_payload("messages__text"))  # phone number 320000000000001: not ours
    worker.drain()
    event = WebhookEvent.objects.get()
    assert event.status == "ignored" and event.status_reason == "unknown phone number"
    assert not Notification.objects.exists()


def test_a_poison_item_does_not_block_its_siblings(worker, handlers, alice):
    account = make_account(alice)

    def handler(item: WebhookItem) -> None:
        notify(account=account, kind="status", title=item.value["statuses"][0]["status"])
        if item.value["statuses"][0]["status"] == "delivered":
            raise KeyError("conversation")  # after a write: the write is rolled back too

    handlers[("whatsapp_business_account", "messages")] = handler
    payload = load_payload("statuses__sent")
    change = payload["entry"][0]["changes"][0]
    delivered = load_payload("statuses__delivered")["entry"][0]["changes"][0]
    read = load_payload("statuses__read")["entry"][0]["changes"][0]
    payload["entry"][0]["changes"] = [change, delivered, read, {"field": "messages"}]
    deliver(Client(), payload)
    worker.drain()

    event = WebhookEvent.objects.get()
    assert event.status == "partially_failed"
    assert event.status_reason == "1 of 4 item(s) failed."
    outcomes = {r["index"]: (r["outcome"], r.get("reason", "")) for r in event.item_results}
    assert outcomes == {
        "0.0": ("applied", ""),
        "0.1": ("failed", "KeyError: 'conversation'"),
        "0.2": ("applied", ""),
        "0.3": ("ignored", "malformed change: no value"),
    }
    assert sorted(Notification.objects.values_list("title", flat=True)) == ["read", "sent"]


def test_it_marks_an_event_failed_when_every_item_fails(worker, handlers):
    def broken(item: WebhookItem) -> None:
        raise ValueError("bug")

    handlers[("page", "feed")] = broken
    deliver(Client(), load_payload("page_feed__comment_add"))
    worker.drain()
    event = WebhookEvent.objects.get()
    assert event.status == "failed"
    assert event.item_results[0]["reason"] == "ValueError: bug"


def test_it_retries_an_event_after_a_transient_failure(worker, handlers):
    calls: list[str] = []

    def flaky(item: WebhookItem) -> None:
        calls.append(item.index)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")

    handlers[("instagram", "comments")] = flaky
    deliver(Client(), load_payload("instagram_comments__add"))
    worker.drain()
    event = WebhookEvent.objects.get()
    assert event.status == "processed"
    assert event.attempts == 2
    assert calls == ["0.0", "0.0"]


def test_a_processed_event_is_not_re_run_by_a_duplicate_message(worker, recorder):
    deliver(Client(), load_payload("messages__image"))
    worker.drain()
    event = WebhookEvent.objects.get()
    process_webhook_event.send(str(event.pk))
    process_webhook_event.send(str(event.pk))
    worker.drain()
    assert len(recorder.items) == 1
    event.refresh_from_db()
    assert event.attempts == 1

    process_webhook_event.send(str(event.pk), force=True)  # what replay asks for
    worker.drain()
    assert len(recorder.items) == 2


def test_it_routes_every_item_of_a_batch(worker, recorder):
    payload = load_payload("statuses__sent")
    entry = payload["entry"][0]
    entry["changes"] = entry["changes"] * 50
    payload["entry"].append(load_payload("phone_number_quality_update__downgrade")["entry"][0])
    deliver(Client(), payload)
    worker.drain()
    event = WebhookEvent.objects.get()
    assert event.status == "processed"
    assert event.item_count == 51
    assert event.fields == "messages,phone_number_quality_update"
    assert len(recorder.items) == 51


def test_the_sweeper_recovers_an_event_abandoned_by_a_dead_worker(worker, recorder):
    from datetime import timedelta

    from django.utils import timezone

    from webhooks.actors import sweep_webhook_events

    deliver(Client(), load_payload("messages__text"))
    worker.drain()
    recorder.items.clear()
    # A worker claimed it and died mid-way: the claim is old, the event never settled.
    WebhookEvent.objects.update(status="processing", claimed_at=timezone.now() - timedelta(minutes=11))
    sweep_webhook_events.send()
    worker.drain()
    event = WebhookEvent.objects.get()
    assert event.status == "processed" and event.attempts == 2
    assert len(recorder.items) == 1

    # A fresh claim (a worker busy on it right now) is left alone.
    WebhookEvent.objects.update(status="processing", claimed_at=timezone.now())
    sweep_webhook_events.send()
    process_webhook_event.send(str(event.pk))
    worker.drain()
    assert len(recorder.items) == 1


def test_it_prunes_settled_events_past_the_retention_but_never_pending_ones(worker, recorder, settings):
    from datetime import timedelta

    from django.utils import timezone

    from webhooks.actors import prune_webhook_events

    settings.WEBHOOK_EVENT_RETENTION_DAYS = 7
    for name in ("messages__text", "statuses__read", "statuses__sent"):
        deliver(Client(), load_payload(name))
    worker.drain()
    old = timezone.now() - timedelta(days=8)
    events = list(WebhookEvent.objects.order_by("received_at"))
    WebhookEvent.objects.filter(pk__in=[events[0].pk, events[1].pk]).update(received_at=old)
    WebhookEvent.objects.filter(pk=events[1].pk).update(status="pending")  # never processed yet
    prune_webhook_events.send()
    worker.drain()
    assert set(WebhookEvent.objects.values_list("pk", flat=True)) == {events[1].pk, events[2].pk}


def test_a_database_error_while_settling_hands_the_claim_back(recorder, transactional_db):
    from django.db import connection

    from webhooks.services import webhook_event_process

    deliver(Client(), load_payload("statuses__read"))
    event = WebhookEvent.objects.get()
    failures = []

    def fail_settling_once(execute, sql, params, many, context):
        if sql.startswith("UPDATE") and "processed_at" in sql and not failures:
            failures.append(sql)
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail_settling_once), pytest.raises(OperationalError):
        webhook_event_process(event_id=event.pk)
    event.refresh_from_db()
    assert (event.status, event.claimed_at) == ("pending", None)  # not stuck in "processing"

    assert webhook_event_process(event_id=event.pk).status == "processed"  # the retry runs at once
    assert len(recorder.items) == 2  # applied twice: the handlers' idempotency makes that harmless


@pytest.mark.parametrize("outcome", ["applied", "transient failure"])
def test_a_worker_past_its_claim_never_writes_over_the_outcome_of_the_one_that_took_over(
    outcome, handlers, transactional_db
):
    """Its claim went stale while it ran (a stalled worker): the sweeper queued the event
    again, another worker claimed and settled it. The late worker's outcome, whether applied
    or "hand it back as pending", must not replace the settled one."""
    from django.db import connection

    from botopia_meta.tasks import RetryLater
    from webhooks.services import webhook_events_process

    deliver(Client(), load_payload("statuses__read"))
    event = WebhookEvent.objects.get()
    theirs = [{"index": 0, "field": "messages", "outcome": "applied", "by": "the other worker"}]
    taken_over = []

    def settled_by_the_other_first(execute, sql, params, many, context):
        if sql.startswith("UPDATE") and "processed_at" in sql and not taken_over:
            taken_over.append(sql)
            WebhookEvent.objects.filter(pk=event.pk).update(
                status="processed", item_results=theirs, claimed_at=None
            )
        return execute(sql, params, many, context)

    def handler(item: WebhookItem) -> None:
        if outcome == "transient failure":
            raise OperationalError("could not connect to server")

    handlers[("whatsapp_business_account", "messages")] = handler
    with connection.execute_wrapper(settled_by_the_other_first):
        if outcome == "transient failure":
            with pytest.raises(RetryLater):
                webhook_events_process(event_ids=[str(event.pk)])
        else:
            assert webhook_events_process(event_ids=[str(event.pk)]) == 1
    assert taken_over
    event.refresh_from_db()
    assert (event.status, event.item_results) == ("processed", theirs)


def test_a_delivery_that_keeps_killing_its_worker_is_isolated_then_failed_and_spares_the_others(
    worker, recorder, monkeypatch
):
    """A delivery whose processing kills the worker process (its claims stay `processing`,
    nothing settled), again after each sweep. Abandoned once, it is re-run with those claimed
    beside it (a deploy's kill looks the same); abandoned twice, each of them is queued and
    claimed alone, so the others are processed and no fresh delivery is taken down with it;
    abandoned MAX_ATTEMPTS times, it is failed unrun with a reason staff can act on."""
    from django.utils import timezone

    from webhooks import services
    from webhooks.actors import process_webhook_events, sweep_webhook_events

    def delivery(n: int) -> WebhookEvent:
        """Stored a moment ago, its queue message not taken yet (or lost with the broker)."""
        payload = load_payload("messages__text")
        payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = f"wamid.poison-test-{n}"
        return WebhookEvent.objects.create(dedupe_key=f"{n:064d}", raw_body=json.dumps(payload).encode())

    poison, *others = [delivery(n) for n in range(6)]
    process_claimed, killed = services._process_claimed, []

    def dies_on_the_poison(events):
        if poison.pk in {e.pk for e in events}:
            killed.append({e.pk for e in events})
            return  # the process is gone: its claims stay as they are
        process_claimed(events)

    def time_passes():  # past the claim timeout and the sweeper's resweep wait
        WebhookEvent.objects.filter(status="processing").update(
            claimed_at=timezone.now() - services.CLAIM_TIMEOUT - timedelta(seconds=1), swept_at=None
        )
        sweep_webhook_events.send()
        worker.drain()

    monkeypatch.setattr(services, "_process_claimed", dies_on_the_poison)
    process_webhook_events.send([str(poison.pk)])
    worker.drain()  # its message claims it and the pending ones beside it
    time_passes()  # abandoned once: run together again
    assert killed == [{poison.pk, *(e.pk for e in others)}] * 2

    fresh = delivery(6)
    time_passes()  # abandoned twice: each alone
    assert killed[2:] == [{poison.pk}]
    assert set(
        WebhookEvent.objects.filter(pk__in=[e.pk for e in others]).values_list("status", flat=True)
    ) == {"processed"}
    assert WebhookEvent.objects.get(pk=fresh.pk).status == "pending"  # not taken down beside it

    for _ in range(3):
        time_passes()
    assert killed[3:] == [{poison.pk}] * 2  # claims 4 and 5; the 6th finds it given up
    poison.refresh_from_db()
    assert (poison.status, poison.attempts, poison.claimed_at) == ("failed", services.MAX_ATTEMPTS, None)
    assert "Abandoned by 5 workers" in poison.status_reason and "Replay" in poison.status_reason

    process_webhook_events.send([str(fresh.pk)])
    worker.drain()
    assert WebhookEvent.objects.get(pk=fresh.pk).status == "processed"

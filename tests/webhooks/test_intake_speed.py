"""The receiver's two shortcuts (issue 14): the enqueue leaves the request for a background
thread, and the INSERT is its own database health check. Neither may lose a delivery."""

import threading
import time
from datetime import timedelta
from unittest import mock

import dramatiq
import psycopg
import pytest
from django.db import connection
from django.test import Client
from django.urls import resolve
from django.utils import timezone

from tests.conftest import load_payload
from tests.webhooks.conftest import URL, deliver, encode
from webhooks import intake_queue
from webhooks.models import WebhookEvent
from webhooks.receiver import webhook_events


@pytest.fixture
def in_background(settings):
    settings.WEBHOOK_ENQUEUE_IN_BACKGROUND = True
    yield intake_queue.handoff
    assert intake_queue.handoff.flush()


def test_a_delivery_queued_in_the_background_is_processed(in_background, worker, recorder):
    with mock.patch.object(intake_queue, "_send", wraps=intake_queue._send) as send:
        handoff = intake_queue.Handoff(send)
        with mock.patch.object(intake_queue, "handoff", handoff):
            assert deliver(Client(), load_payload("messages__reaction")).status_code == 200
            assert handoff.flush()
    event = WebhookEvent.objects.get()
    send.assert_called_once_with([str(event.pk)])
    worker.drain()
    event.refresh_from_db()
    assert event.status == "processed" and len(recorder.items) == 1


def test_a_broker_down_in_the_background_leaves_the_row_for_the_sweeper(in_background, worker, recorder):
    broker = dramatiq.get_broker()
    down = dramatiq.errors.ConnectionClosed(OSError("down"))
    with mock.patch.object(broker, "enqueue", side_effect=down):
        assert deliver(Client(), load_payload("statuses__delivered")).status_code == 200
        assert in_background.flush()
    worker.drain()
    assert WebhookEvent.objects.get().status == "pending" and recorder.items == []

    from webhooks.actors import sweep_webhook_events

    WebhookEvent.objects.update(received_at=timezone.now() - timedelta(seconds=61))
    sweep_webhook_events.send()
    worker.drain()
    assert WebhookEvent.objects.get().status == "processed" and len(recorder.items) == 1


def test_ids_handed_over_before_exit_are_queued(settings):
    sent: list[list[str]] = []
    handoff = intake_queue.Handoff(sent.append)
    for n in range(50):
        handoff.put(f"event-{n}")
    assert handoff.flush()  # what atexit runs
    assert [event_id for batch in sent for event_id in batch] == [f"event-{n}" for n in range(50)]


def test_ids_stored_while_one_is_being_queued_go_in_one_message(settings):
    """A busy receiver queues one message for many deliveries (the worker then applies them
    together), at most WEBHOOK_BATCH_EVENTS ids a message, in their order."""
    settings.WEBHOOK_BATCH_EVENTS = 20
    sent: list[list[str]] = []
    broker_slow = threading.Event()

    def send(ids: list[str]) -> None:
        broker_slow.wait(5)
        sent.append(ids)

    handoff = intake_queue.Handoff(send)
    handoff.put("event-0")
    for n in range(1, 50):
        handoff.put(f"event-{n}")  # while event-0's message is still on its way
    broker_slow.set()
    assert handoff.flush()
    assert [event_id for batch in sent for event_id in batch] == [f"event-{n}" for n in range(50)]
    assert len(sent) <= 4 and max(len(batch) for batch in sent) == 20


def test_deliveries_a_moment_apart_share_a_message_and_a_flush_does_not_wait(settings):
    settings.WEBHOOK_ENQUEUE_LINGER_MS = 2000
    sent: list[list[str]] = []
    handoff = intake_queue.Handoff(sent.append)
    handoff.put("event-0")
    time.sleep(0.05)  # the thread took event-0 and waits for more
    handoff.put("event-1")
    assert handoff.flush(timeout=1.0)  # done without waiting out the linger
    assert sent == [["event-0", "event-1"]]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a server-side disconnect needs PostgreSQL")
def test_a_connection_the_server_dropped_is_replaced_and_the_delivery_stored(transactional_db, worker):
    client = Client()
    assert deliver(client, load_payload("messages__reaction")).status_code == 200  # connection open
    pid = connection.connection.info.backend_pid
    dsn = connection.connection.info.dsn
    with psycopg.connect(
        dsn, password=connection.settings_dict.get("PASSWORD") or None, autocommit=True
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    response = deliver(client, load_payload("statuses__delivered"))
    assert response.status_code == 200, response.content
    assert WebhookEvent.objects.count() == 2
    assert connection.connection.info.backend_pid != pid


def test_the_receiver_is_the_first_url_tried():
    match = resolve(URL)
    assert match.func is webhook_events and match.tried is not None and len(match.tried) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="binding is psycopg's, on PostgreSQL")
def test_it_sends_the_body_to_postgresql_as_a_bound_parameter(transactional_db):
    """Not hex-escaped into the SQL text (client-side binding, Django's default): the INSERT
    reaches PostgreSQL with placeholders and the raw bytes beside it; the row is the same."""
    seen = []

    def record(execute, sql, params, many, context):
        seen.append(context["cursor"].cursor)
        return execute(sql, params, many, context)

    body = encode(load_payload("statuses__delivered"))
    with connection.execute_wrapper(record):
        assert deliver(Client(), body).status_code == 200
    (cursor,) = seen
    assert not isinstance(cursor, psycopg.ClientCursor) and b"$1" in cursor._query.query
    assert bytes(WebhookEvent.objects.get().raw_body) == body


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_the_intake_insert_is_prepared_once_per_connection_and_nothing_else_is(transactional_db):
    """DB_PREPARED_STATEMENTS (on by default): after psycopg's 5 runs on a connection the
    INSERT is prepared, so PostgreSQL no longer parses and plans it for each delivery. Django's
    own queries stay unprepared (bound client-side), as a pooler would need."""

    def prepared() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return [row[0] for row in cursor.fetchall()]

    payload = load_payload("statuses__delivered")
    for n in range(7):
        payload["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] = f"wamid.prepared-{n}"
        assert deliver(Client(), encode(payload)).status_code == 200
        WebhookEvent.objects.count()  # one of Django's own queries between deliveries
    (statement,) = prepared()
    assert statement.startswith('INSERT INTO "webhooks_webhookevent"') and "$1" in statement
    assert WebhookEvent.objects.count() == 7


def test_a_delivery_skips_the_stack_after_the_security_checks(db, settings):
    """Meta's POST goes straight to the receiver (webhooks.middleware), but the host check,
    the HTTPS redirect and the security headers still apply to it."""
    client = Client()
    response = deliver(client, load_payload("statuses__delivered"))
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "Set-Cookie" not in response and "Cookie" not in response.get("Vary", "")

    before = WebhookEvent.objects.count()
    refused = deliver(client, load_payload("messages__reaction"), HTTP_HOST="evil.example")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "BAD_REQUEST"

    settings.SECURE_SSL_REDIRECT = True
    redirected = deliver(Client(), load_payload("messages__reaction"))  # middleware read anew
    assert redirected.status_code == 301 and redirected["Location"].startswith("https://")
    assert WebhookEvent.objects.count() == before  # neither was stored

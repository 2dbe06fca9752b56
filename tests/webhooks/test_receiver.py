"""The receiver: handshake, signature on the raw bytes, size cap, one durable row per delivery."""

import io
import json
import threading
from datetime import timedelta
from unittest import mock

import dramatiq
import pytest
from django.db import OperationalError, connection
from django.test import Client, RequestFactory
from django.utils import timezone

from tests.conftest import load_payload
from tests.factories import make_account
from tests.webhooks.conftest import URL, deliver, encode, sign
from webhooks.models import WebhookConfig, WebhookEvent
from webhooks.receiver import webhook_events

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == code


def queued(name: str = "webhooks") -> int:
    queue = dramatiq.get_broker().queues.get(name)
    return queue.qsize() if queue is not None else 0


# --- handshake --------------------------------------------------------------------------


def test_it_answers_the_handshake_with_exactly_the_challenge():
    response = Client().get(
        URL, {"hub.mode": "subscribe", "hub.verify_token": "test-verify-token", "hub.challenge": "1158201444"}
    )
    assert response.status_code == 200
    assert response.content == b"1158201444"
    assert response["Content-Type"].startswith("text/plain")


def test_it_accepts_the_verify_token_of_an_active_config(alice):
    account = make_account(alice)
    WebhookConfig.objects.create(
        account=account, verify_token="alice-own-token-42", status="active", target_url="https://x.test/"
    )
    params = {"hub.mode": "subscribe", "hub.verify_token": "alice-own-token-42", "hub.challenge": "77"}
    assert Client().get(URL, params).content == b"77"

    account.status = "revoked"
    account.save()
    assert_error(Client().get(URL, params), 403, "INVALID_VERIFY_TOKEN")


@pytest.mark.parametrize("token", ["wrong-token", "test-verify-toke", "test-verify-token ", "tëst"])
def test_it_refuses_a_wrong_verify_token(token):
    params = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1"}
    assert_error(Client().get(URL, params), 403, "INVALID_VERIFY_TOKEN")


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"hub.mode": "subscribe", "hub.verify_token": "test-verify-token"},
        {"hub.mode": "unsubscribe", "hub.verify_token": "test-verify-token", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": "test-verify-token", "hub.challenge": "<b>x</b> y"},
        {"hub.mode": "subscribe", "hub.verify_token": "test-verify-token", "hub.challenge": "9" * 300},
    ],
)
def test_it_answers_400_to_missing_or_malformed_handshake_parameters(params):
    assert_error(Client().get(URL, params), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_it_answers_405_to_other_methods(method):
    response = getattr(Client(), method)(URL)
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert response["Allow"] == "GET, POST"


# --- signature --------------------------------------------------------------------------


def test_it_stores_a_signed_delivery_as_pending():
    body = encode(load_payload("statuses__delivered"))
    response = deliver(Client(), body)
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert bytes(event.raw_body) == body
    assert (event.object, event.fields, event.status, event.item_count) == (
        "whatsapp_business_account",
        "messages",
        "pending",
        1,
    )


def test_it_accepts_a_signature_made_with_the_previous_secret_during_a_rotation():
    body = encode(load_payload("statuses__sent"))
    assert deliver(Client(), body, signature=sign(body, "test-old-app-secret")).status_code == 200
    assert WebhookEvent.objects.count() == 1


def test_it_refuses_a_delivery_without_signature_and_stores_nothing(caplog):
    body = encode(load_payload("messages__text"))
    assert_error(deliver(Client(), body, signature=""), 401, "SIGNATURE_REQUIRED")
    assert not WebhookEvent.objects.exists()
    assert "Hola" not in caplog.text


GOOD = sign(encode(load_payload("messages__text")))


@pytest.mark.parametrize(
    "header",
    [
        sign(encode(load_payload("messages__text")), "another-app-secret"),
        GOOD[:-1] + ("0" if GOOD[-1] != "0" else "1"),  # one hex digit off
        GOOD.replace("sha256=", "sha1="),
        GOOD.replace("sha256=", ""),
        GOOD + "00",
        GOOD[:-2],
        "sha256=" + "zz" * 32,
        "sha256=",
        "sha256=" + "é" * 64,
        GOOD + "\n",
        "sha256=" + "a" * 10_000,
        "Bearer whatever",
    ],
)
def test_it_refuses_bad_signature_headers_with_403_and_stores_nothing(header, caplog):
    body = encode(load_payload("messages__text"))
    assert_error(deliver(Client(), body, signature=header), 403, "INVALID_SIGNATURE")
    assert not WebhookEvent.objects.exists()
    assert "invalid signature" in caplog.text
    assert "Hola" not in caplog.text  # the body is never logged


def test_it_accepts_uppercase_hex():
    body = encode(load_payload("messages__text"))
    assert deliver(Client(), body, signature="sha256=" + sign(body)[7:].upper()).status_code == 200


def test_it_refuses_a_body_re_encoded_after_signing():
    payload = load_payload("page_messaging__message")  # contains "¿"
    signed = json.dumps(payload).encode()
    for reencoded in (
        json.dumps(payload, ensure_ascii=False).encode(),
        json.dumps(payload, separators=(",", ":")).encode(),
        json.dumps(payload, indent=2).encode(),
    ):
        assert reencoded != signed
        assert_error(deliver(Client(), reencoded, signature=sign(signed)), 403, "INVALID_SIGNATURE")
    assert not WebhookEvent.objects.exists()


def test_it_verifies_unicode_escapes_as_meta_sends_them():
    payload = load_payload("instagram_comments__add")  # "Me encanta 😍 ¿hay talla 38?"
    body = json.dumps(payload).encode()
    assert b"\\ud83d\\ude0d" in body and b"\\u00bf" in body
    assert deliver(Client(), body).status_code == 200
    event = WebhookEvent.objects.get()
    assert bytes(event.raw_body) == body
    stored = json.loads(bytes(event.raw_body))["entry"][0]["changes"][0]["value"]["text"]
    assert stored == "Me encanta 😍 ¿hay talla 38?"


# --- size, content, duplicates ------------------------------------------------------------


def test_it_refuses_a_body_over_the_cap_with_413(settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 200
    body = encode(load_payload("messages__text"))
    assert len(body) > 200
    assert_error(deliver(Client(), body), 413, "PAYLOAD_TOO_LARGE")
    assert not WebhookEvent.objects.exists()


def test_it_refuses_an_announced_length_over_the_cap_before_reading(settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 1000
    stream = mock.Mock(spec=io.BytesIO)
    request = RequestFactory().post(URL, b"", content_type="application/json", HTTP_X_HUB_SIGNATURE_256="x")
    request.META["CONTENT_LENGTH"] = "5000000"
    request.META["wsgi.input"] = stream
    request._stream = stream
    response = webhook_events(request)
    assert response.status_code == 413
    stream.read.assert_not_called()


def test_it_bounds_the_read_of_a_chunked_body(settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 300
    body = encode(load_payload("messages__text"))

    def chunked_request(raw: bytes):
        request = RequestFactory().post(
            URL, b"", content_type="application/json", HTTP_X_HUB_SIGNATURE_256=sign(raw)
        )
        request.META.pop("CONTENT_LENGTH", None)
        request.META["HTTP_TRANSFER_ENCODING"] = "chunked"
        request.META["wsgi.input"] = io.BytesIO(raw)
        return request

    assert webhook_events(chunked_request(body)).status_code == 413
    settings.WEBHOOK_MAX_BODY_BYTES = 10_000
    assert webhook_events(chunked_request(body)).status_code == 200
    assert bytes(WebhookEvent.objects.get().raw_body) == body


def test_it_stores_a_signed_body_that_is_not_json_as_rejected():
    response = deliver(Client(), b"\xff\xfenot json at all")
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status == "rejected" and "not JSON" in event.status_reason


@pytest.mark.parametrize(
    "body", [b"[1, 2]", b'{"entry": []}', b'{"object": "page", "entry": {}}', b"[" * 100_000]
)
def test_it_stores_json_of_an_unknown_shape_as_ignored(body):
    assert deliver(Client(), body).status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status in ("ignored", "rejected")
    assert event.status_reason


def test_it_stores_a_duplicate_delivery_once(worker, handlers):
    body = encode(load_payload("statuses__read"))
    assert deliver(Client(), body).status_code == 200
    first = WebhookEvent.objects.get()
    assert deliver(Client(), body).status_code == 200
    assert WebhookEvent.objects.count() == 1
    assert WebhookEvent.objects.get().pk == first.pk


def test_it_leaves_one_row_for_two_identical_deliveries_at_once(transactional_db):
    body = encode(load_payload("statuses__sent"))
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def post() -> None:
        try:
            barrier.wait()
            statuses.append(deliver(Client(), body).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if connection.vendor == "sqlite":
        # The in-memory test database refuses a concurrent writer outright (table locked):
        # the receiver then rightly answers 503 so that Meta retries. PostgreSQL runs the race.
        assert 200 in statuses and set(statuses) <= {200, 503}
    else:
        assert statuses == [200, 200, 200, 200]
    assert WebhookEvent.objects.count() == 1


# --- durability ---------------------------------------------------------------------------


def test_it_answers_503_when_the_database_cannot_store_the_event(caplog):
    def database_down(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("INSERT"):
            raise OperationalError("could not connect to server")
        return execute(sql, params, many, context)

    body = encode(load_payload("messages__text"))
    with connection.execute_wrapper(database_down):
        response = deliver(Client(), body)
    assert_error(response, 503, "STORAGE_UNAVAILABLE")
    assert not WebhookEvent.objects.exists()
    # Meta retries: the same delivery is then stored.
    assert deliver(Client(), body).status_code == 200
    assert WebhookEvent.objects.count() == 1


def test_it_answers_200_when_the_broker_is_down_and_the_sweeper_enqueues_later(worker, recorder):
    broker = dramatiq.get_broker()
    body = encode(load_payload("statuses__delivered"))
    with mock.patch.object(broker, "enqueue", side_effect=dramatiq.errors.ConnectionClosed(OSError("down"))):
        assert deliver(Client(), body).status_code == 200
    worker.drain()
    event = WebhookEvent.objects.get()
    assert event.status == "pending"
    assert recorder.items == []

    # A sweep within the first minute leaves it alone (it may just be queued).
    from webhooks.actors import sweep_webhook_events

    sweep_webhook_events.send()
    worker.drain()
    assert WebhookEvent.objects.get().status == "pending"

    WebhookEvent.objects.update(received_at=timezone.now() - timedelta(seconds=61))
    sweep_webhook_events.send()
    worker.drain()
    event.refresh_from_db()
    assert event.status == "processed"
    assert recorder.routes() == [("whatsapp_business_account", "messages", "310000000000001")]


def test_it_enqueues_the_stored_event_after_commit(worker, recorder):
    assert deliver(Client(), load_payload("messages__reaction")).status_code == 200
    worker.drain()
    assert WebhookEvent.objects.get().status == "processed"
    assert len(recorder.items) == 1


@pytest.mark.parametrize(("length", "status"), [("abc", 400), ("-5", 403), ("1e9", 400), ("0", 403)])
def test_it_never_fails_on_a_strange_content_length(length, status):
    body = encode(load_payload("messages__text"))
    response = deliver(Client(), body, CONTENT_LENGTH=length)
    assert response.status_code == status
    assert response.json()["success"] is False
    assert not WebhookEvent.objects.exists()


def test_it_answers_400_when_the_body_cannot_be_read():
    class Broken(io.RawIOBase):
        def read(self, size=-1):
            raise OSError("connection reset")

    request = RequestFactory().post(URL, b"{}", content_type="application/json", HTTP_X_HUB_SIGNATURE_256="x")
    request._stream = Broken()
    assert webhook_events(request).status_code == 400
    assert not WebhookEvent.objects.exists()

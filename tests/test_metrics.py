"""GET /metrics: Prometheus text behind METRICS_TOKEN, with the pipeline's figures after a real
send (through the API and the worker) and a real status webhook."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import graph_url, load_payload
from tests.factories import PHONE_ID, make_whatsapp_account
from tests.webhooks.conftest import deliver
from webhooks.models import WebhookEvent

TOKEN = "metrics-token-0123456789"
WAMID = "wamid.HBgMNTczMDAxMTEyMjMzFQIAERgSQUFBQQ=="


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN


def scrape(client: Client | None = None) -> dict[tuple[str, tuple], float]:
    response = (client or Client()).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_it_is_a_404_while_no_token_is_set(db, settings):
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


def test_it_asks_for_the_token_and_refuses_a_wrong_one(db, metrics_on):
    missing = Client().get("/metrics")
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert Client().get("/metrics", HTTP_AUTHORIZATION=f"Token {TOKEN}").status_code == 403
    assert Client().post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405


def test_it_reports_the_pipeline_after_a_send_and_a_status_webhook(
    alice, alice_client, meta, worker, metrics_on
):
    _, _, number = make_whatsapp_account(alice)
    number.contacts.create(wa_id="573001112233", last_inbound_at=timezone.now())
    meta.post(graph_url(f"{PHONE_ID}/messages"), json={"messages": [{"id": WAMID}]})
    response = alice_client.post(
        "/api/meta/whatsapp/messages",
        {"to": "+57 300 111 2233", "type": "text", "text": {"body": "Hi"}},
        format="json",
    )
    assert response.status_code == 202
    worker.drain()

    payload = load_payload("statuses__delivered")
    value = payload["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = PHONE_ID
    value["statuses"][0].update(id=WAMID, timestamp=str(int(timezone.now().timestamp()) - 3))
    value["statuses"][0].pop("biz_opaque_callback_data", None)
    assert deliver(Client(), payload).status_code == 200
    worker.drain()
    WebhookEvent.objects.create(
        dedupe_key="p" * 64, raw_body=b"{}", received_at=timezone.now() - timedelta(minutes=2)
    )

    samples = scrape()
    sends = ("botopia_whatsapp_sends_total", (("outcome", "sent"), ("phone_number_id", PHONE_ID)))
    assert samples[sends] == 1
    assert samples[("botopia_whatsapp_status_lag_seconds_count", ())] == 1
    assert samples[("botopia_whatsapp_status_lag_seconds_bucket", (("le", "1.0"),))] == 0
    assert samples[("botopia_whatsapp_status_lag_seconds_bucket", (("le", "60.0"),))] == 1
    assert 3 <= samples[("botopia_whatsapp_status_lag_seconds_sum", ())] < 60
    assert samples[("botopia_webhook_events", (("status", "processed"),))] == 1
    assert samples[("botopia_webhook_events", (("status", "pending"),))] == 1
    assert samples[("botopia_webhook_oldest_pending_seconds", ())] >= 120
    assert samples[("botopia_graph_calls_total", (("code", "ok"),))] == 1
    assert samples[("botopia_graph_circuit_open", (("reason", "failures"),))] == 0
    webhooks_ready = ("botopia_queue_depth", (("kind", "ready"), ("queue", "webhooks")))
    assert samples[webhooks_ready] == 0


def test_it_counts_graph_errors_by_code_and_open_circuits(db, meta, metrics_on, settings):
    from botopia_meta.graph import GraphClient, GraphError

    settings.META_GRAPH_MAX_RETRIES = 0
    settings.META_GRAPH_CIRCUIT_FAILURES = 1
    meta.get(
        graph_url("me"), json={"error": {"message": "down", "code": 2, "type": "OAuthException"}}, status=503
    )
    with pytest.raises(GraphError):
        GraphClient("EAAG-some-token-0123456789", target="waba:1").get("me")
    samples = scrape()
    assert samples[("botopia_graph_calls_total", (("code", "2"),))] == 1
    assert samples[("botopia_graph_circuit_opened_total", (("reason", "failures"),))] == 1
    assert samples[("botopia_graph_circuit_open", (("reason", "failures"),))] == 1


def test_counts_held_by_batched_are_added_at_the_end_even_when_the_block_fails(db, metrics_on):
    from botopia_meta import metrics

    def sends() -> float:
        key = ("botopia_whatsapp_sends_total", (("outcome", "sent"), ("phone_number_id", PHONE_ID)))
        return scrape().get(key, 0.0)

    with pytest.raises(RuntimeError), metrics.batched():
        for _ in range(3):
            metrics.count("whatsapp_sends", PHONE_ID, "sent")
        with metrics.batched():  # nested: flushed with the outer block
            metrics.count("whatsapp_sends", PHONE_ID, "sent")
        assert sends() == 0  # held
        raise RuntimeError("a later send failed")
    assert sends() == 4

"""The Graph transport against Meta faked at the HTTP level."""

import hashlib
import hmac
import json
import logging
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses
from django.core.cache import cache

from botopia_meta import graph
from tests.conftest import graph_url, meta_error

USER_TOKEN = "EAAGuserTOKENabcdef1234567890"


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    sleeps: list[float] = []
    monkeypatch.setattr(graph, "_sleep", sleeps.append)
    return sleeps


def query_of(call) -> dict[str, list[str]]:
    return parse_qs(urlparse(call.request.url).query)


def test_it_builds_urls_from_settings(meta, settings):
    settings.META_GRAPH_URL = "http://graph.local:9000"
    settings.META_GRAPH_VERSION = "v99.0"
    meta.get("http://graph.local:9000/v99.0/me", json={"id": "1", "name": "Ana"})
    assert graph.GraphClient(USER_TOKEN).get("me").data == {"id": "1", "name": "Ana"}


def test_it_signs_user_token_calls_with_appsecret_proof(meta, settings):
    meta.get(graph_url("me"), json={"id": "1"})
    graph.GraphClient(USER_TOKEN).get("me")
    query = query_of(meta.calls[0])
    expected = hmac.new(settings.META_APP_SECRET.encode(), USER_TOKEN.encode(), hashlib.sha256).hexdigest()
    assert query["appsecret_proof"] == [expected]
    assert query["access_token"] == [USER_TOKEN]


def test_it_sends_no_proof_with_the_app_token(meta, settings):
    meta.get(graph_url("debug_token"), json={"data": {}})
    graph.GraphClient(app_token=True).get("debug_token", {"input_token": "x"})
    query = query_of(meta.calls[0])
    assert "appsecret_proof" not in query
    assert query["access_token"] == [f"{settings.META_APP_ID}|{settings.META_APP_SECRET}"]


def test_it_retries_a_500_then_succeeds(meta, no_sleep):
    meta.get(graph_url("me"), json=meta_error(2, "Service temporarily unavailable"), status=500)
    meta.get(graph_url("me"), json={"id": "1"})
    assert graph.GraphClient(USER_TOKEN).get("me").data == {"id": "1"}
    assert len(meta.calls) == 2
    assert len(no_sleep) == 1


def test_it_gives_up_after_the_bounded_retries(meta, settings):
    settings.META_GRAPH_MAX_RETRIES = 2
    settings.META_GRAPH_CIRCUIT_FAILURES = 100
    meta.get(graph_url("me"), body="<html>Bad gateway</html>", status=502)
    with pytest.raises(graph.GraphUnavailable):
        graph.GraphClient(USER_TOKEN).get("me")
    assert len(meta.calls) == 3


def test_it_retries_a_timeout_on_a_read(meta):
    meta.get(graph_url("me"), body=requests.exceptions.ReadTimeout("slow"))
    meta.get(graph_url("me"), json={"id": "1"})
    assert graph.GraphClient(USER_TOKEN).get("me").data == {"id": "1"}


def test_it_never_resends_a_non_idempotent_post_after_a_read_timeout(meta):
    meta.post(graph_url("123/messages"), body=requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(graph.GraphTimeout) as caught:
        graph.GraphClient(USER_TOKEN).post("123/messages", json={"to": "1"}, idempotent=False)
    assert caught.value.sent is True
    assert len(meta.calls) == 1


def test_it_retries_a_connection_error_even_for_a_non_idempotent_post(meta):
    meta.post(graph_url("123/messages"), body=requests.exceptions.ConnectionError("refused"))
    meta.post(graph_url("123/messages"), json={"messages": [{"id": "wamid.1"}]})
    response = graph.GraphClient(USER_TOKEN).post("123/messages", json={"to": "1"}, idempotent=False)
    assert response.data["messages"][0]["id"] == "wamid.1"


def test_it_raises_token_expired_at_once_and_signals_the_owner(meta):
    meta.get(graph_url("me"), json=meta_error(190, "Error validating access token", subcode=463), status=400)
    received = []

    def receiver(sender, owner, error, **kwargs):
        received.append((owner, error.subcode))

    graph.token_invalid.connect(receiver)
    try:
        with pytest.raises(graph.GraphTokenExpired) as caught:
            graph.GraphClient(USER_TOKEN, owner="account-1").get("me")
    finally:
        graph.token_invalid.disconnect(receiver)
    assert caught.value.permanent
    assert caught.value.fbtrace_id == "AbCdEfGh123"
    assert received == [("account-1", 463)]
    assert len(meta.calls) == 1


@pytest.mark.parametrize("code", [10, 200, 299])
def test_it_maps_permission_codes(meta, code):
    meta.get(graph_url("me"), json=meta_error(code, "Permission denied"), status=403)
    with pytest.raises(graph.GraphPermissionError):
        graph.GraphClient(USER_TOKEN).get("me")
    assert len(meta.calls) == 1


def test_it_maps_an_invalid_parameter_with_its_subcode(meta):
    meta.get(graph_url("999"), json=meta_error(100, "Object does not exist", subcode=33), status=400)
    with pytest.raises(graph.GraphInvalidParameter) as caught:
        graph.GraphClient(USER_TOKEN).get("999")
    assert caught.value.subcode == 33
    assert not graph.is_transient(caught.value)


def test_it_treats_whatsapp_send_errors_as_permanent(meta):
    meta.post(graph_url("123/messages"), json=meta_error(131026, "Message undeliverable"), status=400)
    with pytest.raises(graph.GraphError) as caught:
        graph.GraphClient(USER_TOKEN).post("123/messages", json={}, idempotent=False)
    assert caught.value.code == 131026 and caught.value.permanent
    assert len(meta.calls) == 1


def test_it_reads_a_rate_limit_with_the_usage_header_and_pauses_the_target(meta, settings):
    usage = json.dumps({"call_count": 100, "total_cputime": 20, "total_time": 30})
    meta.get(
        graph_url("me"),
        json=meta_error(4, "Application request limit reached"),
        status=400,
        headers={"X-App-Usage": usage},
    )
    client = graph.GraphClient(USER_TOKEN, target="app-test")
    with pytest.raises(graph.GraphRateLimited) as caught:
        client.get("me")
    assert graph.is_transient(caught.value)
    # Usage at 100% opened the circuit: the retry was refused without calling Meta again.
    assert len(meta.calls) == 1
    with pytest.raises(graph.GraphRateLimited) as again:
        client.get("me")
    assert again.value.retry_after > 0
    assert len(meta.calls) == 1


def test_it_exposes_usage_and_honours_time_to_regain_access(meta):
    business = {
        "1234": [
            {
                "type": "whatsapp",
                "call_count": 40,
                "total_cputime": 5,
                "total_time": 5,
                "estimated_time_to_regain_access": 5,
            }
        ]
    }
    meta.get(
        graph_url("me"),
        json={"id": "1"},
        headers={"X-Business-Use-Case-Usage": json.dumps(business), "X-App-Usage": '{"call_count": 7}'},
    )
    client = graph.GraphClient(USER_TOKEN, target="waba:1234")
    response = client.get("me")
    assert response.app_usage == {"call_count": 7}
    assert response.business_usage == business
    with pytest.raises(graph.GraphRateLimited) as caught:
        client.get("me")
    assert 240 < caught.value.retry_after <= 300
    assert len(meta.calls) == 1
    # Another target is not paused.
    meta.get(graph_url("other"), json={"ok": True})
    assert graph.GraphClient(USER_TOKEN, target="waba:999").get("other").data == {"ok": True}


def test_it_ignores_malformed_usage_headers(meta):
    meta.get(
        graph_url("me"),
        json={"id": "1"},
        headers={"X-App-Usage": "not json", "X-Business-Use-Case-Usage": "[1]"},
    )
    response = graph.GraphClient(USER_TOKEN).get("me")
    assert response.app_usage is None and response.business_usage is None


def test_it_opens_the_circuit_after_repeated_failures_and_closes_after_it_expires(meta, settings):
    settings.META_GRAPH_CIRCUIT_FAILURES = 3
    settings.META_GRAPH_MAX_RETRIES = 0
    meta.get(graph_url("me"), json=meta_error(1, "An unknown error occurred"), status=500)
    client = graph.GraphClient(USER_TOKEN, target="page:1")
    for _ in range(3):
        with pytest.raises(graph.GraphUnavailable):
            client.get("me")
    with pytest.raises(graph.GraphRateLimited, match="paused"):
        client.get("me")
    assert len(meta.calls) == 3
    cache.delete(client.circuit.open_key)  # the pause runs out
    meta.replace(responses.GET, graph_url("me"), json={"id": "1"})
    assert client.get("me").data == {"id": "1"}


def test_it_survives_an_html_body_with_a_client_error(meta):
    meta.get(graph_url("me"), body="<html><body>Sorry, something went wrong.</body></html>", status=400)
    with pytest.raises(graph.GraphError) as caught:
        graph.GraphClient(USER_TOKEN).get("me")
    assert not isinstance(caught.value, graph.GraphUnavailable)
    assert caught.value.http_status == 400


def test_it_follows_cursors_through_every_page(meta):
    meta.get(
        graph_url("1/message_templates"),
        json={
            "data": [{"id": "a"}, {"id": "b"}],
            "paging": {
                "cursors": {"before": "B1", "after": "A1"},
                "next": "https://graph.facebook.com/next?token=x",
            },
        },
    )
    meta.get(
        graph_url("1/message_templates"),
        json={"data": [{"id": "c"}], "paging": {"cursors": {"before": "B2", "after": "A2"}}},
    )
    items = list(graph.GraphClient(USER_TOKEN).iter_items("1/message_templates", {"limit": 2}))
    assert [item["id"] for item in items] == ["a", "b", "c"]
    assert "after" not in query_of(meta.calls[0])
    assert query_of(meta.calls[1])["after"] == ["A1"]
    assert "next" not in meta.calls[1].request.url  # never the URL Meta handed us


def test_it_returns_one_page_with_its_cursors(meta):
    meta.get(
        graph_url("p/posts"),
        json={"data": [{"id": "1"}], "paging": {"cursors": {"before": "B", "after": "A"}}},
    )
    items, cursors = graph.GraphClient(USER_TOKEN).page("p/posts")
    assert items == [{"id": "1"}]
    assert cursors == {"before": "B", "after": "A"}


def test_it_never_logs_tokens_or_proofs(meta, caplog):
    caplog.set_level(logging.DEBUG)
    meta.get(graph_url("me"), json=meta_error(2, "Service unavailable"), status=500)
    meta.get(graph_url("me"), json={"id": "1"})
    meta.get(graph_url("bad"), json=meta_error(190, "Invalid OAuth access token", subcode=467), status=400)
    client = graph.GraphClient(USER_TOKEN)
    client.get("me")
    with pytest.raises(graph.GraphTokenExpired):
        client.get("bad")
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "/me" in text  # something was logged...
    assert USER_TOKEN not in text  # ...but never the token or its proof
    assert graph.appsecret_proof(USER_TOKEN) not in text
    assert "access_token" not in text

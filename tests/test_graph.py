"""The Graph transport against Meta faked at the HTTP level."""

import hashlib
import hmac
import io
import json
import logging
import pickle
from http.client import RemoteDisconnected
from unittest import mock
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses
from django.core.cache import cache
from urllib3.exceptions import ProtocolError

from botopia_meta import graph
from tests.conftest import graph_url, meta_error

USER_TOKEN = "EAAGuserTOKENabcdef1234567890"
HTML_ERROR = "<html><body><h1>Sorry, something went wrong.</h1></body></html>"


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def sleeps(monkeypatch) -> list[float]:
    """Every backoff the transport asked for, without sleeping."""
    slept: list[float] = []
    monkeypatch.setattr(graph, "_sleep", slept.append)
    return slept


def query_of(call) -> dict[str, list[str]]:
    return parse_qs(urlparse(call.request.url).query)


def form_of(call) -> dict[str, list[str]]:
    body = call.request.body
    return parse_qs(body.decode() if isinstance(body, bytes) else body)


def expected_proof(settings, token: str = USER_TOKEN) -> str:
    return hmac.new(settings.META_APP_SECRET.encode(), token.encode(), hashlib.sha256).hexdigest()


# --- URL and authentication ---------------------------------------------------------------


def test_it_builds_urls_from_settings(meta, settings):
    settings.META_GRAPH_URL = "http://graph.local:9000"
    settings.META_GRAPH_VERSION = "v99.0"
    meta.get("http://graph.local:9000/v99.0/me", json={"id": "1", "name": "Ana"})
    response = graph.GraphClient(USER_TOKEN).get("/me", {"fields": "id,name"})
    assert response.data == {"id": "1", "name": "Ana"}
    assert response.status == 200
    assert urlparse(meta.calls[0].request.url).path == "/v99.0/me"
    assert query_of(meta.calls[0])["fields"] == ["id,name"]


@pytest.mark.parametrize(
    "environment, proxies, verify",
    [
        ({}, {}, True),
        ({"REQUESTS_CA_BUNDLE": "/etc/ssl/company-ca.pem"}, {}, "/etc/ssl/company-ca.pem"),
        ({"HTTPS_PROXY": "http://proxy.internal:3128"}, {"https": "http://proxy.internal:3128"}, True),
        ({"HTTPS_PROXY": "http://proxy.internal:3128", "NO_PROXY": "graph.facebook.com"}, {}, True),
    ],
)
def test_it_goes_through_the_proxy_and_ca_bundle_the_environment_names(
    environment, proxies, verify, meta, monkeypatch
):
    """The session reads the environment once (requests would on every call) unless a proxy
    is configured: either way a proxy, NO_PROXY and a CA bundle given there still apply."""
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
                 "NO_PROXY", "no_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(graph, "_session", graph._new_session())
    meta.get(graph_url("me"), json={"id": "1"})
    graph.GraphClient(USER_TOKEN).get("me")
    sent = meta.calls[0].request.req_kwargs
    assert ({k: v for k, v in sent["proxies"].items() if v}, sent["verify"]) == (proxies, verify)


def test_it_signs_user_token_calls_with_appsecret_proof(meta, settings):
    meta.get(graph_url("me"), json={"id": "1"})
    graph.GraphClient(USER_TOKEN).get("me")
    query = query_of(meta.calls[0])
    assert query["appsecret_proof"] == [expected_proof(settings)]
    assert query["access_token"] == [USER_TOKEN]
    assert graph.appsecret_proof(USER_TOKEN) == expected_proof(settings)


def test_it_never_follows_a_redirect_with_the_token(meta):
    """The token travels in the query string: an answer pointing elsewhere is an error, never
    a second request carrying it there."""
    meta.get(graph_url("me"), status=302, headers={"Location": "https://collector.example/steal"}, body="")
    meta.get("https://collector.example/steal", json={"id": "1"})
    with pytest.raises(graph.GraphError):
        graph.GraphClient(USER_TOKEN).get("me", retries=0)
    assert [call.request.url.split("?")[0] for call in meta.calls] == [graph_url("me")]


def test_it_sends_no_proof_with_the_app_token(meta, settings):
    meta.get(graph_url("debug_token"), json={"data": {}})
    graph.GraphClient(app_token=True).get("debug_token", {"input_token": "x"})
    query = query_of(meta.calls[0])
    assert "appsecret_proof" not in query
    assert query["access_token"] == [f"{settings.META_APP_ID}|{settings.META_APP_SECRET}"]
    assert graph.app_access_token() == f"{settings.META_APP_ID}|{settings.META_APP_SECRET}"


def test_it_sends_the_token_in_the_form_body_of_a_form_post(meta, settings):
    meta.post(graph_url("p/feed"), json={"id": "p_1"})
    graph.GraphClient(USER_TOKEN).post("p/feed", {"message": "hello"})
    form = form_of(meta.calls[0])
    assert form["message"] == ["hello"]
    assert form["access_token"] == [USER_TOKEN]
    assert form["appsecret_proof"] == [expected_proof(settings)]
    assert "access_token" not in query_of(meta.calls[0])


def test_it_sends_the_token_in_the_query_of_a_json_post_and_a_delete(meta, settings):
    meta.post(graph_url("123/messages"), json={"messages": [{"id": "wamid.1"}]})
    meta.delete(graph_url("c_1"), json={"success": True})
    client = graph.GraphClient(USER_TOKEN)
    client.post("123/messages", json={"messaging_product": "whatsapp", "to": "34600000000"})
    client.delete("c_1")
    assert json.loads(meta.calls[0].request.body) == {"messaging_product": "whatsapp", "to": "34600000000"}
    for call in meta.calls:
        assert query_of(call)["access_token"] == [USER_TOKEN]
        assert query_of(call)["appsecret_proof"] == [expected_proof(settings)]


def test_it_refuses_a_full_url_so_the_token_never_leaves_for_another_host(meta):
    with pytest.raises(ValueError):
        graph.GraphClient(USER_TOKEN).get("https://evil.example/next?after=x")
    assert len(meta.calls) == 0


def test_it_refuses_an_empty_token():
    with pytest.raises(ValueError):
        graph.GraphClient("")


# --- retries --------------------------------------------------------------------------------


def test_it_retries_a_500_then_succeeds(meta, sleeps):
    meta.get(graph_url("me"), json=meta_error(2, "Service temporarily unavailable"), status=500)
    meta.get(graph_url("me"), json={"id": "1"})
    assert graph.GraphClient(USER_TOKEN).get("me").data == {"id": "1"}
    assert len(meta.calls) == 2
    assert len(sleeps) == 1


def test_it_gives_up_after_the_bounded_retries(meta, settings):
    settings.META_GRAPH_MAX_RETRIES = 2
    settings.META_GRAPH_CIRCUIT_FAILURES = 100
    meta.get(graph_url("me"), json=meta_error(1, "An unknown error occurred"), status=500)
    with pytest.raises(graph.GraphUnavailable) as caught:
        graph.GraphClient(USER_TOKEN).get("me")
    assert len(meta.calls) == 3
    assert caught.value.code == 1 and caught.value.http_status == 500


def test_it_takes_the_retry_count_per_call(meta, settings):
    settings.META_GRAPH_CIRCUIT_FAILURES = 100
    meta.get(graph_url("me"), json=meta_error(2, "Service temporarily unavailable"), status=503)
    client = graph.GraphClient(USER_TOKEN)
    with pytest.raises(graph.GraphUnavailable):
        client.get("me", retries=0)
    assert len(meta.calls) == 1
    with pytest.raises(graph.GraphUnavailable):
        client.get("me", retries=4)
    assert len(meta.calls) == 1 + 5


def test_it_backs_off_exponentially_with_full_jitter_up_to_the_cap(meta, settings, sleeps, monkeypatch):
    settings.META_GRAPH_BACKOFF_BASE = 1.0
    settings.META_GRAPH_BACKOFF_MAX = 3.0
    settings.META_GRAPH_CIRCUIT_FAILURES = 100
    monkeypatch.setattr(graph.random, "random", lambda: 0.5)
    meta.get(graph_url("me"), json=meta_error(2, "Service temporarily unavailable"), status=500)
    with pytest.raises(graph.GraphUnavailable):
        graph.GraphClient(USER_TOKEN).get("me", retries=4)
    assert sleeps == [0.5, 1.0, 1.5, 1.5]  # min(3, 1 * 2**attempt) * 0.5


def test_it_retries_a_timeout_on_a_read(meta):
    meta.get(graph_url("me"), body=requests.exceptions.ReadTimeout("slow"))
    meta.get(graph_url("me"), json={"id": "1"})
    assert graph.GraphClient(USER_TOKEN).get("me").data == {"id": "1"}
    assert len(meta.calls) == 2


def test_it_never_resends_a_non_idempotent_post_after_a_read_timeout(meta):
    meta.post(graph_url("123/messages"), body=requests.exceptions.ReadTimeout("slow"))
    meta.post(graph_url("123/messages"), json={"messages": [{"id": "wamid.2"}]})
    with pytest.raises(graph.GraphTimeout) as caught:
        graph.GraphClient(USER_TOKEN).post("123/messages", json={"to": "1"}, idempotent=False)
    assert caught.value.sent is True
    assert graph.is_transient(caught.value)
    assert len(meta.calls) == 1


def test_it_never_resends_a_non_idempotent_post_after_a_dropped_connection(meta):
    dropped = requests.exceptions.ConnectionError(
        ProtocolError("Connection aborted.", RemoteDisconnected("Remote end closed connection"))
    )
    meta.post(graph_url("123/messages"), body=dropped)
    with pytest.raises(graph.GraphUnavailable) as caught:
        graph.GraphClient(USER_TOKEN).post("123/messages", json={"to": "1"}, idempotent=False)
    assert caught.value.sent is True and caught.value.outcome_unknown
    assert len(meta.calls) == 1


def test_it_never_resends_a_non_idempotent_post_after_a_gateway_error_page(meta):
    meta.post(graph_url("123/messages"), body=HTML_ERROR, status=504)
    with pytest.raises(graph.GraphUnavailable):
        graph.GraphClient(USER_TOKEN).post("123/messages", json={"to": "1"}, idempotent=False)
    assert len(meta.calls) == 1


def test_it_retries_a_non_idempotent_post_that_meta_throttled(meta):
    meta.post(graph_url("123/messages"), json=meta_error(130429, "Rate limit hit"), status=400)
    meta.post(graph_url("123/messages"), json={"messages": [{"id": "wamid.3"}]})
    response = graph.GraphClient(USER_TOKEN).post("123/messages", json={"to": "1"}, idempotent=False)
    assert response.data["messages"][0]["id"] == "wamid.3"


def test_it_retries_a_connection_error(meta):
    meta.get(graph_url("me"), body=requests.exceptions.ConnectionError("refused"))
    meta.get(graph_url("me"), json={"id": "1"})
    assert graph.GraphClient(USER_TOKEN).get("me").data == {"id": "1"}
    assert len(meta.calls) == 2


def test_it_retries_a_connection_error_even_for_a_non_idempotent_post(meta):
    meta.post(graph_url("123/messages"), body=requests.exceptions.ConnectionError("refused"))
    meta.post(graph_url("123/messages"), body=requests.exceptions.ConnectTimeout("no route"))
    meta.post(graph_url("123/messages"), json={"messages": [{"id": "wamid.1"}]})
    response = graph.GraphClient(USER_TOKEN).post("123/messages", json={"to": "1"}, idempotent=False)
    assert response.data["messages"][0]["id"] == "wamid.1"
    assert len(meta.calls) == 3


def test_it_reports_a_connect_timeout_as_not_sent(meta):
    meta.get(graph_url("me"), body=requests.exceptions.ConnectTimeout("no route"))
    with pytest.raises(graph.GraphTimeout) as caught:
        graph.GraphClient(USER_TOKEN).get("me", retries=0)
    assert caught.value.sent is False


# --- error mapping --------------------------------------------------------------------------


def test_it_raises_token_expired_at_once_and_signals_the_owner(meta):
    meta.get(graph_url("me"), json=meta_error(190, "Error validating access token", subcode=463), status=400)
    received = []

    def receiver(sender, owner, error, **kwargs):
        received.append((sender, owner, error.subcode))

    graph.token_invalid.connect(receiver)
    try:
        with pytest.raises(graph.GraphTokenExpired) as caught:
            graph.GraphClient(USER_TOKEN, owner="account-1").get("me")
    finally:
        graph.token_invalid.disconnect(receiver)
    assert caught.value.permanent and not graph.is_transient(caught.value)
    assert caught.value.code == 190 and caught.value.subcode == 463
    assert caught.value.fbtrace_id == "AbCdEfGh123"
    assert caught.value.type == "OAuthException"
    assert caught.value.http_status == 400
    assert received == [(graph.GraphClient, "account-1", 463)]
    assert len(meta.calls) == 1


def test_it_treats_a_session_error_as_an_invalid_token(meta):
    meta.get(graph_url("me"), json=meta_error(102, "Session key invalid"), status=400)
    with pytest.raises(graph.GraphTokenExpired):
        graph.GraphClient(USER_TOKEN).get("me")
    assert len(meta.calls) == 1


def test_it_still_raises_when_a_token_invalid_receiver_fails(meta):
    meta.get(graph_url("me"), json=meta_error(190, "Error validating access token", subcode=460), status=400)

    def broken(**kwargs):
        raise RuntimeError("receiver bug")

    graph.token_invalid.connect(broken)
    try:
        with pytest.raises(graph.GraphTokenExpired):
            graph.GraphClient(USER_TOKEN).get("me")
    finally:
        graph.token_invalid.disconnect(broken)


@pytest.mark.parametrize("code", [10, 200, 299])
def test_it_maps_permission_codes(meta, code):
    meta.get(graph_url("me"), json=meta_error(code, "Permission denied"), status=403)
    with pytest.raises(graph.GraphPermissionError) as caught:
        graph.GraphClient(USER_TOKEN).get("me")
    assert caught.value.code == code and caught.value.permanent
    assert len(meta.calls) == 1


def test_it_maps_an_invalid_parameter_with_its_subcode(meta):
    body = meta_error(
        100,
        "Unsupported get request. Object with ID '999' does not exist",
        subcode=33,
        error_user_title="Object missing",
        error_user_msg="The object does not exist.",
        error_data={"details": "id 999"},
    )
    meta.get(graph_url("999"), json=body, status=400)
    with pytest.raises(graph.GraphInvalidParameter) as caught:
        graph.GraphClient(USER_TOKEN).get("999")
    assert caught.value.subcode == 33
    assert caught.value.user_title == "Object missing"
    assert caught.value.user_msg == "The object does not exist."
    assert caught.value.error_data == {"details": "id 999"}
    assert "does not exist" in caught.value.message
    assert not graph.is_transient(caught.value)
    assert len(meta.calls) == 1


@pytest.mark.parametrize("code", [131026, 131047, 368, 132000])
def test_it_treats_other_meta_codes_as_permanent(meta, code):
    meta.post(graph_url("123/messages"), json=meta_error(code, "Rejected"), status=400)
    with pytest.raises(graph.GraphError) as caught:
        graph.GraphClient(USER_TOKEN).post("123/messages", json={}, idempotent=False)
    assert type(caught.value) is graph.GraphError
    assert caught.value.code == code and caught.value.permanent
    assert len(meta.calls) == 1


def test_it_treats_an_error_body_in_a_200_as_an_error(meta):
    meta.get(graph_url("me"), json=meta_error(100, "Invalid parameter"), status=200)
    with pytest.raises(graph.GraphInvalidParameter):
        graph.GraphClient(USER_TOKEN).get("me")


def test_it_raises_unavailable_for_an_html_body_with_a_gateway_error(meta):
    meta.get(graph_url("me"), body=HTML_ERROR, status=502, content_type="text/html")
    with pytest.raises(graph.GraphUnavailable) as caught:
        graph.GraphClient(USER_TOKEN).get("me", retries=0)
    assert caught.value.http_status == 502
    assert graph.is_transient(caught.value)


def test_it_survives_an_html_body_with_a_client_error(meta):
    meta.get(graph_url("me"), body=HTML_ERROR, status=400, content_type="text/html")
    with pytest.raises(graph.GraphError) as caught:
        graph.GraphClient(USER_TOKEN).get("me")
    assert type(caught.value) is graph.GraphError
    assert caught.value.http_status == 400 and caught.value.permanent
    assert "not a Graph error" in caught.value.message
    assert len(meta.calls) == 1


def test_it_keeps_every_attribute_when_an_error_is_pickled():
    error = graph.GraphRateLimited("slow down", code=4, fbtrace_id="AbC", retry_after=60.0, sent=True)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is graph.GraphRateLimited
    assert (copy.code, copy.fbtrace_id, copy.retry_after, copy.message) == (4, "AbC", 60.0, "slow down")


def test_it_tells_transient_from_permanent():
    assert graph.is_transient(graph.GraphRateLimited("x"))
    assert graph.is_transient(graph.GraphUnavailable("x"))
    assert graph.is_transient(graph.GraphTimeout("x"))
    assert not graph.is_transient(graph.GraphError("x"))
    assert not graph.is_transient(graph.GraphTokenExpired("x"))
    assert not graph.is_transient(ValueError("x"))


# --- usage headers and the circuit breaker ----------------------------------------------------


def test_it_reads_a_rate_limit_with_the_usage_header_and_pauses_the_target(meta, settings):
    usage = {"call_count": 100, "total_cputime": 20, "total_time": 30}
    meta.get(
        graph_url("me"),
        json=meta_error(4, "(#4) Application request limit reached"),
        status=400,
        headers={"X-App-Usage": json.dumps(usage)},
    )
    client = graph.GraphClient(USER_TOKEN, target="app-test")
    with pytest.raises(graph.GraphRateLimited) as caught:
        client.get("me")
    assert graph.is_transient(caught.value)
    assert caught.value.code == 4
    assert caught.value.app_usage == usage
    assert caught.value.retry_after == settings.META_GRAPH_CIRCUIT_SECONDS
    assert len(meta.calls) == 1  # not retried in-process: the pause is longer than the backoff cap
    with pytest.raises(graph.GraphRateLimited) as again:
        client.get("me")
    assert 0 < again.value.retry_after <= settings.META_GRAPH_CIRCUIT_SECONDS
    assert again.value.sent is False
    assert len(meta.calls) == 1


def test_it_retries_a_rate_limit_without_usage_pressure(meta):
    meta.get(graph_url("me"), json=meta_error(17, "User request limit reached"), status=400)
    meta.get(graph_url("me"), json={"id": "1"})
    assert graph.GraphClient(USER_TOKEN).get("me").data == {"id": "1"}
    assert len(meta.calls) == 2


def test_it_hands_a_long_regain_time_back_to_the_caller(meta):
    business = {"1234": [{"type": "whatsapp", "call_count": 100, "estimated_time_to_regain_access": 3}]}
    meta.get(
        graph_url("1234/phone_numbers"),
        json=meta_error(80008, "There have been too many calls to this WhatsApp Business account"),
        status=400,
        headers={"X-Business-Use-Case-Usage": json.dumps(business)},
    )
    with pytest.raises(graph.GraphRateLimited) as caught:
        graph.GraphClient(USER_TOKEN, target="waba:1234").get("1234/phone_numbers")
    assert caught.value.retry_after == 180
    assert caught.value.business_usage == business
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
    assert response.data == {"id": "1"}
    assert response.app_usage == {"call_count": 7}
    assert response.business_usage == business
    with pytest.raises(graph.GraphRateLimited) as caught:
        client.get("me")
    assert 290 < caught.value.retry_after <= 300
    assert len(meta.calls) == 1
    # Another target is not paused.
    meta.get(graph_url("other"), json={"ok": True})
    assert graph.GraphClient(USER_TOKEN, target="waba:999").get("other").data == {"ok": True}


def test_it_pauses_a_target_whose_usage_crosses_the_threshold(meta, settings):
    settings.META_GRAPH_USAGE_THRESHOLD = 80
    meta.get(
        graph_url("me"), json={"id": "1"}, headers={"X-App-Usage": '{"call_count": 10, "total_time": 85}'}
    )
    client = graph.GraphClient(USER_TOKEN, target="app")
    client.get("me")
    with pytest.raises(graph.GraphRateLimited):
        client.get("me")
    assert len(meta.calls) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"X-App-Usage": "not json", "X-Business-Use-Case-Usage": "[1]"},
        {"X-App-Usage": '{"call_count": "lots"}', "X-Business-Use-Case-Usage": '{"1": "x", "2": [3, null]}'},
        {"X-App-Usage": "", "X-Business-Use-Case-Usage": '{"1": [{"estimated_time_to_regain_access": "?"}]}'},
        {"X-App-Usage": "{truncated", "X-Business-Use-Case-Usage": "null"},
    ],
)
def test_it_ignores_malformed_usage_headers(meta, headers):
    meta.get(graph_url("me"), json={"id": "1"}, headers=headers)
    client = graph.GraphClient(USER_TOKEN)
    client.get("me")
    assert client.get("me").data == {"id": "1"}  # nothing was paused
    assert len(meta.calls) == 2


def test_it_parses_nothing_from_malformed_usage_headers(meta):
    meta.get(
        graph_url("me"),
        json={"id": "1"},
        headers={"X-App-Usage": "not json", "X-Business-Use-Case-Usage": "[1]"},
    )
    response = graph.GraphClient(USER_TOKEN).get("me")
    assert response.app_usage is None and response.business_usage is None


def test_it_opens_the_circuit_after_repeated_failures_and_closes_after_it_expires(
    meta, settings, monkeypatch
):
    settings.META_GRAPH_CIRCUIT_FAILURES = 3
    settings.META_GRAPH_CIRCUIT_SECONDS = 30
    settings.META_GRAPH_MAX_RETRIES = 0
    meta.get(graph_url("me"), json=meta_error(1, "An unknown error occurred"), status=500)
    client = graph.GraphClient(USER_TOKEN, target="page:1")
    for _ in range(3):
        with pytest.raises(graph.GraphUnavailable):
            client.get("me")
    with pytest.raises(graph.GraphUnavailable, match="paused") as caught:
        client.get("me")
    assert 0 < caught.value.retry_after <= 30 and caught.value.sent is False
    assert len(meta.calls) == 3
    # Other targets are unaffected.
    meta.get(graph_url("other"), json={"ok": True})
    assert graph.GraphClient(USER_TOKEN, target="page:2").get("other").data == {"ok": True}
    # The pause runs out.
    now = graph._now()
    monkeypatch.setattr(graph, "_now", lambda: now + 31)
    meta.replace(responses.GET, graph_url("me"), json={"id": "1"})
    assert client.get("me").data == {"id": "1"}


def test_it_resets_the_failure_count_after_a_success(meta, settings):
    settings.META_GRAPH_CIRCUIT_FAILURES = 3
    settings.META_GRAPH_MAX_RETRIES = 0
    client = graph.GraphClient(USER_TOKEN, target="phone:1")
    failure = {"json": meta_error(2, "Service temporarily unavailable"), "status": 500}
    for _ in range(2):
        meta.get(graph_url("me"), **failure)
    meta.get(graph_url("me"), json={"id": "1"})
    for _ in range(2):
        meta.get(graph_url("me"), **failure)
    meta.get(graph_url("me"), json={"id": "1"})
    for expect_error in (True, True, False, True, True, False):
        if expect_error:
            with pytest.raises(graph.GraphUnavailable):
                client.get("me")
        else:
            assert client.get("me").data == {"id": "1"}
    assert len(meta.calls) == 6  # never paused: no three failures in a row


def test_it_does_not_pause_a_number_for_one_recipients_pair_limit(meta, settings):
    settings.META_GRAPH_CIRCUIT_FAILURES = 2
    meta.post(
        graph_url("123/messages"),
        json=meta_error(131056, "(Business Account, Consumer Account) pair rate limit hit"),
        status=400,
    )
    client = graph.GraphClient(USER_TOKEN, target="phone:123")
    with pytest.raises(graph.GraphRateLimited):
        client.post("123/messages", json={"to": "1"}, idempotent=False, retries=3)
    assert len(meta.calls) == 4
    meta.replace(responses.POST, graph_url("123/messages"), json={"messages": [{"id": "wamid.9"}]})
    assert client.post("123/messages", json={"to": "2"}, idempotent=False).status == 200


# --- paging ---------------------------------------------------------------------------------


def test_it_follows_cursors_through_every_page(meta):
    meta.get(
        graph_url("1/message_templates"),
        json={
            "data": [{"id": "a"}, {"id": "b"}],
            "paging": {
                "cursors": {"before": "B1", "after": "A1"},
                "next": "https://graph.facebook.com/v26.0/1/message_templates?access_token=x&after=A1",
            },
        },
    )
    meta.get(
        graph_url("1/message_templates"),
        json={"data": [{"id": "c"}], "paging": {"cursors": {"before": "B2", "after": "A2"}}},
    )
    items = list(graph.GraphClient(USER_TOKEN).iter_items("1/message_templates", {"limit": 2}))
    assert [item["id"] for item in items] == ["a", "b", "c"]
    assert len(meta.calls) == 2
    assert "after" not in query_of(meta.calls[0])
    assert query_of(meta.calls[1])["after"] == ["A1"]
    assert query_of(meta.calls[1])["limit"] == ["2"]


def test_it_stops_paging_at_max_pages(meta):
    meta.get(
        graph_url("p/posts"),
        json={"data": [{"id": "x"}], "paging": {"cursors": {"after": "A"}, "next": "https://graph/next"}},
    )
    items = list(graph.GraphClient(USER_TOKEN).iter_items("p/posts", max_pages=3))
    assert len(items) == 3 and len(meta.calls) == 3


def test_it_returns_one_page_with_its_cursors(meta):
    meta.get(
        graph_url("p/posts"),
        json={"data": [{"id": "1"}], "paging": {"cursors": {"before": "B", "after": "A"}}},
    )
    items, cursors = graph.GraphClient(USER_TOKEN).page("p/posts", {"after": "Z"})
    assert items == [{"id": "1"}]
    assert cursors == {"before": "B", "after": "A"}
    assert query_of(meta.calls[0])["after"] == ["Z"]


def test_it_returns_empty_cursors_on_the_last_page(meta):
    meta.get(graph_url("p/posts"), json={"data": []})
    assert graph.GraphClient(USER_TOKEN).page("p/posts") == ([], {"before": None, "after": None})


# --- logging ----------------------------------------------------------------------------------


def test_it_never_logs_tokens_or_proofs(meta, caplog, settings):
    caplog.set_level(logging.DEBUG)
    proof = graph.appsecret_proof(USER_TOKEN)
    meta.get(graph_url("me"), json=meta_error(2, "Service unavailable"), status=500)
    meta.get(graph_url("me"), json={"id": "1"}, headers={"X-App-Usage": '{"call_count": 95}'})
    meta.get(graph_url("bad"), json=meta_error(190, "Invalid OAuth access token", subcode=467), status=400)
    meta.post(
        graph_url("1/messages"), body=requests.exceptions.ReadTimeout(f"url ?access_token={USER_TOKEN}")
    )
    meta.get(graph_url("conn"), body=requests.exceptions.ConnectionError(f"/conn?access_token={USER_TOKEN}"))
    meta.get(graph_url("html"), body=HTML_ERROR, status=400)
    client = graph.GraphClient(USER_TOKEN, target="t1")
    client.get("me?fields=id")
    with pytest.raises(graph.GraphTokenExpired):
        graph.GraphClient(USER_TOKEN, target="t5").get("bad")
    with pytest.raises(graph.GraphTimeout):
        graph.GraphClient(USER_TOKEN, target="t2").post(
            "1/messages", {"text": "secret body"}, idempotent=False
        )
    with pytest.raises(graph.GraphUnavailable):
        graph.GraphClient(USER_TOKEN, target="t3").get("conn", retries=0)
    with pytest.raises(graph.GraphError):
        graph.GraphClient(USER_TOKEN, target="t4").get("html")
    with pytest.raises(graph.GraphRateLimited):
        client.get("me")  # paused by the 95% usage
    # urllib3 logs real request lines with their query string; our filter redacts them.
    logging.getLogger("urllib3.connectionpool").debug(
        '%s://%s:%s "%s %s %s" %s %s',
        "https",
        "graph.facebook.com",
        443,
        "GET",
        f"/v26.0/me?access_token={USER_TOKEN}&appsecret_proof={proof}",
        "HTTP/1.1",
        200,
        None,
    )
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "/me" in text and "/bad" in text and "code=190" in text  # something useful was logged...
    for secret in (USER_TOKEN, proof, settings.META_APP_SECRET, "fields=id", "secret body"):
        assert secret not in text  # ...but never a token, proof, secret, query string or body
    for record in caplog.records:
        assert not record.exc_info or USER_TOKEN not in str(record.exc_info[1])


def test_it_never_logs_the_app_token(meta, caplog, settings):
    caplog.set_level(logging.DEBUG)
    meta.get(graph_url("app"), json=meta_error(190, "Invalid app token"), status=400)
    with pytest.raises(graph.GraphTokenExpired) as caught:
        graph.GraphClient(app_token=True).get("app")
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert settings.META_APP_SECRET not in text
    assert settings.META_APP_SECRET not in str(caught.value)
    assert settings.META_APP_SECRET not in repr(graph.GraphClient(app_token=True))


# --- the size of Meta's answers -----------------------------------------------------------


class _Endless(io.RawIOBase):
    """A body that never ends: counts how much of it was read."""

    def __init__(self):
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        buffer[:] = b" " * len(buffer)
        self.read_bytes += len(buffer)
        return len(buffer)


def test_it_stops_reading_an_answer_past_the_cap_streaming(meta, monkeypatch):
    monkeypatch.setattr(graph, "MAX_ANSWER_BYTES", 1024 * 1024)
    body = _Endless()
    meta.get(graph_url("me"), body=io.BufferedReader(body))
    with pytest.raises(graph.GraphError) as caught:
        graph.GraphClient(USER_TOKEN).get("me")
    assert caught.value.outcome_unknown and caught.value.permanent
    assert "exceeded" in caught.value.message
    assert body.read_bytes <= 1024 * 1024 + 2 * 65536  # the cap and a chunk, never the whole answer
    assert len(meta.calls) == 1  # not retried: the same call gets the same answer


def test_it_refuses_an_answer_whose_length_exceeds_the_cap_before_reading_it(meta, monkeypatch):
    monkeypatch.setattr(graph, "MAX_ANSWER_BYTES", 1000)
    meta.get(graph_url("me"), json={"id": "1", "name": "x" * 2000})
    with pytest.raises(graph.GraphError, match="exceeded 1000 bytes"):
        graph.GraphClient(USER_TOKEN).get("me")


def test_it_reads_an_answer_under_the_cap_whole(meta, monkeypatch):
    monkeypatch.setattr(graph, "MAX_ANSWER_BYTES", 100_000)
    meta.get(graph_url("me"), json={"id": "1", "name": "x" * 90_000})
    assert graph.GraphClient(USER_TOKEN).get("me").data["name"] == "x" * 90_000


def test_a_healthy_target_costs_one_cache_read_per_call(meta, settings, monkeypatch):
    """The breaker's bookkeeping on the send path: a closed breaker is read once per
    CLOSED_FRESH_SECONDS per client (a job's sends share one), no write after a call while
    nothing failed (a failure seen before the call is still cleared by a success)."""
    monkeypatch.setattr(graph, "CLOSED_FRESH_SECONDS", 60)
    meta.get(graph_url("me"), json={"id": "1"})
    client = graph.GraphClient(USER_TOKEN, target="phone:2")
    with (
        mock.patch.object(graph.cache, "get_many", wraps=graph.cache.get_many) as reads,
        mock.patch.object(graph.cache, "delete", wraps=graph.cache.delete) as deletes,
    ):
        for _ in range(3):
            client.get("me")
        assert reads.call_count == 1 and deletes.call_count == 0
        monkeypatch.setattr(graph, "CLOSED_FRESH_SECONDS", 0)
        client.circuit._closed_until = 0.0
        client.get("me")
        client.get("me")
    assert reads.call_count == 3  # read on every call again once the window is over

"""Every error under /api/ is the contract's envelope; success is enveloped and camelCase."""

import pytest
from django.test import Client

from tests.conftest import graph_url, meta_error

pytestmark = [pytest.mark.urls("tests.probe_urls"), pytest.mark.django_db]


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    return body["error"]


def test_it_envelopes_success_and_camelizes_keys(alice_client):
    response = alice_client.get("/api/test/users")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["data"]["users"] == [{"userName": "alice"}]


def test_it_converts_camelcase_body_and_query_to_snake_case(alice_client):
    response = alice_client.get("/api/test/echo?startDate=2026-11-01&pageId=7")
    assert response.json()["data"]["seenQueryKeys"] == ["page_id", "start_date"]

    body = {"phoneNumberId": "1", "components": [{"type": "BODY", "example": {"body_text": [["Ana"]]}}]}
    response = alice_client.post("/api/test/echo", body, format="json")
    data = response.json()["data"]
    assert data["seenKeys"] == ["components", "phone_number_id"]
    # Meta's own structures (components) pass through untouched, both ways.
    assert data["components"] == body["components"]


def test_it_answers_validation_errors_with_the_failing_fields(anon_client):
    error = assert_error(anon_client.post("/api/auth/token", {}, format="json"), 400, "VALIDATION_ERROR")
    assert set(error["details"]) == {"username", "password"}


def test_it_answers_malformed_json_with_400(anon_client):
    response = anon_client.post("/api/auth/token", data='{"username": ', content_type="application/json")
    assert_error(response, 400, "MALFORMED_JSON")


def test_it_requires_authentication(anon_client):
    response = anon_client.get("/api/test/users")
    assert_error(response, 401, "AUTHENTICATION_REQUIRED")
    assert response["WWW-Authenticate"].startswith("Token")


def test_it_rejects_a_bad_token(anon_client):
    anon_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert_error(anon_client.get("/api/test/users"), 401, "AUTHENTICATION_REQUIRED")


def test_it_answers_permission_denied(alice_client):
    assert_error(alice_client.get("/api/test/staff-only"), 403, "PERMISSION_DENIED")


def test_it_answers_unknown_api_paths_with_the_404_envelope(alice_client):
    assert_error(alice_client.get("/api/meta/no-such-thing"), 404, "NOT_FOUND")


def test_it_answers_wrong_methods_with_405(anon_client):
    assert_error(anon_client.get("/api/auth/token"), 405, "METHOD_NOT_ALLOWED")


def test_it_answers_unsupported_media_types_with_415(anon_client):
    response = anon_client.post("/api/auth/token", data="username=a", content_type="text/plain")
    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_it_answers_meta_errors_with_their_codes_in_details(alice_client, meta):
    meta.get(graph_url("me"), json=meta_error(100, "Invalid parameter", subcode=33), status=400)
    error = assert_error(alice_client.get("/api/test/meta"), 502, "META_API_ERROR")
    assert error["details"]["metaCode"] == 100
    assert error["details"]["metaSubcode"] == 33
    assert error["details"]["fbtraceId"] == "AbCdEfGh123"


def test_it_answers_meta_outages_with_503(alice_client, meta):
    meta.get(graph_url("me"), json=meta_error(2, "Service temporarily unavailable"), status=503)
    assert_error(alice_client.get("/api/test/meta"), 503, "META_UNAVAILABLE")


def test_it_answers_an_expired_meta_token_with_401(alice_client, meta):
    meta.get(graph_url("me"), json=meta_error(190, "Session has expired", subcode=463), status=400)
    assert_error(alice_client.get("/api/test/meta"), 401, "META_TOKEN_EXPIRED")


def test_it_answers_a_missing_meta_permission_with_403(alice_client, meta):
    meta.get(graph_url("me"), json=meta_error(10, "Permission denied"), status=403)
    assert_error(alice_client.get("/api/test/meta"), 403, "MISSING_META_PERMISSION")


def test_it_answers_unhandled_errors_with_500_and_no_internals(alice_client, caplog):
    response = alice_client.get("/api/test/boom")
    assert_error(response, 500, "INTERNAL_ERROR")
    assert b"secret internals" not in response.content
    assert b"Traceback" not in response.content


def test_it_answers_errors_outside_drf_views_with_the_envelope(alice):
    client = Client(raise_request_exception=False)
    assert_error(client.get("/api/test/plain-boom"), 500, "INTERNAL_ERROR")


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=abc", "offset=-1"])
def test_it_rejects_out_of_range_pagination(alice_client, query):
    error = assert_error(alice_client.get(f"/api/test/users?{query}"), 400, "VALIDATION_ERROR")
    assert set(error["details"]) <= {"limit", "offset"}


def test_it_paginates_with_limit_and_offset(alice_client, bob, charlie):
    page = alice_client.get("/api/test/users?limit=2").json()["data"]
    assert [u["userName"] for u in page["users"]] == ["alice", "bob"]
    assert page["pagination"] == {
        "total": 3,
        "limit": 2,
        "offset": 0,
        "nextOffset": 2,
        "totalEstimated": False,
        "nextCursor": page["pagination"]["nextCursor"],
    }
    assert page["pagination"]["nextCursor"]
    page = alice_client.get("/api/test/users?limit=2&offset=2").json()["data"]
    assert [u["userName"] for u in page["users"]] == ["charlie"]
    assert page["pagination"]["nextOffset"] is None


def test_it_answers_404_with_the_envelope_even_in_debug(alice_client, settings):
    settings.DEBUG = True  # Django's debug 404 page would otherwise answer HTML
    assert_error(alice_client.get("/api/meta/no-such-thing"), 404, "NOT_FOUND")


def test_it_answers_crashes_outside_drf_with_the_envelope_even_in_debug(alice, settings):
    settings.DEBUG = True
    client = Client(raise_request_exception=False)
    response = client.get("/api/test/plain-boom")
    assert_error(response, 500, "INTERNAL_ERROR")
    assert b"Traceback" not in response.content

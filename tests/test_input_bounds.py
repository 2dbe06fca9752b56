"""Far-off dates and deep offsets are a 400 naming the field, never a database overflow."""

import pytest

from tests.factories import make_account
from tests.test_api_conventions import assert_error

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/meta/comments?endDate=9999-12-31", "endDate"),
        ("/api/meta/analytics/overview?startDate=0001-01-01", "startDate"),
        ("/api/meta/analytics/reports?startDate=9999-12-30&endDate=9999-12-31", "startDate"),
        ("/api/meta/whatsapp/metrics?startDate=1900-01-01&endDate=1900-01-02", "startDate"),
        ("/api/meta/notifications?offset=99999999999999999999999", "offset"),
        ("/api/meta/comments?offset=99999999999999999999999", "offset"),
        ("/api/meta/conversations?offset=99999999999999999999999", "offset"),
    ],
)
def test_it_refuses_out_of_range_query_values(alice, alice_client, url, field):
    make_account(alice)
    error = assert_error(alice_client.get(url), 400, "VALIDATION_ERROR")
    assert field in error["details"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/meta/facebook/pages/%00/connect",
        "/api/meta/instagram/accounts/%00/connect",
        "/api/meta/comments/%00",
        "/api/meta/whatsapp/contacts/%00",
    ],
)
def test_it_answers_404_for_ids_no_meta_object_can_have(alice, alice_client, url):
    make_account(alice)
    method = alice_client.post if url.endswith("connect") else alice_client.get
    assert_error(method(url), 404, "NOT_FOUND")


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [100, 10_000])
def test_it_answers_malformed_json_to_a_nesting_bomb_without_a_traceback(anon_client, depth, caplog):
    response = anon_client.generic("POST", "/api/auth/token", _nested(depth), content_type="application/json")
    assert_error(response, 400, "MALFORMED_JSON")
    logged = [r for r in caplog.records if "nested" in r.getMessage()]
    assert logged and all(r.exc_info is None for r in caplog.records)


@pytest.mark.parametrize("depth", [100, 10_000])
def test_it_answers_malformed_json_to_a_nesting_bomb_on_the_large_body_endpoint(alice, alice_client, depth):
    make_account(alice)
    body = '{"recipients": ' + _nested(depth) + "}"
    response = alice_client.generic(
        "POST", "/api/meta/whatsapp/broadcasts", body, content_type="application/json"
    )
    assert_error(response, 400, "MALFORMED_JSON")


@pytest.mark.parametrize("depth", [100, 10_000])
def test_it_rejects_a_signed_nesting_bomb_at_the_webhook_without_a_traceback(client, depth, caplog):
    from tests.webhooks.conftest import deliver
    from webhooks.models import WebhookEvent

    body = ('{"object": "page", "entry": ' + _nested(depth) + "}").encode()
    assert deliver(client, body).status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status == "rejected" and "nested" in event.status_reason
    assert any("nested" in r.getMessage() for r in caplog.records)
    assert all(r.exc_info is None for r in caplog.records)

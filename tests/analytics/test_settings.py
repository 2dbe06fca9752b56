"""GET/PUT /api/meta/analytics/settings: the account's time zone re-cuts the daily buckets."""

from datetime import UTC, datetime

import pytest

from analytics.recording import record
from tests.factories import make_account

pytestmark = pytest.mark.django_db
URL = "/api/meta/analytics/settings"
METRICS = "/api/meta/whatsapp/metrics"


def daily_sent(client) -> list[int]:
    data = client.get(METRICS, {"startDate": "2026-11-02", "endDate": "2026-11-03", "metrics": "sent"}).json()
    return [p["value"] for p in data["data"]["metrics"]["sent"]]


def test_it_rebuilds_past_days_when_the_time_zone_changes(alice, alice_client):
    account = make_account(alice)
    record(account_id=account.pk, platform="whatsapp", metric="sent", at=datetime(2026, 11, 3, 2, tzinfo=UTC))
    assert alice_client.get(URL).json()["data"]["timezone"] == "UTC"
    assert daily_sent(alice_client) == [0, 1]

    response = alice_client.put(URL, {"timezone": "America/Bogota"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["data"] == {"accountId": str(account.pk), "timezone": "America/Bogota"}
    assert daily_sent(alice_client) == [1, 0]  # 02:00 UTC Nov 3 is 21:00 Nov 2 in Bogotá
    # New events land in the new zone's days too.
    record(account_id=account.pk, platform="whatsapp", metric="sent", at=datetime(2026, 11, 3, 3, tzinfo=UTC))
    assert daily_sent(alice_client) == [2, 0]


def test_it_refuses_an_unknown_time_zone_and_changes_nothing(alice, alice_client):
    make_account(alice)
    response = alice_client.put(URL, {"timezone": "Mars/Olympus_Mons"}, format="json")
    assert response.status_code == 400
    assert "timezone" in response.json()["error"]["details"]
    assert alice_client.get(URL).json()["data"]["timezone"] == "UTC"


def test_it_answers_404_for_someone_elses_account(alice, bob, bob_client):
    alice_account = make_account(alice)
    make_account(bob, meta_user_id="2000")
    response = bob_client.put(
        URL, {"timezone": "Europe/Madrid", "accountId": str(alice_account.pk)}, format="json"
    )
    assert response.status_code == 404
    assert bob_client.get(URL, {"accountId": str(alice_account.pk)}).status_code == 404

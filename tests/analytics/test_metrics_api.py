"""GET /api/meta/whatsapp/metrics: zero-filled series in the account's time zone, totals, rates."""

from datetime import UTC, datetime

import pytest

from analytics.models import AnalyticsSettings
from analytics.recording import record, record_message_status
from tests.factories import make_account

pytestmark = pytest.mark.django_db
URL = "/api/meta/whatsapp/metrics"


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def send(account, wamid: str, when: datetime, *statuses: str, template: str = "", phone: str = "PN1") -> None:
    dims = {"template": template} if template else None
    for status in ("sent", *statuses):
        record_message_status(
            account_id=account.pk,
            phone_number_id=phone,
            message_id=wamid,
            status=status,
            at=when,
            dimensions=dims,
        )


def get_ok(client, **params) -> dict:
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True
    return body["data"]


def test_it_answers_the_contract_shape_with_zero_filled_daily_buckets(alice, alice_client):
    account = make_account(alice)
    send(account, "w1", at(2), "delivered", "read")
    send(account, "w2", at(2), "delivered")
    send(account, "w3", at(5))

    data = get_ok(alice_client, startDate="2026-11-01", endDate="2026-11-07", metrics="sent,delivered")

    assert set(data) == {"metrics", "totals"}
    assert set(data["metrics"]) == {"sent", "delivered"}
    sent = data["metrics"]["sent"]
    assert [p["timestamp"] for p in sent] == [f"2026-11-0{d}T00:00:00Z" for d in range(1, 8)]
    assert [p["value"] for p in sent] == [0, 2, 0, 0, 1, 0, 0]
    assert [p["value"] for p in data["metrics"]["delivered"]] == [0, 2, 0, 0, 0, 0, 0]
    assert data["totals"] == {
        "sent": 3,
        "delivered": 2,
        "deliveryRate": 0.6667,
        "readRate": 0.3333,
        "responseRate": None,  # nothing received: no rate rather than 0%
    }


def test_it_computes_the_response_rate_from_received_and_replied(alice, alice_client):
    account = make_account(alice)
    for n in range(4):
        record(account_id=account.pk, platform="whatsapp", metric="received", at=at(3), key=f"in{n}:received")
    record(account_id=account.pk, platform="whatsapp", metric="replied", at=at(3), key="in0:replied")

    data = get_ok(alice_client, startDate="2026-11-03", endDate="2026-11-03", metrics="received,replied")

    assert data["totals"]["received"] == 4
    assert data["totals"]["responseRate"] == 0.25


def test_it_buckets_and_labels_days_in_the_accounts_time_zone(alice, alice_client):
    account = make_account(alice)
    AnalyticsSettings.objects.create(account=account, timezone="America/Bogota")
    send(account, "late", datetime(2026, 11, 3, 2, tzinfo=UTC))  # Nov 2, 21:00 in Bogotá

    data = get_ok(alice_client, startDate="2026-11-02", endDate="2026-11-03", metrics="sent")

    assert data["metrics"]["sent"] == [
        {"timestamp": "2026-11-02T00:00:00-05:00", "value": 1},
        {"timestamp": "2026-11-03T00:00:00-05:00", "value": 0},
    ]


def test_it_answers_hourly_buckets_for_whole_local_days(alice, alice_client):
    account = make_account(alice)
    AnalyticsSettings.objects.create(account=account, timezone="America/Bogota")
    send(account, "w1", datetime(2026, 11, 2, 5, 30, tzinfo=UTC))  # 00:30 local

    data = get_ok(
        alice_client, startDate="2026-11-02", endDate="2026-11-02", granularity="hour", metrics="sent"
    )

    points = data["metrics"]["sent"]
    assert len(points) == 24
    assert points[0] == {"timestamp": "2026-11-02T00:00:00-05:00", "value": 1}
    assert points[-1]["timestamp"] == "2026-11-02T23:00:00-05:00"
    assert sum(p["value"] for p in points) == 1


def test_it_filters_by_phone_number_template_and_broadcast(alice, alice_client):
    account = make_account(alice)
    send(account, "w1", at(2), "delivered", template="order_update", phone="PN1")
    send(account, "w2", at(2), template="order_update", phone="PN2")
    send(account, "w3", at(2), template="promo", phone="PN1")
    record(
        account_id=account.pk,
        platform="whatsapp",
        metric="sent",
        at=at(2),
        asset_id="PN1",
        dimensions={"template": "promo", "broadcast": "b-42"},
    )
    params = {"startDate": "2026-11-02", "endDate": "2026-11-02", "metrics": "sent,delivered"}

    assert get_ok(alice_client, **params)["totals"]["sent"] == 4
    assert get_ok(alice_client, **params, phoneNumberId="PN2")["totals"]["sent"] == 1
    by_template = get_ok(alice_client, **params, templateName="order_update")["totals"]
    assert (by_template["sent"], by_template["delivered"], by_template["deliveryRate"]) == (2, 1, 0.5)
    assert get_ok(alice_client, **params, broadcastId="b-42")["totals"]["sent"] == 1
    assert get_ok(alice_client, **params, templateName="nope")["totals"]["sent"] == 0


@pytest.mark.parametrize(
    ("params", "field", "limit"),
    [
        ({"startDate": "2026-11-07", "endDate": "2026-11-01"}, "endDate", "on or after"),
        ({"startDate": "2025-01-01", "endDate": "2026-11-01"}, "endDate", "400"),
        ({"startDate": "2026-09-01", "endDate": "2026-11-01", "granularity": "hour"}, "granularity", "31"),
        ({"granularity": "minute"}, "granularity", ""),
        ({"metrics": "sent,clicks"}, "metrics", "clicks"),
        ({"startDate": "2026-13-01"}, "startDate", ""),
    ],
)
def test_it_answers_bad_ranges_with_400_naming_the_limit(alice, alice_client, params, field, limit):
    make_account(alice)
    response = alice_client.get(URL, params)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert field in error["details"]
    assert limit in (error["message"] + " ".join(error["details"][field]))


def test_it_shows_user_b_none_of_user_as_numbers(alice, bob, alice_client, bob_client):
    alice_account = make_account(alice)
    make_account(bob, meta_user_id="2000")
    send(alice_account, "w1", at(2), "delivered")
    params = {"startDate": "2026-11-01", "endDate": "2026-11-07"}

    assert get_ok(bob_client, **params)["totals"]["sent"] == 0
    # Naming Alice's account is the same 404 as naming no account at all.
    for account_id in (alice_account.pk, "6f1c1c5e-0000-4000-8000-000000000000"):
        response = bob_client.get(URL, {**params, "accountId": str(account_id)})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "NOT_FOUND"
    assert get_ok(alice_client, **params, accountId=str(alice_account.pk))["totals"]["sent"] == 1


def test_it_answers_409_without_a_connected_account(charlie_client, anon_client):
    response = charlie_client.get(URL)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ACCOUNT_NOT_CONNECTED"
    assert anon_client.get(URL).status_code == 401


@pytest.mark.parametrize(
    ("params", "buckets"),
    [
        ({"startDate": "2025-10-04", "endDate": "2026-11-07"}, 400),
        ({"startDate": "2026-10-01", "endDate": "2026-10-31", "granularity": "hour"}, 31 * 24),
    ],
)
def test_it_accepts_ranges_at_the_limits(alice, alice_client, params, buckets):
    make_account(alice)
    data = get_ok(alice_client, **params, metrics="sent")
    assert len(data["metrics"]["sent"]) == buckets

"""GET /api/meta/analytics/overview: per-platform numbers against the previous period."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from accounts.notifications import notify
from analytics.recording import record, record_message_status
from tests.factories import make_account, make_whatsapp_account
from whatsapp.models import WhatsAppBusinessAccount, WhatsAppTemplate

pytestmark = pytest.mark.django_db
URL = "/api/meta/analytics/overview"


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=UTC)


def test_it_compares_each_number_with_the_previous_period_of_equal_length(alice, alice_client):
    account = make_whatsapp_account(alice, waba_id="WABA1", phone_id="PN1")[0]
    # Current period Nov 1..10: 4 sent, 3 delivered; previous Oct 22..31: 2 sent, 2 delivered.
    for n in range(4):
        statuses = ("sent", "delivered") if n < 3 else ("sent",)
        for status in statuses:
            record_message_status(
                account_id=account.pk,
                phone_number_id="PN1",
                message_id=f"now{n}",
                status=status,
                at=at(11, 5),
            )
    for n in range(2):
        record_message_status(
            account_id=account.pk,
            phone_number_id="PN1",
            message_id=f"before{n}",
            status="delivered",
            at=at(10, 25),
        )
    record_message_status(
        account_id=account.pk, phone_number_id="PN1", message_id="old", status="sent", at=at(10, 21)
    )  # before both periods
    record(account_id=account.pk, platform="facebook", metric="comments_received", at=at(11, 2), count=4)
    record(account_id=account.pk, platform="facebook", metric="comments_replied", at=at(11, 2), count=1)

    response = alice_client.get(URL, {"startDate": "2026-11-01", "endDate": "2026-11-10"})

    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["period"] == {
        "startDate": "2026-11-01",
        "endDate": "2026-11-10",
        "previousStartDate": "2026-10-22",
        "previousEndDate": "2026-10-31",
        "timezone": "UTC",
    }
    wa = data["platforms"]["whatsapp"]
    assert wa["messagesSent"] == {"value": 4, "previous": 2, "change": 1.0}
    assert wa["deliveryRate"] == {"value": 0.75, "previous": 1.0, "change": -0.25}
    assert wa["responseRate"] == {"value": None, "previous": None, "change": None}
    fb = data["platforms"]["facebook"]
    assert fb["commentResponseRate"]["value"] == 0.25
    assert fb["commentsReceived"] == {"value": 4, "previous": 0, "change": None}
    assert data["platforms"]["instagram"]["postsPublished"]["value"] == 0


def test_it_shows_templates_health_and_latest_notifications(alice, alice_client):
    account = make_whatsapp_account(alice, waba_id="WABA1", phone_id="PN1")[0]
    waba = WhatsAppBusinessAccount.objects.get(account=account)
    for name, status in [("a", "APPROVED"), ("b", "APPROVED"), ("c", "REJECTED")]:
        WhatsAppTemplate.objects.create(
            waba=waba, name=name, language="en_US", category="UTILITY", status=status
        )
    gone = WhatsAppTemplate.objects.create(
        waba=waba, name="d", language="en_US", category="UTILITY", status="APPROVED"
    )
    gone.soft_delete()
    account.token_expiry = timezone.now() + timedelta(days=2)
    account.save()
    notify(account=account, kind="template_approved", title="Template a approved", severity="success")

    data = alice_client.get(URL).json()["data"]

    assert data["platforms"]["whatsapp"]["approvedTemplates"]["value"] == 2
    health = data["health"]
    assert health["status"] == "active"
    assert health["needsReauth"] is False
    assert health["tokenExpiringSoon"] is True
    assert health["phoneNumbers"] == [
        {
            "phoneNumberId": "PN1",
            "displayPhoneNumber": "+1 555-000-1111",
            "wabaId": "WABA1",
            "qualityRating": "GREEN",
            "messagingLimitTier": "TIER_10K",
            "status": "CONNECTED",
        }
    ]
    assert [n["title"] for n in data["notifications"]] == ["Template a approved"]
    assert "accessToken" not in str(data) and "EAAG" not in str(data)


def test_it_shows_user_b_none_of_user_as_numbers(alice, bob, alice_client, bob_client):
    alice_account = make_account(alice)
    make_account(bob, meta_user_id="2000")
    record(account_id=alice_account.pk, platform="whatsapp", metric="sent", at=timezone.now())
    notify(account=alice_account, kind="x", title="Alice's secret activity")

    data = bob_client.get(URL).json()["data"]
    assert data["platforms"]["whatsapp"]["messagesSent"]["value"] == 0
    assert data["notifications"] == []
    assert bob_client.get(URL, {"accountId": str(alice_account.pk)}).status_code == 404
    assert alice_client.get(URL).json()["data"]["platforms"]["whatsapp"]["messagesSent"]["value"] == 1

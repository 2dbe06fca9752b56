"""The staff analytics page: a server-rendered 30-day chart per account, read-only data."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from analytics.models import DailyMetric
from analytics.recording import record_message_status
from tests.factories import make_account

pytestmark = pytest.mark.django_db
CHART = "/admin/analytics/dailymetric/chart/"


def test_it_charts_the_last_30_days_for_staff(alice, staff_client):
    account = make_account(alice)
    for status in ("sent", "delivered", "read"):
        record_message_status(
            account_id=account.pk, phone_number_id="PN1", message_id="w1", status=status, at=timezone.now()
        )

    response = staff_client.get(CHART, {"account": str(account.pk)})

    assert response.status_code == 200
    html = response.content.decode()
    assert "<svg" in html and html.count("<polyline") == 4  # sent, delivered, read, failed
    assert "Totals: sent 1, delivered 1, read 1, failed 0" in html
    # The x axis is dated: the first and last day are labelled.
    first = (timezone.now().date() - timedelta(days=29)).isoformat()
    assert f"<title>{first}</title>" in html
    assert f"<title>{timezone.now().date().isoformat()}</title>" in html
    assert response.context["rows"][-1] == {
        "date": timezone.now().date().isoformat(),
        "sent": 1,
        "delivered": 1,
        "read": 1,
        "failed": 0,
    }
    assert len(response.context["rows"]) == 30
    assert "EAAG" not in html  # no token anywhere on the page
    assert "cdn" not in html.lower()


def test_it_keeps_the_page_and_data_for_staff_only(alice, alice_client, staff_client):
    make_account(alice)
    client = Client()
    client.force_login(alice)
    assert client.get(CHART).status_code == 302  # to the admin login
    assert staff_client.get("/admin/analytics/dailymetric/").status_code == 200
    assert staff_client.get("/admin/analytics/dailymetric/add/").status_code == 403
    assert not DailyMetric.objects.exists()

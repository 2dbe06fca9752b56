"""record_many: several record() calls written at once count exactly what they would one by one."""

from datetime import UTC, datetime

import pytest

from analytics.models import AnalyticsSettings, DailyMetric, HourlyMetric
from analytics.recording import message_status_calls, record, record_many
from tests.factories import make_account

pytestmark = pytest.mark.django_db


def _calls(account_id) -> list[dict]:
    calls = []
    for n, (wamid, status, hour) in enumerate(
        [
            ("wamid.A", "sent", 10),
            ("wamid.B", "sent", 10),
            ("wamid.A", "read", 11),  # implies delivered
            ("wamid.B", "delivered", 23),  # another day in Bogotá
            ("wamid.A", "delivered", 11),  # already implied: counts nothing
            ("wamid.B", "delivered", 23),  # repeated in the same batch
            ("wamid.C", "failed", 10),
        ]
    ):
        calls += message_status_calls(
            account_id=account_id,
            phone_number_id="PN1",
            message_id=wamid,
            status=status,
            at=datetime(2026, 11, 3, hour, n, tzinfo=UTC),
            dimensions={"template": "order_update"},
            error_code=131026 if status == "failed" else None,
        )
    return calls


def _rows(account) -> list[tuple]:
    hourly = HourlyMetric.objects.filter(account=account).values_list("metric", "dim_key", "hour", "count")
    daily = DailyMetric.objects.filter(account=account).values_list("metric", "dim_key", "day", "count")
    return sorted(hourly) + sorted(daily)


def test_it_counts_what_the_same_calls_count_one_by_one(alice, bob):
    one_by_one, at_once = make_account(alice), make_account(bob)
    for account in (one_by_one, at_once):
        AnalyticsSettings.objects.create(account=account, timezone="America/Bogota")
    # One key already recorded before the batch: it counts nothing in either.
    for account in (one_by_one, at_once):
        record(**_calls(account.pk)[0])

    counted = [record(**call) for call in _calls(one_by_one.pk)]
    assert record_many(_calls(at_once.pk)) == sum(counted) > 0
    assert _rows(at_once) == _rows(one_by_one) != []


def test_a_second_batch_of_the_same_calls_counts_nothing(alice):
    account = make_account(alice)
    record_many(_calls(account.pk))
    before = _rows(account)
    assert record_many(_calls(account.pk)) == 0
    assert _rows(account) == before

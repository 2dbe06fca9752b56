"""record(): pre-aggregated counts per hour and per local day, idempotent on keys."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from analytics.models import AnalyticsSettings, DailyMetric, HourlyMetric, RecordedKey
from analytics.recording import record, record_message_status
from analytics.services import recorded_keys_prune
from tests.factories import make_account

pytestmark = pytest.mark.django_db


def at(day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def total(account, metric: str, **filters) -> int:
    rows = DailyMetric.objects.filter(account=account, metric=metric, dim_key="", **filters)
    return sum(rows.values_list("count", flat=True))


def test_it_counts_what_a_person_counts_from_sends_and_out_of_order_statuses(alice):
    account = make_account(alice)
    # Three messages sent; statuses arrive shuffled, duplicated, and one skips "delivered".
    for wamid in ("wamid.A", "wamid.B", "wamid.C"):
        record_message_status(
            account_id=account.pk, phone_number_id="PN1", message_id=wamid, status="sent", at=at(3, 10)
        )
    events = [
        ("wamid.A", "read"),  # read before delivered
        ("wamid.A", "delivered"),
        ("wamid.B", "delivered"),
        ("wamid.B", "delivered"),  # Meta redelivers
        ("wamid.C", "read"),  # "delivered" never arrives
        ("wamid.B", "sent"),  # a late "sent" after "delivered"
    ]
    for wamid, status in events:
        record_message_status(
            account_id=account.pk, phone_number_id="PN1", message_id=wamid, status=status, at=at(3, 11)
        )

    assert total(account, "sent") == 3
    assert total(account, "delivered") == 3
    assert total(account, "read") == 2


def test_it_counts_nothing_when_the_same_event_is_replayed(alice):
    account = make_account(alice)
    kwargs = dict(
        account_id=account.pk, platform="whatsapp", metric="received", at=at(5), key="wamid.IN:received"
    )
    assert record(**kwargs) is True
    assert record(**kwargs) is False
    assert record(**kwargs) is False
    assert total(account, "received") == 1
    assert HourlyMetric.objects.get(account=account, metric="received").count == 1


def test_it_counts_failures_by_error_code_and_templates_by_name(alice):
    account = make_account(alice)
    dims = {"template": "order_update"}
    record(
        account_id=account.pk, platform="whatsapp", metric="sent", at=at(2), asset_id="PN1", dimensions=dims
    )
    record(account_id=account.pk, platform="whatsapp", metric="sent", at=at(2), asset_id="PN1")
    record_message_status(
        account_id=account.pk,
        phone_number_id="PN1",
        message_id="wamid.F",
        status="failed",
        at=at(2),
        dimensions=dims,
        error_code=131026,
    )

    assert total(account, "sent") == 2
    by_template = DailyMetric.objects.get(account=account, metric="sent", template="order_update")
    assert by_template.count == 1
    failed = DailyMetric.objects.get(account=account, metric="failed", template="order_update")
    assert failed.dim_key == "error_code=131026&template=order_update"
    assert total(account, "failed") == 1


def test_it_buckets_days_in_the_accounts_time_zone(alice):
    account = make_account(alice)
    AnalyticsSettings.objects.create(account=account, timezone="America/Bogota")  # UTC-5
    # 03:00 UTC on Nov 10 is still Nov 9 in Bogotá.
    record(account_id=account.pk, platform="whatsapp", metric="sent", at=at(10, 3))
    record(account_id=account.pk, platform="whatsapp", metric="sent", at=at(10, 6))

    assert total(account, "sent", day=date(2026, 11, 9)) == 1
    assert total(account, "sent", day=date(2026, 11, 10)) == 1
    assert HourlyMetric.objects.filter(account=account, dim_key="").count() == 2


@pytest.mark.parametrize(
    "bad",
    [
        {"platform": "myspace"},
        {"metric": "Sent; DROP TABLE"},
        {"at": datetime(2026, 11, 1, 12)},  # naive
        {"count": -3},
        {"dimensions": {"Bad Name": "x"}},
    ],
)
def test_it_refuses_malformed_input_and_counts_nothing(alice, bad):
    account = make_account(alice)
    kwargs = dict(account_id=account.pk, platform="whatsapp", metric="sent", at=at(1)) | bad
    with pytest.raises(ValueError):
        record(**kwargs)
    assert not HourlyMetric.objects.exists()


def test_it_keeps_long_keys_distinct(alice):
    account = make_account(alice)
    base = "x" * 300
    for suffix in ("a", "b", "a"):
        record(account_id=account.pk, platform="whatsapp", metric="received", at=at(5), key=base + suffix)
    assert total(account, "received") == 2


def test_it_forgets_old_keys_only_after_the_retention(alice):
    account = make_account(alice)
    for key in ("old", "new"):
        record(account_id=account.pk, platform="whatsapp", metric="received", at=at(5), key=key)
    RecordedKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(days=31))

    assert recorded_keys_prune() == 1
    assert list(RecordedKey.objects.values_list("key", flat=True)) == ["new"]
    # A replay of a still-remembered event still counts nothing.
    assert record(account_id=account.pk, platform="whatsapp", metric="received", at=at(5), key="new") is False

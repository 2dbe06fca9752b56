"""Failure and inbound spikes become "recent activity" notifications, once per hour."""

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest

from accounts.models import Notification
from analytics.actors import detect_all_spikes
from analytics.recording import record
from analytics.services import spikes_detect
from tests.factories import make_account

NOW = datetime(2026, 11, 20, 15, 5, tzinfo=UTC)
LAST_HOUR = datetime(2026, 11, 20, 14, 20, tzinfo=UTC)


def wa(account, metric: str, count: int, at: datetime = LAST_HOUR, **dims) -> None:
    record(
        account_id=account.pk, platform="whatsapp", metric=metric, at=at, count=count, dimensions=dims or None
    )


@pytest.mark.django_db
def test_it_warns_once_when_many_sends_fail_in_an_hour(alice):
    account = make_account(alice)
    wa(account, "sent", 40)
    wa(account, "failed", 9, error_code="131026")
    wa(account, "failed", 3, error_code="131049")

    spikes_detect(account=account, now=NOW)
    spikes_detect(account=account, now=NOW)  # the next run in the same hour adds nothing

    note = Notification.objects.get(account=account)
    assert note.kind == "failure_spike" and note.severity == "warning"
    assert note.title == "12 of 40 WhatsApp messages failed in the hour from 2026-11-20 14:00 UTC"
    assert note.body == "Most frequent error codes: 131026 (9), 131049 (3)."


@pytest.mark.django_db
def test_it_stays_quiet_for_normal_traffic(alice):
    account = make_account(alice)
    wa(account, "sent", 400)
    wa(account, "failed", 12, error_code="131026")  # 3%: normal
    for hours_ago in range(1, 25):
        wa(account, "received", 60, at=LAST_HOUR - timedelta(hours=hours_ago))
    wa(account, "received", 70)  # busy, but not three times the usual

    assert spikes_detect(account=account, now=NOW) == []


@pytest.mark.django_db
def test_it_notes_an_inbound_spike_against_the_previous_day(alice):
    account = make_account(alice)
    for hours_ago in range(1, 25):
        wa(account, "received", 10, at=LAST_HOUR - timedelta(hours=hours_ago))
    wa(account, "received", 90)

    [note] = spikes_detect(account=account, now=NOW)
    assert note.kind == "inbound_spike"
    assert note.body == "About 10 per hour over the previous day."


def test_it_runs_from_the_hourly_actor_for_each_active_account(alice, bob, worker):
    account = make_account(alice)
    make_account(bob, meta_user_id="2000")
    wa(account, "sent", 10)
    wa(account, "failed", 10, error_code="131048")

    with mock.patch("analytics.services.timezone.now", return_value=NOW):
        detect_all_spikes.send()
        worker.drain()

    assert list(Notification.objects.values_list("account__connected_by__username", "kind")) == [
        ("alice", "failure_spike")
    ]

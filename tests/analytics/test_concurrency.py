"""Two workers recording into the same bucket at once lose no count (PostgreSQL only:
SQLite serialises writers, so the race cannot happen there)."""

import threading
from datetime import UTC, datetime

import pytest
from django.db import connection

from analytics.models import DailyMetric, HourlyMetric, RecordedKey
from analytics.recording import record
from tests.factories import make_account

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locking")

ROUNDS = 150


def test_it_loses_no_count_when_two_threads_record_the_same_bucket(transactional_db, alice):
    account = make_account(alice)
    when = datetime(2026, 11, 2, 12, 30, tzinfo=UTC)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            for n in range(ROUNDS):
                record(
                    account_id=account.pk,
                    platform="whatsapp",
                    metric="sent",
                    at=when,
                    dimensions={"template": "t"},
                )
                # Both threads replay the same event keys: each must count exactly once.
                record(
                    account_id=account.pk,
                    platform="whatsapp",
                    metric="delivered",
                    at=when,
                    key=f"w{n}:delivered",
                )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    for model in (HourlyMetric, DailyMetric):
        assert model.objects.get(account=account, metric="sent", dim_key="").count == 2 * ROUNDS
        assert model.objects.get(account=account, metric="sent", template="t").count == 2 * ROUNDS
        assert model.objects.get(account=account, metric="delivered", dim_key="").count == ROUNDS
    assert RecordedKey.objects.filter(account=account).count() == ROUNDS

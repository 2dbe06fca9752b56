"""Benchmark: GET /api/meta/whatsapp/metrics over 90 days, daily, for an account with 1,000
messages and one with 1,000,000 messages spread over the same 90 days.

The small account is fed through the real recording path (record_message_status / record);
the large one is filled in bulk with exactly the rows that path would produce (hourly and
daily, a total row plus one row per template). The endpoint is then timed through Django's
full request stack (auth, throttling, renderer) and p50/p95 and their ratio are printed.

Usage (a throwaway test database is created and dropped; nothing else is touched):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/botopia_bench \\
    REDIS_URL=redis://127.0.0.1:6379/13 \\
    python bench/metrics_query.py [--runs 300]

Goal: ratio <= 1.5 and p95 under 50 ms.
"""

import argparse
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "botopia_meta.settings")
os.environ["API_RATE_LIMIT_USER"] = "100000000/m"  # we measure the query, not our own throttle

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench import harness  # noqa: E402

DAYS = 90
TEMPLATES = ("order_update", "shipping_notice", "promo_black_friday", "otp_login", "feedback_request")
METRICS_PARAM = "sent,delivered,read,failed,received,replied"


def message_fates(rng: random.Random) -> tuple[str, bool]:
    """(last status, replied?) with realistic proportions."""
    roll = rng.random()
    status = "failed" if roll < 0.02 else "sent" if roll < 0.04 else "delivered" if roll < 0.35 else "read"
    return status, rng.random() < 0.6


def fill_small(account, start: datetime, messages: int, rng: random.Random) -> None:
    """Through the real recording path, one call per event."""
    from analytics.recording import record, record_message_status

    for n in range(messages):
        at = start + timedelta(seconds=rng.randrange(DAYS * 86400))
        template = {"template": rng.choice(TEMPLATES)}
        status, _ = message_fates(rng)
        record_message_status(
            account_id=account.pk,
            phone_number_id="PN1",
            message_id=f"out{n}",
            status="sent",
            at=at,
            dimensions=template,
        )
        if status != "sent":
            record_message_status(
                account_id=account.pk,
                phone_number_id="PN1",
                message_id=f"out{n}",
                status=status,
                at=at + timedelta(seconds=5),
                dimensions=template,
                error_code=131026,
            )
        if n % 3 == 0:  # a third as many inbound messages
            record(
                account_id=account.pk, platform="whatsapp", metric="received", at=at, key=f"in{n}:received"
            )
            if rng.random() < 0.6:
                record(
                    account_id=account.pk, platform="whatsapp", metric="replied", at=at, key=f"in{n}:replied"
                )


def fill_large(account, start: datetime, messages: int, rng: random.Random) -> int:
    """The rows the recording path would leave after `messages` messages, inserted in bulk."""
    from analytics.models import DailyMetric, HourlyMetric
    from analytics.recording import dimension_key

    hours = DAYS * 24
    per_hour = [0] * hours
    for _ in range(messages // 1000):  # distribute in blocks of 1,000 for speed
        per_hour[rng.randrange(hours)] += 1000
    hourly: dict[tuple, int] = defaultdict(int)
    for h, count in enumerate(per_hour):
        if not count:
            continue
        hour = start + timedelta(hours=h)
        for template in TEMPLATES:
            share = count // len(TEMPLATES)
            failed = share * 2 // 100
            delivered = share * 96 // 100
            read = share * 65 // 100
            for metric, n in (("sent", share), ("delivered", delivered), ("read", read)):
                hourly[(hour, metric, "", "")] += n
                hourly[(hour, metric, dimension_key({"template": template}), template)] += n
            hourly[(hour, "failed", "", "")] += failed
            key = dimension_key({"template": template, "error_code": "131026"})
            hourly[(hour, "failed", key, template)] += failed
        received = count // 3
        hourly[(hour, "received", "", "")] += received
        hourly[(hour, "replied", "", "")] += received * 6 // 10
    daily: dict[tuple, int] = defaultdict(int)
    for (hour, metric, dim_key, template), n in hourly.items():
        daily[(hour.date(), metric, dim_key, template)] += n

    common = {"account": account, "platform": "whatsapp", "asset_id": "PN1"}
    HourlyMetric.objects.bulk_create(
        [
            HourlyMetric(**common, hour=hour, metric=metric, dim_key=dk, template=t, count=n)
            for (hour, metric, dk, t), n in hourly.items()
        ],
        batch_size=5000,
    )
    DailyMetric.objects.bulk_create(
        [
            DailyMetric(**common, day=day, metric=metric, dim_key=dk, template=t, count=n)
            for (day, metric, dk, t), n in daily.items()
        ],
        batch_size=5000,
    )
    return len(hourly) + len(daily)


def time_endpoint(token: str, params: dict, runs: int) -> tuple[list[float], dict]:
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    url = "/api/meta/whatsapp/metrics"
    body = None
    for _ in range(20):  # warm up connections, caches and the query plan
        response = client.get(url, params)
        assert response.status_code == 200, response.content
        body = response.json()["data"]
    timings = []
    for _ in range(runs):
        began = time.perf_counter()
        response = client.get(url, params)
        timings.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200
    return timings, body


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=1_000)
    args = parser.parse_args()

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    print(f"Creating a throwaway database on {connection.vendor} ...", flush=True)
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        rng = random.Random(7)
        end_day = timezone.now().date()
        start_day = end_day - timedelta(days=DAYS - 1)
        start = datetime.combine(start_day, datetime.min.time(), tzinfo=UTC)

        small, small_token = harness.seed_owner("small")
        began = time.perf_counter()
        fill_small(small, start, args.small, rng)
        print(f"small: {args.small:,} messages recorded one by one in {time.perf_counter() - began:.1f}s")

        large, large_token = harness.seed_owner("large")
        began = time.perf_counter()
        rows = fill_large(large, start, args.large, rng)
        print(
            f"large: {args.large:,} messages as {rows:,} aggregate rows in {time.perf_counter() - began:.1f}s"
        )

        params = {
            "startDate": str(start_day),
            "endDate": str(end_day),
            "granularity": "day",
            "metrics": METRICS_PARAM,
        }
        results = {}
        for name, token in (("1k", small_token), ("1M", large_token)):
            timings, body = time_endpoint(token, params, args.runs)
            results[name] = (percentile(timings, 50), percentile(timings, 95))
            buckets = len(body["metrics"]["sent"])
            print(
                f"{name:>3} messages: p50 {results[name][0]:6.2f} ms  p95 {results[name][1]:6.2f} ms  "
                f"({buckets} daily buckets, totals sent={body['totals']['sent']:,} "
                f"deliveryRate={body['totals']['deliveryRate']})"
            )
        ratio50 = results["1M"][0] / results["1k"][0]
        ratio95 = results["1M"][1] / results["1k"][1]
        print(f"ratio 1M/1k: p50 {ratio50:.2f}  p95 {ratio95:.2f}  (goal <= 1.5; p95 goal < 50 ms)")

        hourly = {**params, "granularity": "hour", "startDate": str(end_day - timedelta(days=30))}
        timings, _ = time_endpoint(large_token, hourly, max(50, args.runs // 3))
        p50, p95 = percentile(timings, 50), percentile(timings, 95)
        print(f"1M, 31 days hourly (744 buckets): p50 {p50:.2f} ms  p95 {p95:.2f} ms")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()

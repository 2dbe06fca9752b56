"""The one function the other apps call to feed analytics: `record(...)`.

Metric names (what callers pass as `metric`):

- WhatsApp: `sent`, `delivered`, `read`, `failed` (dimension `error_code`), `received`
  (inbound messages), `replied`. Template sends are `sent` with dimension `template`
  (its name); broadcasts add `broadcast` (our broadcast id). Pass the same `template` /
  `broadcast` dimensions on the message's later statuses so per-template delivery and read
  rates add up.
- `replied`, precisely: an inbound message counts as replied once, when the business sends
  the contact any message after it (in the same conversation, before the contact's service
  window closes). It is recorded with `at` = the inbound message's time and key
  f"{inbound_id}:replied", so replied <= received holds in every bucket and
  responseRate = replied / received is "the share of what customers wrote that got an answer".
- Facebook / Instagram: `posts_published`, `comments_received`, `comments_replied` (same
  rule as `replied`, per comment), `dms_received`, and for Messenger / IG DMs the WhatsApp
  names `sent`, `received`, `replied` too.

Idempotency keys: `f"{wamid}:{status}"` for statuses, `f"{event id}:{metric}"` otherwise.
"""

import contextlib
import hashlib
import re
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.cache import cache
from django.db import connection, models, transaction
from django.utils import timezone

from analytics.models import AnalyticsSettings, DailyMetric, HourlyMetric, Platform, RecordedKey

PLATFORMS = frozenset(Platform.values)
# WhatsApp status progression: a later status implies the earlier ones (Meta sometimes skips
# `delivered` and goes straight to `read`, and webhooks arrive out of order).
STATUS_ORDER = ("sent", "delivered", "read")

_METRIC_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_DIMENSION_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_TZ_CACHE_SECONDS = 300


def _tz_cache_key(account_id: Any) -> str:
    return f"analytics:tz:{UUID(str(account_id))}"  # one key whatever the id's spelling


def account_timezone(account_id: Any) -> ZoneInfo:
    """The account's analytics time zone (AnalyticsSettings, default UTC), cached briefly."""
    key: str | None = _tz_cache_key(account_id)
    try:
        name = cache.get(key)
    except Exception:  # the cache (Redis) is down: read the database, as on a miss
        name, key = None, None
    if name is None:
        name = (
            AnalyticsSettings.objects.filter(account_id=account_id).values_list("timezone", flat=True).first()
            or "UTC"
        )
        if key is not None:
            cache.set(key, name, _TZ_CACHE_SECONDS)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def forget_account_timezone(account_id: Any) -> None:
    cache.delete(_tz_cache_key(account_id))


def dimension_key(dimensions: Mapping[str, object] | None) -> str:
    """Canonical, order-independent text for a set of dimensions ("" for none; empty values left out)."""
    if not dimensions:
        return ""
    return urlencode(sorted((k, str(v)) for k, v in dimensions.items() if v not in (None, "")))


def parse_dimension_key(dim_key: str) -> dict[str, str]:
    return dict(parse_qsl(dim_key)) if dim_key else {}


def hour_bucket(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _validate(platform: str, metric: str, at: datetime, count: int, dimensions: dict | None) -> None:
    if platform not in PLATFORMS:
        raise ValueError(f"platform must be one of {sorted(PLATFORMS)}, got {platform!r}")
    if not isinstance(metric, str) or not _METRIC_NAME.match(metric):
        raise ValueError(f"metric must be a snake_case name, got {metric!r}")
    if not isinstance(at, datetime) or timezone.is_naive(at):
        raise ValueError("at must be a timezone-aware datetime")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ValueError(f"count must be a whole number >= 0, got {count!r}")
    for name, value in (dimensions or {}).items():
        if not isinstance(name, str) or not _DIMENSION_NAME.match(name):
            raise ValueError(f"dimension names must be snake_case, got {name!r}")
        if len(str(value)) > 512:
            raise ValueError(f"dimension {name} is longer than 512 characters")


def _stored_key(key: str) -> str:
    # Truncating could make two long keys collide; a digest cannot (in practice).
    return key if len(key) <= 255 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _insert_key(account_pk: Any, key: str, now: datetime) -> bool:
    table = RecordedKey._meta.db_table
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (account_id, {qn('key')}, created_at) VALUES (%s, %s, %s) "  # noqa: S608
            f"ON CONFLICT (account_id, {qn('key')}) DO NOTHING",
            [account_pk, _stored_key(key), connection.ops.adapt_datetimefield_value(now)],
        )
        return cursor.rowcount == 1


def _upsert(model: type[models.Model], bucket_column: str, rows: list[tuple]) -> None:
    """Add counts atomically: the database does `count = count + n` under its row lock, so
    concurrent workers never lose an increment (no read-modify-write in Python)."""
    table = model._meta.db_table
    columns = (
        "account_id",
        "platform",
        "asset_id",
        "metric",
        "dim_key",
        "template",
        "broadcast",
        bucket_column,
    )
    placeholders = ", ".join(["(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"] * len(rows))
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}, count) VALUES {placeholders} "  # noqa: S608
        f"ON CONFLICT (account_id, platform, dim_key, metric, {bucket_column}, asset_id) "
        f"DO UPDATE SET count = {table}.count + EXCLUDED.count"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row in rows for value in row])


_deferred = threading.local()


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Inside a transaction that counts several things: hold the record() calls and make them
    at the end of the block, sorted by bucket. Concurrent transactions counting into the same
    buckets then lock the bucket rows in one order, after their own rows: no deadlock. Nested
    blocks flush with the outermost; an exception drops the held calls (the transaction rolls
    back anyway)."""
    if getattr(_deferred, "calls", None) is not None:
        yield
        return
    _deferred.calls = []
    try:
        yield
        calls = sorted(
            _deferred.calls,
            key=lambda c: (hour_bucket(c["at"]), c["metric"], dimension_key(c["dimensions"]), c["key"] or ""),
        )
        _deferred.calls = None
        for call in calls:
            _record(**call)
    finally:
        _deferred.calls = None


def record(
    *,
    account_id: Any,
    platform: str,
    metric: str,
    at: datetime,
    asset_id: str = "",
    count: int = 1,
    dimensions: dict[str, str] | None = None,
    key: str | None = None,
) -> bool:
    """Count `count` of `metric` for an account's asset at time `at`.

    platform: "whatsapp" | "facebook" | "instagram". asset_id: Meta's id of the number,
    page or IG account. dimensions: e.g. {"template": "order_update", "broadcast": "<uuid>",
    "error_code": "131026"}. key: a stable idempotency key (e.g. f"{wamid}:delivered"); a
    second call with the same key counts nothing. Returns True when counted.

    Adds to the hourly (UTC) and daily (account time zone) rows in one transaction, together
    with the key, so a crash never leaves a key without its counts or the reverse.
    Raises ValueError on malformed input (a bug in the caller, never user input). Inside
    `deferred()` the count is made at the end of that block and this returns True.
    """
    _validate(platform, metric, at, count, dimensions)
    if count == 0:
        return False
    call = {
        "account_id": account_id,
        "platform": platform,
        "metric": metric,
        "at": at,
        "asset_id": asset_id,
        "count": count,
        "dimensions": dimensions,
        "key": key,
    }
    if getattr(_deferred, "calls", None) is not None:
        _deferred.calls.append(call)
        return True
    return _record(**call)


def _bucket_rows(call: dict, zone: ZoneInfo | None = None) -> tuple[Any, list[tuple], list[tuple]]:
    """(account pk, hourly rows, daily rows) one record() call adds to: the bucket without
    dimensions, and the one with them when it has any. `zone`: the account's, if known."""
    account_id, at, count = call["account_id"], call["at"], call["count"]
    account_pk = HourlyMetric._meta.get_field("account").target_field.get_db_prep_value(
        UUID(str(account_id)), connection
    )
    hour = hour_bucket(at)
    # The day of the hour's start, so rebuilding days from hours gives the same answer
    # (a time zone with a :30 offset puts that half hour in the day the UTC hour starts).
    day = hour.astimezone(zone or account_timezone(account_id)).date()
    dims = {k: str(v) for k, v in (call["dimensions"] or {}).items() if v not in (None, "")}
    dim_key = dimension_key(dims)
    template, broadcast = dims.get("template", ""), dims.get("broadcast", "")[:64]
    asset_id = str(call["asset_id"] or "")[:64]
    platform, metric = call["platform"], call["metric"]

    buckets = [("", "", "")]
    if dim_key:
        buckets.append((dim_key, template, broadcast))
    hour_value = connection.ops.adapt_datetimefield_value(hour)
    day_value = connection.ops.adapt_datefield_value(day)
    return (
        account_pk,
        [(account_pk, platform, asset_id, metric, dk, t, b, hour_value, count) for dk, t, b in buckets],
        [(account_pk, platform, asset_id, metric, dk, t, b, day_value, count) for dk, t, b in buckets],
    )


def _record(
    *,
    account_id: Any,
    platform: str,
    metric: str,
    at: datetime,
    asset_id: str,
    count: int,
    dimensions: dict[str, str] | None,
    key: str | None,
) -> bool:
    call = {
        "account_id": account_id,
        "platform": platform,
        "metric": metric,
        "at": at,
        "asset_id": asset_id,
        "count": count,
        "dimensions": dimensions,
    }
    account_pk, hourly, daily = _bucket_rows(call)
    with transaction.atomic():
        if key is not None and not _insert_key(account_pk, key, timezone.now()):
            return False
        _upsert(HourlyMetric, "hour", hourly)
        _upsert(DailyMetric, "day", daily)
    return True


def _insert_keys(keys: list[tuple[Any, str]], now: datetime) -> set[tuple[Any, str]]:
    """Insert (account pk, stored key) pairs in one statement; → the pairs that were new."""
    if not keys:
        return set()
    table = RecordedKey._meta.db_table
    qn = connection.ops.quote_name
    placeholders = ", ".join(["(%s, %s, %s)"] * len(keys))
    created = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (account_id, {qn('key')}, created_at) VALUES {placeholders} "  # noqa: S608
            f"ON CONFLICT (account_id, {qn('key')}) DO NOTHING RETURNING account_id, {qn('key')}",
            [value for account_pk, key in keys for value in (account_pk, key, created)],
        )
        return {(str(account_pk).replace("-", ""), key) for account_pk, key in cursor.fetchall()}


def _summed(rows: list[tuple]) -> list[tuple]:
    """Rows with the same bucket added together (one upsert may touch a row once), in one
    order (concurrent writers lock the bucket rows alike)."""
    sums: dict[tuple, int] = {}
    for row in rows:
        sums[row[:-1]] = sums.get(row[:-1], 0) + row[-1]
    return [(*bucket, total) for bucket, total in sorted(sums.items(), key=lambda item: str(item[0]))]


def record_many(calls: list[dict[str, Any]]) -> int:
    """Several record() calls (their keyword arguments) as one: the keys in one INSERT, the
    counts summed per bucket and written in one upsert per table, in one transaction. The
    same counts as calling record() for each (a key already recorded, or repeated in
    `calls`, counts once). → how many calls counted (inside `deferred()`, all of them)."""
    for call in calls:
        _validate(call["platform"], call["metric"], call["at"], call.get("count", 1), call.get("dimensions"))
    calls = [{"count": 1, "asset_id": "", "dimensions": None, "key": None, **call} for call in calls]
    calls = [call for call in calls if call["count"]]
    if getattr(_deferred, "calls", None) is not None:
        _deferred.calls.extend(calls)
        return len(calls)
    zones = {str(account_id): account_timezone(account_id) for account_id in {c["account_id"] for c in calls}}
    prepared = [(call, *_bucket_rows(call, zones[str(call["account_id"])])) for call in calls]
    with transaction.atomic():
        keyed = [(account_pk, _stored_key(call["key"])) for call, account_pk, _, _ in prepared if call["key"]]
        new = _insert_keys(keyed, timezone.now())
        hourly, daily, counted = [], [], 0
        for call, account_pk, hours, days in prepared:
            if call["key"] is not None:
                mark = (str(account_pk).replace("-", ""), _stored_key(call["key"]))
                if mark not in new:
                    continue
                new.discard(mark)  # the same key twice in `calls` counts once
            hourly.extend(hours)
            daily.extend(days)
            counted += 1
        if hourly:
            _upsert(HourlyMetric, "hour", _summed(hourly))
            _upsert(DailyMetric, "day", _summed(daily))
    return counted


def message_status_calls(
    *,
    account_id: Any,
    phone_number_id: str,
    message_id: str,
    status: str,
    at: datetime,
    dimensions: dict[str, str] | None = None,
    error_code: str | int | None = None,
) -> list[dict[str, Any]]:
    """The record() calls (keyword arguments) a WhatsApp message status makes: itself and the
    statuses it implies, each keyed once per message (see record_message_status)."""
    steps: list[tuple[str, dict[str, str] | None]]
    if status == "failed":
        dims = {**(dimensions or {}), "error_code": str(error_code or "unknown")}
        steps = [("failed", dims)]
    elif status in STATUS_ORDER:
        steps = [(name, dimensions) for name in STATUS_ORDER[: STATUS_ORDER.index(status) + 1]]
    else:
        raise ValueError(f"unknown message status {status!r}")
    return [
        {
            "account_id": account_id,
            "platform": Platform.WHATSAPP,
            "metric": metric,
            "at": at,
            "asset_id": phone_number_id,
            "dimensions": metric_dims,
            "key": f"{message_id}:{metric}",
        }
        for metric, metric_dims in steps
    ]


def record_message_status(
    *,
    account_id: Any,
    phone_number_id: str,
    message_id: str,
    status: str,
    at: datetime,
    dimensions: dict[str, str] | None = None,
    error_code: str | int | None = None,
) -> list[str]:
    """Record a WhatsApp message status and the ones it implies, each once per message.

    `read` implies `delivered` implies `sent`, so a `read` that arrives before (or instead
    of) `delivered` still counts the message as delivered, and the late `delivered` counts
    nothing. `failed` counts under its error code. Returns the metrics newly counted.
    """
    calls = message_status_calls(
        account_id=account_id,
        phone_number_id=phone_number_id,
        message_id=message_id,
        status=status,
        at=at,
        dimensions=dimensions,
        error_code=error_code,
    )
    with transaction.atomic():
        return [call["metric"] for call in calls if record(**call)]

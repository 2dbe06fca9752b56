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


def _account_pk(account_id: Any) -> Any:
    return HourlyMetric._meta.get_field("account").target_field.get_db_prep_value(
        UUID(str(account_id)), connection
    )


def _same_pk(value: Any) -> str:
    # A UUID as the database hands it back (PostgreSQL: UUID; SQLite: 32 hex digits).
    return str(value).replace("-", "")


# Rows per INSERT: far under PostgreSQL's and SQLite's bound on a statement's parameters.
_ROWS_PER_STATEMENT = 1000


def _insert_keys(pairs: list[tuple[Any, str]], now: datetime) -> set[tuple[str, str]]:
    """INSERT the (account pk, stored key) pairs, in their order, ON CONFLICT DO NOTHING;
    → the pairs newly stored (as `(_same_pk(account), key)`)."""
    table = RecordedKey._meta.db_table
    qn = connection.ops.quote_name
    created = connection.ops.adapt_datetimefield_value(now)
    stored: set[tuple[str, str]] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(pairs), _ROWS_PER_STATEMENT):
            rows = pairs[start : start + _ROWS_PER_STATEMENT]
            cursor.execute(
                f"INSERT INTO {table} (account_id, {qn('key')}, created_at) "  # noqa: S608
                f"VALUES {', '.join(['(%s, %s, %s)'] * len(rows))} "
                f"ON CONFLICT (account_id, {qn('key')}) DO NOTHING RETURNING account_id, {qn('key')}",
                [value for account_pk, key in rows for value in (account_pk, key, created)],
            )
            stored.update((_same_pk(account_pk), key) for account_pk, key in cursor.fetchall())
    return stored


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
    row_sql = "(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _ROWS_PER_STATEMENT):
            chunk = rows[start : start + _ROWS_PER_STATEMENT]
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}, count) "  # noqa: S608
                f"VALUES {', '.join([row_sql] * len(chunk))} "
                f"ON CONFLICT (account_id, platform, dim_key, metric, {bucket_column}, asset_id) "
                f"DO UPDATE SET count = {table}.count + EXCLUDED.count",
                [value for row in chunk for value in row],
            )


_deferred = threading.local()


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Inside a transaction that counts several things: hold the record() calls and make them
    together at the end of the block (`_flush`: the keys in one statement, the counts summed
    per bucket and added in bucket order). Concurrent transactions counting into the same
    buckets then lock the bucket rows in one order, after their own rows: no deadlock.

    Nested blocks flush with the outermost. An exception drops the calls held in the block it
    leaves (a nested block is a savepoint's: the outer block keeps counting the rest)."""
    calls = getattr(_deferred, "calls", None)
    if calls is not None:
        mark = len(calls)
        try:
            yield
        except BaseException:
            del calls[mark:]
            raise
        return
    _deferred.calls = []
    try:
        yield
        held, _deferred.calls = _deferred.calls, None
        _flush(held)
    finally:
        _deferred.calls = None


def _deferring() -> bool:
    return getattr(_deferred, "calls", None) is not None


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
    if _deferring():
        _deferred.calls.append(call)
        return True
    return _flush([call])[0]


def _flush(calls: list[dict[str, Any]]) -> list[bool]:
    """Make record() calls as one set, in one transaction: their keys in one INSERT (a key
    stored already, or earlier in the set, counts nothing), then their counts summed per
    bucket and added with one upsert of hourly rows and one of daily rows, each in bucket
    order. → for each call, whether it counted."""
    if not calls:
        return []
    now = timezone.now()
    pks = [_account_pk(call["account_id"]) for call in calls]
    keys = [None if call["key"] is None else _stored_key(call["key"]) for call in calls]
    zones: dict[str, ZoneInfo] = {}
    hourly: dict[tuple, int] = {}
    daily: dict[tuple, int] = {}
    counted = [False] * len(calls)
    # Inside a transaction (deferred's case) no savepoint: an error fails that transaction.
    with transaction.atomic(savepoint=False):
        pairs = sorted({(pk, key) for pk, key in zip(pks, keys, strict=True) if key is not None}, key=str)
        stored = _insert_keys(pairs, now) if pairs else set()
        for i, call in enumerate(calls):
            if keys[i] is not None:
                pair = (_same_pk(pks[i]), keys[i])
                if pair not in stored:
                    continue
                stored.discard(pair)  # the same key twice in the set counts once
            counted[i] = True
            zone_key = _same_pk(pks[i])
            if zone_key not in zones:
                zones[zone_key] = account_timezone(call["account_id"])
            hour = hour_bucket(call["at"])
            # The day of the hour's start, so rebuilding days from hours gives the same answer
            # (a time zone with a :30 offset puts that half hour in the day the UTC hour starts).
            day = hour.astimezone(zones[zone_key]).date()
            dims = {k: str(v) for k, v in (call["dimensions"] or {}).items() if v not in (None, "")}
            dim_key = dimension_key(dims)
            template, broadcast = dims.get("template", ""), dims.get("broadcast", "")[:64]
            asset_id = str(call["asset_id"] or "")[:64]
            buckets = [("", "", "")]
            if dim_key:
                buckets.append((dim_key, template, broadcast))
            for dk, t, b in buckets:
                # In the order of the rows' unique key: (account, platform, dim_key, metric, bucket, asset).
                for rows, bucket in ((hourly, hour), (daily, day)):
                    row = (zone_key, call["platform"], dk, call["metric"], bucket, asset_id, pks[i], t, b)
                    rows[row] = rows.get(row, 0) + call["count"]
        for model, column, rows, adapt in (
            (HourlyMetric, "hour", hourly, connection.ops.adapt_datetimefield_value),
            (DailyMetric, "day", daily, connection.ops.adapt_datefield_value),
        ):
            if rows:
                _upsert(
                    model,
                    column,
                    [
                        (pk, platform, asset, metric, dk, t, b, adapt(bucket), n)
                        for (_, platform, dk, metric, bucket, asset, pk, t, b), n in sorted(rows.items())
                    ],
                )
    return counted


def record_many(calls: list[dict[str, Any]]) -> int:
    """Several record() calls (their keyword arguments) as one set: the same counts as calling
    record() for each (a key already recorded, or repeated in `calls`, counts once), written by
    one flush. → how many calls counted (inside `deferred()`, all of them)."""
    for call in calls:
        _validate(call["platform"], call["metric"], call["at"], call.get("count", 1), call.get("dimensions"))
    calls = [{"count": 1, "asset_id": "", "dimensions": None, "key": None, **call} for call in calls]
    calls = [call for call in calls if call["count"]]
    if _deferring():
        _deferred.calls.extend(calls)
        return len(calls)
    return sum(_flush(calls))


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
    calls = [{"count": 1, **call} for call in calls]
    for call in calls:
        _validate(call["platform"], call["metric"], call["at"], call["count"], call["dimensions"])
    if _deferring():  # made with deferred()'s set, at the end of its block
        _deferred.calls.extend(calls)
        return [call["metric"] for call in calls]
    # one set: its keys in one INSERT, its counts in one upsert per table
    return [call["metric"] for call, counted in zip(calls, _flush(calls), strict=True) if counted]

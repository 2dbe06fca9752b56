"""Reads for the dashboard: every one starts from an account the caller owns and reads only
the aggregate tables, so its cost follows the number of buckets, never of messages."""

from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import MetaAccount, Notification
from accounts.notifications import with_read_state
from accounts.selectors import account_get, account_list
from analytics.models import DailyMetric, HourlyMetric, MetaInsight, Platform
from analytics.recording import account_timezone, hour_bucket
from botopia_meta.exceptions import AccountNotConnected, NotFound
from orgs.models import Organization
from whatsapp.models import WhatsAppPhoneNumber, WhatsAppTemplate

MAX_RANGE_DAYS = 400
MAX_HOURLY_RANGE_DAYS = 31
WHATSAPP_METRICS = ("sent", "delivered", "read", "failed", "received", "replied")
REPORT_METRICS = (
    *WHATSAPP_METRICS,
    "posts_published",
    "comments_received",
    "comments_replied",
    "dms_received",
)
_RATE_BASES = ("sent", "delivered", "read", "received", "replied")
TOKEN_EXPIRY_WARNING = timedelta(days=7)


def require_account_assets(
    *,
    account: MetaAccount,
    asset_id: str | None = None,
    phone_number_id: str | None = None,
    broadcast_id: str | None = None,
) -> None:
    """A filter naming an asset (WABA, number, page, Instagram account) or a broadcast the
    account neither has nor has history for is a 404, like a lookup of it: an empty series
    would hide the mistake. History counts: a removed number's numbers stay readable."""
    hourly = HourlyMetric.objects.filter(account=account)
    numbers = WhatsAppPhoneNumber._base_manager.filter(waba__account=account)
    if phone_number_id and not (
        hourly.filter(asset_id=phone_number_id).exists()
        or numbers.filter(phone_number_id=phone_number_id).exists()
    ):
        raise NotFound("No such phone number.")
    if broadcast_id and not (
        hourly.filter(broadcast=broadcast_id).exists() or _account_has_broadcast(numbers, broadcast_id)
    ):
        raise NotFound("No such broadcast.")
    if asset_id and not (
        MetaInsight.objects.filter(account=account, asset_id=asset_id).exists()
        or numbers.filter(Q(phone_number_id=asset_id) | Q(waba__waba_id=asset_id)).exists()
        or account.facebook_pages.filter(page_id=asset_id).exists()
        or account.instagram_accounts.filter(ig_account_id=asset_id).exists()
    ):
        raise NotFound("No such asset among the account's.")


def _account_has_broadcast(numbers: QuerySet, broadcast_id: str) -> bool:
    try:
        pk = UUID(str(broadcast_id))
    except ValueError:
        return False
    return numbers.filter(broadcasts__pk=pk).exists()


def analytics_account(*, org: Organization, account_id: str | None = None) -> MetaAccount:
    """The account whose numbers are shown: the given one (404 if not the caller's), else the
    most recently connected active one, else the most recent one at all (an expired account
    still has a history, and the overview must be able to say it needs reauth)."""
    if account_id:
        return account_get(org=org, account_id=account_id)
    accounts = account_list(org=org).order_by("-connected_at", "-created_at")
    account = accounts.filter(status=MetaAccount.Status.ACTIVE).first() or accounts.first()
    if account is None:
        raise AccountNotConnected()
    return account


def iso(moment: datetime) -> str:
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """A rate, or None when there is nothing to divide by (0 sent is "no rate", not 0%)."""
    if not denominator or numerator is None:
        return None
    return round(numerator / denominator, 4)


def change(value: float | None, previous: float | None) -> float | None:
    """Relative change against the previous period; None when there is no base to compare."""
    if value is None or not previous:
        return None
    return round((value - previous) / previous, 4)


def rates(totals: dict[str, int]) -> dict[str, float | None]:
    return {
        "delivery_rate": ratio(totals.get("delivered", 0), totals.get("sent", 0)),
        "read_rate": ratio(totals.get("read", 0), totals.get("sent", 0)),
        "response_rate": ratio(totals.get("replied", 0), totals.get("received", 0)),
    }


def default_range(tz: ZoneInfo, days: int = 30) -> tuple[date, date]:
    today = timezone.now().astimezone(tz).date()
    return today - timedelta(days=days - 1), today


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def _local_midnight_utc(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


def _scoped(
    queryset: QuerySet,
    *,
    asset_id: str | None,
    template: str | None,
    broadcast: str | None,
) -> QuerySet:
    if template or broadcast:
        # Dimensioned rows: each event is in exactly one of them, so their sum is exact.
        queryset = queryset.exclude(dim_key="")
        if template:
            queryset = queryset.filter(template=template)
        if broadcast:
            queryset = queryset.filter(broadcast=broadcast)
    else:
        queryset = queryset.filter(dim_key="")
    if asset_id:
        queryset = queryset.filter(asset_id=asset_id)
    return queryset


def metric_series(
    *,
    account: MetaAccount,
    start: date,
    end: date,
    granularity: str,
    metrics: list[str],
    platform: str = Platform.WHATSAPP,
    asset_id: str | None = None,
    template: str | None = None,
    broadcast: str | None = None,
) -> dict:
    """{"metrics": {name: [{"timestamp", "value"}]}, "totals": {name: n, rates...}} with one
    zero-filled bucket per day (local) or hour between start and end, both inclusive."""
    tz = account_timezone(account.pk)
    wanted = sorted(set(metrics) | set(_RATE_BASES))
    if granularity == "hour":
        first = hour_bucket(_local_midnight_utc(start, tz))
        stop = _local_midnight_utc(end + timedelta(days=1), tz)
        buckets: list[date] = []  # datetimes here, days below
        moment = first
        while moment < stop:
            buckets.append(moment)
            moment += timedelta(hours=1)
        queryset: QuerySet[HourlyMetric] | QuerySet[DailyMetric]
        queryset = HourlyMetric.objects.filter(hour__gte=first, hour__lt=stop)
        column = "hour"

        def hour_stamp(bucket: datetime) -> str:
            return iso(bucket.astimezone(tz))

        stamp: Callable[[Any], str] = hour_stamp
    else:
        buckets = _days(start, end)
        queryset = DailyMetric.objects.filter(day__gte=start, day__lte=end)
        column = "day"

        def day_stamp(bucket: date) -> str:
            return iso(datetime.combine(bucket, time(), tzinfo=tz))

        stamp = day_stamp

    queryset = _scoped(
        queryset.filter(account=account, platform=platform, metric__in=wanted),
        asset_id=asset_id,
        template=template,
        broadcast=broadcast,
    )
    counts: dict[str, dict] = defaultdict(dict)
    for metric, bucket, total in (
        queryset.values_list("metric", column).annotate(total=Sum("count")).order_by()
    ):
        counts[metric][bucket] = total
    totals = {metric: sum(counts[metric].values()) for metric in wanted}
    stamps = [(stamp(b), b) for b in buckets]
    return {
        "metrics": {
            metric: [{"timestamp": text, "value": counts[metric].get(b, 0)} for text, b in stamps]
            for metric in metrics
        },
        "totals": {**{metric: totals[metric] for metric in metrics}, **rates(totals)},
    }


# --- overview ---------------------------------------------------------------------------------


def _stat(value: float | None, previous: float | None) -> dict:
    return {"value": value, "previous": previous, "change": change(value, previous)}


def previous_period(start: date, end: date) -> tuple[date, date]:
    length = (end - start).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)


def overview(*, account: MetaAccount, start: date, end: date, reader: User) -> dict:
    tz = account_timezone(account.pk)
    prev_start, prev_end = previous_period(start, end)
    current: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    previous: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    rows = (
        DailyMetric.objects.filter(account=account, dim_key="", day__gte=prev_start, day__lte=end)
        .values_list("platform", "metric")
        .annotate(
            now=Sum("count", filter=Q(day__gte=start)), before=Sum("count", filter=Q(day__lte=prev_end))
        )
        .order_by()
    )
    for platform, metric, now, before in rows:
        current[platform][metric] = now or 0
        previous[platform][metric] = before or 0

    def count_stat(platform: str, metric: str) -> dict:
        return _stat(current[platform][metric], previous[platform][metric])

    def rate_stat(platform: str, numerator: str, denominator: str) -> dict:
        return _stat(
            ratio(current[platform][numerator], current[platform][denominator]),
            ratio(previous[platform][numerator], previous[platform][denominator]),
        )

    templates = WhatsAppTemplate.objects.filter(
        waba__account=account, waba__deleted_at__isnull=True, status=WhatsAppTemplate.Status.APPROVED
    )
    # We keep no template history: "previous" counts today's approved templates that already
    # existed when the period began (an approximation that never counts a future template).
    approved_now = templates.count()
    approved_before = templates.filter(created_at__lt=_local_midnight_utc(start, tz)).count()
    social = {
        platform: {
            "posts_published": count_stat(platform, "posts_published"),
            "comments_received": count_stat(platform, "comments_received"),
            "comments_replied": count_stat(platform, "comments_replied"),
            "comment_response_rate": rate_stat(platform, "comments_replied", "comments_received"),
            "messages_received": count_stat(platform, "dms_received"),
        }
        for platform in (Platform.FACEBOOK, Platform.INSTAGRAM)
    }
    wa = Platform.WHATSAPP
    return {
        "period": {
            "start_date": start,
            "end_date": end,
            "previous_start_date": prev_start,
            "previous_end_date": prev_end,
            "timezone": str(tz),
        },
        "platforms": {
            "whatsapp": {
                "approved_templates": _stat(approved_now, approved_before),
                "messages_sent": count_stat(wa, "sent"),
                "messages_received": count_stat(wa, "received"),
                "delivery_rate": rate_stat(wa, "delivered", "sent"),
                "read_rate": rate_stat(wa, "read", "sent"),
                "response_rate": rate_stat(wa, "replied", "received"),
            },
            **social,
        },
        "health": account_health(account=account),
        "notifications": list(
            with_read_state(Notification.objects.filter(account=account), user=reader).order_by(
                "-created_at"
            )[:10]
        ),
    }


def account_health(*, account: MetaAccount) -> dict:
    now = timezone.now()
    expiry = account.token_expiry
    numbers = (
        WhatsAppPhoneNumber.objects.filter(waba__account=account, waba__deleted_at__isnull=True)
        .select_related("waba")
        .order_by("display_phone_number")
    )
    return {
        "status": account.status,
        "needs_reauth": account.needs_reauth or account.status != MetaAccount.Status.ACTIVE,
        "token_expires_at": expiry,
        "token_expiring_soon": bool(expiry and expiry - now < TOKEN_EXPIRY_WARNING),
        "phone_numbers": [
            {
                "phone_number_id": n.phone_number_id,
                "display_phone_number": n.display_phone_number,
                "waba_id": n.waba.waba_id,
                "quality_rating": n.quality_rating,
                "messaging_limit_tier": n.messaging_limit_tier,
                "status": n.status,
            }
            for n in numbers
        ],
    }


# --- insights ---------------------------------------------------------------------------------


def insight_list(
    *,
    account: MetaAccount,
    start: date,
    end: date,
    platform: str | None = None,
    asset_id: str | None = None,
    metric: str | None = None,
    period: str | None = None,
) -> QuerySet:
    queryset = MetaInsight.objects.filter(account=account, date__gte=start, date__lte=end)
    if platform:
        queryset = queryset.filter(platform=platform)
    if asset_id:
        queryset = queryset.filter(asset_id=asset_id)
    if metric:
        queryset = queryset.filter(metric=metric)
    if period:
        queryset = queryset.filter(period=period)
    return queryset.order_by("date", "platform", "asset_id", "metric", "dim_key", "id")


# --- reports ----------------------------------------------------------------------------------

REPORT_COLUMNS = (
    "section",
    "date",
    "platform",
    "template",
    *REPORT_METRICS,
    "delivery_rate",
    "read_rate",
    "response_rate",
)


def report_day_rows(
    *, account: MetaAccount, start: date, end: date, chunk_days: int = 31
) -> Iterator[tuple[int, list[dict]]]:
    """(days done, rows) per chunk of days: one row per day and platform, zero-filled.
    Chunked so long ranges stream instead of building one big answer."""
    done = 0
    chunk_start = start
    while chunk_start <= end:
        chunk_end = min(end, chunk_start + timedelta(days=chunk_days - 1))
        counts: dict[tuple, dict[str, int]] = defaultdict(dict)
        rows = (
            DailyMetric.objects.filter(
                account=account,
                dim_key="",
                day__gte=chunk_start,
                day__lte=chunk_end,
                metric__in=REPORT_METRICS,
            )
            .values_list("day", "platform", "metric")
            .annotate(total=Sum("count"))
            .order_by()
        )
        for day, platform, metric, total in rows:
            counts[(day, platform)][metric] = total
        out = []
        for day in _days(chunk_start, chunk_end):
            for platform in Platform.values:
                values = {metric: counts[(day, platform)].get(metric, 0) for metric in REPORT_METRICS}
                out.append(
                    {
                        "section": "day",
                        "date": day,
                        "platform": platform,
                        "template": "",
                        **values,
                        **rates(values),
                    }
                )
        done += (chunk_end - chunk_start).days + 1
        yield done, out
        chunk_start = chunk_end + timedelta(days=1)


def report_template_rows(*, account: MetaAccount, start: date, end: date) -> list[dict]:
    """Per template over the whole range: sends, deliveries, reads and their rates."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    rows = (
        DailyMetric.objects.filter(
            account=account,
            platform=Platform.WHATSAPP,
            day__gte=start,
            day__lte=end,
            metric__in=("sent", "delivered", "read", "failed"),
        )
        .exclude(template="")
        .values_list("template", "metric")
        .annotate(total=Sum("count"))
        .order_by()
    )
    for template, metric, total in rows:
        counts[template][metric] += total
    return [
        {
            "section": "template",
            "date": "",
            "platform": Platform.WHATSAPP.value,
            "template": template,
            "sent": values["sent"],
            "delivered": values["delivered"],
            "read": values["read"],
            "failed": values["failed"],
            "delivery_rate": ratio(values["delivered"], values["sent"]),
            "read_rate": ratio(values["read"], values["sent"]),
        }
        for template, values in sorted(counts.items())
    ]

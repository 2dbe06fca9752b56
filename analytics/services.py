"""Writes of the analytics app: settings (time zone), pulls of Meta's own insights, pruning."""

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import MetaAccount, Notification
from accounts.notifications import Severity, notify
from accounts.tokens import graph_for, page_graph_for
from analytics import graph
from analytics.metric_names import metric_names
from analytics.models import (
    AnalyticsSettings,
    DailyMetric,
    HourlyMetric,
    MetaInsight,
    Platform,
    RecordedKey,
    RefusedMetric,
)
from analytics.recording import dimension_key, forget_account_timezone, hour_bucket, parse_dimension_key
from botopia_meta.exceptions import ValidationFailed
from botopia_meta.graph import GraphClient, GraphError, GraphInvalidParameter, GraphTokenExpired
from facebook.models import FacebookPage
from instagram.models import InstagramAccount
from whatsapp.models import WhatsAppBusinessAccount, WhatsAppTemplate

logger = logging.getLogger(__name__)

TEMPLATE_IDS_PER_CALL = 10  # Meta's limit for template_analytics.template_ids([...])


# --- settings ---------------------------------------------------------------------------------


def analytics_settings_update(*, account: MetaAccount, timezone_name: str) -> AnalyticsSettings:
    """Set the account's analytics time zone and rebuild its daily rows from the hourly ones,
    so past days are re-cut at the new midnight. Runs in one transaction."""
    try:
        tz = ZoneInfo(timezone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(
            f"Unknown time zone {timezone_name!r}.",
            details={"timezone": ["Use an IANA name such as America/Bogota or Europe/Madrid."]},
        ) from None
    with transaction.atomic():
        row, _ = AnalyticsSettings.objects.select_for_update().get_or_create(account=account)
        changed = row.timezone != timezone_name
        row.timezone = timezone_name
        row.save()
        if changed:
            _rebuild_daily(account=account, tz=tz)
        # A record() racing this transaction may still cut one event with the old zone; the
        # next rebuild (or time-zone change) corrects it.
        forget_account_timezone(account.pk)
        transaction.on_commit(lambda: forget_account_timezone(account.pk))
    return row


def _rebuild_daily(*, account: MetaAccount, tz: ZoneInfo) -> None:
    sums: dict[tuple, int] = defaultdict(int)
    hourly = HourlyMetric.objects.filter(account=account).values_list(
        "platform", "asset_id", "metric", "dim_key", "template", "broadcast", "hour", "count"
    )
    for platform, asset_id, metric, dim_key, template, broadcast, hour, count in hourly.iterator(
        chunk_size=5000
    ):
        sums[(platform, asset_id, metric, dim_key, template, broadcast, hour.astimezone(tz).date())] += count
    DailyMetric.objects.filter(account=account).delete()
    DailyMetric.objects.bulk_create(
        [
            DailyMetric(
                account=account,
                platform=platform,
                asset_id=asset_id,
                metric=metric,
                dim_key=dim_key,
                template=template,
                broadcast=broadcast,
                day=day,
                count=count,
            )
            for (platform, asset_id, metric, dim_key, template, broadcast, day), count in sums.items()
        ],
        batch_size=1000,
    )


def recorded_keys_prune(*, older_than_days: int | None = None) -> int:
    """Forget idempotency keys older than the retention (default 30 days; Meta stops
    redelivering after 7). In batches, so a busy account's millions of keys never make one
    long-locking DELETE."""
    days = older_than_days or settings.ANALYTICS_KEY_RETENTION_DAYS
    cutoff = timezone.now() - timedelta(days=days)
    deleted = 0
    while True:
        batch = list(RecordedKey.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:10_000])
        if not batch:
            return deleted
        deleted += RecordedKey.objects.filter(pk__in=batch).delete()[0]


# --- Meta insights ----------------------------------------------------------------------------


class _Pull:
    """One pull for one account: remembers which metrics this Graph version refuses."""

    def __init__(self, account: MetaAccount, start: date, end: date):
        self.account = account
        self.start, self.end = start, end
        self.since = int(datetime.combine(start, datetime.min.time(), tzinfo=UTC).timestamp())
        self.until = int(
            datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=UTC).timestamp()
        )
        self.version = settings.META_GRAPH_VERSION
        self.refused = set(
            RefusedMetric.objects.filter(graph_version=self.version).values_list("platform", "metric")
        )
        self.stored = 0
        self.skipped: list[str] = []

    def fetch(self, platform: str, metric: str, asset_id: str, call: Callable[[], Any]) -> Any | None:
        """Run one Graph call for `metric`; None when Meta refuses it or the asset is gone.
        Token and transient errors propagate (the actor decides)."""
        if (platform, metric) in self.refused:
            return None
        try:
            return call()
        except GraphInvalidParameter as exc:
            if exc.subcode == 33:  # the object no longer exists (or we lost access to it)
                logger.warning("Insights: %s %s is gone at Meta; skipping it", platform, asset_id)
                self.skipped.append(f"{platform}:{asset_id}")
                return None
            self.refuse(platform, metric, exc.message)
            return None
        except GraphTokenExpired:
            raise
        except GraphError as exc:
            if not exc.permanent:
                raise  # the actor retries the whole pull later; values are replaced, not added
            # A missing permission or another permanent refusal for one asset must not stop
            # the pull of the others.
            logger.warning(
                "Insights: Meta refused %s %s %s (code=%s, fbtrace_id=%s); skipping",
                platform,
                asset_id,
                metric,
                exc.code,
                exc.fbtrace_id,
            )
            self.skipped.append(f"{platform}:{asset_id}:{metric}")
            return None

    def refuse(self, platform: str, metric: str, message: str) -> None:
        self.refused.add((platform, metric))
        _, created = RefusedMetric.objects.get_or_create(
            platform=platform, metric=metric, graph_version=self.version, defaults={"message": message[:1000]}
        )
        if created:  # logged once per version, not on every pull
            logger.warning(
                "Meta refuses %s metric %r on %s (%s): skipping it until the Graph version changes. "
                "Update analytics/metric_names.py.",
                platform,
                metric,
                self.version,
                message,
            )

    def store(self, platform: str, asset_id: str, metric: str, points: dict[tuple[date, str], float]) -> None:
        """Replace (never add) the values Meta reports; a re-pull of the same days is harmless."""
        if not points:
            return
        now = timezone.now()
        MetaInsight.objects.bulk_create(
            [
                MetaInsight(
                    account=self.account,
                    platform=platform,
                    asset_id=asset_id,
                    metric=metric,
                    dim_key=dim_key,
                    period="day",
                    date=day,
                    value=value,
                    fetched_at=now,
                )
                for (day, dim_key), value in points.items()
            ],
            update_conflicts=True,
            unique_fields=["account", "platform", "asset_id", "metric", "dim_key", "period", "date"],
            update_fields=["value", "fetched_at"],
        )
        self.stored += len(points)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _day_of(unix: Any) -> date | None:
    try:
        return datetime.fromtimestamp(int(unix), tz=UTC).date()
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _collect(points: list[dict], fields: dict[str, str], dims: tuple[str, ...] = ()) -> dict[str, dict]:
    """{our metric: {(day, dim_key): value}} from Meta data points, summing duplicates."""
    out: dict[str, dict] = defaultdict(lambda: defaultdict(float))
    for point in points:
        day = _day_of(point.get("start"))
        if day is None:
            continue
        dim_key = dimension_key({name.lower(): point.get(name.lower()) for name in dims})
        for source, metric in fields.items():
            value = _number(point.get(source))
            if value is not None:
                out[metric][(day, dim_key)] += value
    return out


# WABA-level series: Graph field -> (the call, {Meta's value: our metric}, dimensions).
_WABA_SERIES = {
    "conversation_analytics": (
        graph.waba_conversation_analytics,
        {"conversation": "conversations", "cost": "conversation_cost"},
        ("CONVERSATION_CATEGORY",),
    ),
    "pricing_analytics": (
        graph.waba_pricing_analytics,
        {"volume": "pricing_volume", "cost": "pricing_cost"},
        ("PRICING_CATEGORY", "PRICING_TYPE"),
    ),
}


def _pull_waba(pull: _Pull, client: GraphClient, waba: WhatsAppBusinessAccount) -> None:
    wa = Platform.WHATSAPP
    fields = metric_names("whatsapp")
    if "analytics" in fields:
        for number in waba.phone_numbers.all():
            digits = "".join(ch for ch in number.display_phone_number if ch.isdigit())
            if not digits:
                continue
            points = pull.fetch(
                wa,
                "analytics",
                waba.waba_id,
                partial(
                    graph.waba_messaging_analytics,
                    client,
                    waba_id=waba.waba_id,
                    start=pull.since,
                    end=pull.until,
                    phone_number=digits,
                ),
            )
            for metric, values in _collect(points or [], {"sent": "sent", "delivered": "delivered"}).items():
                pull.store(wa, number.phone_number_id, metric, values)
    for field, (call, metrics, dims) in _WABA_SERIES.items():
        if field not in fields:
            continue
        points = pull.fetch(
            wa,
            field,
            waba.waba_id,
            partial(call, client, waba_id=waba.waba_id, start=pull.since, end=pull.until),
        )
        for metric, values in _collect(points or [], metrics, dims).items():
            pull.store(wa, waba.waba_id, metric, values)
    if "template_analytics" in fields:
        template_ids = list(
            WhatsAppTemplate.objects.filter(waba=waba, status=WhatsAppTemplate.Status.APPROVED)
            .exclude(template_id="")
            .order_by("template_id")
            .values_list("template_id", flat=True)
        )
        for n in range(0, len(template_ids), TEMPLATE_IDS_PER_CALL):
            batch = template_ids[n : n + TEMPLATE_IDS_PER_CALL]
            points = pull.fetch(
                wa,
                "template_analytics",
                waba.waba_id,
                partial(
                    graph.waba_template_analytics,
                    client,
                    waba_id=waba.waba_id,
                    start=pull.since,
                    end=pull.until,
                    template_ids=batch,
                ),
            )
            collected = _collect(
                points or [],
                {"sent": "template_sent", "delivered": "template_delivered", "read": "template_read"},
                ("TEMPLATE_ID",),
            )
            for metric, values in collected.items():
                pull.store(wa, waba.waba_id, metric, values)


def _insight_values(series: list[dict]) -> dict[tuple[date, str], float]:
    """Meta's `end_time` closes the day a daily value covers: the value is for the day before."""
    out: dict[tuple[date, str], float] = {}
    for item in series:
        for entry in item.get("values") or []:
            try:
                ended = datetime.fromisoformat(str(entry.get("end_time")))
            except ValueError:
                continue
            day = (ended - timedelta(days=1)).date()
            value = entry.get("value")
            if isinstance(value, dict):  # a breakdown (by country, type...): one row per key
                for key, part in value.items():
                    number = _number(part)
                    if number is not None:
                        out[(day, dimension_key({"key": key}))] = number
            elif (number := _number(value)) is not None:
                out[(day, "")] = number
    return out


def _pull_object(pull: _Pull, client: GraphClient, platform: str, object_id: str) -> None:
    for metric in metric_names("page" if platform == Platform.FACEBOOK else "instagram"):
        series = pull.fetch(
            platform,
            metric,
            object_id,
            partial(
                graph.object_insights,
                client,
                object_id=object_id,
                metric=metric,
                since=pull.since,
                until=pull.until,
            ),
        )
        pull.store(platform, object_id, metric, _insight_values(series or []))


def insights_pull(*, account: MetaAccount, days: int = 3) -> dict[str, Any]:
    """Pull Meta's analytics for every asset of the account over the last `days` UTC days
    (Meta revises recent days, so each pull re-reads a few) and store them.

    One call per metric for page/IG insights: Meta refuses a whole request when one metric
    in it is unknown, and per-metric calls let us skip exactly the refused one.
    """
    end = timezone.now().astimezone(UTC).date()
    pull = _Pull(account, end - timedelta(days=days - 1), end)
    client = graph_for(account)
    for waba in WhatsAppBusinessAccount.objects.filter(account=account):
        _pull_waba(pull, client, waba)
    pages = {
        page.page_id: page for page in FacebookPage.objects.filter(account=account).exclude(access_token="")
    }
    for page in pages.values():
        if page.status == FacebookPage.Status.CONNECTED:
            page_client = page_graph_for(account, page_id=page.page_id, page_token=page.access_token)
            _pull_object(pull, page_client, Platform.FACEBOOK, page.page_id)
    for ig in InstagramAccount.objects.filter(account=account, status=InstagramAccount.Status.CONNECTED):
        ig_page = pages.get(ig.page_id)
        if ig_page is None:
            logger.info("Insights: IG %s has no page token to read with; skipping", ig.ig_account_id)
            continue
        ig_client = page_graph_for(account, page_id=ig_page.page_id, page_token=ig_page.access_token)
        _pull_object(pull, ig_client, Platform.INSTAGRAM, ig.ig_account_id)
    return {"stored": pull.stored, "skipped": pull.skipped}


# --- spikes for the "recent activity" feed ----------------------------------------------------

SPIKE_MIN_FAILED = 10
SPIKE_FAILURE_RATE = 0.2
SPIKE_MIN_RECEIVED = 50
SPIKE_INBOUND_FACTOR = 3


def spikes_detect(*, account: MetaAccount, now: datetime | None = None) -> list[Notification]:
    """Look at the last complete UTC hour of WhatsApp traffic and notify (once per hour and
    kind) when many sends failed, or inbound messages jumped against the previous 24 hours."""
    hour = hour_bucket(now or timezone.now()) - timedelta(hours=1)
    counts: dict[tuple[str, datetime], int] = {}
    errors: dict[str, int] = defaultdict(int)
    rows = HourlyMetric.objects.filter(
        account=account,
        platform=Platform.WHATSAPP,
        metric__in=("sent", "failed", "received"),
        hour__gte=hour - timedelta(hours=24),
        hour__lte=hour,
    ).values_list("metric", "hour", "dim_key", "count")
    for metric, at, dim_key, count in rows:
        if not dim_key:
            counts[(metric, at)] = count
        elif metric == "failed" and at == hour:
            errors[parse_dimension_key(dim_key).get("error_code", "unknown")] += count
    sent, failed = counts.get(("sent", hour), 0), counts.get(("failed", hour), 0)
    received = counts.get(("received", hour), 0)
    baseline = sum(n for (metric, at), n in counts.items() if metric == "received" and at < hour) / 24
    label = f"{hour:%Y-%m-%d %H}:00 UTC"
    created = []
    if failed >= SPIKE_MIN_FAILED and failed >= SPIKE_FAILURE_RATE * max(sent, 1):
        top = ", ".join(f"{code} ({n})" for code, n in sorted(errors.items(), key=lambda kv: -kv[1])[:3])
        created.append(
            notify(
                account=account,
                kind="failure_spike",
                severity=Severity.WARNING,
                title=f"{failed} of {sent} WhatsApp messages failed in the hour from {label}",
                body=f"Most frequent error codes: {top}." if top else "",
                dedupe_key=f"analytics:failure_spike:{hour:%Y%m%d%H}",
            )
        )
    if received >= SPIKE_MIN_RECEIVED and received >= SPIKE_INBOUND_FACTOR * baseline:
        created.append(
            notify(
                account=account,
                kind="inbound_spike",
                severity=Severity.INFO,
                title=f"{received} WhatsApp messages received in the hour from {label}",
                body=f"About {baseline:.0f} per hour over the previous day.",
                dedupe_key=f"analytics:inbound_spike:{hour:%Y%m%d%H}",
            )
        )
    return [n for n in created if n is not None]

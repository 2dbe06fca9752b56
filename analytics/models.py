"""Pre-aggregated counts and Meta's own insights.

Counts live in two tables with the same shape: `HourlyMetric` (UTC hours) and `DailyMetric`
(calendar days in the account's time zone, see `AnalyticsSettings`). Each `record()` call adds
to the "total" row of its bucket (`dim_key == ""`) and, when it carries dimensions, to one
dimensioned row as well, so unfiltered reads touch one row per bucket and metric however many
templates or broadcasts there are.
"""

from django.db import models
from django.utils import timezone

from accounts.models import MetaAccount


class Platform(models.TextChoices):
    WHATSAPP = "whatsapp"
    FACEBOOK = "facebook"
    INSTAGRAM = "instagram"


class AnalyticsSettings(models.Model):
    """Per-account analytics preferences. `timezone` decides where daily buckets start and
    end; changing it rebuilds the daily rows from the hourly ones (services)."""

    account = models.OneToOneField(MetaAccount, on_delete=models.CASCADE, related_name="analytics_settings")
    timezone = models.CharField(max_length=64, default="UTC", help_text="IANA name, e.g. America/Bogota.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "analytics settings"
        verbose_name_plural = "analytics settings"

    def __str__(self) -> str:
        return f"{self.account} ({self.timezone})"


class _Aggregate(models.Model):
    account = models.ForeignKey(MetaAccount, on_delete=models.CASCADE, related_name="+")
    platform = models.CharField(max_length=16, choices=Platform.choices)
    asset_id = models.CharField(max_length=64, blank=True, default="")
    metric = models.CharField(max_length=64)
    # Canonical "k=v&k=v" (sorted, url-encoded) of the record's dimensions; "" = the total row.
    dim_key = models.CharField(max_length=1024, blank=True, default="")
    # Copied out of dim_key so the template/broadcast filters use an index.
    template = models.CharField(max_length=512, blank=True, default="")
    broadcast = models.CharField(max_length=64, blank=True, default="")
    count = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


class HourlyMetric(_Aggregate):
    hour = models.DateTimeField(help_text="Start of the UTC hour.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "platform", "dim_key", "metric", "hour", "asset_id"],
                name="uniq_hourly_metric_bucket",
            )
        ]
        indexes = [
            models.Index(fields=["account", "template", "hour"], name="hourly_template_idx"),
            models.Index(fields=["account", "broadcast", "hour"], name="hourly_broadcast_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.metric} {self.hour:%Y-%m-%d %H}h = {self.count}"


class DailyMetric(_Aggregate):
    day = models.DateField(help_text="Calendar day in the account's time zone.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "platform", "dim_key", "metric", "day", "asset_id"],
                name="uniq_daily_metric_bucket",
            )
        ]
        indexes = [
            models.Index(fields=["account", "template", "day"], name="daily_template_idx"),
            models.Index(fields=["account", "broadcast", "day"], name="daily_broadcast_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.metric} {self.day} = {self.count}"


class RecordedKey(models.Model):
    """Idempotency: a `record(key=...)` call inserts its key in the same transaction as the
    counts; a replay hits the unique constraint and counts nothing. Pruned after
    ANALYTICS_KEY_RETENTION_DAYS (Meta stops redelivering after 7 days)."""

    account = models.ForeignKey(MetaAccount, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "key"], name="uniq_recorded_key")]

    def __str__(self) -> str:
        return self.key


class MetaInsight(models.Model):
    """One data point of Meta's own analytics (WhatsApp analytics, conversation/pricing and
    template analytics, page and IG insights). Pulls replace values, they never add."""

    account = models.ForeignKey(MetaAccount, on_delete=models.CASCADE, related_name="+")
    platform = models.CharField(max_length=16, choices=Platform.choices)
    asset_id = models.CharField(max_length=64)
    metric = models.CharField(max_length=128)
    dim_key = models.CharField(max_length=255, blank=True, default="")
    period = models.CharField(max_length=16, default="day")
    date = models.DateField(help_text="The day the value covers (UTC, as Meta reports it).")
    value = models.FloatField()
    fetched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "platform", "asset_id", "metric", "dim_key", "period", "date"],
                name="uniq_meta_insight_point",
            )
        ]
        indexes = [models.Index(fields=["account", "platform", "metric", "date"])]

    def __str__(self) -> str:
        return f"{self.platform}:{self.asset_id} {self.metric} {self.date} = {self.value}"


class RefusedMetric(models.Model):
    """A metric (or analytics field) Meta answered code 100 for, under one Graph version.
    Pulls skip it until the configured version changes; it is logged once, when stored."""

    platform = models.CharField(max_length=16, choices=Platform.choices)
    metric = models.CharField(max_length=128)
    graph_version = models.CharField(max_length=16)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "metric", "graph_version"], name="uniq_refused_metric"
            )
        ]

    def __str__(self) -> str:
        return f"{self.platform}:{self.metric} refused on {self.graph_version}"

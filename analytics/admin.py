"""Staff pages: read-only aggregates and insights, and a 30-day chart per account."""

from datetime import timedelta

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from accounts.models import MetaAccount
from analytics import selectors, services
from analytics.models import AnalyticsSettings, DailyMetric, MetaInsight, RefusedMetric
from analytics.recording import account_timezone
from botopia_meta.admin import MirrorAdmin

CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 760, 240, 36
SERIES = (("sent", "#2b6cb0"), ("delivered", "#2f855a"), ("read", "#b7791f"), ("failed", "#c53030"))
TICK_EVERY_DAYS = 7


def _chart(points: dict[str, list[dict]]) -> dict:
    """Polylines in SVG coordinates, computed here so the page needs no JavaScript or CDN;
    the x axis is labelled with dates (every TICK_EVERY_DAYS days and the last day)."""
    days = len(points["sent"])
    peak = max([p["value"] for series in points.values() for p in series] + [1])
    inner_w, inner_h = CHART_WIDTH - 2 * CHART_PAD, CHART_HEIGHT - 2 * CHART_PAD
    step = inner_w / max(days - 1, 1)
    lines = []
    for index, (name, color) in enumerate(SERIES):
        coords = " ".join(
            f"{CHART_PAD + i * step:.1f},{CHART_PAD + inner_h - inner_h * p['value'] / peak:.1f}"
            for i, p in enumerate(points[name])
        )
        lines.append({"name": name, "color": color, "points": coords, "legend_x": CHART_PAD + index * 90})
    zero_y = CHART_PAD + inner_h
    ticks = [
        {
            "x": f"{CHART_PAD + i * step:.1f}",
            "label": str(p["timestamp"])[5:10],
            "date": str(p["timestamp"])[:10],
        }
        for i, p in enumerate(points["sent"])
        if i % TICK_EVERY_DAYS == 0 or i == days - 1
    ]
    return {
        "lines": lines,
        "ticks": ticks,
        "label_y": zero_y + 16,
        "peak": peak,
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "pad": CHART_PAD,
        "zero_y": zero_y,
    }


@admin.register(DailyMetric)
class DailyMetricAdmin(MirrorAdmin):
    list_display = ("day", "account", "platform", "asset_id", "metric", "dim_key", "count")
    list_filter = ("platform", "metric", "day")
    search_fields = ("asset_id", "template", "broadcast")
    date_hierarchy = "day"
    list_select_related = ("account",)
    change_list_template = "admin/analytics/dailymetric_change_list.html"

    def get_urls(self):
        chart = path("chart/", self.admin_site.admin_view(self.chart_view), name="analytics_chart")
        return [chart, *super().get_urls()]

    def chart_view(self, request: HttpRequest) -> HttpResponse:
        accounts = MetaAccount.all_objects.select_related("organization").order_by(
            "organization__name", "meta_user_name"
        )
        wanted = request.GET.get("account")
        account = accounts.filter(pk=wanted).first() if wanted else None
        account = account or accounts.first()
        context = {
            **self.admin_site.each_context(request),
            "title": "Analytics: last 30 days",
            "accounts": accounts,
        }
        if account is not None:
            tz = account_timezone(account.pk)
            end = timezone.now().astimezone(tz).date()
            start = end - timedelta(days=29)
            series = selectors.metric_series(
                account=account, start=start, end=end, granularity="day", metrics=[name for name, _ in SERIES]
            )
            rows = [
                {
                    "date": p["timestamp"][:10],
                    **{name: series["metrics"][name][i]["value"] for name, _ in SERIES},
                }
                for i, p in enumerate(series["metrics"]["sent"])
            ]
            context.update(
                account=account,
                timezone=str(tz),
                chart=_chart(series["metrics"]),
                rows=rows,
                totals=series["totals"],
                start=start,
                end=end,
            )
        return TemplateResponse(request, "admin/analytics/chart.html", context)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        extra = {**(extra_context or {}), "chart_url": reverse("admin:analytics_chart")}
        return super().changelist_view(request, extra_context=extra)


@admin.register(MetaInsight)
class MetaInsightAdmin(MirrorAdmin):
    list_display = ("date", "account", "platform", "asset_id", "metric", "dim_key", "value", "fetched_at")
    list_filter = ("platform", "metric")
    search_fields = ("asset_id", "metric")
    date_hierarchy = "date"


@admin.register(RefusedMetric)
class RefusedMetricAdmin(admin.ModelAdmin):
    """Deleting a row makes the next pull ask Meta for that metric again."""

    list_display = ("platform", "metric", "graph_version", "created_at", "message")
    readonly_fields = ("platform", "metric", "graph_version", "created_at", "message")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(AnalyticsSettings)
class AnalyticsSettingsAdmin(admin.ModelAdmin):
    list_display = ("account", "timezone", "updated_at")
    fields = ("account", "timezone")
    raw_id_fields = ("account",)

    def save_model(self, request: HttpRequest, obj: AnalyticsSettings, form, change: bool) -> None:
        # Through the service, so the daily rows are re-cut in the new zone.
        services.analytics_settings_update(account=obj.account, timezone_name=obj.timezone)

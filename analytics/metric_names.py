"""Meta's metric names, per Graph API version: the one place to edit when Meta renames or
retires one (it retired the page impressions family in late 2025 in favour of "views").

Unknown versions use the newest entry. A metric Meta still refuses (code 100) is recorded in
RefusedMetric for that version and skipped until the configured version changes.
"""

from django.conf import settings

_V26 = {
    # GET /{page-id}/insights?metric=...&period=day
    "page": ("page_media_view", "page_post_engagements", "page_daily_follows_unique", "page_views_total"),
    # GET /{ig-id}/insights?metric=...&period=day
    "instagram": ("reach", "follower_count"),
    # Fields of GET /{waba-id}?fields=<field>.start().end()...
    "whatsapp": ("analytics", "conversation_analytics", "pricing_analytics", "template_analytics"),
    # template_analytics.metric_types([...])
    "template_metric_types": ("SENT", "DELIVERED", "READ"),
}

METRICS_BY_VERSION: dict[str, dict[str, tuple[str, ...]]] = {
    "v24.0": _V26,
    "v25.0": _V26,
    "v26.0": _V26,
}
_NEWEST = max(METRICS_BY_VERSION, key=lambda v: tuple(int(p) for p in v.lstrip("v").split(".")))


def metric_names(kind: str, version: str | None = None) -> tuple[str, ...]:
    version = version or settings.META_GRAPH_VERSION
    return METRICS_BY_VERSION.get(version, METRICS_BY_VERSION[_NEWEST])[kind]

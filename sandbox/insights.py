"""Insights and analytics: the page's and the IG account's daily insights, IG media insights,
and the WABA's analytics fields, as plausible daily series over the last HISTORY_DAYS days.
Every value is a function of (object, metric, day) only, so a series is the same on every call
and every run; metrics Meta has retired get Meta's error."""

import hashlib
import json
import math
import random
import re
from datetime import UTC, date, datetime, timedelta

from django.utils import timezone

from sandbox import demo
from sandbox.context import Ctx
from sandbox.meta import MetaError, field_names
from sandbox.models import IgMedia, Template

HISTORY_DAYS = 90
MAX_RANGE = timedelta(days=93)  # Meta's limit between since and until
DAY = 86400

# name → (typical daily value, title)
PAGE_METRICS = {
    "page_media_view": (820, "Daily Media views"),
    "page_views_total": (140, "Daily Total views count per Page"),
    "page_post_engagements": (65, "Daily Post Engagements"),
    "page_daily_follows_unique": (6, "Daily New Follows"),
    "page_daily_unfollows_unique": (1, "Daily Unfollows"),
    "page_follows": (1850, "Lifetime Follows"),
    "page_total_actions": (12, "Daily Total Action Count Per Page"),
    "page_video_views": (90, "Daily Total Video Views"),
}
# Retired by Meta on 15 November 2025 (every version) in favour of the "views" metrics.
PAGE_RETIRED = frozenset(
    {
        "page_impressions",
        "page_impressions_unique",
        "page_impressions_paid",
        "page_impressions_organic_v2",
        "page_impressions_viral",
        "page_fans",
        "page_fan_adds",
        "page_fan_removes",
        "page_posts_impressions",
        "page_posts_impressions_unique",
        "page_engaged_users",
    }
)
IG_DAY_METRICS = {"reach": (640, "Reach"), "follower_count": (7, "Follower Count")}
IG_TOTAL_METRICS = {
    "views": (1500, "Views"),
    "accounts_engaged": (95, "Accounts engaged"),
    "total_interactions": (160, "Total interactions"),
    "likes": (120, "Likes"),
    "comments": (14, "Comments"),
    "shares": (9, "Shares"),
    "saves": (11, "Saves"),
    "replies": (4, "Replies"),
    "profile_links_taps": (6, "Profile links taps"),
}
# Retired on Instagram (impressions in v22.0, the clicks family in v21.0), refused since.
IG_RETIRED = frozenset(
    {
        "impressions",
        "profile_views",
        "website_clicks",
        "email_contacts",
        "phone_call_clicks",
        "text_message_clicks",
        "get_directions_clicks",
    }
)
MEDIA_METRICS = {
    "reach": (420, "Accounts reached"),
    "views": (980, "Views"),
    "likes": (54, "Likes"),
    "comments": (0, "Comments"),  # the media's real comments
    "saved": (8, "Saved"),
    "shares": (5, "Shares"),
    "total_interactions": (70, "Interactions"),
    "profile_visits": (12, "Profile visits"),
    "follows": (2, "Follows"),
}
MEDIA_RETIRED = frozenset(
    {"impressions", "plays", "video_views", "clips_replays_count", "ig_reels_aggregated_all_plays_count"}
)


def daily_value(object_id: str, metric: str, day: date, typical: float) -> int:
    """A plausible value: the object's own level, a weekly rhythm, a slow drift and noise, all
    derived from (object, metric, day)."""
    seed = int(hashlib.sha256(f"{object_id}:{metric}".encode()).hexdigest()[:8], 16)
    level = typical * (0.7 + (seed % 600) / 1000)
    n = day.toordinal()
    weekly = 1 + 0.25 * math.sin(2 * math.pi * (n + seed % 7) / 7)
    drift = 1 + 0.2 * math.sin(2 * math.pi * n / 61 + seed % 10)
    noise = random.Random(f"{object_id}:{metric}:{day.isoformat()}").uniform(0.85, 1.15)
    return max(0, round(level * weekly * drift * noise))


def _today() -> date:
    return timezone.now().astimezone(UTC).date()


def _days(since: int, until: int) -> list[date]:
    """The days a [since, until) range covers, limited to the sandbox's history."""
    first = datetime.fromtimestamp(since, tz=UTC).date()
    last = datetime.fromtimestamp(until - 1, tz=UTC).date()
    oldest, today = _today() - timedelta(days=HISTORY_DAYS - 1), _today()
    return [
        first + timedelta(days=i)
        for i in range((last - first).days + 1)
        if oldest <= first + timedelta(days=i) <= today
    ]


def _range(ctx: Ctx) -> tuple[int, int]:
    now = int(timezone.now().timestamp())
    try:
        until = int(ctx.get("until") or now)
        since = int(ctx.get("since") or until - 2 * DAY)
    except ValueError:
        raise MetaError("(#100) The parameter since must be a valid unix timestamp", code=100) from None
    if until - since > MAX_RANGE.total_seconds():
        raise MetaError(
            "(#100) There cannot be more than 93 days (8035200 s) between since and until", code=100
        )
    if since >= until:
        raise MetaError("(#100) The since parameter must be before the until parameter", code=100)
    return since, until


def _metrics(ctx: Ctx) -> list[str]:
    names = [m.strip() for m in str(ctx.get("metric") or "").split(",") if m.strip()]
    if not names:
        raise MetaError("(#100) The parameter metric is required", code=100)
    return names


def _end_time(day: date) -> str:
    # Meta closes a daily value at the next midnight, Pacific time.
    return f"{(day + timedelta(days=1)).isoformat()}T08:00:00+0000"


def _series(node: str, name: str, typical: float, title: str, days: list[date]) -> dict:
    return {
        "name": name,
        "period": "day",
        "values": [{"value": daily_value(node, name, d, typical), "end_time": _end_time(d)} for d in days],
        "title": title,
        "description": f"{title} (sandbox)",
        "id": f"{node}/insights/{name}/day",
    }


def _period(ctx: Ctx, allowed: tuple[str, ...] = ("day",)) -> str:
    period = str(ctx.get("period") or "day")
    if period not in allowed:
        raise MetaError(f"(#100) The value must be one of the following: {', '.join(allowed)}", code=100)
    return period


def page_insights(ctx: Ctx, node: str) -> dict:
    """GET /{page-id}/insights?metric=a,b&period=day&since&until."""
    names = _metrics(ctx)
    _period(ctx, ("day", "week", "days_28"))
    for name in names:
        if name in PAGE_RETIRED or name not in PAGE_METRICS:
            raise MetaError("(#100) The value must be a valid insights metric", code=100)
    since, until = _range(ctx)
    days = _days(since, until)
    data = [_series(node, name, *PAGE_METRICS[name], days) for name in names]
    return {"data": data, "paging": _paging(ctx, since, until)}


def ig_insights(ctx: Ctx, node: str) -> dict:
    """GET /{ig-id}/insights: `reach` and `follower_count` as daily series; the others only
    with metric_type=total_value (one total over the range), as Meta answers today."""
    names = _metrics(ctx)
    _period(ctx, ("day", "lifetime"))
    valid = [*IG_DAY_METRICS, *IG_TOTAL_METRICS]
    for i, name in enumerate(names):
        if name in IG_RETIRED or name not in valid:
            raise MetaError(
                f"(#100) metric[{i}] must be one of the following values: {', '.join(valid)}", code=100
            )
    total = ctx.get("metric_type") == "total_value"
    if not total and (series_less := [n for n in names if n in IG_TOTAL_METRICS]):
        raise MetaError(
            f"(#100) The following metrics ({', '.join(series_less)}) should be specified with parameter "
            "metric_type=total_value",
            code=100,
        )
    since, until = _range(ctx)
    days = _days(since, until)
    data = []
    for name in names:
        typical, title = IG_DAY_METRICS.get(name) or IG_TOTAL_METRICS[name]
        if total:
            value = sum(daily_value(node, name, d, typical) for d in days)
            data.append(
                {
                    "name": name,
                    "period": "day",
                    "title": title,
                    "description": f"{title} (sandbox)",
                    "total_value": {"value": value},
                    "id": f"{node}/insights/{name}/day",
                }
            )
        else:
            data.append(_series(node, name, typical, title, days))
    return {"data": data, "paging": _paging(ctx, since, until)}


def media_insights(ctx: Ctx, node: str) -> dict:
    """GET /{ig-media-id}/insights: lifetime totals, growing with the media's age."""
    from sandbox.social import comment_count

    names = _metrics(ctx)
    for name in names:
        if name in MEDIA_RETIRED:
            raise MetaError(
                f"(#100) Starting from version v22.0 and above, the {name} metric is no longer supported for "
                "media created after July 2, 2024. Please use views instead.",
                code=100,
            )
        if name not in MEDIA_METRICS:
            raise MetaError(
                f"(#100) metric[0] must be one of the following values: {', '.join(MEDIA_METRICS)}", code=100
            )
    media = IgMedia.objects.get(media_id=node)
    age_days = max(1, (timezone.now() - (media.published_at or media.created_at)).days + 1)
    data = []
    for name in names:
        typical, title = MEDIA_METRICS[name]
        if name == "comments":
            value = comment_count(node)
        else:
            value = sum(
                daily_value(node, name, _today() - timedelta(days=i), typical / (1 + i))
                for i in range(min(age_days, 30))
            )
        data.append(
            {
                "name": name,
                "period": "lifetime",
                "values": [{"value": value}],
                "title": title,
                "description": f"{title} (sandbox)",
                "id": f"{node}/insights/{name}/lifetime",
            }
        )
    return {"data": data}


def _paging(ctx: Ctx, since: int, until: int) -> dict:
    base = ctx.url_without_cursor().split("?")[0]
    span = until - since
    query = {
        k: v
        for k, v in ctx.request.GET.items()
        if k not in ("access_token", "appsecret_proof", "since", "until")
    }

    def url(s: int, u: int) -> str:
        return base + "?" + "&".join(f"{k}={v}" for k, v in {**query, "since": s, "until": u}.items())

    return {"previous": url(since - span, since), "next": url(until, until + span)}


# --- WhatsApp: the WABA's analytics fields ------------------------------------------------------

_CALL = re.compile(r"\.(\w+)\(([^()]*)\)")
CATEGORIES = {"MARKETING": 0.06, "UTILITY": 0.012, "AUTHENTICATION": 0.013, "SERVICE": 0.0}


def _segments(fields: str) -> dict[str, str]:
    """{top-level field name: its whole expression} of a `fields` parameter."""
    out, depth, current = {}, 0, ""
    for char in [*fields, ","]:
        if char in "{(":
            depth += 1
        elif char in "})":
            depth -= 1
        if char == "," and depth == 0:
            if current.strip():
                out[field_names(current)[0]] = current.strip()
            current = ""
        else:
            current += char
    return out


def _params(expression: str) -> dict:
    params = {}
    for name, raw in _CALL.findall(expression):
        raw = raw.strip()
        try:
            params[name] = json.loads(raw) if raw.startswith("[") else raw
        except ValueError:
            raise MetaError(f"(#100) Param {name} must be a valid JSON array", code=100) from None
    return params


def _unix_days(params: dict) -> list[tuple[date, int]]:
    try:
        start, end = int(params["start"]), int(params["end"])
    except (KeyError, ValueError):
        raise MetaError("(#100) The parameters start and end are required", code=100) from None
    return [
        (d, int(datetime.combine(d, datetime.min.time(), tzinfo=UTC).timestamp())) for d in _days(start, end)
    ]


def _digits(number: dict) -> str:
    return "".join(c for c in number["display_phone_number"] if c.isdigit())


def waba_fields(fields: str) -> dict:
    """The analytics fields asked for in GET /{waba-id}?fields=..., with their data points."""
    out: dict = {}
    for name, expression in _segments(fields).items():
        if name == "analytics":
            out[name] = _messaging(_params(expression))
        elif name == "conversation_analytics":
            out[name] = {"data": [{"data_points": _conversations(_params(expression))}]}
        elif name == "pricing_analytics":
            out[name] = {"data": [{"data_points": _pricing(_params(expression))}]}
        elif name == "template_analytics":
            out[name] = {"data": [{"granularity": "DAILY", "data_points": _templates(_params(expression))}]}
    return out


def _messaging(params: dict) -> dict:
    wanted = params.get("phone_numbers") or [_digits(n) for n in demo.PHONE_NUMBERS.values()]
    known = {_digits(n): pid for pid, n in demo.PHONE_NUMBERS.items()}
    points = []
    for day, start in _unix_days(params):
        sent = sum(daily_value(known[p], "sent", day, 140) for p in wanted if p in known)
        delivered = sum(
            min(daily_value(known[p], "sent", day, 140), daily_value(known[p], "delivered", day, 133))
            for p in wanted
            if p in known
        )
        points.append({"start": start, "end": start + DAY, "sent": sent, "delivered": delivered})
    return {"phone_numbers": wanted, "granularity": params.get("granularity", "DAY"), "data_points": points}


def _conversations(params: dict) -> list[dict]:
    points = []
    for day, start in _unix_days(params):
        for category, price in CATEGORIES.items():
            count = daily_value(
                demo.WABA_ID, f"conversation:{category}", day, 30 if category != "SERVICE" else 45
            )
            points.append(
                {
                    "start": start,
                    "end": start + DAY,
                    "conversation": count,
                    "cost": round(count * price, 3),
                    "conversation_category": category,
                }
            )
    return points


def _pricing(params: dict) -> list[dict]:
    points = []
    for day, start in _unix_days(params):
        for category, price in CATEGORIES.items():
            volume = daily_value(
                demo.WABA_ID, f"pricing:{category}", day, 35 if category != "SERVICE" else 50
            )
            points.append(
                {
                    "start": start,
                    "end": start + DAY,
                    "volume": volume,
                    "cost": round(volume * price, 3),
                    "pricing_category": category,
                    "pricing_type": "FREE_CUSTOMER_SERVICE" if category == "SERVICE" else "REGULAR",
                }
            )
    return points


def _templates(params: dict) -> list[dict]:
    ids = [str(i) for i in params.get("template_ids") or []]
    if not ids or len(ids) > 10:
        raise MetaError("(#100) Param template_ids must be an array of 1 to 10 template ids", code=100)
    known = set(Template.objects.filter(template_id__in=ids).values_list("template_id", flat=True))
    points = []
    for day, start in _unix_days(params):
        for template_id in ids:
            if template_id not in known:
                continue
            sent = daily_value(template_id, "sent", day, 60)
            delivered = min(sent, daily_value(template_id, "delivered", day, 57))
            read = min(delivered, daily_value(template_id, "read", day, 41))
            points.append(
                {
                    "template_id": template_id,
                    "start": start,
                    "end": start + DAY,
                    "sent": sent,
                    "delivered": delivered,
                    "read": read,
                }
            )
    return points

"""Meta's analytics endpoints, on the shared Graph transport. Callers get Meta's data points;
errors are the transport's typed GraphErrors."""

import json
from collections.abc import Sequence

from analytics.metric_names import metric_names
from botopia_meta.graph import GraphClient


def _list(values: Sequence[str]) -> str:
    return json.dumps(list(values), separators=(",", ":"))


def _points(wrapper: dict | None) -> list[dict]:
    """conversation/pricing/template analytics answer {"data": [{"data_points": [...]}]}."""
    points: list[dict] = []
    for block in (wrapper or {}).get("data") or []:
        points.extend(block.get("data_points") or [])
    return points


def waba_messaging_analytics(
    client: GraphClient, *, waba_id: str, start: int, end: int, phone_number: str
) -> list[dict]:
    """Sent/delivered per day for one number: [{"start", "end", "sent", "delivered"}].
    Meta filters by the display number's digits, not the phone number id."""
    field = f"analytics.start({start}).end({end}).granularity(DAY).phone_numbers({_list([phone_number])})"
    data = client.get(waba_id, {"fields": field}).json_object
    return list((data.get("analytics") or {}).get("data_points") or [])


def waba_conversation_analytics(client: GraphClient, *, waba_id: str, start: int, end: int) -> list[dict]:
    field = (
        f"conversation_analytics.start({start}).end({end}).granularity(DAILY)"
        f".dimensions({_list(['CONVERSATION_CATEGORY'])})"
    )
    return _points(client.get(waba_id, {"fields": field}).json_object.get("conversation_analytics"))


def waba_pricing_analytics(client: GraphClient, *, waba_id: str, start: int, end: int) -> list[dict]:
    field = (
        f"pricing_analytics.start({start}).end({end}).granularity(DAILY)"
        f".dimensions({_list(['PRICING_CATEGORY', 'PRICING_TYPE'])})"
    )
    return _points(client.get(waba_id, {"fields": field}).json_object.get("pricing_analytics"))


def waba_template_analytics(
    client: GraphClient, *, waba_id: str, start: int, end: int, template_ids: Sequence[str]
) -> list[dict]:
    """[{"template_id", "start", "end", "sent", "delivered", "read"}]; Meta takes at most 10
    template ids per call."""
    field = (
        f"template_analytics.start({start}).end({end}).granularity(DAILY)"
        f".metric_types({_list(metric_names('template_metric_types'))})"
        f".template_ids({_list(template_ids)})"
    )
    return _points(client.get(waba_id, {"fields": field}).json_object.get("template_analytics"))


def object_insights(
    client: GraphClient, *, object_id: str, metric: str, since: int, until: int
) -> list[dict]:
    """Page or IG user insights, one metric: [{"name", "period", "values": [{"value", "end_time"}]}]."""
    params = {"metric": metric, "period": "day", "since": since, "until": until}
    return list(client.get(f"{object_id}/insights", params).json_object.get("data") or [])

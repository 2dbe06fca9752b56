"""Insights offline: the demo set-up pulls 90 days of the page's, the IG account's and the
WABA's analytics from the sandbox (over HTTP, through the product's own pull), and our analytics
endpoints show them; the sandbox's series are deterministic, and retired metrics get Meta's error."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from analytics.models import RefusedMetric
from sandbox import bootstrap, demo, insights
from sandbox.models import Subscription

V = "/sandbox/graph/v26.0"


def insight_rows(client, **params) -> list[dict]:
    start = (timezone.now() - timedelta(days=89)).date().isoformat()
    rows, offset = [], 0
    while True:
        response = client.get(
            "/api/meta/analytics/insights",
            {
                "startDate": start,
                "endDate": timezone.now().date().isoformat(),
                "limit": 100,
                "offset": offset,
                **params,
            },
        )
        assert response.status_code == 200, response.content
        data = response.json()["data"]
        rows += data["insights"]
        if data["pagination"].get("nextOffset") is None:
            return rows
        offset = data["pagination"]["nextOffset"]


@pytest.mark.usefixtures("sandbox")
def test_it_pulls_90_days_of_insights_that_the_endpoints_show(alice, alice_client, worker):
    result = bootstrap.connect_demo_user(username="alice")
    worker.drain()

    assert result["insights"] > 0
    # The app subscribed every object's callback (the page's and Instagram's too).
    assert set(Subscription.objects.filter(target__startswith="app:").values_list("target", flat=True)) == {
        "app:whatsapp_business_account",
        "app:page",
        "app:instagram",
    }
    for platform, asset_id, metric in (
        ("facebook", demo.PAGE_ID, "page_media_view"),
        ("instagram", demo.IG_ID, "reach"),
        ("whatsapp", demo.WABA_ID, "pricing_volume"),
        ("whatsapp", next(iter(demo.PHONE_NUMBERS)), "sent"),
    ):
        rows = insight_rows(alice_client, platform=platform, assetId=asset_id, metric=metric)
        days = {r["date"] for r in rows}
        assert len(days) >= 85, (platform, metric, len(days))  # a curve, not a point
        assert sum(r["value"] for r in rows) > 0 and len({r["value"] for r in rows}) > 5
    assert not RefusedMetric.objects.exists()  # every metric the product asks for is answered

    overview = alice_client.get("/api/meta/analytics/overview")
    assert overview.status_code == 200, overview.content


@pytest.mark.usefixtures("sandbox_on")
class TestGraph:
    @pytest.fixture
    def page_token(self, client, db) -> str:
        from django.conf import settings

        params = {"client_id": settings.META_APP_ID, "client_secret": settings.META_APP_SECRET, "code": "c"}
        user = client.get(f"{V}/oauth/access_token", params).json()["access_token"]
        accounts = client.get(f"{V}/me/accounts", {"access_token": user, "fields": "access_token"}).json()
        return accounts["data"][0]["access_token"]

    def test_it_answers_the_same_daily_series_on_every_call(self, client, page_token):
        until = int(timezone.now().timestamp())
        params = {"access_token": page_token, "metric": "page_media_view", "period": "day"}
        params |= {"since": until - 30 * 86400, "until": until}
        first = client.get(f"{V}/{demo.PAGE_ID}/insights", params).json()
        again = client.get(f"{V}/{demo.PAGE_ID}/insights", params).json()

        [series] = first["data"]
        assert first["data"] == again["data"]
        assert (series["name"], series["period"], series["id"]) == (
            "page_media_view",
            "day",
            f"{demo.PAGE_ID}/insights/page_media_view/day",
        )
        assert 29 <= len(series["values"]) <= 31
        assert all(v["end_time"].endswith("T08:00:00+0000") and v["value"] >= 0 for v in series["values"])
        assert insights.daily_value("a", "m", date(2026, 1, 1), 100) != insights.daily_value(
            "b", "m", date(2026, 1, 1), 100
        )  # seeded per object

    @pytest.mark.parametrize(
        ("node", "metric"), [(demo.PAGE_ID, "page_impressions"), (demo.IG_ID, "impressions")]
    )
    def test_it_refuses_a_retired_metric_with_metas_error(self, client, page_token, node, metric):
        response = client.get(
            f"{V}/{node}/insights", {"access_token": page_token, "metric": metric, "period": "day"}
        )

        assert response.status_code == 400
        error = response.json()["error"]
        assert (error["code"], error["type"]) == (100, "OAuthException") and error["message"].startswith(
            "(#100)"
        )

    def test_it_answers_instagram_totals_only_with_metric_type_total_value(self, client, page_token):
        base = {"access_token": page_token, "metric": "views", "period": "day"}
        refused = client.get(f"{V}/{demo.IG_ID}/insights", base)
        assert refused.status_code == 400 and "metric_type=total_value" in refused.json()["error"]["message"]

        [total] = client.get(f"{V}/{demo.IG_ID}/insights", {**base, "metric_type": "total_value"}).json()[
            "data"
        ]
        assert total["name"] == "views" and total["total_value"]["value"] > 0

    def test_the_waba_answers_its_analytics_fields_with_data_points(self, client, page_token):
        end = int(timezone.now().timestamp())
        start = end - 7 * 86400
        field = f'analytics.start({start}).end({end}).granularity(DAY).phone_numbers(["15550100001"])'
        pricing = (
            f"pricing_analytics.start({start}).end({end}).granularity(DAILY)"
            '.dimensions(["PRICING_CATEGORY","PRICING_TYPE"])'
        )
        body = client.get(
            f"{V}/{demo.WABA_ID}", {"access_token": page_token, "fields": f"{field},{pricing}"}
        ).json()

        points = body["analytics"]["data_points"]
        assert body["analytics"]["phone_numbers"] == ["15550100001"] and 7 <= len(points) <= 8
        assert all(p["end"] - p["start"] == 86400 and p["sent"] >= p["delivered"] for p in points)
        pricing_points = body["pricing_analytics"]["data"][0]["data_points"]
        assert {p["pricing_category"] for p in pricing_points} == set(insights.CATEGORIES)

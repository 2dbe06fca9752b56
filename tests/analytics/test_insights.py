"""Pulls of Meta's own analytics (faked with responses) and GET /api/meta/analytics/insights."""

import logging
from datetime import UTC, date, datetime
from urllib.parse import parse_qs, urlparse

import pytest

from analytics.actors import pull_all_insights
from analytics.models import MetaInsight, RefusedMetric
from analytics.services import insights_pull
from facebook.models import FacebookPage
from instagram.models import InstagramAccount
from tests.conftest import graph_url, meta_error
from tests.factories import make_account, make_whatsapp_account
from whatsapp.models import WhatsAppBusinessAccount, WhatsAppTemplate

URL = "/api/meta/analytics/insights"
NOV27 = int(datetime(2026, 11, 27, tzinfo=UTC).timestamp())
NOV28 = int(datetime(2026, 11, 28, tzinfo=UTC).timestamp())


def fields_start(prefix: str):
    def match(request):
        fields = parse_qs(urlparse(request.url).query).get("fields", [""])[0]
        return fields.startswith(prefix), f"fields={fields!r} is not {prefix}"

    return match


def metric_is(name: str):
    def match(request):
        metric = parse_qs(urlparse(request.url).query).get("metric", [""])[0]
        return metric == name, f"metric={metric!r} is not {name}"

    return match


def insights_body(object_id: str, metric: str, value) -> dict:
    return {
        "data": [
            {
                "name": metric,
                "period": "day",
                "values": [{"value": value, "end_time": "2026-11-28T08:00:00+0000"}],
                "title": metric,
                "id": f"{object_id}/insights/{metric}/day",
            }
        ],
        "paging": {"previous": "https://graph.facebook.com/x", "next": "https://graph.facebook.com/y"},
    }


@pytest.fixture
def assets(alice):
    account = make_whatsapp_account(alice, waba_id="WABA1", phone_id="PN1")[0]
    waba = WhatsAppBusinessAccount.objects.get(account=account)
    WhatsAppTemplate.objects.create(
        waba=waba,
        template_id="TPL1",
        name="order_update",
        language="en_US",
        category="UTILITY",
        status="APPROVED",
    )
    FacebookPage.objects.create(
        account=account, page_id="PAGE1", name="Shop", access_token="EAAGpage-token-xyz", status="connected"
    )
    InstagramAccount.objects.create(account=account, ig_account_id="IG1", page_id="PAGE1", status="connected")
    return account


@pytest.fixture
def meta_insights(meta):
    waba = graph_url("WABA1")
    meta.get(
        waba,
        match=[fields_start("analytics.")],
        json={
            "analytics": {
                "phone_numbers": ["15550100"],
                "granularity": "DAY",
                "data_points": [
                    {"start": NOV27, "end": NOV28, "sent": 120, "delivered": 118},
                    {"start": NOV28, "end": NOV28 + 86400, "sent": 7, "delivered": 7},
                ],
            },
            "id": "WABA1",
        },
    )
    meta.get(
        waba,
        match=[fields_start("conversation_analytics.")],
        status=400,
        json=meta_error(
            100,
            "(#100) Tried accessing nonexisting field (conversation_analytics) "
            "on node type (WhatsAppBusinessAccount)",
        ),
    )
    meta.get(
        waba,
        match=[fields_start("pricing_analytics.")],
        json={
            "pricing_analytics": {
                "data": [
                    {
                        "data_points": [
                            {
                                "start": NOV27,
                                "end": NOV28,
                                "volume": 40,
                                "cost": 1.25,
                                "pricing_category": "MARKETING",
                                "pricing_type": "REGULAR",
                            }
                        ]
                    }
                ]
            },
            "id": "WABA1",
        },
    )
    meta.get(
        waba,
        match=[fields_start("template_analytics.")],
        json={
            "template_analytics": {
                "data": [
                    {
                        "granularity": "DAILY",
                        "data_points": [
                            {
                                "template_id": "TPL1",
                                "start": NOV27,
                                "end": NOV28,
                                "sent": 10,
                                "delivered": 9,
                                "read": 5,
                            }
                        ],
                    }
                ]
            },
            "id": "WABA1",
        },
    )
    page = graph_url("PAGE1/insights")
    meta.get(page, match=[metric_is("page_media_view")], json=insights_body("PAGE1", "page_media_view", 55))
    meta.get(
        page,
        match=[metric_is("page_views_total")],
        status=400,
        json=meta_error(100, "(#100) The value must be a valid insights metric"),
    )
    for metric in ("page_post_engagements", "page_daily_follows_unique"):
        meta.get(page, match=[metric_is(metric)], json={"data": []})
    ig = graph_url("IG1/insights")
    meta.get(ig, match=[metric_is("reach")], json=insights_body("IG1", "reach", 300))
    meta.get(ig, match=[metric_is("follower_count")], json=insights_body("IG1", "follower_count", 12))
    return meta


def values(account, platform: str, metric: str) -> dict:
    rows = MetaInsight.objects.filter(account=account, platform=platform, metric=metric)
    return {(r.asset_id, r.date, r.dim_key): r.value for r in rows}


@pytest.mark.django_db
def test_it_pulls_whatsapp_page_and_ig_insights_and_skips_a_refused_metric(assets, meta_insights, caplog):
    caplog.set_level(logging.WARNING, logger="analytics.services")

    insights_pull(account=assets)

    assert values(assets, "whatsapp", "sent") == {
        ("PN1", date(2026, 11, 27), ""): 120,
        ("PN1", date(2026, 11, 28), ""): 7,
    }
    assert values(assets, "whatsapp", "delivered")[("PN1", date(2026, 11, 27), "")] == 118
    assert values(assets, "whatsapp", "pricing_cost") == {
        ("WABA1", date(2026, 11, 27), "pricing_category=MARKETING&pricing_type=REGULAR"): 1.25
    }
    assert values(assets, "whatsapp", "template_read") == {
        ("WABA1", date(2026, 11, 27), "template_id=TPL1"): 5
    }
    # end_time 2026-11-28T08:00 closes the value for Nov 27.
    assert values(assets, "facebook", "page_media_view") == {("PAGE1", date(2026, 11, 27), ""): 55}
    assert values(assets, "instagram", "reach") == {("IG1", date(2026, 11, 27), ""): 300}
    assert set(RefusedMetric.objects.values_list("platform", "metric", "graph_version")) == {
        ("whatsapp", "conversation_analytics", "v26.0"),
        ("facebook", "page_views_total", "v26.0"),
    }
    refusals = [r for r in caplog.records if "refuses" in r.getMessage()]
    assert len(refusals) == 2

    # The next pull does not ask Meta for refused metrics again, nor logs them again, and
    # replaces values rather than adding to them.
    calls_before = len(meta_insights.calls)
    caplog.clear()
    insights_pull(account=assets)
    asked = [urlparse(c.request.url) for c in meta_insights.calls[calls_before:]]
    assert not any("conversation_analytics" in parse_qs(u.query).get("fields", [""])[0] for u in asked)
    assert not any(parse_qs(u.query).get("metric") == ["page_views_total"] for u in asked)
    assert not [r for r in caplog.records if "refuses" in r.getMessage()]
    assert values(assets, "whatsapp", "sent")[("PN1", date(2026, 11, 27), "")] == 120


@pytest.mark.django_db
def test_it_signs_page_calls_with_the_page_token(assets, meta_insights):
    insights_pull(account=assets)
    page_calls = [c for c in meta_insights.calls if "/PAGE1/insights" in c.request.url]
    assert page_calls
    assert all(
        parse_qs(urlparse(c.request.url).query)["access_token"] == ["EAAGpage-token-xyz"] for c in page_calls
    )


def test_it_pulls_every_active_account_from_the_periodic_actor(assets, meta_insights, worker):
    pull_all_insights.send()
    worker.drain()
    assert MetaInsight.objects.filter(account=assets, platform="instagram", metric="follower_count").exists()


@pytest.mark.django_db
def test_it_lists_insights_for_the_owner_only(assets, meta_insights, alice_client, bob, bob_client):
    insights_pull(account=assets)
    make_account(bob, meta_user_id="2000")
    params = {"startDate": "2026-11-01", "endDate": "2026-11-28"}

    response = alice_client.get(URL, {**params, "platform": "instagram"})

    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["insights"] == [
        {
            "platform": "instagram",
            "assetId": "IG1",
            "metric": "follower_count",
            "dimensions": {},
            "period": "day",
            "date": "2026-11-27",
            "value": 12.0,
        },
        {
            "platform": "instagram",
            "assetId": "IG1",
            "metric": "reach",
            "dimensions": {},
            "period": "day",
            "date": "2026-11-27",
            "value": 300.0,
        },
    ]
    assert data["pagination"]["total"] == 2
    pricing = alice_client.get(URL, {**params, "metric": "pricing_volume"}).json()["data"]["insights"]
    assert pricing[0]["dimensions"] == {"pricing_category": "MARKETING", "pricing_type": "REGULAR"}
    assert bob_client.get(URL, params).json()["data"]["insights"] == []
    assert bob_client.get(URL, {**params, "accountId": str(assets.pk)}).status_code == 404
    assert alice_client.get(URL, {"platform": "myspace"}).status_code == 400


def test_it_gives_up_on_an_expired_token_instead_of_retrying(assets, meta, worker):
    meta.get(
        graph_url("WABA1"), status=400, json=meta_error(190, "Error validating access token", subcode=463)
    )

    pull_all_insights.send()
    worker.drain()

    assert len([c for c in meta.calls if "/WABA1" in c.request.url]) == 1
    assert not MetaInsight.objects.exists()


@pytest.mark.django_db
def test_it_skips_an_asset_meta_refuses_and_pulls_the_others(assets, meta):
    meta.get(graph_url("WABA1"), status=403, json=meta_error(200, "(#200) Requires read_insights permission"))
    meta.get(
        graph_url("PAGE1/insights"), status=400, json=meta_error(100, "Object does not exist", subcode=33)
    )
    meta.get(graph_url("IG1/insights"), json=insights_body("IG1", "reach", 300))

    result = insights_pull(account=assets)

    assert MetaInsight.objects.filter(platform="instagram").count() == 2
    assert "facebook:PAGE1" in result["skipped"]
    assert not RefusedMetric.objects.exists()  # neither is a metric Meta retired

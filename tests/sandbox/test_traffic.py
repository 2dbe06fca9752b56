"""`manage.py sandbox_traffic`: signed webhooks over HTTP to our receiver, processed by the
real queue, ending up in the metrics."""

import pytest
from django.core.management import CommandError, call_command

from sandbox import demo
from sandbox.models import Comment, DirectMessage
from tests.sandbox.conftest import connect
from webhooks.models import WebhookEvent
from whatsapp.models import Message


def test_it_generates_inbound_and_status_traffic_that_reaches_the_metrics(
    sandbox, alice, alice_client, worker, capsys
):
    connect(alice_client, worker)

    call_command("sandbox_traffic", messages=30, rate=200, seed=7)
    worker.drain()

    out = capsys.readouterr().out
    assert "30/30" in out and "0 refused" in out
    assert WebhookEvent.objects.exclude(status="processed").count() == 0
    inbound = Message.objects.filter(direction="inbound").count()
    totals = alice_client.get("/api/meta/whatsapp/metrics").json()["data"]["totals"]
    assert inbound > 0 and totals["received"] == inbound
    assert totals["sent"] > 0 and totals["delivered"] > 0
    assert totals["sent"] + totals["received"] == 30  # every message counted once


def test_it_refuses_to_run_without_the_sandbox(settings):
    settings.META_SANDBOX = False
    with pytest.raises(CommandError, match="sandbox"):
        call_command("sandbox_traffic", messages=1)


@pytest.mark.parametrize("platform", ["facebook", "instagram"])
def test_it_generates_comments_and_dms_for_a_platform(sandbox, alice, alice_client, worker, capsys, platform):
    connect(alice_client, worker)
    alice_client.post(f"/api/meta/facebook/pages/{demo.PAGE_ID}/connect")
    if platform == "instagram":
        alice_client.post(f"/api/meta/instagram/accounts/{demo.IG_ID}/connect")
        published = alice_client.post(
            "/api/meta/instagram/media",
            {"accountId": demo.IG_ID, "mediaType": "IMAGE", "mediaUrl": "https://images.example.com/a.jpg"},
            format="json",
        )
        assert published.status_code == 202, published.content
    worker.drain()
    before_comments = len(inbox(alice_client, "comments", platform))
    comments_before = Comment.objects.count()

    call_command("sandbox_traffic", platform=platform, messages=30, rate=200, seed=3)
    worker.drain()

    out = capsys.readouterr().out
    assert "30/30" in out and "0 refused" in out and "DMs" in out
    assert WebhookEvent.objects.exclude(status="processed").count() == 0
    comments = Comment.objects.count() - comments_before
    made = DirectMessage.objects.filter(direction="inbound", platform=platform).count()
    assert comments > 0 and made > 0
    assert len(inbox(alice_client, "comments", platform)) - before_comments == comments
    assert inbox(alice_client, "conversations", platform)  # one per person who wrote


def inbox(client, kind: str, platform: str) -> list[dict]:
    response = client.get(f"/api/meta/{kind}", {"platform": platform, "limit": 100})
    assert response.status_code == 200, response.content
    return response.json()["data"][kind]

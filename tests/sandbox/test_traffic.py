"""`manage.py sandbox_traffic`: signed webhooks over HTTP to our receiver, processed by the
real queue, ending up in the metrics."""

import pytest
from django.core.management import CommandError, call_command

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

"""The replay command and the admin pages."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from tests.conftest import load_payload
from tests.factories import make_account
from tests.webhooks.conftest import Recorder, deliver
from webhooks.models import WebhookConfig, WebhookEvent


def replay(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("replay_webhook_events", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def ignored_events(worker, handlers) -> list[WebhookEvent]:
    for name in ("page_feed__post_add", "page_feed__comment_add", "instagram_comments__add"):
        deliver(Client(), load_payload(name))
    worker.drain()
    events = list(WebhookEvent.objects.order_by("received_at"))
    assert {e.status for e in events} == {"ignored"}
    return events


def test_it_replays_ignored_events_once_a_handler_exists(ignored_events, handlers):
    recorder = Recorder()
    handlers[("page", "feed")] = recorder
    out, err = replay("--status", "ignored", "--object", "page")
    assert "Replayed 2 event(s): 2 processed." in out
    assert "[##############################] 2/2" in err
    assert sorted(r[1] for r in recorder.routes()) == ["feed", "feed"]
    assert WebhookEvent.objects.get(object="instagram").status == "ignored"

    out, _ = replay("--status", "processed")  # again: handlers are idempotent, counted once more
    assert "2 processed" in out


def test_it_replays_by_id_and_by_time_range(ignored_events, handlers):
    recorder = Recorder()
    handlers[("page", "feed")] = recorder
    handlers[("instagram", "comments")] = recorder
    first, _, third = ignored_events
    replay("--id", str(first.pk))
    assert len(recorder.items) == 1

    WebhookEvent.objects.filter(pk=third.pk).update(received_at=timezone.now() - timedelta(days=2))
    since = (timezone.now() - timedelta(days=3)).isoformat()
    until = (timezone.now() - timedelta(days=1)).isoformat()
    out, _ = replay("--since", since, "--until", until)
    assert "Replayed 1 event(s): 1 processed." in out
    assert recorder.routes()[-1][0] == "instagram"

    out, _ = replay("--field", "comments", "--status", "processed", "--dry-run")
    assert "1 event(s) would be replayed." in out


@pytest.mark.parametrize(
    ("args", "hint"),
    [((), "Say which events"), (("--since", "yesterday"), "ISO 8601"), (("--id", "nope"), "Not an event id")],
)
def test_it_explains_bad_arguments(db, args, hint):
    with pytest.raises(CommandError, match=hint):
        replay(*args)


def test_the_admin_shows_events_pretty_printed_and_reprocesses(worker, handlers, alice):
    deliver(Client(), load_payload("page_messaging__message"))
    worker.drain()
    event = WebhookEvent.objects.get()
    staff = get_user_model().objects.create_superuser("staff", password="staff-password-123")
    client = Client()
    client.force_login(staff)
    listing = client.get("/admin/webhooks/webhookevent/?status__exact=ignored&object__exact=page")
    assert listing.status_code == 200 and str(event.pk) in listing.content.decode()
    page = client.get(f"/admin/webhooks/webhookevent/{event.pk}/change/")
    assert page.status_code == 200
    assert "¿Abren el domingo?" in page.content.decode()  # pretty-printed, unescaped

    recorder = Recorder()
    handlers[("page", "messages")] = recorder
    client.post(
        "/admin/webhooks/webhookevent/",
        {"action": "reprocess", "_selected_action": [str(event.pk)]},
    )
    worker.drain()
    event.refresh_from_db()
    assert event.status == "processed" and len(recorder.items) == 1

    config = WebhookConfig.objects.create(
        account=make_account(alice), verify_token="alice-verify-token-123", target_url="https://x.test/"
    )
    for url in ("/admin/webhooks/webhookconfig/", f"/admin/webhooks/webhookconfig/{config.pk}/change/"):
        html = client.get(url).content.decode()
        assert "alic…123" in html and "alice-verify-token-123" not in html
    assert client.get("/admin/accounts/notification/").status_code == 200

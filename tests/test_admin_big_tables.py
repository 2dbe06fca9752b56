"""The staff console's lists of tables that grow by millions never count or scan them all:
counts stop at COUNT_CAP + 1 rows, filters offer fixed values (no SELECT DISTINCT over the
table), and there is no date hierarchy (its DISTINCT over a month's rows)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Notification
from botopia_meta.api import pagination
from tests.factories import make_whatsapp_account
from webhooks.models import WebhookEvent
from whatsapp.models import Message, MessageStatusEvent

PAGES = [
    "/admin/whatsapp/message/",
    "/admin/whatsapp/message/?status__exact=failed",
    "/admin/whatsapp/message/?type=text&created_at_recent=7d",
    "/admin/whatsapp/message/?error_code=131026",
    "/admin/whatsapp/messagestatusevent/",
    "/admin/whatsapp/messagestatusevent/?status=read",
    "/admin/webhooks/webhookevent/",
    "/admin/webhooks/webhookevent/?status__exact=failed&received_at_recent=24h",
    "/admin/accounts/notification/",
    "/admin/accounts/notification/?severity__exact=warning",
]


@pytest.mark.django_db
def test_big_changelists_count_at_most_the_cap_and_never_list_distinct_values(
    staff_client, alice, monkeypatch
):
    monkeypatch.setattr(pagination, "COUNT_CAP", 3)
    account, _, number = make_whatsapp_account(alice)
    now = timezone.now()
    for i in range(6):
        Message.objects.create(
            phone_number=number, direction="outbound", contact_wa_id="1555", type="text", status="read"
        )
        MessageStatusEvent.objects.create(wamid=f"wamid.{i}", status="read", at=now)
        WebhookEvent.objects.create(dedupe_key=f"{i:064d}", raw_body=b"{}", status="processed")
        Notification.objects.create(account=account, kind="k", title=f"n{i}")
    for page in PAGES:
        with CaptureQueriesContext(connection) as queries:
            response = staff_client.get(page)
        assert response.status_code == 200, page
        sqls = [q["sql"].upper() for q in queries.captured_queries]
        assert not [s for s in sqls if "DISTINCT" in s], page
        counts = [s for s in sqls if "COUNT(" in s]
        assert counts and all("LIMIT 4" in s for s in counts), (page, counts)

"""Two configure calls of one account at once: the second updates the row the first created,
no 500 (PostgreSQL only: SQLite serialises writers, so the race cannot happen there)."""

import threading

import pytest
from django.db import connection

from tests.factories import make_account
from tests.webhooks.test_config import CONFIGURE, fake_meta_subscriptions
from webhooks.models import WebhookConfig
from whatsapp.models import WhatsAppBusinessAccount

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locking")


def test_concurrent_configures_of_one_account_both_succeed(transactional_db, alice, alice_client, meta):
    account = make_account(alice)
    WhatsAppBusinessAccount.objects.create(account=account, waba_id="310000000000001")
    fake_meta_subscriptions(meta)
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def configure(token: str) -> None:
        try:
            barrier.wait()
            body = {"verifyToken": token, "fields": {"messages": True}}
            statuses.append(alice_client.post(CONFIGURE, body, format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=configure, args=(f"verify-token-{n}-abcdef",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 200]
    config = WebhookConfig.objects.get(account=account)
    assert config.verify_token in {"verify-token-0-abcdef", "verify-token-1-abcdef"}

"""The admin shows Meta accounts without their tokens and offers refresh and re-discovery."""

from accounts.models import MetaAccount
from tests.accounts.conftest import LONG_TOKEN, NEW_LONG_TOKEN, fake_debug_token, fake_long_lived


def test_it_lists_and_shows_accounts_with_masked_tokens_only(staff_client, alice_account):
    listing = staff_client.get("/admin/accounts/metaaccount/")
    assert listing.status_code == 200
    assert b"Ana P" in listing.content
    page = staff_client.get(f"/admin/accounts/metaaccount/{alice_account.pk}/change/")
    assert page.status_code == 200
    assert LONG_TOKEN.encode() not in page.content
    assert "EAAG…xyz".encode() in page.content


def test_it_refreshes_tokens_from_the_admin(staff_client, alice_account, meta):
    fake_long_lived(meta, from_token=LONG_TOKEN, token=NEW_LONG_TOKEN)
    fake_debug_token(meta, NEW_LONG_TOKEN)
    response = staff_client.post(
        "/admin/accounts/metaaccount/",
        {"action": "refresh_tokens", "_selected_action": [str(alice_account.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    assert b"Refreshed 1 token" in response.content
    assert MetaAccount.objects.get(pk=alice_account.pk).access_token == NEW_LONG_TOKEN


def test_it_queues_rediscovery_from_the_admin(staff_client, alice_account):
    import dramatiq

    response = staff_client.post(
        "/admin/accounts/metaaccount/",
        {"action": "rediscover_assets", "_selected_action": [str(alice_account.pk)]},
        follow=True,
    )
    assert b"Queued asset discovery for 1" in response.content
    queue = dramatiq.get_broker().queues["default"]
    assert queue.qsize() == 1

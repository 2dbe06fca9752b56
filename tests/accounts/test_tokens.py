"""Token lifecycle: refresh, Meta's code 190 anywhere, the periodic refresh and re-check."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.actors import refresh_expiring_tokens, revalidate_tokens
from accounts.models import MetaAccount, Notification
from accounts.tokens import graph_for
from botopia_meta.graph import GraphTokenExpired
from tests.accounts.conftest import (
    LONG_TOKEN,
    NEW_LONG_TOKEN,
    SYSTEM_TOKEN,
    fake_debug_token,
    fake_long_lived,
    has,
    make_account,
)
from tests.conftest import graph_url, meta_error

URL = "/api/meta/auth/refresh-token"


def test_it_refreshes_a_user_token(alice_client, alice_account, meta):
    MetaAccount.objects.filter(pk=alice_account.pk).update(token_expiry=timezone.now() + timedelta(days=3))
    fake_long_lived(meta, from_token=LONG_TOKEN, token=NEW_LONG_TOKEN)
    fake_debug_token(meta, NEW_LONG_TOKEN)

    response = alice_client.post(URL, {"accountId": str(alice_account.pk)}, format="json")

    assert response.status_code == 200, response.content
    alice_account.refresh_from_db()
    assert alice_account.access_token == NEW_LONG_TOKEN
    assert (alice_account.token_expiry - timezone.now()).days >= 59
    assert response.json()["data"] == {
        "expiresAt": alice_account.token_expiry.isoformat().replace("+00:00", "Z")
    }


def test_it_revalidates_a_system_user_token_instead_of_exchanging_it(alice, alice_client, meta):
    account = make_account(alice, access_token=SYSTEM_TOKEN, token_type="system_user", token_expiry=None)
    fake_debug_token(
        meta, SYSTEM_TOKEN, token_type="SYSTEM_USER", expires_at=0, scopes=["business_management"]
    )

    response = alice_client.post(URL, {"accountId": str(account.pk)}, format="json")

    assert response.json()["data"] == {"expiresAt": None}
    account.refresh_from_db()
    assert account.access_token == SYSTEM_TOKEN
    assert account.permissions == ["business_management"]
    assert not any("oauth" in c.request.url for c in meta.calls)


def test_it_marks_the_account_for_reauth_when_meta_answers_190(alice_client, alice_account, meta):
    meta.get(
        graph_url("oauth/access_token"),
        json=meta_error(
            190, "Error validating access token: The user has changed the password.", subcode=460
        ),
        status=400,
    )
    response = alice_client.post(URL, {"accountId": str(alice_account.pk)}, format="json")

    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "META_TOKEN_EXPIRED"
    assert error["details"]["metaSubcode"] == 460
    alice_account.refresh_from_db()
    assert alice_account.status == MetaAccount.Status.EXPIRED
    assert alice_account.needs_reauth is True
    assert alice_account.access_token == LONG_TOKEN
    status = alice_client.get("/api/meta/auth/status").json()["data"]
    assert status["connected"] is False
    assert status["needsReauth"] is True
    assert Notification.objects.filter(account=alice_account, kind="token_expired").count() == 1


def test_it_marks_the_account_when_debug_token_says_invalid(alice, alice_client, meta):
    account = make_account(alice, access_token=SYSTEM_TOKEN, token_type="system_user", token_expiry=None)
    fake_debug_token(meta, SYSTEM_TOKEN, is_valid=False, error={"code": 190, "message": "Token revoked"})
    response = alice_client.post(URL, {"accountId": str(account.pk)}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["details"]["metaMessage"] == "Token revoked"
    account.refresh_from_db()
    assert account.needs_reauth is True


def test_it_answers_404_for_someone_elses_account(bob_client, alice_account, meta):
    response = bob_client.post(URL, {"accountId": str(alice_account.pk)}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert len(meta.calls) == 0


@pytest.mark.parametrize("body", [{}, {"accountId": "not-a-uuid"}, {"accountId": 12}])
def test_it_rejects_a_missing_or_malformed_account_id(alice_client, body):
    response = alice_client.post(URL, body, format="json")
    assert response.status_code == 400
    assert "accountId" in response.json()["error"]["details"]


def test_it_refuses_to_refresh_a_disconnected_account(alice, alice_client, meta):
    account = make_account(alice, status=MetaAccount.Status.REVOKED)
    response = alice_client.post(URL, {"accountId": str(account.pk)}, format="json")
    assert response.status_code == 409
    assert len(meta.calls) == 0


def test_it_marks_an_account_expired_when_any_graph_call_gets_190(alice_account, meta):
    meta.get(graph_url("me"), json=meta_error(190, "Session has expired", subcode=463), status=400)

    for _ in range(2):
        with pytest.raises(GraphTokenExpired):
            graph_for(alice_account).get("me")

    alice_account.refresh_from_db()
    assert alice_account.status == MetaAccount.Status.EXPIRED
    assert alice_account.needs_reauth is True
    # Deduped: one notification however many calls fail.
    assert Notification.objects.filter(account=alice_account).count() == 1


def test_it_leaves_a_revoked_account_revoked_on_190(alice, meta):
    account = make_account(alice, status=MetaAccount.Status.REVOKED)
    meta.get(graph_url("me"), json=meta_error(190, "Session has expired"), status=400)
    with pytest.raises(GraphTokenExpired):
        graph_for(account).get("me")
    account.refresh_from_db()
    assert account.status == MetaAccount.Status.REVOKED


def test_the_periodic_refresh_selects_only_tokens_near_expiry(alice, bob, charlie, meta, worker):
    now = timezone.now()
    old_check = now - timedelta(days=1)
    near = make_account(
        alice,
        access_token="EAAGnearExpiryToken000001",
        token_expiry=now + timedelta(days=3),
        last_validated_at=old_check,
    )
    far = make_account(
        bob,
        access_token="EAAGfarFromExpiryToken0002",
        token_expiry=now + timedelta(days=30),
        last_validated_at=old_check,
    )
    system = make_account(
        charlie,
        access_token=SYSTEM_TOKEN,
        token_type="system_user",
        token_expiry=None,
        last_validated_at=old_check,
    )
    expired = make_account(
        alice,
        meta_user_id="3",
        access_token="EAAGexpiredAccountToken03",
        token_expiry=now + timedelta(days=1),
        status="expired",
        last_validated_at=old_check,
    )
    fake_long_lived(meta, from_token="EAAGnearExpiryToken000001", token=NEW_LONG_TOKEN)
    fake_debug_token(meta, NEW_LONG_TOKEN)

    refresh_expiring_tokens.send()
    worker.drain()

    exchanged = [c.request.url for c in meta.calls if "fb_exchange_token" in c.request.url]
    assert len(exchanged) == 1
    assert "EAAGnearExpiryToken000001" in exchanged[0]
    near.refresh_from_db()
    assert near.access_token == NEW_LONG_TOKEN
    for untouched, token in [
        (far, "EAAGfarFromExpiryToken0002"),
        (system, SYSTEM_TOKEN),
        (expired, "EAAGexpiredAccountToken03"),
    ]:
        untouched.refresh_from_db()
        assert untouched.access_token == token


def test_the_periodic_refresh_marks_a_token_meta_refuses(alice, meta, worker):
    account = make_account(
        alice,
        token_expiry=timezone.now() + timedelta(days=2),
        last_validated_at=timezone.now() - timedelta(days=1),
    )
    meta.get(
        graph_url("oauth/access_token"), json=meta_error(190, "Session has expired", subcode=463), status=400
    )

    refresh_expiring_tokens.send()
    worker.drain()

    account.refresh_from_db()
    assert account.status == MetaAccount.Status.EXPIRED
    assert account.needs_reauth is True
    assert sum("oauth/access_token" in c.request.url for c in meta.calls) == 1  # permanent: no retry


def test_the_daily_recheck_marks_tokens_meta_no_longer_accepts(alice, bob, meta, worker):
    stale = make_account(
        alice, access_token="EAAGstaleCheckedToken0001", last_validated_at=timezone.now() - timedelta(days=2)
    )
    fresh = make_account(
        bob, access_token="EAAGfreshCheckedToken0002", last_validated_at=timezone.now() - timedelta(hours=1)
    )
    meta.get(
        graph_url("debug_token"),
        json={
            "data": {
                "app_id": "111111111111111",
                "type": "USER",
                "is_valid": False,
                "error": {"code": 190, "message": "The user removed the app."},
                "scopes": [],
            }
        },
        match=has(input_token="EAAGstaleCheckedToken0001"),
    )

    revalidate_tokens.send()
    worker.drain()

    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.status == MetaAccount.Status.EXPIRED and stale.needs_reauth
    assert fresh.status == MetaAccount.Status.ACTIVE
    assert len(meta.calls) == 1


def test_the_daily_recheck_updates_permissions_of_a_valid_token(alice, meta, worker):
    account = make_account(alice, last_validated_at=timezone.now() - timedelta(days=2))
    fake_debug_token(meta, LONG_TOKEN, scopes=["pages_show_list"])
    revalidate_tokens.send()
    worker.drain()
    account.refresh_from_db()
    assert account.permissions == ["pages_show_list"]
    assert account.last_validated_at > timezone.now() - timedelta(minutes=1)


def test_it_warns_once_about_a_system_user_token_expiring_soon(alice, meta, worker):
    account = make_account(
        alice,
        access_token=SYSTEM_TOKEN,
        token_type="system_user",
        token_expiry=timezone.now() + timedelta(days=3),
    )
    for _ in range(2):
        refresh_expiring_tokens.send()
        worker.drain()
    warnings = Notification.objects.filter(account=account, kind="token_expiring")
    assert warnings.count() == 1
    assert "expires on" in warnings.get().title
    assert len(meta.calls) == 0


def test_a_refresh_racing_a_disconnect_never_revives_the_account(alice_account, meta):
    from accounts.services import account_token_refresh
    from botopia_meta.exceptions import AccountNotConnected

    fake_long_lived(meta, from_token=LONG_TOKEN, token=NEW_LONG_TOKEN)
    fake_debug_token(meta, NEW_LONG_TOKEN)
    # The periodic job loaded the account; the user disconnects before Meta answers.
    MetaAccount.objects.filter(pk=alice_account.pk).update(status=MetaAccount.Status.REVOKED, access_token="")

    with pytest.raises(AccountNotConnected):
        account_token_refresh(account=alice_account)

    stored = MetaAccount.objects.get(pk=alice_account.pk)
    assert stored.status == MetaAccount.Status.REVOKED
    assert stored.access_token == ""


def test_it_keeps_tokens_out_of_the_logs(alice_client, meta, caplog):
    import logging

    from tests.accounts.conftest import SHORT_TOKEN, fake_oauth_connect

    caplog.set_level(logging.DEBUG)
    fake_oauth_connect(meta)
    alice_client.post("/api/meta/auth/connect", {"code": "AQDcode123"}, format="json")
    meta.replace("GET", graph_url("me"), json=meta_error(190, "Session has expired", subcode=463), status=400)
    account = MetaAccount.objects.get()
    with pytest.raises(GraphTokenExpired):
        graph_for(account).get("me")
    assert caplog.text
    for secret in (SHORT_TOKEN, LONG_TOKEN, "test-app-secret", "AQDcode123"):
        assert secret not in caplog.text

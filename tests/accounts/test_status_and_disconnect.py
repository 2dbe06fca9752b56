"""GET /api/meta/auth/status and POST /api/meta/auth/disconnect."""

from accounts.models import MetaAccount
from tests.accounts.conftest import LONG_TOKEN, has, make_account
from tests.conftest import graph_url, meta_error
from whatsapp.models import WhatsAppBusinessAccount

STATUS = "/api/meta/auth/status"
DISCONNECT = "/api/meta/auth/disconnect"


def test_it_answers_not_connected_for_a_user_without_accounts(charlie_client):
    response = charlie_client.get(STATUS)
    assert response.status_code == 200
    assert response.json()["data"] == {
        "connected": False,
        "accountId": None,
        "expiresAt": None,
        "permissions": [],
        "platforms": {"whatsapp": False, "facebook": False, "instagram": False},
        "needsReauth": False,
        "tokenPreview": None,
    }


def test_it_shows_the_connected_account_with_a_masked_token(alice_client, alice_account):
    WhatsAppBusinessAccount.objects.create(account=alice_account, waba_id="2001")
    response = alice_client.get(STATUS)
    data = response.json()["data"]
    assert data["connected"] is True
    assert data["accountId"] == str(alice_account.pk)
    assert data["expiresAt"] == alice_account.token_expiry.isoformat().replace("+00:00", "Z")
    assert data["permissions"] == alice_account.permissions
    assert data["platforms"] == {"whatsapp": True, "facebook": False, "instagram": False}
    assert data["needsReauth"] is False
    assert data["tokenPreview"] == "EAAG…xyz"
    assert LONG_TOKEN.encode() not in response.content


def test_it_ignores_soft_deleted_assets_in_platforms(alice_client, alice_account):
    WhatsAppBusinessAccount.objects.create(account=alice_account, waba_id="2001").soft_delete()
    assert alice_client.get(STATUS).json()["data"]["platforms"]["whatsapp"] is False


def test_it_shows_another_users_account_as_404(bob_client, alice_account):
    response = bob_client.get(f"{STATUS}?accountId={alice_account.pk}")
    assert response.status_code == 404


def test_it_does_not_show_other_users_accounts(bob_client, alice_account):
    assert bob_client.get(STATUS).json()["data"]["connected"] is False


def test_it_revokes_at_meta_and_marks_the_account_revoked(alice_client, alice_account, meta):
    meta.delete(graph_url("me/permissions"), json={"success": True}, match=has(access_token=LONG_TOKEN))

    response = alice_client.post(DISCONNECT, {"accountId": str(alice_account.pk)}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["data"] == {"accountId": str(alice_account.pk), "status": "revoked"}
    assert len(meta.calls) == 1
    alice_account.refresh_from_db()
    assert alice_account.status == MetaAccount.Status.REVOKED
    assert alice_account.access_token == ""  # nothing left to leak
    assert alice_client.get(STATUS).json()["data"]["connected"] is False

    # Again: already revoked, nothing more to ask Meta.
    again = alice_client.post(DISCONNECT, {"accountId": str(alice_account.pk)}, format="json")
    assert again.status_code == 200
    assert len(meta.calls) == 1


def test_it_disconnects_when_meta_already_dropped_the_token(alice_client, alice_account, meta):
    meta.delete(
        graph_url("me/permissions"), json=meta_error(190, "Session has expired", subcode=463), status=400
    )
    response = alice_client.post(DISCONNECT, {"accountId": str(alice_account.pk)}, format="json")
    assert response.status_code == 200
    alice_account.refresh_from_db()
    assert alice_account.status == MetaAccount.Status.REVOKED


def test_it_keeps_the_account_when_meta_is_down(alice_client, alice_account, meta, settings):
    settings.META_GRAPH_MAX_RETRIES = 0
    meta.delete(
        graph_url("me/permissions"), json=meta_error(2, "Service temporarily unavailable"), status=503
    )
    response = alice_client.post(DISCONNECT, {"accountId": str(alice_account.pk)}, format="json")
    assert response.status_code == 503
    alice_account.refresh_from_db()
    assert alice_account.status == MetaAccount.Status.ACTIVE


def test_it_answers_404_when_disconnecting_someone_elses_account(bob_client, alice_account, meta):
    response = bob_client.post(DISCONNECT, {"accountId": str(alice_account.pk)}, format="json")
    assert response.status_code == 404
    assert len(meta.calls) == 0
    alice_account.refresh_from_db()
    assert alice_account.status == MetaAccount.Status.ACTIVE


def test_it_reconnects_a_revoked_account_in_place(alice, alice_client, meta):
    from tests.accounts.conftest import SYSTEM_TOKEN, fake_debug_token, fake_me

    account = make_account(alice, meta_user_id="777", status=MetaAccount.Status.REVOKED, access_token="")
    fake_debug_token(meta, SYSTEM_TOKEN, token_type="SYSTEM_USER", expires_at=0, user_id="777")
    fake_me(meta, user_id="777")
    response = alice_client.post("/api/meta/auth/connect", {"accessToken": SYSTEM_TOKEN}, format="json")
    assert response.json()["data"]["accountId"] == str(account.pk)
    account.refresh_from_db()
    assert account.status == MetaAccount.Status.ACTIVE
    assert account.access_token == SYSTEM_TOKEN


def test_it_answers_status_in_a_bounded_number_of_queries(alice, alice_client, django_assert_max_num_queries):
    for n in range(5):
        account = make_account(alice, meta_user_id=str(n))
        for w in range(10):
            WhatsAppBusinessAccount.objects.create(account=account, waba_id=f"{n}{w}")
    # token auth, the account, one EXISTS per platform
    with django_assert_max_num_queries(6):
        assert alice_client.get(STATUS).json()["data"]["platforms"]["whatsapp"] is True


def test_it_keeps_metas_grant_while_another_botopia_account_uses_the_same_meta_user(
    alice_client, alice_account, bob, meta
):
    # Bob connected the same Meta user: revoking the app at Meta would cut his token too.
    bobs = make_account(bob, meta_user_id=alice_account.meta_user_id)

    response = alice_client.post(DISCONNECT, {"accountId": str(alice_account.pk)}, format="json")

    assert response.status_code == 200
    assert len(meta.calls) == 0
    alice_account.refresh_from_db()
    bobs.refresh_from_db()
    assert alice_account.status == MetaAccount.Status.REVOKED
    assert bobs.status == MetaAccount.Status.ACTIVE and bobs.access_token == LONG_TOKEN


def test_it_forgets_the_page_tokens_on_disconnect(alice_client, alice_account, meta):
    from facebook.models import FacebookPage

    page = FacebookPage.objects.create(
        account=alice_account,
        page_id="330000000000001",
        access_token="EAAGpage-token-0123456789",
        status="connected",
    )
    meta.delete(graph_url("me/permissions"), json={"success": True})

    assert (
        alice_client.post(DISCONNECT, {"accountId": str(alice_account.pk)}, format="json").status_code == 200
    )

    page.refresh_from_db()
    assert page.access_token == "" and page.status == "disconnected"

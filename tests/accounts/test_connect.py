"""POST /api/meta/auth/connect: the OAuth code path, the system-user token path, refusals."""

import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

import pytest
from django.conf import settings

from accounts.models import MetaAccount
from tests.accounts.conftest import (
    GRANTED,
    GRANULAR,
    LONG_TOKEN,
    SHORT_TOKEN,
    SYSTEM_TOKEN,
    fake_debug_token,
    fake_me,
    fake_oauth_connect,
    has,
    raw_column,
)
from tests.conftest import graph_url, meta_error

URL = "/api/meta/auth/connect"


def query_of(call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(call.request.url).query).items()}


def test_it_connects_with_an_oauth_code_and_keeps_a_long_lived_token(alice, alice_client, meta):
    fake_oauth_connect(meta)
    response = alice_client.post(
        URL, {"code": "AQDcode123", "redirectUri": "https://app.botopia.io/meta/callback"}, format="json"
    )

    assert response.status_code == 201, response.content
    data = response.json()["data"]
    account = MetaAccount.objects.get(connected_by=alice)
    assert data == {"accountId": str(account.pk), "status": "connected", "permissions": GRANTED}
    assert account.access_token == LONG_TOKEN  # the long-lived one, not the 2-hour one
    assert account.meta_user_id == "10001"
    assert account.meta_user_name == "Ana Pérez"
    assert account.token_type == MetaAccount.TokenType.USER
    assert account.granular_scopes == GRANULAR
    assert account.status == MetaAccount.Status.ACTIVE
    assert 59 <= (account.token_expiry - account.connected_at).days <= 60
    # The code went to Meta with our app's credentials and the redirect URI of the dialog,
    # and the short-lived token was traded through fb_exchange_token.
    exchanges = [query_of(c) for c in meta.calls if "oauth/access_token" in c.request.url]
    assert exchanges[0]["code"] == "AQDcode123"
    assert exchanges[0]["redirect_uri"] == "https://app.botopia.io/meta/callback"
    assert exchanges[0]["client_id"] == settings.META_APP_ID
    assert exchanges[1]["grant_type"] == "fb_exchange_token"
    assert exchanges[1]["fb_exchange_token"] == SHORT_TOKEN


def test_it_connects_with_a_system_user_token_that_never_expires(alice, alice_client, meta):
    scopes = ["whatsapp_business_management", "whatsapp_business_messaging", "business_management"]
    fake_debug_token(meta, SYSTEM_TOKEN, token_type="SYSTEM_USER", expires_at=0, scopes=scopes, user_id="777")
    fake_me(meta, user_id="777", name="Botopia System User")

    response = alice_client.post(URL, {"accessToken": SYSTEM_TOKEN}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["data"]["permissions"] == scopes
    account = MetaAccount.objects.get(connected_by=alice)
    assert account.token_type == MetaAccount.TokenType.SYSTEM_USER
    assert account.token_expiry is None
    assert account.meta_user_id == "777"
    assert not any("oauth" in c.request.url for c in meta.calls)


def test_it_updates_the_account_when_the_same_meta_user_connects_again(alice, alice_client, meta):
    fake_oauth_connect(meta)
    first = alice_client.post(URL, {"code": "AQDcode123"}, format="json").json()["data"]
    MetaAccount.objects.filter(pk=first["accountId"]).update(status="expired", needs_reauth=True)

    second = alice_client.post(URL, {"code": "AQDcode123"}, format="json")

    assert second.status_code == 200
    assert second.json()["data"]["accountId"] == first["accountId"]
    account = MetaAccount.objects.get(connected_by=alice)
    assert account.status == MetaAccount.Status.ACTIVE
    assert account.needs_reauth is False


def test_it_keeps_separate_accounts_for_separate_meta_users(alice, alice_client, meta):
    fake_oauth_connect(meta, code="code-a", user_id="10001")
    alice_client.post(URL, {"code": "code-a"}, format="json")
    meta.reset()
    fake_debug_token(meta, SYSTEM_TOKEN, token_type="SYSTEM_USER", expires_at=0, user_id="777")
    fake_me(meta, user_id="777")
    alice_client.post(URL, {"accessToken": SYSTEM_TOKEN}, format="json")
    assert MetaAccount.objects.filter(connected_by=alice).count() == 2


def test_it_refuses_a_code_meta_rejects_and_stores_nothing(alice_client, meta):
    meta.get(
        graph_url("oauth/access_token"),
        json=meta_error(100, "This authorization code has been used.", subcode=36009),
        status=400,
    )
    response = alice_client.post(URL, {"code": "AQDused"}, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "META_AUTH_FAILED"
    assert error["details"]["metaCode"] == 100
    assert error["details"]["metaSubcode"] == 36009
    assert error["details"]["metaMessage"] == "This authorization code has been used."
    assert MetaAccount.all_objects.count() == 0
    assert len(meta.calls) == 1  # a code works once: no retry


def test_it_refuses_a_token_issued_for_another_app(alice_client, meta):
    fake_debug_token(meta, SYSTEM_TOKEN, token_type="SYSTEM_USER", app_id="999999999")
    response = alice_client.post(URL, {"accessToken": SYSTEM_TOKEN}, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "META_AUTH_FAILED"
    assert error["details"]["appId"] == "999999999"
    assert MetaAccount.all_objects.count() == 0


def test_it_refuses_an_invalid_token_with_metas_reason(alice_client, meta):
    fake_debug_token(
        meta,
        SYSTEM_TOKEN,
        is_valid=False,
        error={"code": 190, "subcode": 460, "message": "The session has been invalidated."},
    )
    response = alice_client.post(URL, {"accessToken": SYSTEM_TOKEN}, format="json")

    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert details == {
        "metaCode": 190,
        "metaSubcode": 460,
        "metaMessage": "The session has been invalidated.",
    }
    assert MetaAccount.all_objects.count() == 0


def test_it_refuses_a_page_token(alice_client, meta):
    fake_debug_token(meta, SYSTEM_TOKEN, token_type="PAGE")
    response = alice_client.post(URL, {"accessToken": SYSTEM_TOKEN}, format="json")
    assert response.json()["error"]["code"] == "META_AUTH_FAILED"
    assert MetaAccount.all_objects.count() == 0


def test_it_answers_503_and_stores_nothing_when_meta_is_down(alice_client, meta):
    meta.get(graph_url("debug_token"), json=meta_error(2, "Service temporarily unavailable"), status=503)
    response = alice_client.post(URL, {"accessToken": SYSTEM_TOKEN}, format="json")
    assert response.status_code == 503
    assert MetaAccount.all_objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "code"),
        ({"code": "AQD", "accessToken": SYSTEM_TOKEN}, "accessToken"),
        ({"code": "AQD code with spaces"}, "code"),
        # (A NUL is removed by the API's text rule, botopia_meta.text, before validation.)
        ({"accessToken": "EAAG\u0001null"}, "accessToken"),
        ({"code": "AQD", "redirectUri": "javascript:alert(1)"}, "redirectUri"),
        ({"accessToken": SYSTEM_TOKEN, "redirectUri": "https://app.botopia.io/cb"}, "redirectUri"),
        ({"code": "A" * 5000}, "code"),
        ({"code": ["AQD"]}, "code"),
    ],
)
def test_it_rejects_bad_input_naming_the_field(alice_client, meta, body, field):
    response = alice_client.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert field in response.json()["error"]["details"]
    assert len(meta.calls) == 0
    assert MetaAccount.all_objects.count() == 0


def test_it_requires_a_botopia_login(anon_client, meta):
    response = anon_client.post(URL, {"accessToken": SYSTEM_TOKEN}, format="json")
    assert response.status_code == 401
    assert len(meta.calls) == 0


def test_it_stores_no_token_in_plaintext(alice, alice_client, meta):
    fake_oauth_connect(meta)
    alice_client.post(URL, {"code": "AQDcode123"}, format="json")
    account = MetaAccount.objects.get(connected_by=alice)
    stored = raw_column("accounts_metaaccount", "access_token", account.pk)
    assert LONG_TOKEN not in stored and "EAAG" not in stored
    assert LONG_TOKEN.encode() not in alice_client.get("/api/meta/auth/status").content


def test_it_skips_the_long_lived_exchange_for_a_token_that_does_not_expire(alice, alice_client, meta):
    # Embedded Signup: the code gives a business system-user token without expires_in.
    meta.get(
        graph_url("oauth/access_token"),
        json={"access_token": SYSTEM_TOKEN, "token_type": "bearer"},
        match=has(code="AQDembedded"),
    )
    fake_debug_token(
        meta, SYSTEM_TOKEN, token_type="SYSTEM_USER", expires_at=0, scopes=["whatsapp_business_management"]
    )
    fake_me(meta)

    response = alice_client.post(URL, {"code": "AQDembedded"}, format="json")

    assert response.status_code == 201, response.content
    account = MetaAccount.objects.get(connected_by=alice)
    assert account.access_token == SYSTEM_TOKEN
    assert account.token_expiry is None
    assert account.permissions == ["whatsapp_business_management"]
    assert sum("oauth/access_token" in c.request.url for c in meta.calls) == 1


def test_it_reads_expiry_from_debug_token(alice, alice_client, meta):
    expires_at = int(time.time()) + 40 * 86400
    fake_debug_token(meta, SYSTEM_TOKEN, token_type="USER", expires_at=expires_at)
    fake_me(meta)
    alice_client.post(URL, {"accessToken": SYSTEM_TOKEN}, format="json")
    account = MetaAccount.objects.get(connected_by=alice)
    assert account.token_expiry == datetime.fromtimestamp(expires_at, tz=UTC)

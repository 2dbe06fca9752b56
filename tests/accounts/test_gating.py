"""Permission gating: an endpoint names the Meta permissions it needs; the account's grants
are checked before any Graph call."""

import pytest

from accounts.models import MetaAccount
from tests.accounts.conftest import make_account
from tests.conftest import graph_url

pytestmark = pytest.mark.urls("tests.accounts.gating_urls")


@pytest.fixture(autouse=True)
def _probe_permission(monkeypatch):
    """The probe sends messages: it takes the permission the real send endpoint declares."""
    from orgs.permissions import ENDPOINTS

    monkeypatch.setitem(ENDPOINTS, "test-gated", {"POST": "messages.send"})


ALL = ["whatsapp_business_messaging", "pages_manage_posts", "instagram_content_publish"]


def test_it_answers_403_naming_the_missing_permissions_before_calling_meta(alice, alice_client, meta):
    make_account(alice, permissions=["whatsapp_business_messaging", "pages_show_list"])
    response = alice_client.post("/api/test/gated", {}, format="json")

    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "MISSING_META_PERMISSION"
    assert error["details"] == {"missing": ["pages_manage_posts", "instagram_content_publish"]}
    assert len(meta.calls) == 0


def test_it_lets_an_account_with_every_permission_through(alice, alice_client, meta):
    account = make_account(alice, permissions=ALL)
    meta.get(graph_url("me"), json={"id": "10001", "name": "Ana"})
    response = alice_client.post("/api/test/gated", {}, format="json")
    assert response.status_code == 200
    assert response.json()["data"]["accountId"] == str(account.pk)


def test_it_answers_409_when_nothing_is_connected(charlie_client, meta):
    response = charlie_client.post("/api/test/gated", {}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ACCOUNT_NOT_CONNECTED"
    assert len(meta.calls) == 0


@pytest.mark.parametrize("status", [MetaAccount.Status.REVOKED, MetaAccount.Status.EXPIRED])
def test_it_answers_409_for_a_revoked_or_expired_account(alice, alice_client, meta, status):
    account = make_account(alice, permissions=ALL, status=status)
    for body in ({}, {"accountId": str(account.pk)}):
        response = alice_client.post("/api/test/gated", body, format="json")
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "ACCOUNT_NOT_CONNECTED"
    assert len(meta.calls) == 0


def test_it_acts_on_the_most_recently_connected_active_account(alice, alice_client, meta):
    from datetime import timedelta

    from django.utils import timezone

    make_account(alice, meta_user_id="1", permissions=ALL, connected_at=timezone.now() - timedelta(days=2))
    newest = make_account(alice, meta_user_id="2", permissions=ALL, connected_at=timezone.now())
    make_account(
        alice,
        meta_user_id="3",
        permissions=ALL,
        connected_at=timezone.now() + timedelta(hours=1),
        status="revoked",
    )
    meta.get(graph_url("me"), json={"id": "2"})
    response = alice_client.post("/api/test/gated", {}, format="json")
    assert response.json()["data"]["accountId"] == str(newest.pk)


def test_it_answers_404_for_someone_elses_account(alice, bob_client, meta):
    account = make_account(alice, permissions=ALL)
    response = bob_client.post("/api/test/gated", {"accountId": str(account.pk)}, format="json")
    assert response.status_code == 404
    assert len(meta.calls) == 0

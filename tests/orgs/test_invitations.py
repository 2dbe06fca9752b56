"""Invitations: POST|GET /api/orgs/:id/invitations, DELETE /api/orgs/:id/invitations/:id,
POST /api/invitations/:token/accept."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from orgs.models import AuditEntry, Invitation, Membership
from tests.orgs.conftest import data, error

pytestmark = pytest.mark.django_db


def _invite(team, email="sam@example.com", role="agent", who="olivia"):
    return team.client[who].post(
        f"/api/orgs/{team.org.pk}/invitations", {"email": email, "role": role}, format="json"
    )


def _token(body: dict) -> str:
    return body["acceptUrl"].rsplit("/", 1)[1]


def _accept(team, token: str, who="sam"):
    return team.client[who].post(f"/api/invitations/{token}/accept")


@pytest.fixture(autouse=True)
def _frontend(settings):
    settings.FRONTEND_URL = "https://app.botopia.test"


def test_an_owner_invites_by_email_and_sees_the_url_once(team, mailoutbox):
    response = _invite(team, role="admin")

    assert response.status_code == 201
    body = response.json()["data"]
    assert set(body) == {"id", "email", "role", "expiresAt", "acceptUrl", "emailed"}
    assert (body["email"], body["role"], body["emailed"]) == ("sam@example.com", "admin", True)
    assert body["acceptUrl"].startswith("https://app.botopia.test/invitations/")
    token = _token(body)
    assert len(token) >= 43
    expires = parse_datetime(body["expiresAt"])
    assert timedelta(days=6, hours=23) < expires - timezone.now() <= timedelta(days=7)
    # Only the hash is stored; the token is in the URL and the email.
    invitation = Invitation.objects.get(pk=body["id"])
    assert invitation.token_hash == Invitation.hash_token(token) and token not in invitation.token_hash
    assert [m.to for m in mailoutbox] == [["sam@example.com"]]
    assert body["acceptUrl"] in mailoutbox[0].body and "Acme" in mailoutbox[0].subject
    entry = AuditEntry.objects.get(action="invitation.send")
    assert entry.details == {"email": "sam@example.com", "role": "admin"} and entry.actor == team.olivia


def test_without_email_configured_the_url_is_still_answered(team, settings, mailoutbox):
    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"

    body = data(_invite(team))

    assert body["emailed"] is False and body["acceptUrl"].startswith("https://app.botopia.test/invitations/")
    assert mailoutbox == []


def test_a_failing_mail_server_doesnt_lose_the_invitation(team, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 1

    body = data(_invite(team))

    assert body["emailed"] is False
    assert Invitation.objects.filter(pk=body["id"]).exists()


def test_the_invitee_accepts_once_and_becomes_a_member(team):
    token = _token(data(_invite(team, email="Sam@Example.COM", role="viewer")))

    response = _accept(team, token)

    assert response.status_code == 201
    assert response.json()["data"] == {
        "id": str(team.org.pk),
        "name": "Acme",
        "role": "viewer",
        "isDefault": True,
    }
    membership = Membership.objects.get(organization=team.org, user=team.sam)
    assert membership.role == "viewer" and membership.is_default
    assert data(team.client["sam"].get(f"/api/orgs/{team.org.pk}/members"))["pagination"]["total"] == 5
    entry = AuditEntry.objects.get(action="invitation.accept")
    assert entry.actor == team.sam
    # Single use.
    assert error(_accept(team, token), 409)["code"] == "INVITATION_USED"
    assert Membership.objects.filter(user=team.sam).count() == 1


def test_an_expired_invitation_is_refused(team):
    body = data(_invite(team))
    Invitation.objects.filter(pk=body["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))

    err = error(_accept(team, _token(body)), 410)

    assert err["code"] == "INVITATION_EXPIRED"
    assert not Membership.objects.filter(user=team.sam).exists()
    assert data(team.client["olivia"].get(f"/api/orgs/{team.org.pk}/invitations"))["invitations"] == []


def test_someone_with_another_email_cant_accept(team):
    token = _token(data(_invite(team, email="someone-else@example.com")))

    err = error(_accept(team, token), 403)

    assert err["code"] == "INVITATION_EMAIL_MISMATCH"
    assert not Membership.objects.filter(user=team.sam).exists()
    assert Invitation.objects.get().accepted_at is None


def test_a_revoked_invitation_is_404(team):
    body = data(_invite(team))

    revoked = data(team.client["adam"].delete(f"/api/orgs/{team.org.pk}/invitations/{body['id']}"))

    assert revoked == {"id": body["id"], "revoked": True}
    assert error(_accept(team, _token(body)), 404)["code"] == "NOT_FOUND"
    assert not Membership.objects.filter(user=team.sam).exists()
    assert AuditEntry.objects.filter(action="invitation.revoke", actor=team.adam).count() == 1
    # Revoked twice: it is no longer pending.
    error(team.client["adam"].delete(f"/api/orgs/{team.org.pk}/invitations/{body['id']}"), 404)


def test_an_unknown_or_malformed_token_is_404(team):
    assert error(_accept(team, "x" * 43), 404)["code"] == "NOT_FOUND"
    assert team.client["sam"].post("/api/invitations/a%00b/accept").status_code == 404


def test_accepting_needs_a_login(team, anon_client):
    token = _token(data(_invite(team)))
    assert anon_client.post(f"/api/invitations/{token}/accept").status_code == 401


def test_guessing_tokens_is_rate_limited(team, settings):
    settings.API_RATE_LIMIT_LOGIN = "3/m"
    for _ in range(3):
        error(_accept(team, "guess" * 9), 404)

    err = error(_accept(team, "guess" * 9), 429)

    assert err["code"] == "RATE_LIMITED"


def test_inviting_a_member_is_a_conflict(team):
    err = error(_invite(team, email="AGNES@example.com"), 409)

    assert err["code"] == "ALREADY_MEMBER"
    assert not Invitation.objects.exists()


def test_inviting_again_replaces_the_pending_invitation(team):
    first = data(_invite(team, role="viewer"))
    second = data(_invite(team, email="SAM@example.com", role="agent"))

    pending = data(team.client["olivia"].get(f"/api/orgs/{team.org.pk}/invitations"))["invitations"]

    assert [(i["id"], i["role"], i["invitedBy"]) for i in pending] == [(second["id"], "agent", "olivia")]
    assert error(_accept(team, _token(first)), 404)["code"] == "NOT_FOUND"
    assert data(_accept(team, _token(second)))["role"] == "agent"


def test_an_admin_cant_invite_an_owner(team):
    err = error(_invite(team, role="owner", who="adam"), 403)

    assert err["details"] == {"permission": "members.manage_owners", "role": "admin"}
    assert not Invitation.objects.exists()
    assert data(_invite(team, role="owner", who="olivia"))["role"] == "owner"


@pytest.mark.parametrize("who", ["agnes", "vera"])
def test_an_agent_or_viewer_cant_invite_or_see_invitations(team, who):
    assert error(_invite(team, who=who), 403)["code"] == "PERMISSION_DENIED"
    error(team.client[who].get(f"/api/orgs/{team.org.pk}/invitations"), 403)
    assert not Invitation.objects.exists()


def test_a_stranger_cant_invite_into_someone_elses_organization(team):
    error(_invite(team, who="sam"), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [({"email": "not-an-email", "role": "agent"}, "email"), ({"email": "a@b.co", "role": "boss"}, "role")],
)
def test_a_bad_invitation_is_a_validation_error(team, body, field):
    err = error(team.client["olivia"].post(f"/api/orgs/{team.org.pk}/invitations", body, format="json"), 400)
    assert field in err["details"]
    assert not Invitation.objects.exists()


def test_an_invitee_who_already_joined_gets_a_conflict(team):
    token = _token(data(_invite(team)))
    Membership.objects.create(user=team.sam, organization=team.org, role="viewer")

    assert error(_accept(team, token), 409)["code"] == "ALREADY_MEMBER"

"""The staff console's organizations (members' roles editable), invitations (no token; revoke)
and audit log (read-only)."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from orgs.audit import Action, record
from orgs.models import AuditEntry, Invitation, Membership
from tests.orgs.conftest import data

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(db) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "root-pw-123"))
    return client


def _inline_post(team, roles: dict) -> dict:
    memberships = list(Membership.objects.filter(organization=team.org).select_related("user"))
    body = {
        "name": team.org.name,
        "memberships-TOTAL_FORMS": str(len(memberships)),
        "memberships-INITIAL_FORMS": str(len(memberships)),
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    for i, membership in enumerate(memberships):
        body[f"memberships-{i}-id"] = str(membership.pk)
        body[f"memberships-{i}-organization"] = str(team.org.pk)
        body[f"memberships-{i}-role"] = roles.get(membership.user.username, membership.role)
    return body


def test_staff_see_an_organization_with_its_members_and_change_a_role(team, staff_client):
    url = reverse("admin:orgs_organization_change", args=[team.org.pk])
    page = staff_client.get(url)
    assert page.status_code == 200 and b"olivia" in page.content and b"vera" in page.content
    assert staff_client.get(reverse("admin:orgs_organization_changelist")).status_code == 200

    response = staff_client.post(url, _inline_post(team, {"vera": "admin"}))

    assert response.status_code == 302, response.content[:3000]
    assert Membership.objects.get(user=team.vera).role == "admin"
    entry = AuditEntry.objects.get(action="member.role_change")
    assert entry.details == {"old_role": "viewer", "new_role": "admin", "by_staff": True}


def test_staff_cant_leave_an_organization_without_an_owner(team, staff_client):
    url = reverse("admin:orgs_organization_change", args=[team.org.pk])

    response = staff_client.post(url, _inline_post(team, {"olivia": "admin"}))

    assert response.status_code == 200 and b"needs an owner" in response.content
    assert Membership.objects.get(user=team.olivia).role == "owner"


def test_invitations_show_no_token_and_staff_revoke_them(team, staff_client):
    sent = data(
        team.client["olivia"].post(
            f"/api/orgs/{team.org.pk}/invitations",
            {"email": "sam@example.com", "role": "agent"},
            format="json",
        )
    )
    token = sent["acceptUrl"].rsplit("/", 1)[1]
    invitation = Invitation.objects.get()
    pages = [
        staff_client.get(reverse("admin:orgs_invitation_changelist")),
        staff_client.get(reverse("admin:orgs_invitation_change", args=[invitation.pk])),
    ]
    for page in pages:
        assert page.status_code == 200 and b"sam@example.com" in page.content
        assert token.encode() not in page.content and invitation.token_hash.encode() not in page.content

    response = staff_client.post(
        reverse("admin:orgs_invitation_changelist"),
        {"action": "revoke", "_selected_action": [str(invitation.pk)]},
    )

    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert team.client["sam"].post(f"/api/invitations/{token}/accept").status_code == 404
    assert AuditEntry.objects.filter(action="invitation.revoke", details__by_staff=True).count() == 1


def test_the_audit_log_is_read_only(team, staff_client):
    entry = record(team.olivia, Action.ORGANIZATION_RENAME, team.org, old="A", new="B")
    assert staff_client.get(reverse("admin:orgs_auditentry_changelist")).status_code == 200
    page = staff_client.get(reverse("admin:orgs_auditentry_change", args=[entry.pk]))
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert (
        staff_client.post(
            reverse("admin:orgs_auditentry_delete", args=[entry.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert staff_client.get(reverse("admin:orgs_auditentry_add")).status_code == 403
    assert AuditEntry.objects.count() == 1

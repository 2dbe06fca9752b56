"""GET/POST /api/orgs, PATCH/DELETE /api/orgs/:id, POST /api/orgs/:id/default."""

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.models import MetaAccount
from orgs.models import AuditEntry, Membership, Organization
from tests.conftest import graph_url, meta_error
from tests.orgs.conftest import client_for, data, error, join, person

pytestmark = pytest.mark.django_db


def test_it_lists_the_callers_organizations_with_role_and_default(team):
    other = Organization.objects.create(name="Side project")
    join(team.agnes, other, "owner")

    body = data(team.client["agnes"].get("/api/orgs"))

    assert body == {
        "organizations": [
            {"id": str(team.org.pk), "name": "Acme", "role": "agent", "isDefault": True},
            {"id": str(other.pk), "name": "Side project", "role": "owner", "isDefault": False},
        ]
    }
    assert data(team.client["sam"].get("/api/orgs")) == {"organizations": []}


def test_it_creates_an_organization_with_the_caller_as_owner_and_default_when_first(team):
    response = team.client["sam"].post("/api/orgs", {"name": "Sam's shop"}, format="json")

    assert response.status_code == 201
    created = response.json()["data"]
    assert created["name"] == "Sam's shop" and created["role"] == "owner" and created["isDefault"] is True
    membership = Membership.objects.get(user=team.sam, organization_id=created["id"])
    assert membership.role == "owner" and membership.is_default
    entry = AuditEntry.objects.get(organization_id=created["id"])
    assert (entry.action, entry.actor, entry.details) == (
        "organization.create",
        team.sam,
        {"name": "Sam's shop"},
    )


def test_a_second_organization_is_not_the_default(team):
    created = data(team.client["olivia"].post("/api/orgs", {"name": "Second"}, format="json"))

    assert created["isDefault"] is False
    assert Membership.objects.get(user=team.olivia, is_default=True).organization == team.org


@pytest.mark.parametrize("name", ["", "x" * 121, None])
def test_it_refuses_a_bad_name_and_creates_nothing(team, name):
    before = Organization.objects.count()

    err = error(team.client["sam"].post("/api/orgs", {"name": name}, format="json"), 400)

    assert err["code"] == "VALIDATION_ERROR" and "name" in err["details"]
    assert Organization.objects.count() == before


def test_an_owner_or_admin_renames_the_organization(team):
    body = data(team.client["adam"].patch(f"/api/orgs/{team.org.pk}", {"name": "Acme Ltd"}, format="json"))

    assert body["name"] == "Acme Ltd"
    team.org.refresh_from_db()
    assert team.org.name == "Acme Ltd"
    entry = AuditEntry.objects.get(action="organization.rename")
    assert entry.details == {"old": "Acme", "new": "Acme Ltd"} and entry.actor == team.adam


@pytest.mark.parametrize("who", ["agnes", "vera"])
def test_an_agent_or_viewer_cant_rename(team, who):
    err = error(team.client[who].patch(f"/api/orgs/{team.org.pk}", {"name": "Mine"}, format="json"), 403)

    assert err["code"] == "PERMISSION_DENIED"
    assert err["details"] == {
        "permission": "org.manage",
        "role": team.org.memberships.get(user__username=who).role,
    }
    team.org.refresh_from_db()
    assert team.org.name == "Acme"


def test_a_stranger_gets_404_for_someone_elses_organization(team):
    for method in ("patch", "delete"):
        err = error(
            getattr(team.client["sam"], method)(f"/api/orgs/{team.org.pk}", {"name": "x"}, format="json"), 404
        )
        assert err["code"] == "NOT_FOUND"
    error(team.client["sam"].get(f"/api/orgs/{team.org.pk}/members"), 404)
    error(team.client["sam"].get("/api/orgs/not-a-uuid/members"), 404)


def test_only_an_owner_deletes_the_organization(team):
    err = error(team.client["adam"].delete(f"/api/orgs/{team.org.pk}"), 403)
    assert err["details"] == {"permission": "org.delete", "role": "admin"}

    body = data(team.client["olivia"].delete(f"/api/orgs/{team.org.pk}"))

    assert body == {"id": str(team.org.pk), "deleted": True}
    assert Organization.all_objects.get(pk=team.org.pk).deleted_at is not None
    assert AuditEntry.objects.filter(organization=team.org, action="organization.delete").count() == 1
    # Gone for every member: not listed, and 404 on its endpoints.
    assert data(team.client["agnes"].get("/api/orgs")) == {"organizations": []}
    error(team.client["agnes"].get(f"/api/orgs/{team.org.pk}/members"), 404)


def test_deleting_moves_each_members_default_to_their_next_organization(team):
    other = Organization.objects.create(name="Other")
    join(team.agnes, other, "viewer")

    data(team.client["olivia"].delete(f"/api/orgs/{team.org.pk}"))

    listed = data(team.client["agnes"].get("/api/orgs"))["organizations"]
    assert listed == [{"id": str(other.pk), "name": "Other", "role": "viewer", "isDefault": True}]
    assert not Membership.objects.filter(organization=team.org, is_default=True).exists()


def test_any_member_makes_an_organization_their_default(team):
    other = Organization.objects.create(name="Other")
    join(team.vera, other, "viewer")

    body = data(team.client["vera"].post(f"/api/orgs/{other.pk}/default"))

    assert body["isDefault"] is True
    defaults = Membership.objects.filter(user=team.vera, is_default=True)
    assert [m.organization for m in defaults] == [other]
    error(team.client["sam"].post(f"/api/orgs/{other.pk}/default"), 404)


def test_a_new_user_has_no_organization_until_they_create_one(db):
    newcomer = person("newcomer")
    client = client_for(newcomer)
    assert data(client.get("/api/orgs")) == {"organizations": []}


def test_deleting_disconnects_the_organizations_meta_accounts(team, meta):
    account = MetaAccount.objects.create(
        organization=team.org,
        connected_by=team.adam,
        meta_app_id=settings.META_APP_ID,
        meta_user_id="70007",
        access_token="EAAGorgDeleteToken0123456789",
        connected_at=timezone.now(),
    )
    meta.delete(graph_url("me/permissions"), json={"success": True})

    data(team.client["olivia"].delete(f"/api/orgs/{team.org.pk}"))

    account.refresh_from_db()
    assert (account.status, account.access_token) == (MetaAccount.Status.REVOKED, "")
    assert [c.request.method for c in meta.calls] == ["DELETE"]


def test_if_meta_fails_the_organization_is_not_deleted(team, meta):
    MetaAccount.objects.create(
        organization=team.org,
        connected_by=team.adam,
        meta_app_id=settings.META_APP_ID,
        meta_user_id="70007",
        access_token="EAAGorgDeleteToken0123456789",
        connected_at=timezone.now(),
    )
    meta.delete(
        graph_url("me/permissions"), status=500, json=meta_error(2, "Service temporarily unavailable")
    )

    response = team.client["olivia"].delete(f"/api/orgs/{team.org.pk}")

    assert response.status_code >= 500
    assert Organization.objects.filter(pk=team.org.pk).exists()
    assert not AuditEntry.objects.filter(action="organization.delete").exists()

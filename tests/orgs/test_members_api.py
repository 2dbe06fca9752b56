"""GET /api/orgs/:id/members, PATCH|DELETE /api/orgs/:id/members/:userId: the role rules."""

import pytest

from orgs.models import AuditEntry, Membership, Organization
from tests.orgs.conftest import data, error, join

pytestmark = pytest.mark.django_db


def _url(team, user=None) -> str:
    return f"/api/orgs/{team.org.pk}/members" + (f"/{user.pk}" if user is not None else "")


def _role(team, user) -> str:
    return Membership.objects.get(organization=team.org, user=user).role


def test_every_member_lists_the_members(team):
    body = data(team.client["vera"].get(_url(team)))

    assert [(m["username"], m["role"]) for m in body["members"]] == [
        ("olivia", "owner"),
        ("adam", "admin"),
        ("agnes", "agent"),
        ("vera", "viewer"),
    ]
    first = body["members"][0]
    assert set(first) == {"id", "username", "email", "name", "role", "joinedAt"}
    assert (first["id"], first["email"], first["name"]) == (
        team.olivia.pk,
        "olivia@example.com",
        "Olivia Doe",
    )
    assert body["pagination"]["total"] == 4


def test_an_owner_changes_a_role_and_it_is_audited(team):
    body = data(team.client["olivia"].patch(_url(team, team.agnes), {"role": "admin"}, format="json"))

    assert body["role"] == "admin" and _role(team, team.agnes) == "admin"
    entry = AuditEntry.objects.get(action="member.role_change")
    assert (entry.actor, entry.target_id, entry.details) == (
        team.olivia,
        str(team.agnes.pk),
        {"old_role": "agent", "new_role": "admin"},
    )


def test_an_admin_manages_agents_and_viewers(team):
    data(team.client["adam"].patch(_url(team, team.vera), {"role": "agent"}, format="json"))
    assert _role(team, team.vera) == "agent"
    data(team.client["adam"].delete(_url(team, team.agnes)))
    assert not Membership.objects.filter(organization=team.org, user=team.agnes).exists()


@pytest.mark.parametrize(
    ("action", "target", "body"),
    [
        ("patch", "olivia", {"role": "admin"}),  # change an owner
        ("delete", "olivia", None),  # remove an owner
        ("patch", "vera", {"role": "owner"}),  # make an owner
    ],
)
def test_an_admin_cant_touch_owners(team, action, target, body):
    err = error(
        getattr(team.client["adam"], action)(_url(team, getattr(team, target)), body, format="json"), 403
    )

    assert err["code"] == "PERMISSION_DENIED"
    assert err["details"] == {"permission": "members.manage_owners", "role": "admin"}
    assert _role(team, team.olivia) == "owner" and _role(team, team.vera) == "viewer"
    assert not AuditEntry.objects.exists()


def test_nobody_raises_their_own_role(team):
    err = error(team.client["adam"].patch(_url(team, team.adam), {"role": "owner"}, format="json"), 403)
    assert err["code"] == "PERMISSION_DENIED"
    assert _role(team, team.adam) == "admin"


def test_a_member_may_lower_their_own_role(team):
    data(team.client["adam"].patch(_url(team, team.adam), {"role": "viewer"}, format="json"))
    assert _role(team, team.adam) == "viewer"


@pytest.mark.parametrize("who", ["agnes", "vera"])
def test_an_agent_or_viewer_cant_change_or_remove_members(team, who):
    err = error(team.client[who].patch(_url(team, team.vera), {"role": "agent"}, format="json"), 403)
    assert err["details"]["permission"] == "members.manage"
    error(team.client[who].delete(_url(team, team.adam)), 403)
    assert Membership.objects.filter(organization=team.org).count() == 4


def test_the_last_owner_cant_be_demoted_or_removed_or_leave(team):
    err = error(team.client["olivia"].patch(_url(team, team.olivia), {"role": "admin"}, format="json"), 409)
    assert err["code"] == "LAST_OWNER"
    err = error(team.client["olivia"].delete(_url(team, team.olivia)), 409)
    assert err["code"] == "LAST_OWNER"
    assert _role(team, team.olivia) == "owner"


def test_with_two_owners_one_may_step_down_then_the_other_is_the_last(team):
    data(team.client["olivia"].patch(_url(team, team.adam), {"role": "owner"}, format="json"))
    data(team.client["adam"].patch(_url(team, team.olivia), {"role": "admin"}, format="json"))

    err = error(team.client["adam"].delete(_url(team, team.adam)), 409)
    assert err["code"] == "LAST_OWNER"
    assert _role(team, team.adam) == "owner" and _role(team, team.olivia) == "admin"


def test_an_invalid_role_is_a_validation_error(team):
    err = error(team.client["olivia"].patch(_url(team, team.vera), {"role": "god"}, format="json"), 400)
    assert "role" in err["details"]
    assert _role(team, team.vera) == "viewer"


def test_an_unknown_member_is_404(team):
    error(team.client["olivia"].patch(_url(team, team.sam), {"role": "agent"}, format="json"), 404)
    error(team.client["olivia"].delete(f"/api/orgs/{team.org.pk}/members/abc"), 404)


def test_a_removed_member_gets_404_on_the_organization_next_time(team):
    assert team.client["agnes"].get(_url(team)).status_code == 200

    data(team.client["olivia"].delete(_url(team, team.agnes)))

    err = error(team.client["agnes"].get(_url(team)), 404)
    assert err["code"] == "NOT_FOUND"
    assert data(team.client["agnes"].get("/api/orgs")) == {"organizations": []}
    entry = AuditEntry.objects.get(action="member.remove")
    assert (entry.actor, entry.target_label, entry.details) == (team.olivia, "agnes", {"role": "agent"})


def test_any_member_may_leave_and_their_default_moves(team):
    other = Organization.objects.create(name="Other")
    join(team.vera, other, "agent")

    body = data(team.client["vera"].delete(_url(team, team.vera)))

    assert body == {"id": str(team.vera.pk), "removed": True}
    assert AuditEntry.objects.get(action="member.leave").actor == team.vera
    orgs = data(team.client["vera"].get("/api/orgs"))["organizations"]
    assert orgs == [{"id": str(other.pk), "name": "Other", "role": "agent", "isDefault": True}]


def test_a_removed_member_gets_404_on_every_endpoint_of_the_organization(team):
    """Through the Meta endpoints too: the organization in the header is no longer theirs."""
    header = {"HTTP_X_ORGANIZATION_ID": str(team.org.pk)}
    assert team.client["agnes"].get("/api/meta/notifications", **header).status_code == 200

    data(team.client["adam"].delete(f"/api/orgs/{team.org.pk}/members/{team.agnes.pk}"))

    for url in ("/api/meta/notifications", "/api/meta/whatsapp/templates", "/api/meta/auth/status"):
        assert error(team.client["agnes"].get(url, **header), 404)["code"] == "NOT_FOUND"
    # Without the header: no organization left at all.
    assert error(team.client["agnes"].get("/api/meta/notifications"), 409)["code"] == "NO_ORGANIZATION"

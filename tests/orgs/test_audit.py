"""The audit log: a row for each change a member makes, GET /api/orgs/:id/audit with its
filters, and who may read it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orgs.audit import Action, record
from orgs.models import AuditEntry
from tests.fake_graph import FakeGraph
from tests.orgs.conftest import client_for, data, error
from tests.world import build_world

pytestmark = pytest.mark.django_db


def _audit(team, who="olivia", **query):
    return team.client[who].get(f"/api/orgs/{team.org.pk}/audit", query)


def test_it_records_every_change_to_members_invitations_and_the_organization(team):
    olivia, org = team.client["olivia"], f"/api/orgs/{team.org.pk}"
    data(olivia.patch(org, {"name": "Acme Ltd"}, format="json"))
    data(olivia.patch(f"{org}/members/{team.vera.pk}", {"role": "agent"}, format="json"))
    invited = data(
        olivia.post(f"{org}/invitations", {"email": "sam@example.com", "role": "viewer"}, format="json")
    )
    data(team.client["sam"].post(f"/api/invitations/{invited['acceptUrl'].rsplit('/', 1)[1]}/accept"))
    other = data(
        olivia.post(f"{org}/invitations", {"email": "x@example.com", "role": "agent"}, format="json")
    )
    data(olivia.delete(f"{org}/invitations/{other['id']}"))
    data(olivia.delete(f"{org}/members/{team.agnes.pk}"))
    data(team.client["vera"].delete(f"{org}/members/{team.vera.pk}"))
    created = data(olivia.post("/api/orgs", {"name": "Second"}, format="json"))
    data(olivia.delete(f"/api/orgs/{created['id']}"))

    entries = data(_audit(team, limit=100))["entries"]

    assert [(e["action"], e["actor"]) for e in entries] == [
        ("member.leave", "vera"),
        ("member.remove", "olivia"),
        ("invitation.revoke", "olivia"),
        ("invitation.send", "olivia"),
        ("invitation.accept", "sam"),
        ("invitation.send", "olivia"),
        ("member.role_change", "olivia"),
        ("organization.rename", "olivia"),
    ]
    assert entries[-2]["details"] == {"oldRole": "viewer", "newRole": "agent"}
    assert set(entries[0]) == {
        "id", "action", "actorId", "actor", "targetType", "targetId", "targetLabel", "details", "createdAt",
    }  # fmt: skip
    # The other organization's rows stay in it.
    second = AuditEntry.objects.filter(organization_id=created["id"]).values_list("action", flat=True)
    assert sorted(second) == ["organization.create", "organization.delete"]


def test_it_filters_by_actor_action_and_dates_and_paginates(team):
    old = record(team.olivia, Action.ORGANIZATION_RENAME, team.org, old="A", new="B")
    AuditEntry.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    record(team.adam, Action.MEMBER_ROLE_CHANGE, team.vera, organization=team.org)
    record(team.olivia, Action.MEMBER_ROLE_CHANGE, team.agnes, organization=team.org)
    today = timezone.now().date()

    by_actor = data(_audit(team, actor=team.adam.pk))["entries"]
    assert [(e["actorId"], e["targetLabel"]) for e in by_actor] == [(team.adam.pk, "vera")]
    by_action = data(_audit(team, action="member.role_change"))["entries"]
    assert [e["targetLabel"] for e in by_action] == ["agnes", "vera"]
    recent = data(_audit(team, **{"from": (today - timedelta(days=1)).isoformat()}))
    assert recent["pagination"]["total"] == 2
    older = data(_audit(team, to=(today - timedelta(days=5)).isoformat()))["entries"]
    assert [e["id"] for e in older] == [old.pk]
    page = data(_audit(team, limit=1, offset=1))
    assert page["pagination"] | {"nextCursor": None} == {
        "total": 3,
        "totalEstimated": False,
        "limit": 1,
        "offset": 1,
        "nextOffset": 2,
        "nextCursor": None,
    }
    assert page["pagination"]["nextCursor"]
    assert page["entries"][0]["targetLabel"] == "vera"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"action": "nuke"}, "action"),
        ({"actor": "abc"}, "actor"),
        ({"from": "2026-13-01"}, "from"),
        ({"from": "2026-11-02", "to": "2026-11-01"}, "from"),
        ({"limit": "1000"}, "limit"),
    ],
)
def test_a_bad_filter_is_a_validation_error(team, query, field):
    assert field in error(_audit(team, **query), 400)["details"]


@pytest.mark.parametrize("who", ["agnes", "vera"])
def test_an_agent_or_viewer_cant_read_the_audit_log(team, who):
    err = error(_audit(team, who=who), 403)
    assert err["code"] == "PERMISSION_DENIED" and err["details"]["permission"] == "audit.read"


def test_an_admin_reads_it_and_a_stranger_gets_404(team):
    record(team.olivia, Action.ORGANIZATION_RENAME, team.org)
    assert data(_audit(team, who="adam"))["pagination"]["total"] == 1
    error(_audit(team, who="sam"), 404)


def test_record_refuses_an_unknown_action_or_a_target_without_organization(team):
    with pytest.raises(ValueError, match="Unknown"):
        record(team.olivia, "org.nuke", team.org)
    with pytest.raises(ValueError, match="No organization"):
        record(team.olivia, Action.MEMBER_REMOVE, team.vera)


# --- the other apps' changes, through their endpoints ------------------------------------


@pytest.fixture
def fake(meta):
    graph = FakeGraph(waba="12001", phones=["13001"])
    graph.install(meta)
    return graph


def test_it_records_the_changes_made_through_the_meta_endpoints(alice, fake):
    world = build_world(alice, base=1)
    client = client_for(alice)
    W = "/api/meta/whatsapp"
    template = {
        "name": "audit_notice",
        "language": "en_US",
        "category": "UTILITY",
        "components": [{"type": "BODY", "text": "Hi {{1}}, welcome.", "example": {"body_text": [["Ana"]]}}],
    }

    def ok(response):
        assert response.status_code < 300, response.content
        return response.json()["data"]

    ok(client.post("/api/meta/auth/connect", {"code": "AQDcode123"}, format="json"))
    created = ok(client.post(f"{W}/templates", template, format="json"))
    broadcast = ok(
        client.post(
            f"{W}/broadcasts",
            {
                "phoneNumberId": world.phone.phone_number_id,
                "template": {"name": world.template.name, "language": "en_US"},
                "recipients": [{"to": "+573001110001", "parameters": {"body": ["A-1"]}}],
            },
            format="json",
        )
    )
    ok(client.post(f"{W}/broadcasts/{broadcast['id']}/cancel"))
    world.template.status = "REJECTED"
    world.template.save()
    edited = [{"type": "BODY", "text": "Hello {{1}}, welcome.", "example": {"body_text": [["Ana"]]}}]
    ok(client.put(f"{W}/templates/{world.template.pk}", {"components": edited}, format="json"))
    ok(client.delete(f"{W}/templates/{created['id']}"))
    ok(
        client.post(
            "/api/meta/webhook/configure",
            {"verifyToken": "audit-verify-token", "fields": {"messages": True}},
            format="json",
        )
    )
    ok(client.put("/api/meta/analytics/settings", {"timezone": "America/Bogota"}, format="json"))
    ok(client.patch(f"{W}/account/profile", {"about": "Open 9-5"}, format="json"))
    ok(client.post("/api/meta/auth/disconnect", {"accountId": str(world.account.pk)}, format="json"))

    entries = AuditEntry.objects.order_by("id")
    assert [(e.action, e.actor) for e in entries] == [
        (action, alice)
        for action in [
            "account.connect",
            "template.create",
            "broadcast.create",
            "broadcast.cancel",
            "template.edit",
            "template.delete",
            "webhook.configure",
            "analytics_settings.update",
            "business_profile.update",
            "account.disconnect",
        ]
    ]
    assert {e.organization_id for e in entries} == {world.account.organization_id}
    by_action = {e.action: e for e in entries}
    assert by_action["template.create"].details == {"name": "audit_notice", "language": "en_US"}
    assert by_action["template.delete"].target_id == created["id"]
    assert by_action["broadcast.create"].details == {"template": world.template.name, "total": 1}
    assert by_action["analytics_settings.update"].details == {"timezone": "America/Bogota"}
    assert by_action["business_profile.update"].details == {"fields": ["about"]}
    assert by_action["account.disconnect"].target_id == str(world.account.pk)
    assert "audit-verify-token" not in str(by_action["webhook.configure"].details)

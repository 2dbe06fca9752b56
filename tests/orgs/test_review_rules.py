"""Rules a second read of the organizations work found holes in: role checks run on the rows as
they are when the change is written, an invitation never outlives its inviter's authority, and
a send may go out from any of the organization's numbers, whoever connected its account."""

from datetime import timedelta

import pytest
from django.utils import timezone

from botopia_meta.exceptions import RolePermissionDenied
from orgs import services
from orgs.models import Invitation, Membership
from tests.conftest import graph_url
from tests.factories import add_member, make_account, make_number, make_user, make_waba
from tests.orgs.conftest import data, error
from whatsapp.models import Contact

pytestmark = pytest.mark.django_db


def _membership(team, user) -> Membership:
    return Membership.objects.select_related("organization", "user").get(organization=team.org, user=user)


def test_an_admin_cannot_remove_a_member_made_owner_since_the_admin_read_them(team):
    adam, agnes = _membership(team, team.adam), _membership(team, team.agnes)  # read as an agent
    Membership.objects.filter(pk=agnes.pk).update(role="owner")  # promoted meanwhile
    Membership.objects.filter(user=team.olivia, organization=team.org).delete()  # the other owner left

    with pytest.raises(RolePermissionDenied):
        services.member_remove(actor=adam, member=agnes)
    assert Membership.objects.filter(organization=team.org, role="owner").count() == 1


def test_a_member_demoted_meanwhile_can_no_longer_change_roles(team):
    adam, vera = _membership(team, team.adam), _membership(team, team.vera)
    Membership.objects.filter(pk=adam.pk).update(role="viewer")

    with pytest.raises(RolePermissionDenied):
        services.member_role_change(actor=adam, member=vera, role="admin")
    assert _membership(team, team.vera).role == "viewer"


def test_a_removed_members_pending_invitations_stop_working(team):
    sent = data(
        team.client["adam"].post(
            f"/api/orgs/{team.org.pk}/invitations",
            {"email": "sam@example.com", "role": "admin"},
            format="json",
        )
    )
    data(team.client["olivia"].delete(f"/api/orgs/{team.org.pk}/members/{team.adam.pk}"))

    token = sent["acceptUrl"].rsplit("/", 1)[1]
    error(team.client["sam"].post(f"/api/invitations/{token}/accept"), 404)
    assert not Membership.objects.filter(organization=team.org, user=team.sam).exists()


def test_an_admin_demoted_to_agent_loses_their_pending_invitations(team):
    sent = data(
        team.client["adam"].post(
            f"/api/orgs/{team.org.pk}/invitations",
            {"email": "sam@example.com", "role": "agent"},
            format="json",
        )
    )
    data(
        team.client["olivia"].patch(
            f"/api/orgs/{team.org.pk}/members/{team.adam.pk}", {"role": "agent"}, format="json"
        )
    )

    assert Invitation.objects.get(pk=sent["id"]).revoked_at is not None


def test_an_admin_cannot_replace_an_owners_invitation_by_inviting_again(team):
    owner_invite = data(
        team.client["olivia"].post(
            f"/api/orgs/{team.org.pk}/invitations",
            {"email": "sam@example.com", "role": "owner"},
            format="json",
        )
    )

    body = error(
        team.client["adam"].post(
            f"/api/orgs/{team.org.pk}/invitations",
            {"email": "sam@example.com", "role": "agent"},
            format="json",
        ),
        403,
    )
    assert body["code"] == "PERMISSION_DENIED"
    assert Invitation.objects.get(pk=owner_invite["id"]).revoked_at is None


def test_a_send_goes_out_from_a_number_another_member_connected(meta, alice_client, alice):
    """Two members each connected a Meta account to the organization: a send naming the number
    of the older account goes out from it (it used to be 404: only the newest account's
    numbers were looked at)."""
    org = Membership.objects.get(user=alice).organization
    colleague = make_user("carmen", organization=False)
    add_member(org, colleague, "admin")
    older = make_account(
        colleague,
        organization=org,
        meta_user_id="meta-carmen",
        connected_at=timezone.now() - timedelta(days=3),
    )
    number = make_number(make_waba(older, waba_id="310000000000009"), phone_id="320000000000009")
    make_account(alice, connected_at=timezone.now())  # the newest account: no WhatsApp
    Contact.objects.create(phone_number=number, wa_id="5215512345678", last_inbound_at=timezone.now())
    meta.post(
        graph_url(f"{number.phone_number_id}/messages"),
        json={
            "messaging_product": "whatsapp",
            "contacts": [{"input": "5215512345678", "wa_id": "5215512345678"}],
            "messages": [{"id": "wamid.X"}],
        },
    )

    response = alice_client.post(
        "/api/meta/whatsapp/messages",
        {
            "phoneNumberId": number.phone_number_id,
            "to": "5215512345678",
            "type": "text",
            "text": {"body": "hola"},
        },
        format="json",
    )

    assert response.status_code == 202, response.content
    assert response.json()["data"]["phoneNumberId"] == number.phone_number_id

"""Which organization a request acts on: the X-Organization-Id header, else the caller's default
membership. Malformed, foreign, deleted or left organizations are 404 like any foreign object;
a caller in no organization gets 409 NO_ORGANIZATION."""

import pytest

from orgs.models import Membership
from tests.conftest import _client_for
from tests.factories import add_member, make_org, make_template, make_user
from tests.world import build_world

URL = "/api/meta/whatsapp/templates"


@pytest.fixture
def two_orgs(alice, bob):
    """Alice's own organization (her default) with its world, and Bob's team, where Alice is an
    agent, with another world."""
    own = build_world(alice, base=1)
    team = make_org("Team", owner=bob)
    add_member(team, alice, "agent")
    make_template(build_world(bob, base=2, organization=team).waba, name="team_only", template_id="26002")
    return own, team


def names(response) -> set[str]:
    assert response.status_code == 200, response.content[:300]
    return {t["name"] for t in response.json()["data"]["templates"]}


def error_of(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == code, error
    return error


def test_without_the_header_a_request_acts_on_the_default_organization(two_orgs, alice_client):
    own, _ = two_orgs
    assert names(alice_client.get(URL)) == {own.template.name}


def test_the_header_switches_organization_and_each_shows_only_its_own_data(two_orgs, alice_client):
    own, team = two_orgs
    assert names(alice_client.get(URL, HTTP_X_ORGANIZATION_ID=str(team.pk))) == {"team_only", "order_update"}
    assert names(alice_client.get(URL, HTTP_X_ORGANIZATION_ID=str(own.org.pk))) == {own.template.name}
    # An id of the other organization is 404 from this one, and found from its own.
    template_id = own.template.pk
    error_of(alice_client.get(f"{URL}/{template_id}", HTTP_X_ORGANIZATION_ID=str(team.pk)), 404, "NOT_FOUND")
    assert alice_client.get(f"{URL}/{template_id}", HTTP_X_ORGANIZATION_ID=str(own.org.pk)).status_code == 200


@pytest.mark.parametrize("header", ["not-a-uuid", "", "1' OR '1'='1", "0" * 5000, "\x00"])
def test_a_malformed_header_is_404(two_orgs, alice_client, header):
    error_of(alice_client.get(URL, HTTP_X_ORGANIZATION_ID=header), 404, "NOT_FOUND")


def test_an_organization_the_caller_is_not_in_is_404(two_orgs, alice_client, charlie):
    other = make_org("Elsewhere", owner=charlie)
    error_of(alice_client.get(URL, HTTP_X_ORGANIZATION_ID=str(other.pk)), 404, "NOT_FOUND")


def test_a_deleted_organization_is_404_even_to_its_members(two_orgs, alice_client):
    _, team = two_orgs
    team.soft_delete()
    error_of(alice_client.get(URL, HTTP_X_ORGANIZATION_ID=str(team.pk)), 404, "NOT_FOUND")


def test_a_removed_member_is_404_on_their_next_request(two_orgs, alice, alice_client):
    own, team = two_orgs
    assert alice_client.get(URL, HTTP_X_ORGANIZATION_ID=str(team.pk)).status_code == 200
    Membership.objects.filter(user=alice, organization=team).delete()
    error_of(alice_client.get(URL, HTTP_X_ORGANIZATION_ID=str(team.pk)), 404, "NOT_FOUND")
    assert names(alice_client.get(URL)) == {own.template.name}


def test_a_member_of_no_organization_gets_409(db):
    loner = make_user("loner", organization=False)
    error_of(_client_for(loner).get(URL), 409, "NO_ORGANIZATION")


def test_without_a_default_a_request_acts_on_the_earliest_joined(two_orgs, alice, alice_client):
    own, team = two_orgs
    Membership.objects.filter(user=alice).update(is_default=False)
    assert names(alice_client.get(URL)) == {own.template.name}
    Membership.objects.filter(user=alice, organization=own.org).delete()
    assert names(alice_client.get(URL)) == {"team_only", "order_update"}
    assert alice_client.get(URL, HTTP_X_ORGANIZATION_ID=str(team.pk)).status_code == 200


def test_an_anonymous_caller_is_still_401_whatever_the_header(two_orgs, anon_client):
    _, team = two_orgs
    error_of(anon_client.get(URL, HTTP_X_ORGANIZATION_ID=str(team.pk)), 401, "AUTHENTICATION_REQUIRED")


@pytest.mark.urls("tests.orgs.org_urls")
def test_the_organization_in_the_url_wins_over_the_header(two_orgs, alice_client):
    own, team = two_orgs
    url = f"/api/test/orgs/{team.pk}/members"
    response = alice_client.get(url, HTTP_X_ORGANIZATION_ID=str(own.org.pk))
    assert response.json()["data"] == {"org": str(team.pk), "role": "agent"}
    # Members may be listed by an agent; invitations are for members.manage.
    refused = alice_client.get(f"/api/test/orgs/{team.pk}/invitations")
    assert error_of(refused, 403, "PERMISSION_DENIED")["details"] == {
        "permission": "members.manage",
        "role": "agent",
    }
    assert alice_client.get(f"/api/test/orgs/{own.org.pk}/invitations").json()["data"]["role"] == "owner"


@pytest.mark.urls("tests.orgs.org_urls")
def test_a_foreign_or_malformed_organization_in_the_url_is_404(two_orgs, alice_client, charlie):
    other = make_org("Elsewhere", owner=charlie)
    for org_id in (other.pk, "nope"):
        error_of(alice_client.get(f"/api/test/orgs/{org_id}/members"), 404, "NOT_FOUND")


def test_a_browser_on_an_allowed_origin_may_send_the_header(db, client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.botopia.io"]
    preflight = client.options(
        URL,
        HTTP_ORIGIN="https://app.botopia.io",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, x-organization-id",
    )
    assert "x-organization-id" in preflight.headers["Access-Control-Allow-Headers"]

"""An organization with one member of each role, and a stranger, each with an email (invitations
match on it) and an API client.

    olivia: owner   adam: admin   agnes: agent   vera: viewer   sam: member of nothing here
"""

from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from orgs.models import Membership, Organization

CAST = {"olivia": "owner", "adam": "admin", "agnes": "agent", "vera": "viewer"}


def person(username: str, **fields):
    return get_user_model().objects.create_user(
        username=username, email=f"{username}@example.com", password=f"{username}-pw-0123", **fields
    )


def join(user, organization: Organization, role: str) -> Membership:
    """Membership with the role; the user's default if they had none."""
    has_default = Membership.objects.filter(user=user, is_default=True).exists()
    return Membership.objects.create(
        user=user, organization=organization, role=role, is_default=not has_default
    )


def client_for(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def team(db):
    """`team.org`, `team.<name>` (users), `team.client[<name>]`, for the cast and `sam`."""
    org = Organization.objects.create(name="Acme")
    users = {name: person(name, first_name=name.title(), last_name="Doe") for name in [*CAST, "sam"]}
    for name, role in CAST.items():
        join(users[name], org, role)
    return SimpleNamespace(org=org, client={name: client_for(user) for name, user in users.items()}, **users)


def data(response):
    assert response.status_code < 300, response.content
    return response.json()["data"]


def error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["success"] is False
    return body["error"]

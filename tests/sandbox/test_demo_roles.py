"""`make run`'s demo logins: demo owns the "Demo business" organization, agent is its agent, so
roles can be tried offline against the sandbox."""

import io

import pytest
from django.core.management import call_command

from orgs.models import Membership
from sandbox import bootstrap, demo
from tests.conftest import _client_for


def test_the_demo_user_owns_the_demo_business_and_agent_is_its_agent(db, settings, django_user_model):
    settings.DEBUG = True
    call_command("ensure_demo_user", stdout=io.StringIO())
    call_command("ensure_demo_user", stdout=io.StringIO())  # again: harmless
    rows = {
        (m.user.username, m.organization.name, m.role, m.is_default)
        for m in Membership.objects.select_related("user", "organization")
    }
    assert rows == {("demo", "Demo business", "owner", True), ("agent", "Demo business", "agent", True)}
    agent = django_user_model.objects.get(username="agent")
    assert agent.check_password("agent") and not agent.is_staff


@pytest.mark.usefixtures("sandbox")
def test_the_agent_reads_the_demo_business_but_may_not_broadcast(settings, worker):
    call_command("ensure_demo_user", stdout=io.StringIO())
    result = bootstrap.connect_demo_user()
    worker.drain()
    assert result["account"].organization.name == "Demo business"
    agent = _client_for(Membership.objects.get(user__username="agent").user)

    numbers = agent.get("/api/meta/whatsapp/phone-numbers").json()["data"]["phoneNumbers"]
    assert {n["phoneNumberId"] for n in numbers} == set(demo.PHONE_NUMBERS)
    refused = agent.post("/api/meta/whatsapp/broadcasts", {}, format="json")
    assert refused.status_code == 403
    assert refused.json()["error"]["details"] == {"permission": "broadcasts.create", "role": "agent"}

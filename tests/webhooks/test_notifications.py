"""GET /api/meta/notifications and POST /api/meta/notifications/:id/read."""

from datetime import timedelta
from uuid import uuid4

import pytest
from django.utils import timezone

from accounts.models import Notification, NotificationRead
from accounts.notifications import notify
from orgs.models import Role
from tests.factories import add_member, make_account, make_user
from tests.orgs.conftest import client_for

pytestmark = pytest.mark.django_db

LIST = "/api/meta/notifications"


@pytest.fixture
def alice_notifications(alice) -> list[Notification]:
    account = make_account(alice)
    now = timezone.now()
    made = []
    for minutes, title in [
        (30, "Template approved"),
        (20, "Quality dropped to YELLOW"),
        (10, "Token expiring"),
    ]:
        notification = notify(account=account, kind="test", title=title, severity="warning")
        Notification.objects.filter(pk=notification.pk).update(created_at=now - timedelta(minutes=minutes))
        made.append(notification)
    return made


def test_it_lists_the_callers_notifications_newest_first(alice_client, alice_notifications, bob):
    notify(account=make_account(bob), kind="test", title="Bob's secret")
    response = alice_client.get(LIST)
    assert response.status_code == 200
    data = response.json()["data"]
    assert [n["title"] for n in data["notifications"]] == [
        "Token expiring",
        "Quality dropped to YELLOW",
        "Template approved",
    ]
    first = data["notifications"][0]
    assert {"id", "kind", "severity", "title", "body", "read", "createdAt"} <= set(first)
    assert first["read"] is False and first["severity"] == "warning"
    assert data["pagination"] == {
        "total": 3,
        "limit": 25,
        "offset": 0,
        "nextOffset": None,
        "totalEstimated": False,
        "nextCursor": None,
    }


def test_it_filters_unread_and_paginates(alice, alice_client, alice_notifications):
    NotificationRead.objects.create(notification=alice_notifications[2], user=alice)
    unread = alice_client.get(LIST, {"unread": "true"}).json()["data"]["notifications"]
    assert [n["title"] for n in unread] == ["Quality dropped to YELLOW", "Template approved"]
    read = alice_client.get(LIST, {"unread": "false"}).json()["data"]["notifications"]
    assert [n["title"] for n in read] == ["Token expiring"]

    page = alice_client.get(LIST, {"limit": 2, "offset": 0}).json()["data"]
    assert len(page["notifications"]) == 2 and page["pagination"]["nextOffset"] == 2
    page = alice_client.get(LIST, {"limit": 2, "offset": 2}).json()["data"]
    assert [n["title"] for n in page["notifications"]] == ["Template approved"]
    assert page["pagination"]["nextOffset"] is None


@pytest.mark.parametrize("query", [{"unread": "maybe"}, {"limit": "0"}, {"limit": "500"}, {"offset": "-1"}])
def test_it_answers_400_to_bad_query_parameters(alice_client, alice_notifications, query):
    response = alice_client.get(LIST, query)
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == set(query)


def test_it_marks_a_notification_read(alice, alice_client, alice_notifications):
    target = alice_notifications[0]
    response = alice_client.post(f"{LIST}/{target.pk}/read")
    assert response.status_code == 200
    assert response.json()["data"]["read"] is True
    assert list(NotificationRead.objects.values_list("notification", "user")) == [(target.pk, alice.pk)]
    unread = alice_client.get(LIST, {"unread": "true"}).json()["data"]["notifications"]
    assert str(target.pk) not in {n["id"] for n in unread}
    assert alice_client.post(f"{LIST}/{target.pk}/read").status_code == 200  # idempotent


@pytest.mark.parametrize("make_id", [lambda n: n.pk, lambda n: uuid4(), lambda n: "not-a-uuid"])
def test_it_answers_404_for_someone_elses_or_a_missing_notification(bob_client, alice_notifications, make_id):
    response = bob_client.post(f"{LIST}/{make_id(alice_notifications[0])}/read")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert not NotificationRead.objects.exists()
    assert bob_client.get(LIST).json()["data"]["notifications"] == []


def test_it_requires_authentication(anon_client):
    assert anon_client.get(LIST).status_code == 401
    assert anon_client.post(f"{LIST}/{uuid4()}/read").status_code == 401


def test_read_state_is_per_member(alice, alice_client, alice_notifications):
    """Another member of the organization sees the same notifications, unread until they
    read them themselves."""
    colleague = make_user("colleague", organization=False)
    add_member(alice_notifications[0].account.organization, colleague, Role.AGENT)
    colleague_client = client_for(colleague)
    target = alice_notifications[0]

    assert alice_client.post(f"{LIST}/{target.pk}/read").status_code == 200

    mine = {n["id"]: n["read"] for n in alice_client.get(LIST).json()["data"]["notifications"]}
    theirs = {n["id"]: n["read"] for n in colleague_client.get(LIST).json()["data"]["notifications"]}
    assert mine[str(target.pk)] is True and theirs[str(target.pk)] is False
    assert set(mine) == set(theirs)
    unread = colleague_client.get(LIST, {"unread": "true"}).json()["data"]["pagination"]["total"]
    assert unread == 3

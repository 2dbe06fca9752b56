"""accounts 0003-0005 on a database with users from before organizations: each gets a personal
organization, as its owner and default, holding the Meta accounts they connected (and through
them everything else); a notification they had read stays read for them."""

import pytest

from tests.migrate import migrate_to, migrate_to_latest

BEFORE = [("accounts", "0002_granular_scopes_and_discovery")]


@pytest.mark.django_db(transaction=True)
def test_every_existing_user_gets_a_personal_organization_holding_their_accounts():
    old = migrate_to(BEFORE)
    User = old.get_model("auth", "User")
    MetaAccount = old.get_model("accounts", "MetaAccount")
    Notification = old.get_model("accounts", "Notification")
    ana = User.objects.create(username="ana", first_name="Ana", last_name="Pérez")
    ben = User.objects.create(username="ben")
    User.objects.create(username="cid")  # connected nothing
    anas = [
        MetaAccount.objects.create(user=ana, meta_app_id="1", meta_user_id=meta_user, access_token="x")
        for meta_user in ("10001", "10002")
    ]
    bens = MetaAccount.objects.create(user=ben, meta_app_id="1", meta_user_id="10001", access_token="y")
    read = Notification.objects.create(account=anas[0], kind="k", title="read one", read=True)
    Notification.objects.create(account=anas[1], kind="k", title="unread one", read=False)
    Notification.objects.create(account=bens, kind="k", title="ben's, unread", read=False)

    migrate_to_latest()

    from accounts.models import MetaAccount as Account
    from accounts.models import NotificationRead
    from orgs.models import Membership

    memberships = {m.user.username: m for m in Membership.objects.select_related("user", "organization")}
    assert set(memberships) == {"ana", "ben", "cid"}
    assert {(m.role, m.is_default) for m in memberships.values()} == {("owner", True)}
    assert memberships["ana"].organization.name == "Ana Pérez"
    assert memberships["ben"].organization.name == "ben"
    assert len({m.organization_id for m in memberships.values()}) == 3

    for username, accounts in (("ana", anas), ("ben", [bens])):
        moved = Account.objects.filter(organization=memberships[username].organization)
        assert {a.pk for a in moved} == {a.pk for a in accounts}
        assert {a.connected_by.username for a in moved} == {username}
    assert not Account.objects.filter(organization=memberships["cid"].organization).exists()
    assert list(NotificationRead.objects.values_list("notification_id", "user_id")) == [(read.pk, ana.pk)]

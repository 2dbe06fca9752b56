"""Two organizations connecting the same Meta user (so the same WABA and page) keep separate
accounts; webhook items are applied to each organization that has the asset, and each sees
only its own copy."""

import pytest

from accounts.models import MetaAccount
from botopia_meta.registry import WEBHOOK_HANDLERS
from facebook.models import Comment
from tests.accounts.conftest import fake_oauth_connect
from tests.conftest import _client_for, load_payload, payload_item
from tests.factories import (
    add_member,
    make_account,
    make_number,
    make_org,
    make_page,
    make_template,
    make_waba,
)
from whatsapp.models import Message, WhatsAppTemplate

CONNECT = "/api/meta/auth/connect"


def handle(item) -> None:
    WEBHOOK_HANDLERS[(item.object, item.field)](item)


@pytest.fixture
def shops(alice, bob):
    """Alice's and Bob's organizations, each with an account of the same Meta user (10001)."""
    return [make_account(user, meta_user_id="10001") for user in (alice, bob)]


def test_connecting_the_same_meta_user_in_two_organizations_keeps_two_accounts(alice, bob, meta):
    team = make_org("Team", owner=bob)
    add_member(team, alice, "admin")
    fake_oauth_connect(meta, code="code-a")
    own = _client_for(alice).post(CONNECT, {"code": "code-a"}, format="json")
    meta.reset()
    fake_oauth_connect(meta, code="code-a")
    shared = _client_for(alice).post(
        CONNECT, {"code": "code-a"}, format="json", HTTP_X_ORGANIZATION_ID=str(team.pk)
    )
    assert own.status_code == shared.status_code == 201
    accounts = MetaAccount.objects.filter(meta_user_id="10001").order_by("created_at")
    assert [(a.organization.name, a.connected_by) for a in accounts] == [
        ("alice's business", alice),
        ("Team", alice),
    ]

    # Bob reconnects the team's account: the same row, now recorded as connected by him.
    meta.reset()
    fake_oauth_connect(meta, code="code-b")
    again = _client_for(bob).post(
        CONNECT, {"code": "code-b"}, format="json", HTTP_X_ORGANIZATION_ID=str(team.pk)
    )
    assert again.status_code == 200
    assert again.json()["data"]["accountId"] == shared.json()["data"]["accountId"]
    assert MetaAccount.objects.get(pk=again.json()["data"]["accountId"]).connected_by == bob


def test_a_waba_item_is_applied_to_each_organization_that_has_the_waba(shops):
    templates = [make_template(make_waba(account), status="PENDING") for account in shops]
    handle(payload_item(load_payload("message_template_status_update__approved")))
    for template in templates:
        template.refresh_from_db()
        assert template.status == WhatsAppTemplate.Status.APPROVED
    assert {n.account.organization for t in templates for n in t.waba.account.notifications.all()} == {
        shops[0].organization,
        shops[1].organization,
    }


def test_a_page_comment_is_stored_for_each_organization_and_each_lists_its_own(shops, alice, bob):
    pages = [make_page(account, status="connected") for account in shops]
    handle(payload_item("page_feed__comment_add"))
    assert {c.page for c in Comment.objects.all()} == set(pages)
    for user, page in ((alice, pages[0]), (bob, pages[1])):
        comments = _client_for(user).get("/api/meta/comments").json()["data"]["comments"]
        assert [c["id"] for c in comments] == [str(Comment.objects.get(page=page).pk)]


# WhatsApp's `messages` field still follows the rule from before organizations: the oldest live
# number row with the phone_number_id takes every inbound message and status
# (whatsapp.account.selectors.phone_number_for_webhook). Across organizations that loses the
# second one's statuses and inbound messages. Left to the WhatsApp webhook pipeline's rework
# (statuses, wainbox): these say what "applied to each organization" means there.
SHARED_NUMBER = "the oldest number row takes WhatsApp messages and statuses (phone_number_for_webhook)"


@pytest.mark.xfail(strict=True, reason=SHARED_NUMBER)
def test_a_status_reaches_the_organization_whose_message_it_is(shops):
    numbers = [make_number(make_waba(account)) for account in shops]
    sent = Message.objects.create(
        direction=Message.Direction.OUTBOUND,
        phone_number=numbers[1],
        contact_wa_id="5215512345678",
        type="text",
        status=Message.Status.SENT,
        wamid="wamid.HBgNNTIxNTUxMjM0NTY3OBUCABEYEjQ1RkE2QTdFQjMwQjQ5QjNGQQA=",
    )
    handle(payload_item(load_payload("statuses__delivered")))
    sent.refresh_from_db()
    assert sent.status == Message.Status.DELIVERED
    assert not Message.objects.filter(phone_number=numbers[0]).exists()  # no orphan in the other


@pytest.mark.xfail(strict=True, reason=SHARED_NUMBER)
def test_an_inbound_message_reaches_each_organization_with_the_number(shops):
    numbers = [make_number(make_waba(account)) for account in shops]
    handle(payload_item(load_payload("messages__text")))
    assert [Message.objects.filter(phone_number=n, direction="inbound").count() for n in numbers] == [1, 1]

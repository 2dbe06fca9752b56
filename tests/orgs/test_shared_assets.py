"""Two organizations connecting the same Meta user (so the same WABA and page) keep separate
accounts; webhook items are applied to each organization that has the asset, and each sees
only its own copy."""

import base64
import hashlib
from uuid import UUID

import pytest
from django.db.models import Sum
from django.test import Client

from accounts.models import MetaAccount, Notification
from analytics.models import HourlyMetric
from botopia_meta.registry import WEBHOOK_HANDLERS
from facebook.models import Comment
from tests.accounts.conftest import fake_oauth_connect
from tests.conftest import _client_for, graph_url, load_payload, payload_item
from tests.factories import (
    add_member,
    make_account,
    make_number,
    make_org,
    make_page,
    make_template,
    make_waba,
)
from tests.webhooks.conftest import deliver
from whatsapp.models import Contact, Message, WhatsAppMedia, WhatsAppTemplate

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


def test_an_inbound_message_reaches_each_organization_with_the_number(shops):
    numbers = [make_number(make_waba(account)) for account in shops]
    handle(payload_item(load_payload("messages__text")))
    assert [Message.objects.filter(phone_number=n, direction="inbound").count() for n in numbers] == [1, 1]


# --- one WhatsApp number connected by two organizations --------------------------------------

STATUS_WAMID = "wamid.HBgNNTIxNTUxMjM0NTY3OBUCABEYEjQ1RkE2QTdFQjMwQjQ5QjNGQQA="  # statuses__*
CALLBACK_ID = "9b1c2f3e-0000-4000-8000-000000000001"  # statuses__delivered's biz_opaque_callback_data
MEDIA_ID = "1244556677889900"  # messages__image's
CDN = "https://lookaside.fbsbx.com/whatsapp_business/attachments/"
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8


def sent_message(number, **fields) -> Message:
    values = {
        "direction": Message.Direction.OUTBOUND,
        "phone_number": number,
        "contact_wa_id": "5215512345678",
        "type": "text",
        "status": Message.Status.SENT,
        **fields,
    }
    return Message.objects.create(**values)


def delivered_counts() -> dict:
    return dict(
        HourlyMetric.objects.filter(metric="delivered", dim_key="")
        .values_list("account_id")
        .annotate(n=Sum("count"))
        .order_by()
    )


def statuses_payload(*statuses: dict) -> dict:
    payload = load_payload("statuses__delivered")
    payload["entry"][0]["changes"][0]["value"]["statuses"] = list(statuses)
    return payload


def test_a_status_for_the_second_organizations_message_updates_only_it_and_counts_for_it(shops):
    a, b = (make_number(make_waba(account)) for account in shops)  # a connected first: the oldest row
    theirs = sent_message(a, wamid="wamid.alice-own-message")
    mine = sent_message(b, wamid=STATUS_WAMID)

    handle(payload_item("statuses__delivered"))
    handle(payload_item("statuses__delivered"))  # Meta redelivers: nothing twice

    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.status == Message.Status.DELIVERED and mine.pricing["category"] == "utility"
    assert theirs.status == Message.Status.SENT and theirs.delivered_at is None
    assert Message.objects.count() == 2  # no orphan made under the oldest row
    assert delivered_counts() == {shops[1].pk: 1}  # the analytics of the account that sent it


def test_a_status_finds_the_second_organizations_message_by_our_callback_id(shops):
    a, b = (make_number(make_waba(account)) for account in shops)
    mine = sent_message(b, pk=UUID(CALLBACK_ID), wamid=None)  # Meta's answer to the send not stored yet

    handle(payload_item("statuses__delivered"))

    mine.refresh_from_db()
    assert (mine.status, mine.wamid) == (Message.Status.DELIVERED, STATUS_WAMID)
    assert not Message.objects.filter(phone_number=a).exists()


def test_one_by_one_after_an_orphan_a_status_still_reaches_the_second_organization(shops):
    a, b = (make_number(make_waba(account)) for account in shops)
    mine = sent_message(b, wamid=STATUS_WAMID)
    orphan = {"id": "wamid.sent-from-the-phone", "status": "delivered", "timestamp": "1764330000"}
    ours = {"id": STATUS_WAMID, "status": "delivered", "timestamp": "1764330001"}

    handle(payload_item(statuses_payload(orphan, ours)))  # the orphan first: the rest one by one

    mine.refresh_from_db()
    assert mine.status == Message.Status.DELIVERED
    # The orphan is kept as before organizations: one row, under the oldest number row.
    assert list(Message.objects.filter(wamid=orphan["id"]).values_list("phone_number", "status")) == [
        (a.pk, Message.Status.DELIVERED)
    ]
    assert delivered_counts() == {shops[0].pk: 1, shops[1].pk: 1}


def test_failures_of_both_organizations_messages_notify_each_organization(shops):
    a, b = (make_number(make_waba(account)) for account in shops)
    failed = load_payload("statuses__failed")["entry"][0]["changes"][0]["value"]["statuses"][0]
    theirs = sent_message(a, wamid="wamid.alice-own-message")
    sent_message(b, wamid=STATUS_WAMID)

    handle(
        payload_item(statuses_payload({**failed, "id": theirs.wamid, "biz_opaque_callback_data": ""}, failed))
    )

    assert set(Message.objects.values_list("status", flat=True)) == {Message.Status.FAILED}
    assert sorted(
        Notification.objects.filter(kind="message_failed").values_list(
            "account__organization__name", flat=True
        )
    ) == sorted(account.organization.name for account in shops)


def test_an_inbound_image_is_stored_and_downloaded_once_for_each_organization(
    shops, worker, meta, alice, bob
):
    numbers = [make_number(make_waba(account)) for account in shops]
    payload = load_payload("messages__image")
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["image"]["sha256"] = base64.b64encode(
        hashlib.sha256(JPEG).digest()
    ).decode()
    lookup = {
        "messaging_product": "whatsapp",
        "url": f"{CDN}?mid={MEDIA_ID}&ext=1764329010&hash=ATtHbLz3k",
        "mime_type": "image/jpeg",
        "sha256": hashlib.sha256(JPEG).hexdigest(),
        "file_size": len(JPEG),
        "id": MEDIA_ID,
    }
    meta.get(graph_url(MEDIA_ID), json=lookup)
    meta.get(CDN, body=JPEG, content_type="image/jpeg")

    assert deliver(Client(), payload).status_code == 200
    payload["entry"][0]["time"] = 1764329020  # Meta redelivers it in another body: nothing twice
    assert deliver(Client(), payload).status_code == 200
    worker.drain()

    media = {m.phone_number_id: m for m in WhatsAppMedia.objects.all()}
    assert set(media) == {n.pk for n in numbers}
    assert {m.status for m in media.values()} == {WhatsAppMedia.Status.STORED}
    # Each organization's download asked Meta with its own account's token.
    downloads = [c.request for c in meta.calls if c.request.url.startswith(CDN)]
    tokens = sorted(r.headers["Authorization"] for r in downloads)
    assert tokens == sorted(f"Bearer {account.access_token}" for account in shops)  # one download each
    for user, number in ((alice, numbers[0]), (bob, numbers[1])):
        listed = (
            _client_for(user).get("/api/meta/whatsapp/messages?direction=inbound").json()["data"]["messages"]
        )
        message = Message.objects.get(phone_number=number, direction="inbound")
        assert [m["id"] for m in listed] == [str(message.pk)]
        assert message.content["media"]["url"] == f"/api/meta/whatsapp/media/{media[number.pk].pk}"
        assert Contact.objects.get(phone_number=number).name == "Sofía Pérez"
        got = _client_for(user).get(message.content["media"]["url"])
        assert got.status_code == 200 and b"".join(got.streaming_content) == JPEG


def test_after_the_first_organization_disconnects_the_second_keeps_receiving(shops, alice, meta):
    a, b = (make_number(make_waba(account)) for account in shops)
    mine = sent_message(b, wamid=STATUS_WAMID)
    meta.delete(graph_url("me/permissions"), json={"success": True})
    gone = _client_for(alice).post(
        "/api/meta/auth/disconnect", {"accountId": str(shops[0].pk)}, format="json"
    )
    assert gone.status_code == 200, gone.content

    theirs = sent_message(a, wamid="wamid.alice-own-message")
    their_status = {"id": theirs.wamid, "status": "delivered", "timestamp": "1764330000"}

    handle(payload_item("messages__text"))
    handle(payload_item("statuses__delivered"))
    handle(payload_item(statuses_payload(their_status)))

    assert Message.objects.filter(phone_number=b, direction="inbound").count() == 1
    mine.refresh_from_db()
    assert mine.status == Message.Status.DELIVERED
    # The disconnected organization's number gets nothing, and its message's status is no
    # orphan in the other's.
    assert list(Message.objects.filter(phone_number=a).values_list("pk", "status")) == [
        (theirs.pk, Message.Status.SENT)
    ]
    assert Message.objects.filter(phone_number=b).count() == 2

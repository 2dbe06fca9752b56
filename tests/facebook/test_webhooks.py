"""The `page` webhook handlers, fed the real payloads as the router hands them over."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from botopia_meta.registry import WEBHOOK_HANDLERS, ItemIgnored, WebhookItem
from facebook.models import Comment, Conversation, ConversationMessage
from tests.conftest import graph_url, meta_error, payload_item
from tests.factories import PAGE_ID, PAGE_TOKEN, make_account, make_page

pytestmark = pytest.mark.django_db


def handle(item: WebhookItem) -> None:
    WEBHOOK_HANDLERS[(item.object, item.field)](item)


def test_it_stores_a_comment_once(connected_page):
    item = payload_item("page_feed__comment_add")
    handle(item)
    handle(item)
    comment = Comment.objects.get()
    assert comment.page == connected_page
    assert comment.comment_id == "122100000000000001_1500000000000001"
    assert comment.post_id == "330000000000001_122100000000000001"
    assert comment.author_name == "Laura Gómez" and comment.message == "¿Precio de los zapatos rojos?"
    assert comment.created_time.timestamp() == 1764329100


def test_it_stores_the_comment_for_every_account_that_connected_the_page(connected_page, bob):
    bob_page = make_page(make_account(bob, meta_user_id="20002"), status="connected")
    handle(payload_item("page_feed__comment_add"))
    assert {c.page for c in Comment.objects.all()} == {connected_page, bob_page}


def test_it_does_not_store_posts_or_reactions_as_comments(connected_page):
    handle(payload_item("page_feed__post_add"))
    reaction = {
        "item": "reaction",
        "verb": "add",
        "post_id": "1_2",
        "reaction_type": "like",
        "from": {"id": "7"},
    }
    with pytest.raises(ItemIgnored):
        handle(WebhookItem(event_id=2, object="page", field="feed", entry_id=PAGE_ID, value=reaction))
    assert not Comment.objects.exists()


def test_it_ignores_comments_for_an_unknown_or_unconnected_page(alice_page):
    with pytest.raises(ItemIgnored, match=PAGE_ID):
        handle(payload_item("page_feed__comment_add"))
    assert not Comment.objects.exists()


def test_it_ignores_comments_when_the_account_is_revoked(connected_page):
    connected_page.account.status = "revoked"
    connected_page.account.save()
    with pytest.raises(ItemIgnored):
        handle(payload_item("page_feed__comment_add"))


def test_it_marks_a_removed_comment_deleted(connected_page):
    item = payload_item("page_feed__comment_add")
    handle(item)
    handle(
        WebhookItem(
            event_id=2, object="page", field="feed", entry_id=PAGE_ID, value={**item.value, "verb": "remove"}
        )
    )
    assert not Comment.objects.exists() and Comment.all_objects.count() == 1


def test_it_stores_a_messenger_message_once(connected_page):
    item = payload_item("page_messaging__message")
    handle(item)
    handle(item)
    conversation = Conversation.objects.get()
    assert conversation.contact_id == "8800000000000001" and conversation.unread_count == 1
    assert conversation.last_inbound_at.timestamp() == 1764329300
    message = ConversationMessage.objects.get()
    assert message.mid == "m_AbCdEf0123456789" and message.text == "¿Abren el domingo?"
    assert message.direction == "inbound"


@pytest.mark.parametrize("timestamp", [4102444800000, 10**20])  # 2100, and past year 9999
def test_a_messenger_timestamp_in_the_future_does_not_hold_the_window_open(connected_page, timestamp):
    from django.utils import timezone

    value = {**payload_item("page_messaging__message").value, "timestamp": timestamp}
    handle(WebhookItem(event_id=1, object="page", field="messages", entry_id=PAGE_ID, value=value))
    conversation = Conversation.objects.get()
    assert conversation.last_inbound_at <= timezone.now()
    assert conversation.messages.get().sent_at <= timezone.now()


def test_it_stores_an_echo_as_outbound_without_opening_the_window(connected_page):
    value = payload_item("page_messaging__message").value
    echo = {
        "sender": {"id": PAGE_ID},
        "recipient": {"id": "8800000000000001"},
        "timestamp": 1764329400000,
        "message": {"mid": "m_echo1", "text": "Sí, de 10 a 14", "is_echo": True},
    }
    handle(WebhookItem(event_id=1, object="page", field="messages", entry_id=PAGE_ID, value=value))
    handle(WebhookItem(event_id=2, object="page", field="messages", entry_id=PAGE_ID, value=echo))
    conversation = Conversation.objects.get()
    assert conversation.last_inbound_at.timestamp() == 1764329300
    assert conversation.messages.get(mid="m_echo1").direction == "outbound"


def test_it_ignores_messaging_items_without_a_message(connected_page):
    reaction = {
        "sender": {"id": "1"},
        "recipient": {"id": PAGE_ID},
        "timestamp": 1,
        "reaction": {"mid": "m_1", "action": "react", "emoji": "❤"},
    }
    with pytest.raises(ItemIgnored):
        handle(WebhookItem(event_id=1, object="page", field="messages", entry_id=PAGE_ID, value=reaction))
    assert not Conversation.objects.exists()


def test_it_marks_a_natively_scheduled_post_published_when_it_goes_live(connected_page):
    from facebook.models import Post

    post = Post.objects.create(
        page=connected_page, post_id="330000000000001_122100000000000002", status=Post.Status.SCHEDULED
    )
    handle(payload_item("page_feed__post_add"))
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED


def test_it_names_a_new_contact_from_their_messenger_profile(connected_page, meta, worker):
    meta.add(
        responses.GET,
        graph_url("8800000000000001"),
        json={"first_name": "Laura", "last_name": "Gómez", "id": "8800000000000001"},
    )
    handle(payload_item("page_messaging__message"))
    worker.drain()
    assert Conversation.objects.get().contact_name == "Laura Gómez"
    assert parse_qs(urlsplit(meta.calls[0].request.url).query)["access_token"] == [PAGE_TOKEN]


def test_it_keeps_the_conversation_when_the_profile_is_private(connected_page, meta, worker):
    meta.add(
        responses.GET,
        graph_url("8800000000000001"),
        json=meta_error(100, "No profile", subcode=2018218),
        status=400,
    )
    handle(payload_item("page_messaging__message"))
    worker.drain()
    assert Conversation.objects.get().contact_name == ""


def test_a_postback_opens_the_window_like_a_message(connected_page):
    postback = {
        "sender": {"id": "8800000000000001"},
        "recipient": {"id": PAGE_ID},
        "timestamp": 1764329300000,
        "postback": {"mid": "m_postback_1", "title": "Ver horarios", "payload": "HOURS"},
    }
    handle(WebhookItem(event_id=1, object="page", field="messages", entry_id=PAGE_ID, value=postback))
    conversation = Conversation.objects.get()
    assert conversation.last_inbound_at is not None
    assert conversation.messages.get().text == "Ver horarios"


def test_it_counts_a_received_comment_and_dm_once_for_analytics(connected_page, monkeypatch):
    from botopia_meta.inbox import spec as services  # where the inbox records analytics

    recorded = []
    monkeypatch.setattr(services, "record", lambda **kw: recorded.append(kw) or True)
    for _ in range(2):
        handle(payload_item("page_feed__comment_add"))
        handle(payload_item("page_messaging__message"))
    assert [(r["metric"], r["asset_id"], r["account_id"]) for r in recorded] == [
        ("comments_received", PAGE_ID, connected_page.account_id),
        ("dms_received", PAGE_ID, connected_page.account_id),
    ]
    assert (
        recorded[0]["key"]
        == f"fb:{connected_page.account_id}:comment:122100000000000001_1500000000000001:received"
    )
    assert recorded[0]["platform"] == "facebook" and recorded[0]["at"].timestamp() == 1764329100


def test_read_and_delivery_receipts_move_our_replies_forward(connected_page):
    from datetime import UTC, datetime

    conversation = Conversation.objects.create(page=connected_page, contact_id="8800000000000001")
    at = datetime.fromtimestamp(1764329000, tz=UTC)
    for mid, seconds in (("m_1", 0), ("m_2", 10), ("m_3", 500)):
        conversation.messages.create(
            mid=mid, direction="outbound", status="sent", text=mid, sent_at=at + timedelta(seconds=seconds)
        )

    def receipt(kind: str, body: dict) -> WebhookItem:
        value = {
            "sender": {"id": "8800000000000001"},
            "recipient": {"id": PAGE_ID},
            "timestamp": 1,
            kind: body,
        }
        return WebhookItem(event_id=1, object="page", field="messages", entry_id=PAGE_ID, value=value)

    handle(receipt("delivery", {"mids": ["m_2"], "watermark": (1764329000 + 10) * 1000}))
    handle(receipt("read", {"watermark": (1764329000 + 5) * 1000}))
    statuses = dict(conversation.messages.values_list("mid", "status"))
    assert statuses == {"m_1": "read", "m_2": "delivered", "m_3": "sent"}
    handle(receipt("delivery", {"mids": ["m_1"]}))  # late: never moves a message backwards
    assert conversation.messages.get(mid="m_1").status == "read"

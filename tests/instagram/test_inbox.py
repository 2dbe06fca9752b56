"""Instagram comments, mentions and DMs: webhook handlers and the shared inbox API."""

import json
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import responses
from django.utils import timezone

from botopia_meta.registry import WEBHOOK_HANDLERS, ItemIgnored, WebhookItem
from instagram.models import Comment, Conversation, ConversationMessage
from tests.conftest import graph_url, payload_item
from tests.facebook.test_inbox import make_comment as make_fb_comment
from tests.factories import make_page
from tests.instagram.conftest import IG_ID, PAGE_ID, PAGE_TOKEN

COMMENT_ID = "17860000000000001"


def handle(item: WebhookItem) -> None:
    WEBHOOK_HANDLERS[(item.object, item.field)](item)


@pytest.mark.django_db
class TestHandlers:
    def test_it_stores_a_comment_once(self, connected_ig):
        handle(payload_item("instagram_comments__add"))
        handle(payload_item("instagram_comments__add"))
        comment = Comment.objects.get()
        assert comment.ig_account == connected_ig and comment.comment_id == COMMENT_ID
        assert comment.media_id == "17900000000000001" and comment.author_name == "laura.g"
        assert comment.message == "Me encanta 😍 ¿hay talla 38?"

    def test_it_ignores_an_unconnected_account(self, alice_ig):
        with pytest.raises(ItemIgnored, match=IG_ID):
            handle(payload_item("instagram_comments__add"))
        with pytest.raises(ItemIgnored):
            handle(payload_item("instagram_messaging__message"))
        assert not Comment.objects.exists() and not Conversation.objects.exists()

    def test_it_stores_a_dm_once(self, connected_ig):
        handle(payload_item("instagram_messaging__message"))
        handle(payload_item("instagram_messaging__message"))
        conversation = Conversation.objects.get()
        assert conversation.contact_id == "990000000000001" and conversation.unread_count == 1
        message = ConversationMessage.objects.get()
        assert message.mid == "aWdfZAG1faXRlbTox" and message.text == "Hola, ¿hacen envíos?"

    def test_it_reads_a_mentions_text_from_meta(self, connected_ig, meta):
        meta.add(
            responses.GET,
            graph_url(IG_ID),
            json={
                "mentioned_comment": {
                    "id": "17870000000000001",
                    "text": "@zapateria.sofia mirad esto",
                    "timestamp": "2026-11-28T11:00:00+0000",
                    "username": "ana.r",
                    "media": {"id": "17900000000000777"},
                },
                "id": IG_ID,
            },
        )
        item = WebhookItem(
            event_id=1,
            object="instagram",
            field="mentions",
            entry_id=IG_ID,
            value={"media_id": "17900000000000777", "comment_id": "17870000000000001"},
        )
        handle(item)
        handle(item)
        comment = Comment.objects.get()
        assert comment.is_mention and comment.message == "@zapateria.sofia mirad esto"
        assert comment.author_name == "ana.r" and len(meta.calls) == 1


@pytest.mark.django_db
class TestInboxApi:
    def test_it_merges_facebook_and_instagram_comments(self, alice_client, connected_ig):
        fb_page = connected_ig.account.facebook_pages.get()
        fb_page.status = "connected"
        fb_page.save()
        make_fb_comment(fb_page, minutes_ago=10)
        handle(payload_item("instagram_comments__add"))
        Comment.objects.update(created_time=timezone.now() - timedelta(minutes=1))
        data = alice_client.get("/api/meta/comments").json()["data"]
        assert [c["platform"] for c in data["comments"]] == ["instagram", "facebook"]
        assert data["comments"][0]["igAccountId"] == IG_ID and data["comments"][0]["pageId"] is None
        assert data["pagination"]["total"] == 2
        only_ig = alice_client.get(f"/api/meta/comments?igAccountId={IG_ID}").json()["data"]["comments"]
        assert [c["platform"] for c in only_ig] == ["instagram"]

    def test_it_replies_and_hides_through_meta(self, alice_client, connected_ig, meta):
        handle(payload_item("instagram_comments__add"))
        comment = Comment.objects.get()
        meta.add(responses.POST, graph_url(f"{COMMENT_ID}/replies"), json={"id": "17860000000000002"})
        meta.add(responses.POST, graph_url(COMMENT_ID), json={"success": True})

        reply = alice_client.post(
            f"/api/meta/comments/{comment.pk}/reply", {"message": "¡Sí!"}, format="json"
        )
        hide = alice_client.post(f"/api/meta/comments/{comment.pk}/hide")

        assert reply.json()["data"]["replyText"] == "¡Sí!" and hide.json()["data"]["hidden"] is True
        assert parse_qs(meta.calls[0].request.body)["message"] == ["¡Sí!"]
        assert parse_qs(meta.calls[0].request.body)["access_token"] == [PAGE_TOKEN]
        assert parse_qs(meta.calls[1].request.body)["hide"] == ["true"]
        assert alice_client.get("/api/meta/comments?unreplied=true").json()["data"]["comments"] == []

    def test_it_refuses_a_dm_reply_outside_24_hours(self, alice_client, connected_ig, meta):
        handle(payload_item("instagram_messaging__message"))
        conversation = Conversation.objects.get()
        Conversation.objects.update(last_inbound_at=timezone.now() - timedelta(hours=24, minutes=1))
        response = alice_client.post(
            f"/api/meta/conversations/{conversation.pk}/messages", {"text": "Hola"}, format="json"
        )
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "OUTSIDE_SERVICE_WINDOW"
        assert len(meta.calls) == 0 and conversation.messages.count() == 1

    def test_bob_gets_404_for_alices_instagram_inbox(self, bob_client, bob_ig_account, connected_ig, meta):
        make_page(bob_ig_account, page_id="555", status="connected")
        handle(payload_item("instagram_comments__add"))
        handle(payload_item("instagram_messaging__message"))
        comment, conversation = Comment.objects.get(), Conversation.objects.get()
        assert bob_client.get("/api/meta/comments").json()["data"]["comments"] == []
        assert bob_client.get("/api/meta/conversations").json()["data"]["conversations"] == []
        assert bob_client.post(f"/api/meta/comments/{comment.pk}/hide").status_code == 404
        assert bob_client.delete(f"/api/meta/comments/{comment.pk}").status_code == 404
        assert bob_client.get(f"/api/meta/conversations/{conversation.pk}/messages").status_code == 404
        response = bob_client.post(
            f"/api/meta/conversations/{conversation.pk}/messages", {"text": "x"}, format="json"
        )
        assert response.status_code == 404 and len(meta.calls) == 0


def test_it_sends_an_instagram_dm_inside_the_window(alice_client, connected_ig, meta, worker):
    handle(payload_item("instagram_messaging__message"))
    conversation = Conversation.objects.get()
    Conversation.objects.update(last_inbound_at=timezone.now() - timedelta(hours=2))
    meta.add(
        responses.POST,
        graph_url(f"{PAGE_ID}/messages"),
        json={"recipient_id": "990000000000001", "message_id": "aWdf_sent"},
    )
    meta.add(responses.GET, graph_url("990000000000001"), json={"name": "Laura", "username": "laura.g"})

    response = alice_client.post(
        f"/api/meta/conversations/{conversation.pk}/messages",
        {"imageUrl": "https://cdn.example.com/talla.jpg"},
        format="json",
    )
    assert response.status_code == 202
    worker.drain()

    sent = ConversationMessage.objects.get(pk=response.json()["data"]["id"])
    assert sent.status == "sent" and sent.mid == "aWdf_sent"
    (send,) = [call for call in meta.calls if call.request.method == "POST"]
    assert json.loads(send.request.body) == {
        "recipient": {"id": "990000000000001"},
        "message": {"attachment": {"type": "image", "payload": {"url": "https://cdn.example.com/talla.jpg"}}},
    }
    listed = alice_client.get("/api/meta/conversations?platform=instagram").json()["data"]["conversations"]
    assert [c["id"] for c in listed] == [str(conversation.pk)] and listed[0]["unreadCount"] == 0
    assert listed[0]["contactName"] == "laura.g"


@pytest.mark.django_db
def test_a_seen_receipt_marks_our_instagram_replies_read(connected_ig):
    handle(payload_item("instagram_messaging__message"))
    conversation = Conversation.objects.get()
    reply = conversation.messages.create(
        mid="aWdf_reply", direction="outbound", status="sent", text="¡Sí!", sent_at=timezone.now()
    )
    seen = {
        "sender": {"id": "990000000000001"},
        "recipient": {"id": IG_ID},
        "timestamp": 1,
        "read": {"mid": "aWdf_reply"},
    }
    handle(WebhookItem(event_id=2, object="instagram", field="messages", entry_id=IG_ID, value=seen))
    reply.refresh_from_db()
    assert reply.status == "read"
    assert conversation.messages.get(mid="aWdfZAG1faXRlbTox").status == "received"

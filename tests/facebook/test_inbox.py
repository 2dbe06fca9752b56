"""The cross-platform inbox API, seen through Facebook comments and Messenger."""

import json
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import responses
from django.utils import timezone

from botopia_meta.tasks import DEFAULT_MAX_RETRIES
from facebook.models import Comment, Conversation, ConversationMessage
from tests.conftest import graph_url, meta_error
from tests.factories import PAGE_ID, PAGE_TOKEN, make_account, make_page

COMMENT_ID = "122100000000000001_1500000000000001"


def make_comment(page, *, comment_id: str = COMMENT_ID, minutes_ago: int = 5, author_id: str = "71", **extra):
    return Comment.objects.create(
        page=page,
        comment_id=comment_id,
        post_id=f"{PAGE_ID}_1221",
        parent_id=f"{PAGE_ID}_1221",
        author_id=author_id,
        author_name="Laura Gómez",
        message="¿Precio?",
        created_time=timezone.now() - timedelta(minutes=minutes_ago),
        **extra,
    )


def make_conversation(page, *, hours_ago: float = 1, contact_id: str = "8800000000000001"):
    at = timezone.now() - timedelta(hours=hours_ago)
    conversation = Conversation.objects.create(
        page=page, contact_id=contact_id, last_message_at=at, last_inbound_at=at, unread_count=1
    )
    ConversationMessage.objects.create(
        conversation=conversation,
        mid=f"m_{contact_id}",
        direction="inbound",
        text="¿Abren?",
        status="received",
        sent_at=at,
    )
    return conversation


@pytest.mark.django_db
class TestComments:
    def test_it_lists_the_callers_comments_newest_first(self, alice_client, connected_page):
        older = make_comment(connected_page, comment_id="1_1", minutes_ago=30)
        newer = make_comment(connected_page, comment_id="1_2", minutes_ago=1)
        data = alice_client.get("/api/meta/comments").json()["data"]
        assert [c["id"] for c in data["comments"]] == [str(newer.pk), str(older.pk)]
        first = data["comments"][0]
        assert first["platform"] == "facebook" and first["pageId"] == PAGE_ID and first["commentId"] == "1_2"
        assert data["pagination"] == {
            "total": 2,
            "limit": 25,
            "offset": 0,
            "nextOffset": None,
            "totalEstimated": False,
            "nextCursor": None,
        }

    def test_it_filters_comments(self, alice_client, connected_page):
        make_comment(connected_page, comment_id="1_1", reply_id="r", replied_at=timezone.now())
        open_one = make_comment(connected_page, comment_id="1_2")
        make_comment(connected_page, comment_id="1_3", author_id=PAGE_ID)  # the page's own reply
        data = alice_client.get("/api/meta/comments?unreplied=true").json()["data"]
        assert [c["id"] for c in data["comments"]] == [str(open_one.pk)]
        assert alice_client.get("/api/meta/comments?platform=instagram").json()["data"]["comments"] == []
        # An Instagram account she doesn't have: a 404, like a lookup of it.
        assert alice_client.get("/api/meta/comments?igAccountId=178").status_code == 404
        assert len(alice_client.get(f"/api/meta/comments?pageId={PAGE_ID}").json()["data"]["comments"]) == 3
        tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
        assert alice_client.get(f"/api/meta/comments?startDate={tomorrow}").json()["data"]["comments"] == []

    def test_it_validates_comment_filters(self, alice_client, connected_page):
        response = alice_client.get("/api/meta/comments?platform=myspace&limit=0&startDate=yesterday")
        assert response.status_code == 400
        assert set(response.json()["error"]["details"]) == {"platform", "limit", "startDate"}

    def test_it_pages_the_merged_list(self, alice_client, connected_page):
        for i in range(3):
            make_comment(connected_page, comment_id=f"1_{i}", minutes_ago=i)
        data = alice_client.get("/api/meta/comments?limit=2&offset=2").json()["data"]
        assert [c["commentId"] for c in data["comments"]] == ["1_2"]
        assert data["pagination"] == {
            "total": 3,
            "limit": 2,
            "offset": 2,
            "nextOffset": None,
            "totalEstimated": False,
            "nextCursor": None,
        }

    def test_it_replies_through_meta_with_the_page_token(self, alice_client, connected_page, meta):
        comment = make_comment(connected_page)
        meta.add(responses.POST, graph_url(f"{COMMENT_ID}/comments"), json={"id": "1221_9999"})

        response = alice_client.post(
            f"/api/meta/comments/{comment.pk}/reply", {"message": "39,90 €"}, format="json"
        )

        assert response.status_code == 200
        assert response.json()["data"]["replyText"] == "39,90 €"
        body = parse_qs(meta.calls[0].request.body)
        assert body["message"] == ["39,90 €"] and body["access_token"] == [PAGE_TOKEN]
        comment.refresh_from_db()
        assert comment.reply_id == "1221_9999"
        assert alice_client.get("/api/meta/comments?unreplied=true").json()["data"]["comments"] == []

    def test_it_requires_a_reply_message(self, alice_client, connected_page, meta):
        comment = make_comment(connected_page)
        response = alice_client.post(
            f"/api/meta/comments/{comment.pk}/reply", {"message": "  "}, format="json"
        )
        assert response.status_code == 400 and "message" in response.json()["error"]["details"]
        assert len(meta.calls) == 0

    def test_it_hides_and_unhides_through_meta(self, alice_client, connected_page, meta):
        comment = make_comment(connected_page)
        meta.add(responses.POST, graph_url(COMMENT_ID), json={"success": True})
        assert alice_client.post(f"/api/meta/comments/{comment.pk}/hide").json()["data"]["hidden"] is True
        assert parse_qs(meta.calls[0].request.body)["is_hidden"] == ["true"]
        assert alice_client.post(f"/api/meta/comments/{comment.pk}/unhide").json()["data"]["hidden"] is False
        assert parse_qs(meta.calls[1].request.body)["is_hidden"] == ["false"]

    def test_it_deletes_through_meta(self, alice_client, connected_page, meta):
        comment = make_comment(connected_page)
        meta.add(responses.DELETE, graph_url(COMMENT_ID), json={"success": True})
        assert alice_client.delete(f"/api/meta/comments/{comment.pk}").status_code == 200
        assert alice_client.get("/api/meta/comments").json()["data"]["comments"] == []

    def test_it_keeps_the_comment_when_meta_refuses(self, alice_client, connected_page, meta):
        comment = make_comment(connected_page)
        meta.add(
            responses.POST,
            graph_url(COMMENT_ID),
            json=meta_error(100, "Unsupported post request", subcode=33),
            status=400,
        )
        assert alice_client.post(f"/api/meta/comments/{comment.pk}/hide").status_code == 502
        comment.refresh_from_db()
        assert comment.hidden is False

    def test_bob_gets_404_for_alices_comments(self, bob_client, bob, connected_page, meta):
        make_page(make_account(bob, meta_user_id="20002"), page_id="444", status="connected")
        comment = make_comment(connected_page)
        assert bob_client.get("/api/meta/comments").json()["data"]["comments"] == []
        for method, suffix in [("post", "/reply"), ("post", "/hide"), ("post", "/unhide"), ("delete", "")]:
            response = getattr(bob_client, method)(
                f"/api/meta/comments/{comment.pk}{suffix}", {"message": "x"}, format="json"
            )
            assert response.status_code == 404, suffix
        assert bob_client.post("/api/meta/comments/not-a-uuid/hide").status_code == 404
        assert len(meta.calls) == 0


@pytest.mark.django_db
class TestConversations:
    def test_it_lists_conversations_with_their_window(self, alice_client, connected_page):
        fresh = make_conversation(connected_page, hours_ago=1, contact_id="1")
        stale = make_conversation(connected_page, hours_ago=30, contact_id="2")
        data = alice_client.get("/api/meta/conversations").json()["data"]
        assert [(c["id"], c["canReply"]) for c in data["conversations"]] == [
            (str(fresh.pk), True),
            (str(stale.pk), False),
        ]
        assert data["conversations"][0]["lastMessageText"] == "¿Abren?"
        assert (
            alice_client.get("/api/meta/conversations?contact=2").json()["data"]["pagination"]["total"] == 1
        )
        Conversation.objects.filter(pk=stale.pk).update(unread_count=0)
        unread = alice_client.get("/api/meta/conversations?unread=true").json()["data"]["conversations"]
        assert [c["id"] for c in unread] == [str(fresh.pk)]

    def test_it_lists_a_conversations_messages(self, alice_client, connected_page):
        conversation = make_conversation(connected_page)
        data = alice_client.get(f"/api/meta/conversations/{conversation.pk}/messages").json()["data"]
        assert [m["text"] for m in data["messages"]] == ["¿Abren?"]
        assert data["messages"][0]["direction"] == "inbound"

    def test_it_refuses_a_reply_outside_the_24_hour_window(self, alice_client, connected_page, meta):
        conversation = make_conversation(connected_page, hours_ago=25)
        response = alice_client.post(
            f"/api/meta/conversations/{conversation.pk}/messages", {"text": "Hola"}, format="json"
        )
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "OUTSIDE_SERVICE_WINDOW"
        assert conversation.messages.count() == 1 and len(meta.calls) == 0

    def test_it_validates_the_message_body(self, alice_client, connected_page):
        conversation = make_conversation(connected_page)
        url = f"/api/meta/conversations/{conversation.pk}/messages"
        assert alice_client.post(url, {}, format="json").status_code == 400
        response = alice_client.post(url, {"imageUrl": "http://example.com/a.jpg"}, format="json")
        assert response.status_code == 400 and "imageUrl" in response.json()["error"]["details"]

    def test_it_marks_a_conversation_read(self, alice_client, connected_page):
        conversation = make_conversation(connected_page)
        assert (
            alice_client.post(f"/api/meta/conversations/{conversation.pk}/read").json()["data"]["unreadCount"]
            == 0
        )

    def test_bob_gets_404_for_alices_conversations(self, bob_client, bob, connected_page, meta):
        make_account(bob, meta_user_id="20002")
        conversation = make_conversation(connected_page)
        assert bob_client.get("/api/meta/conversations").json()["data"]["conversations"] == []
        base = f"/api/meta/conversations/{conversation.pk}"
        assert bob_client.get(f"{base}/messages").status_code == 404
        assert bob_client.post(f"{base}/messages", {"text": "x"}, format="json").status_code == 404
        assert bob_client.post(f"{base}/read").status_code == 404
        assert conversation.messages.count() == 1 and len(meta.calls) == 0


def test_it_sends_a_messenger_reply_once_through_the_worker(alice_client, connected_page, meta, worker):
    conversation = make_conversation(connected_page)
    meta.add(
        responses.POST,
        graph_url(f"{PAGE_ID}/messages"),
        json={"recipient_id": "8800000000000001", "message_id": "m_sent_1"},
    )

    response = alice_client.post(
        f"/api/meta/conversations/{conversation.pk}/messages", {"text": "Sí"}, format="json"
    )
    assert response.status_code == 202
    assert response.json()["data"]["status"] == "queued"
    worker.drain()

    sent = ConversationMessage.objects.get(pk=response.json()["data"]["id"])
    assert sent.status == "sent" and sent.mid == "m_sent_1"
    (call,) = meta.calls
    assert json.loads(call.request.body) == {
        "recipient": {"id": "8800000000000001"},
        "messaging_type": "RESPONSE",
        "message": {"text": "Sí"},
    }
    from facebook.actors import fb_deliver_message as message_deliver

    message_deliver(message_pk=str(sent.pk))  # a redelivered actor message
    assert len(meta.calls) == 1


def test_it_marks_a_reply_meta_refuses_failed(alice_client, connected_page, meta, worker):
    conversation = make_conversation(connected_page)
    meta.add(
        responses.POST,
        graph_url(f"{PAGE_ID}/messages"),
        json=meta_error(10, "outside of allowed window", subcode=2018278),
        status=400,
    )
    response = alice_client.post(
        f"/api/meta/conversations/{conversation.pk}/messages", {"text": "Sí"}, format="json"
    )
    worker.drain()
    sent = ConversationMessage.objects.get(pk=response.json()["data"]["id"])
    assert sent.status == "failed" and sent.error["code"] == 10


def test_it_never_sends_a_reply_twice_when_the_connection_drops_after_sending(
    alice_client, connected_page, meta, worker
):
    import requests
    from urllib3.exceptions import ProtocolError

    conversation = make_conversation(connected_page)
    # The request left; the connection was reset before Meta's answer arrived.
    meta.add(
        responses.POST,
        graph_url(f"{PAGE_ID}/messages"),
        body=requests.exceptions.ConnectionError(
            ProtocolError("Connection aborted.", ConnectionResetError())
        ),
    )
    meta.add(responses.POST, graph_url(f"{PAGE_ID}/messages"), json={"message_id": "m_second"})

    response = alice_client.post(
        f"/api/meta/conversations/{conversation.pk}/messages", {"text": "Sí"}, format="json"
    )
    worker.drain()

    assert len(meta.calls) == 1  # never re-sent: the customer may already have it
    sent = ConversationMessage.objects.get(pk=response.json()["data"]["id"])
    assert sent.status == "failed"


def test_a_reply_meta_keeps_refusing_with_5xx_fails_after_the_bounded_retries(
    alice_client, connected_page, meta, worker, settings
):
    settings.META_GRAPH_MAX_RETRIES = 0
    settings.META_GRAPH_CIRCUIT_FAILURES = 100
    conversation = make_conversation(connected_page)
    meta.add(responses.POST, graph_url(f"{PAGE_ID}/messages"), json=meta_error(2, "Unavailable"), status=503)
    response = alice_client.post(
        f"/api/meta/conversations/{conversation.pk}/messages", {"text": "Sí"}, format="json"
    )
    worker.drain()
    sent = ConversationMessage.objects.get(pk=response.json()["data"]["id"])
    assert sent.status == "failed" and sent.error["message"].startswith("Not sent after retries")
    assert len(meta.calls) == DEFAULT_MAX_RETRIES + 1  # the first try and the actor's retries


def test_the_sweep_fails_a_reply_cut_mid_send_and_requeues_one_whose_job_was_lost(
    alice_client, connected_page, meta, worker, settings
):
    from facebook.actors import fb_sweep_messages

    meta.add(responses.POST, graph_url(f"{PAGE_ID}/messages"), json={"message_id": "m_swept"})
    conversation = make_conversation(connected_page)
    long_ago = timezone.now() - timedelta(seconds=settings.REQUEUE_AFTER_SECONDS + 1)
    cut, lost = (
        ConversationMessage.objects.create(
            conversation=conversation, direction="outbound", text=text, status=status, sent_at=long_ago
        )
        for text, status in (("cut", "sending"), ("lost", "queued"))
    )
    ConversationMessage.objects.filter(pk__in=[cut.pk, lost.pk]).update(updated_at=long_ago)
    fb_sweep_messages.send()
    worker.drain()
    cut.refresh_from_db()
    lost.refresh_from_db()
    assert cut.status == "failed" and "may or may not have reached" in cut.error["message"]
    assert lost.status == "sent" and lost.mid == "m_swept"
    assert [json.loads(c.request.body)["message"]["text"] for c in meta.calls] == ["lost"]

"""Facebook and Instagram against the sandbox, over HTTP: what is published gets comments and a
DM by webhook (signed, through our receiver and queue); replies, hides and deletes reach the
sandbox and come back by webhook where Meta sends one; the 24-hour rule is ours."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from facebook.models import Comment as FbComment
from facebook.models import Conversation as FbConversation
from instagram.models import Comment as IgComment
from sandbox import demo
from sandbox.models import Comment, DirectMessage
from tests.sandbox.conftest import connect
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.usefixtures("sandbox")


@pytest.fixture
def page_connected(alice, alice_client, worker):
    connect(alice_client, worker)
    assert alice_client.post(f"/api/meta/facebook/pages/{demo.PAGE_ID}/connect").status_code == 200
    worker.drain()
    return alice_client


@pytest.fixture
def ig_connected(page_connected, worker):
    response = page_connected.post(f"/api/meta/instagram/accounts/{demo.IG_ID}/connect")
    assert response.status_code == 200, response.content
    worker.drain()
    return page_connected


def received(object_type: str) -> list[dict]:
    """Every `changes[]` value or `messaging[]` item our receiver stored for `object_type`."""
    out = []
    for event in WebhookEvent.objects.order_by("received_at", "id"):
        body = json.loads(bytes(event.raw_body))
        if body["object"] != object_type:
            continue
        for entry in body["entry"]:
            out.extend({"field": c["field"], **c["value"]} for c in entry.get("changes", []))
            out.extend({"field": "messaging", **m} for m in entry.get("messaging", []))
    return out


def comments(client, **params) -> list[dict]:
    response = client.get("/api/meta/comments", params)
    assert response.status_code == 200, response.content
    return response.json()["data"]["comments"]


def conversations(client, platform: str) -> list[dict]:
    response = client.get("/api/meta/conversations", {"platform": platform})
    assert response.status_code == 200, response.content
    return response.json()["data"]["conversations"]


def publish_post(client, message: str = "Fresh croissants") -> str:
    response = client.post(
        "/api/meta/facebook/posts", {"pageId": demo.PAGE_ID, "message": message}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()["data"]["id"]


def test_it_sends_comments_with_a_reply_thread_and_a_dm_after_a_page_post(page_connected, worker):
    post_id = publish_post(page_connected)
    worker.drain()

    feed = [v for v in received("page") if v["field"] == "feed"]
    assert [(v["item"], v["verb"], v["post_id"]) for v in feed if v["item"] == "status"] == [
        ("status", "add", post_id)  # the post itself
    ]
    added = [v for v in feed if v["item"] == "comment"]
    assert len(added) == demo.COMMENTS_PER_PUBLISH
    assert all(v["post_id"] == post_id and v["post"]["id"] == post_id for v in added)
    # Deliveries run concurrently, so their order is not fixed: one is a reply to another.
    [reply] = [v for v in added if v["parent_id"] != post_id]
    assert reply["parent_id"] in {v["comment_id"] for v in added if v["parent_id"] == post_id}
    stored = comments(page_connected, platform="facebook", postId=post_id)
    assert {c["commentId"] for c in stored} == {v["comment_id"] for v in added}
    assert {c["authorName"] for c in stored} <= {f"{p['first_name']} {p['last_name']}" for p in demo.PEOPLE}
    # The same comments through Meta's edge (the backfill's read path).
    assert Comment.objects.filter(object_id=post_id).count() == demo.COMMENTS_PER_PUBLISH

    [dm] = [m for m in received("page") if m["field"] == "messaging"]
    assert dm["recipient"]["id"] == demo.PAGE_ID and dm["message"]["text"] in demo.DM_TEXTS
    [conversation] = conversations(page_connected, "facebook")
    assert conversation["canReply"] is True
    assert conversation["contactName"]  # read from the sandbox's profile of that PSID


def test_it_takes_a_reply_a_hide_an_unhide_and_a_delete_and_answers_by_webhook(page_connected, worker):
    post_id = publish_post(page_connected)
    worker.drain()
    top = [
        c for c in comments(page_connected, platform="facebook", postId=post_id) if c["parentId"] == post_id
    ]
    target = top[0]

    response = page_connected.post(
        f"/api/meta/comments/{target['id']}/reply", {"message": "Yes, 8 to 6!"}, format="json"
    )
    assert response.status_code == 200, response.content
    hidden = page_connected.post(f"/api/meta/comments/{top[1]['id']}/hide")
    assert hidden.status_code == 200 and hidden.json()["data"]["hidden"] is True
    worker.drain()

    reply = Comment.objects.get(parent_id=target["commentId"], author_id=demo.PAGE_ID)
    assert reply.text == "Yes, 8 to 6!"
    assert Comment.objects.get(comment_id=top[1]["commentId"]).hidden is True
    feed = [v for v in received("page") if v["field"] == "feed" and v["item"] == "comment"]
    own = [v for v in feed if v["from"]["id"] == demo.PAGE_ID]
    assert [(v["comment_id"], v["parent_id"], v["message"]) for v in own] == [
        (reply.comment_id, target["commentId"], "Yes, 8 to 6!")
    ]
    assert [(v["verb"], v["comment_id"]) for v in feed if v["verb"] == "hide"] == [
        ("hide", top[1]["commentId"])
    ]
    ours = FbComment.objects.get(comment_id=target["commentId"])
    assert ours.reply_id == reply.comment_id
    assert FbComment.objects.filter(comment_id=reply.comment_id).count() == 1  # webhook deduplicated

    assert page_connected.post(f"/api/meta/comments/{top[1]['id']}/unhide").status_code == 200
    assert page_connected.delete(f"/api/meta/comments/{top[1]['id']}").status_code == 200
    worker.drain()
    row = Comment.objects.get(comment_id=top[1]["commentId"])
    assert (row.hidden, row.deleted) == (False, True)
    verbs = [v["verb"] for v in received("page") if v.get("comment_id") == top[1]["commentId"]]
    assert sorted(verbs) == ["add", "hide", "remove", "unhide"]
    assert FbComment.all_objects.get(comment_id=top[1]["commentId"]).deleted_at is not None


def test_it_delivers_and_reads_a_messenger_reply(page_connected, worker):
    publish_post(page_connected)
    worker.drain()
    [conversation] = conversations(page_connected, "facebook")

    response = page_connected.post(
        f"/api/meta/conversations/{conversation['id']}/messages", {"text": "We open at 8."}, format="json"
    )
    assert response.status_code == 202, response.content
    worker.drain()

    sent = DirectMessage.objects.get(direction="outbound")
    assert (sent.platform, sent.contact_id, sent.text) == (
        "facebook",
        conversation["contactId"],
        "We open at 8.",
    )
    receipts = [m for m in received("page") if "delivery" in m or "read" in m]
    assert [next(k for k in ("delivery", "read") if k in m) for m in receipts] == ["delivery", "read"]
    assert receipts[0]["delivery"]["mids"] == [sent.mid]
    messages = page_connected.get(f"/api/meta/conversations/{conversation['id']}/messages").json()["data"]
    outbound = [m for m in messages["messages"] if m["direction"] == "outbound"]
    assert [(m["mid"], m["status"]) for m in outbound] == [(sent.mid, "read")]


def test_it_refuses_a_reply_after_24_hours_itself_before_meta(page_connected, worker):
    publish_post(page_connected)
    worker.drain()
    [conversation] = conversations(page_connected, "facebook")
    FbConversation.objects.update(last_inbound_at=timezone.now() - timedelta(hours=25))

    response = page_connected.post(
        f"/api/meta/conversations/{conversation['id']}/messages", {"text": "Sorry, late"}, format="json"
    )

    assert response.status_code == 409, response.content
    worker.drain()
    assert not DirectMessage.objects.filter(direction="outbound").exists()  # never reached the sandbox


def test_the_sandbox_refuses_a_send_outside_the_window_as_meta_does(page_connected, worker):
    publish_post(page_connected)
    worker.drain()
    [conversation] = conversations(page_connected, "facebook")
    DirectMessage.objects.update(created_at=timezone.now() - timedelta(hours=25))
    queued = page_connected.post(
        f"/api/meta/conversations/{conversation['id']}/messages", {"text": "Hello?"}, format="json"
    )
    worker.drain()

    message = page_connected.get(f"/api/meta/conversations/{conversation['id']}/messages").json()["data"]
    [mine] = [m for m in message["messages"] if m["id"] == queued.json()["data"]["id"]]
    assert mine["status"] == "failed"
    assert (mine["error"]["code"], mine["error"]["subcode"]) == (10, 2018278)


def test_an_instagram_publish_with_an_ordinary_https_url_gets_comments_a_mention_and_a_dm(
    ig_connected, worker
):
    response = ig_connected.post(
        "/api/meta/instagram/media",
        {
            "accountId": demo.IG_ID,
            "mediaType": "IMAGE",
            "mediaUrl": "https://images.example.com/croissant.jpg",  # no DNS offline: the sandbox needs none
            "caption": "Giveaway! Tag a friend",
        },
        format="json",
    )
    assert response.status_code == 202, response.content
    worker.drain()

    publishes = ig_connected.get("/api/meta/instagram/publishes").json()["data"]["publishes"]
    assert [p["status"] for p in publishes] == ["published"]
    [media] = ig_connected.get("/api/meta/instagram/media", {"accountId": demo.IG_ID}).json()["data"]["media"]
    values = received("instagram")
    added = [v for v in values if v["field"] == "comments"]
    assert len(added) == demo.COMMENTS_PER_PUBLISH and all(v["media"]["id"] == media["id"] for v in added)
    [reply] = [v for v in added if "parent_id" in v]
    assert reply["parent_id"] in {v["id"] for v in added if "parent_id" not in v}
    [mention] = [v for v in values if v["field"] == "mentions"]
    [dm] = [v for v in values if v["field"] == "messaging"]
    assert dm["recipient"]["id"] == demo.IG_ID

    stored = IgComment.objects.filter(ig_account__ig_account_id=demo.IG_ID)
    assert stored.filter(is_mention=False).count() == demo.COMMENTS_PER_PUBLISH
    tagged = stored.get(is_mention=True)  # its text read back from Meta (mentioned_comment)
    assert (tagged.comment_id, tagged.message) == (mention["comment_id"], demo.MENTION_TEXT)
    [conversation] = conversations(ig_connected, "instagram")
    assert conversation["contactName"] in {p["username"] for p in demo.PEOPLE}


def test_it_takes_an_instagram_reply_and_hide(ig_connected, worker):
    response = ig_connected.post(
        "/api/meta/instagram/media",
        {"accountId": demo.IG_ID, "mediaType": "IMAGE", "mediaUrl": "https://images.example.com/cake.jpg"},
        format="json",
    )
    assert response.status_code == 202, response.content
    worker.drain()
    first = next(c for c in comments(ig_connected, platform="instagram") if not c["parentId"])

    assert (
        ig_connected.post(
            f"/api/meta/comments/{first['id']}/reply", {"message": "Thank you!"}, format="json"
        ).status_code
        == 200
    )
    assert ig_connected.post(f"/api/meta/comments/{first['id']}/hide").status_code == 200
    worker.drain()

    reply = Comment.objects.get(author_id=demo.IG_ID)
    assert (reply.parent_id, reply.text) == (first["commentId"], "Thank you!")
    assert Comment.objects.get(comment_id=first["commentId"]).hidden is True
    echoed = [v for v in received("instagram") if v["field"] == "comments" and v["id"] == reply.comment_id]
    assert echoed and echoed[0]["from"]["id"] == demo.IG_ID
    assert IgComment.objects.filter(comment_id=reply.comment_id).count() == 1


def test_an_instagram_dm_reply_is_sent(ig_connected, worker):
    from sandbox import social

    social.random_dm("instagram")  # what the periodic actor does; its delivery runs on the worker
    worker.drain()
    [conversation] = conversations(ig_connected, "instagram")

    response = ig_connected.post(
        f"/api/meta/conversations/{conversation['id']}/messages", {"text": "Hi!"}, format="json"
    )
    assert response.status_code == 202, response.content
    worker.drain()

    sent = DirectMessage.objects.get(direction="outbound")
    messages = ig_connected.get(f"/api/meta/conversations/{conversation['id']}/messages").json()["data"]
    assert [m["mid"] for m in messages["messages"] if m["direction"] == "outbound"] == [sent.mid]

"""The sandbox's comment and messaging answers, through the Django test client: comments show
from the moment they are made, and Meta's errors where Meta refuses."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sandbox import demo
from sandbox.models import Comment, DirectMessage
from tests.sandbox.test_graph_api import V, app_params, error, get

pytestmark = pytest.mark.usefixtures("sandbox_on")
PERSON = demo.PEOPLE[0]


@pytest.fixture
def page_token(client, db) -> str:
    user = client.get(f"{V}/oauth/access_token", {**app_params(), "code": "c1"}).json()["access_token"]
    return get(client, "me/accounts", user).json()["data"][0]["access_token"]


def post_with_comments(client, page_token: str) -> str:
    return client.post(f"{V}/{demo.PAGE_ID}/feed", {"message": "Hi", "access_token": page_token}).json()["id"]


def test_comments_show_once_made_with_the_reply_in_the_stream_only(client, page_token):
    post_id = post_with_comments(client, page_token)
    fields = "id,message,from{id,name},created_time,parent{id},is_hidden"
    assert get(client, f"{post_id}/comments", page_token, fields=fields).json()["data"] == []  # none yet

    Comment.objects.update(created_at=timezone.now() - timedelta(seconds=1))
    top = get(client, f"{post_id}/comments", page_token, fields=fields).json()["data"]
    stream = get(client, f"{post_id}/comments", page_token, fields=fields, filter="stream").json()["data"]
    assert len(top) == demo.COMMENTS_PER_PUBLISH - 1 and all("parent" not in c for c in top)
    [reply] = [c for c in stream if "parent" in c]
    assert reply["parent"]["id"] == top[0]["id"] and reply["is_hidden"] is False
    assert set(reply["from"]) == {"id", "name"}
    summary = get(client, post_id, page_token, fields="comments.summary(true).limit(0)").json()
    assert summary["comments"]["summary"]["total_count"] == demo.COMMENTS_PER_PUBLISH


def test_a_comment_not_made_yet_cannot_be_answered(client, page_token):
    post_with_comments(client, page_token)
    future = Comment.objects.filter(created_at__gt=timezone.now()).first()
    response = client.post(f"{V}/{future.comment_id}/comments", {"message": "hi", "access_token": page_token})
    error(response, 100, 33)


def test_the_send_api_refuses_unknown_people_and_closed_windows_as_meta(client, page_token):
    def send(recipient: str):
        body = {"recipient": {"id": recipient}, "messaging_type": "RESPONSE", "message": {"text": "Hi"}}
        return client.post(f"{V}/{demo.PAGE_ID}/messages?access_token={page_token}", body, "application/json")

    error(send("123456789"), 100, 2018001)
    error(send(PERSON["psid"]), 10, 2018278)  # never wrote
    error(get(client, PERSON["psid"], page_token, fields="first_name"), 100, 2018218)  # no profile yet

    DirectMessage.objects.create(
        mid="m_1",
        platform="facebook",
        contact_id=PERSON["psid"],
        direction="inbound",
        created_at=timezone.now(),
    )
    answer = send(PERSON["psid"]).json()
    assert answer["recipient_id"] == PERSON["psid"] and answer["message_id"].startswith("m_")
    profile = get(client, PERSON["psid"], page_token, fields="first_name,last_name").json()
    assert profile == {
        "id": PERSON["psid"],
        "first_name": PERSON["first_name"],
        "last_name": PERSON["last_name"],
    }
    DirectMessage.objects.filter(mid="m_1").update(created_at=timezone.now() - timedelta(hours=24, seconds=1))
    error(send(PERSON["psid"]), 10, 2018278)


def test_own_comments_cannot_be_hidden_and_deleted_ones_are_gone(client, page_token):
    post_with_comments(client, page_token)
    Comment.objects.update(created_at=timezone.now() - timedelta(seconds=1))
    comment = Comment.objects.filter(parent_id="").first()
    reply = client.post(
        f"{V}/{comment.comment_id}/comments", {"message": "Thanks", "access_token": page_token}
    )
    reply_id = reply.json()["id"]

    error(client.post(f"{V}/{reply_id}", {"is_hidden": "true", "access_token": page_token}), 100)
    assert client.delete(f"{V}/{comment.comment_id}?access_token={page_token}").json() == {"success": True}
    error(get(client, comment.comment_id, page_token), 100, 33)
    error(get(client, reply_id, page_token), 100, 33)  # its thread went with it

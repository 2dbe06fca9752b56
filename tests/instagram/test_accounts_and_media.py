from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from instagram.models import InstagramAccount
from tests.conftest import graph_url
from tests.instagram.conftest import IG_ID, PAGE_ID, PAGE_TOKEN

pytestmark = pytest.mark.django_db


def test_it_lists_the_callers_instagram_accounts(alice_client, alice_ig, bob_client):
    (account,) = alice_client.get("/api/meta/instagram/accounts").json()["data"]["accounts"]
    assert account == {
        "id": str(alice_ig.pk),
        "igAccountId": IG_ID,
        "username": "zapateria.sofia",
        "profilePicture": "https://scontent.example/ig.jpg",
        "status": "available",
        "createdAt": account["createdAt"],
    }
    assert bob_client.get("/api/meta/instagram/accounts").json()["data"]["accounts"] == []


@pytest.mark.parametrize("by", ["uuid", "meta id"])
def test_it_connects_an_account_through_its_page(alice_client, alice_ig, meta, by):
    meta.add(responses.POST, graph_url(f"{PAGE_ID}/subscribed_apps"), json={"success": True})
    key = str(alice_ig.pk) if by == "uuid" else IG_ID

    response = alice_client.post(f"/api/meta/instagram/accounts/{key}/connect")

    assert response.status_code == 200
    assert response.json()["data"] == {"id": str(alice_ig.pk), "igAccountId": IG_ID, "status": "connected"}
    body = parse_qs(meta.calls[0].request.body)
    assert body["access_token"] == [PAGE_TOKEN] and "messages" in body["subscribed_fields"][0]
    alice_ig.refresh_from_db()
    assert alice_ig.status == InstagramAccount.Status.CONNECTED


def test_it_answers_404_for_someone_elses_account(bob_client, bob_ig_account, alice_ig, meta):
    assert bob_client.post(f"/api/meta/instagram/accounts/{alice_ig.pk}/connect").status_code == 404
    assert bob_client.post(f"/api/meta/instagram/accounts/{IG_ID}/connect").status_code == 404
    assert bob_client.get(f"/api/meta/instagram/media?accountId={IG_ID}").status_code == 404
    assert len(meta.calls) == 0


def test_it_answers_409_when_the_linked_page_is_missing(alice_client, alice_ig, meta):
    alice_ig.account.facebook_pages.all().delete()
    response = alice_client.post(f"/api/meta/instagram/accounts/{IG_ID}/connect")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "PAGE_NOT_AVAILABLE"


def test_it_lists_media_with_counts_and_cursors(alice_client, connected_ig, meta):
    meta.add(
        responses.GET,
        graph_url(f"{IG_ID}/media"),
        json={
            "data": [
                {
                    "id": "17900000000000001",
                    "media_type": "IMAGE",
                    "media_url": "https://scontent.cdninstagram.com/a.jpg",
                    "permalink": "https://www.instagram.com/p/DAbc/",
                    "caption": "Invierno",
                    "timestamp": "2026-11-28T10:00:00+0000",
                    "like_count": 41,
                    "comments_count": 5,
                },
                {
                    "id": "17900000000000002",
                    "media_type": "VIDEO",
                    "thumbnail_url": "https://scontent.cdninstagram.com/t.jpg",
                    "media_url": "https://scontent.cdninstagram.com/v.mp4",
                    "permalink": "https://www.instagram.com/reel/DXyz/",
                    "timestamp": "2026-11-27T10:00:00+0000",
                    "like_count": 0,
                    "comments_count": 0,
                },
            ],
            "paging": {
                "cursors": {"before": "QVFIUb", "after": "QVFIUa"},
                "next": "https://graph.facebook.com/x",
            },
        },
    )

    response = alice_client.get(f"/api/meta/instagram/media?accountId={IG_ID}&limit=2&after=QVFIUz")

    data = response.json()["data"]
    assert data["media"][0] == {
        "id": "17900000000000001",
        "mediaType": "IMAGE",
        "mediaUrl": "https://scontent.cdninstagram.com/a.jpg",
        "permalink": "https://www.instagram.com/p/DAbc/",
        "caption": "Invierno",
        "timestamp": "2026-11-28T10:00:00Z",
        "likes": 41,
        "comments": 5,
    }
    assert data["media"][1]["caption"] == "" and data["media"][1]["likes"] == 0
    assert data["pagination"] == {"before": "QVFIUb", "after": "QVFIUa"}
    query = parse_qs(urlsplit(meta.calls[0].request.url).query)
    assert query["after"] == ["QVFIUz"] and query["limit"] == ["2"] and "like_count" in query["fields"][0]
    alice_client.get(f"/api/meta/instagram/media?accountId={IG_ID}&limit=2&after=QVFIUz")
    assert len(meta.calls) == 1  # cached


def test_it_validates_the_media_query(alice_client, connected_ig):
    response = alice_client.get("/api/meta/instagram/media?limit=abc")
    assert response.status_code == 400 and set(response.json()["error"]["details"]) == {"limit"}
    response = alice_client.get(f"/api/meta/instagram/media?accountId={IG_ID}&before=a&after=b")
    assert response.status_code == 400 and set(response.json()["error"]["details"]) == {"before"}


def test_it_uses_the_callers_connected_account_without_account_id(
    alice_client, bob_client, connected_ig, meta
):
    meta.add(responses.GET, graph_url(f"{IG_ID}/media"), json={"data": [], "paging": {}})
    response = alice_client.get("/api/meta/instagram/media")
    assert response.status_code == 200 and response.json()["data"]["media"] == []
    assert bob_client.get("/api/meta/instagram/media").status_code == 404


def test_it_backfills_recent_comments_after_connecting(alice_client, alice_ig, meta, worker):
    from instagram.models import Comment

    meta.add(responses.POST, graph_url(f"{PAGE_ID}/subscribed_apps"), json={"success": True})
    meta.add(
        responses.GET, graph_url(f"{IG_ID}/media"), json={"data": [{"id": "17900000000000001"}], "paging": {}}
    )
    meta.add(
        responses.GET,
        graph_url("17900000000000001/comments"),
        json={
            "data": [
                {
                    "id": "17860000000000005",
                    "text": "¿Envían a Canarias?",
                    "timestamp": "2026-11-28T09:00:00+0000",
                    "username": "pepe.l",
                    "from": {"id": "17841400000000123", "username": "pepe.l"},
                }
            ]
        },
    )

    assert alice_client.post(f"/api/meta/instagram/accounts/{IG_ID}/connect").status_code == 200
    worker.drain()

    comment = Comment.objects.get()
    assert comment.message == "¿Envían a Canarias?" and comment.author_name == "pepe.l"
    assert (
        comment.media_id == "17900000000000001"
        and comment.created_time.isoformat() == "2026-11-28T09:00:00+00:00"
    )

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.utils import timezone

from facebook.models import Post
from tests.conftest import graph_url, meta_error
from tests.facebook.conftest import PAGE_ID, PAGE_TOKEN

pytestmark = pytest.mark.django_db

POST_ID = f"{PAGE_ID}_122100000000000002"


def meta_posts(after: str = "QVFIUmFmter", before: str = "QVFIUbefore") -> dict:
    return {
        "data": [
            {
                "id": POST_ID,
                "message": "Nueva colección de invierno",
                "created_time": "2026-11-28T10:06:40+0000",
                "permalink_url": "https://www.facebook.com/330000000000001/posts/pfbid02xyz",
                "full_picture": "https://scontent.example/full.jpg",
                "status_type": "added_photos",
                "likes": {"data": [], "summary": {"total_count": 12, "can_like": True, "has_liked": False}},
                "comments": {
                    "data": [],
                    "summary": {"order": "ranked", "total_count": 3, "can_comment": True},
                },
            }
        ],
        "paging": {"cursors": {"before": before, "after": after}, "next": "https://graph.facebook.com/..."},
    }


def test_it_lists_posts_with_counts_and_cursors(alice_client, connected_page, meta):
    meta.add(responses.GET, graph_url(f"{PAGE_ID}/posts"), json=meta_posts())

    response = alice_client.get(f"/api/meta/facebook/posts?pageId={PAGE_ID}&limit=10")

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["posts"] == [
        {
            "id": POST_ID,
            "message": "Nueva colección de invierno",
            "createdTime": "2026-11-28T10:06:40Z",
            "type": "added_photos",
            "permalinkUrl": "https://www.facebook.com/330000000000001/posts/pfbid02xyz",
            "picture": "https://scontent.example/full.jpg",
            "likes": 12,
            "comments": 3,
        }
    ]
    assert data["pagination"] == {"before": "QVFIUbefore", "after": "QVFIUmFmter"}
    query = parse_qs(urlsplit(meta.calls[0].request.url).query)
    assert query["access_token"] == [PAGE_TOKEN] and query["limit"] == ["10"]
    assert "likes.summary(true).limit(0)" in query["fields"][0]


def test_it_uses_the_callers_connected_page_without_page_id(alice_client, bob_client, connected_page, meta):
    from tests.factories import make_page

    make_page(connected_page.account, page_id="777", token="other")  # available, not connected
    meta.add(responses.GET, graph_url(f"{PAGE_ID}/posts"), json=meta_posts())
    assert alice_client.get("/api/meta/facebook/posts").json()["data"]["posts"][0]["id"] == POST_ID
    assert bob_client.get("/api/meta/facebook/posts").status_code == 404


def test_it_follows_the_after_cursor(alice_client, connected_page, meta):
    meta.add(responses.GET, graph_url(f"{PAGE_ID}/posts"), json=meta_posts(after="next2"))
    alice_client.get(f"/api/meta/facebook/posts?pageId={PAGE_ID}&after=QVFIUmFmter")
    query = parse_qs(urlsplit(meta.calls[0].request.url).query)
    assert query["after"] == ["QVFIUmFmter"] and "before" not in query


def test_it_caches_the_posts_list_briefly(alice_client, connected_page, meta):
    meta.add(responses.GET, graph_url(f"{PAGE_ID}/posts"), json=meta_posts())
    first = alice_client.get(f"/api/meta/facebook/posts?pageId={PAGE_ID}").json()
    second = alice_client.get(f"/api/meta/facebook/posts?pageId={PAGE_ID}").json()
    assert first == second
    assert len(meta.calls) == 1


def test_it_validates_the_list_query(alice_client, connected_page, meta):
    response = alice_client.get("/api/meta/facebook/posts?pageId=abc&limit=500")
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"pageId", "limit"}
    assert len(meta.calls) == 0


def test_it_answers_404_for_someone_elses_page_posts(bob_client, bob_account, connected_page, meta):
    assert bob_client.get(f"/api/meta/facebook/posts?pageId={PAGE_ID}").status_code == 404
    response = bob_client.post(
        "/api/meta/facebook/posts", {"pageId": PAGE_ID, "message": "hi"}, format="json"
    )
    assert response.status_code == 404
    assert len(meta.calls) == 0 and not Post.objects.exists()


def test_it_publishes_a_post_now(alice_client, connected_page, meta):
    meta.add(responses.POST, graph_url(f"{PAGE_ID}/feed"), json={"id": POST_ID})
    meta.add(
        responses.GET,
        graph_url(POST_ID),
        json={"permalink_url": "https://www.facebook.com/p/1", "id": POST_ID},
    )

    response = alice_client.post(
        "/api/meta/facebook/posts",
        {"pageId": PAGE_ID, "message": "Hola", "link": "https://shop.example/rojo"},
        format="json",
    )

    assert response.status_code == 201
    data = response.json()["data"]
    assert data["id"] == POST_ID and data["permalinkUrl"] == "https://www.facebook.com/p/1"
    body = parse_qs(meta.calls[0].request.body)
    assert body["message"] == ["Hola"] and body["link"] == ["https://shop.example/rojo"]
    assert body["access_token"] == [PAGE_TOKEN] and "published" not in body
    post = Post.objects.get()
    assert post.status == Post.Status.PUBLISHED and post.post_id == POST_ID


def test_it_schedules_a_post_natively_at_meta(alice_client, connected_page, meta):
    meta.add(responses.POST, graph_url(f"{PAGE_ID}/feed"), json={"id": POST_ID})
    meta.add(responses.GET, graph_url(POST_ID), json={"permalink_url": "https://www.facebook.com/p/1"})
    when = (timezone.now() + timedelta(days=2)).replace(microsecond=0)

    response = alice_client.post(
        "/api/meta/facebook/posts",
        {"pageId": PAGE_ID, "message": "Mañana", "published": True, "scheduledPublishTime": when.isoformat()},
        format="json",
    )

    assert response.status_code == 201
    body = parse_qs(meta.calls[0].request.body)
    assert body["published"] == ["false"]
    assert body["scheduled_publish_time"] == [str(int(when.timestamp()))]
    post = Post.objects.get()
    assert post.status == Post.Status.SCHEDULED and post.scheduled_publish_time == when
    listed = alice_client.get("/api/meta/facebook/posts/scheduled").json()["data"]
    assert [p["postId"] for p in listed["posts"]] == [POST_ID]
    by_page = alice_client.get("/api/meta/facebook/posts/scheduled", {"pageId": PAGE_ID}).json()["data"]
    assert by_page["pagination"]["total"] == 1


def test_the_scheduled_list_checks_its_page_id(alice_client, bob_client, bob_account, connected_page):
    Post.objects.create(page=connected_page, post_id=POST_ID, status=Post.Status.SCHEDULED)
    url = "/api/meta/facebook/posts/scheduled"
    bad = alice_client.get(url, {"pageId": "not-a-page"})
    assert bad.status_code == 400 and "pageId" in bad.json()["error"]["details"]
    assert alice_client.get(url, {"pageId": "999"}).status_code == 404
    assert bob_client.get(url, {"pageId": PAGE_ID}).status_code == 404  # alice's page


@pytest.mark.parametrize("delta", [timedelta(minutes=5), timedelta(days=31), timedelta(minutes=-1)])
def test_it_refuses_a_scheduled_time_meta_would_refuse(alice_client, connected_page, meta, delta):
    when = timezone.now() + delta
    response = alice_client.post(
        "/api/meta/facebook/posts",
        {"pageId": PAGE_ID, "message": "x", "scheduledPublishTime": when.isoformat()},
        format="json",
    )
    assert response.status_code == 400
    assert "scheduledPublishTime" in response.json()["error"]["details"]
    assert len(meta.calls) == 0 and not Post.objects.exists()


def test_it_requires_a_message_or_a_link(alice_client, connected_page, meta):
    response = alice_client.post("/api/meta/facebook/posts", {"pageId": PAGE_ID}, format="json")
    assert response.status_code == 400
    assert "message" in response.json()["error"]["details"]
    assert len(meta.calls) == 0


def test_it_refuses_a_private_photo_url(alice_client, connected_page, meta):
    response = alice_client.post(
        "/api/meta/facebook/posts", {"pageId": PAGE_ID, "photoUrl": "https://127.0.0.1/x.jpg"}, format="json"
    )
    assert response.status_code == 400
    assert "photoUrl" in response.json()["error"]["details"]


def test_it_records_a_failed_publish_and_answers_metas_error(alice_client, connected_page, meta):
    meta.add(
        responses.POST, graph_url(f"{PAGE_ID}/feed"), json=meta_error(100, "Invalid parameter"), status=400
    )
    response = alice_client.post(
        "/api/meta/facebook/posts", {"pageId": PAGE_ID, "message": "x"}, format="json"
    )
    assert response.status_code == 502
    assert response.json()["error"]["details"]["metaCode"] == 100
    assert Post.objects.get().status == Post.Status.FAILED


def test_it_needs_the_publishing_permission(alice_client, connected_page, meta):
    connected_page.account.permissions = ["pages_show_list"]
    connected_page.account.save()
    response = alice_client.post(
        "/api/meta/facebook/posts", {"pageId": PAGE_ID, "message": "x"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["details"]["missing"] == ["pages_manage_posts"]


def test_it_publishes_a_photo_by_url(alice_client, connected_page, meta, monkeypatch):
    import socket

    from botopia_meta import safe_urls

    monkeypatch.setattr(
        safe_urls,
        "_resolve",
        lambda host, port, **kw: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))],
    )
    meta.add(responses.POST, graph_url(f"{PAGE_ID}/photos"), json={"id": "9001", "post_id": POST_ID})
    meta.add(responses.GET, graph_url(POST_ID), json={"permalink_url": "https://www.facebook.com/p/2"})

    response = alice_client.post(
        "/api/meta/facebook/posts",
        {"pageId": PAGE_ID, "message": "Rojo", "photoUrl": "https://cdn.example.com/rojo.jpg"},
        format="json",
    )

    assert response.status_code == 201 and response.json()["data"]["id"] == POST_ID
    body = parse_qs(meta.calls[0].request.body)
    assert body["url"] == ["https://cdn.example.com/rojo.jpg"] and body["caption"] == ["Rojo"]


def test_it_creates_an_unpublished_post_when_asked(alice_client, connected_page, meta):
    meta.add(responses.POST, graph_url(f"{PAGE_ID}/feed"), json={"id": POST_ID})
    meta.add(responses.GET, graph_url(POST_ID), json={"permalink_url": "https://www.facebook.com/p/1"})
    response = alice_client.post(
        "/api/meta/facebook/posts", {"pageId": PAGE_ID, "message": "x", "published": False}, format="json"
    )
    assert response.json()["data"]["status"] == "unpublished"
    assert parse_qs(meta.calls[0].request.body)["published"] == ["false"]


def test_it_cancels_a_scheduled_post_at_meta(alice_client, bob_client, bob_account, connected_page, meta):
    post = Post.objects.create(page=connected_page, post_id=POST_ID, status=Post.Status.SCHEDULED)
    assert bob_client.post(f"/api/meta/facebook/posts/{post.pk}/cancel").status_code == 404
    meta.add(responses.DELETE, graph_url(POST_ID), json={"success": True})
    response = alice_client.post(f"/api/meta/facebook/posts/{post.pk}/cancel")
    assert response.json()["data"]["status"] == "cancelled"
    assert len(meta.calls) == 1

from urllib.parse import parse_qs

import pytest
import responses

from facebook.models import FacebookPage
from tests.conftest import graph_url, meta_error
from tests.factories import PAGE_ID, PAGE_TOKEN, make_page

pytestmark = pytest.mark.django_db


def test_it_lists_the_callers_pages_in_the_contract_shape(alice_client, alice_page):
    response = alice_client.get("/api/meta/facebook/pages")
    assert response.status_code == 200
    (page,) = response.json()["data"]["pages"]
    assert page == {
        "id": str(alice_page.pk),
        "pageId": PAGE_ID,
        "name": "Zapatería Sofía",
        "category": "Shoe Store",
        "pictureUrl": "https://scontent.example/p.jpg",
        "status": "available",
        "createdAt": page["createdAt"],
    }
    assert "accessToken" not in page and PAGE_TOKEN not in response.content.decode()


def test_it_does_not_list_someone_elses_pages(bob_client, alice_page):
    assert bob_client.get("/api/meta/facebook/pages").json()["data"]["pages"] == []


def test_it_connects_a_page_by_subscribing_with_the_page_token(alice_client, alice_page, meta):
    meta.add(responses.POST, graph_url(f"{PAGE_ID}/subscribed_apps"), json={"success": True})
    meta.add(responses.GET, graph_url(f"{PAGE_ID}/posts"), json={"data": []})

    response = alice_client.post(f"/api/meta/facebook/pages/{PAGE_ID}/connect")

    assert response.status_code == 200
    assert response.json()["data"] == {"id": str(alice_page.pk), "pageId": PAGE_ID, "status": "connected"}
    body = parse_qs(meta.calls[0].request.body)
    assert body["access_token"] == [PAGE_TOKEN]
    assert set(body["subscribed_fields"][0].split(",")) >= {"feed", "messages"}
    alice_page.refresh_from_db()
    assert alice_page.status == FacebookPage.Status.CONNECTED


def test_it_answers_404_for_a_page_not_among_the_callers(bob_client, bob_account, alice_page, meta):
    response = bob_client.post(f"/api/meta/facebook/pages/{PAGE_ID}/connect")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert bob_client.post("/api/meta/facebook/pages/999/connect").status_code == 404
    assert len(meta.calls) == 0
    alice_page.refresh_from_db()
    assert alice_page.status == FacebookPage.Status.AVAILABLE


def test_it_leaves_the_page_unconnected_when_meta_refuses(alice_client, alice_page, meta):
    meta.add(
        responses.POST,
        graph_url(f"{PAGE_ID}/subscribed_apps"),
        json=meta_error(200, "Permissions error"),
        status=403,
    )
    response = alice_client.post(f"/api/meta/facebook/pages/{PAGE_ID}/connect")
    assert response.status_code == 403
    alice_page.refresh_from_db()
    assert alice_page.status == FacebookPage.Status.AVAILABLE


def test_it_disconnects_a_page(alice_client, connected_page, meta):
    meta.add(responses.DELETE, graph_url(f"{PAGE_ID}/subscribed_apps"), json={"success": True})
    response = alice_client.post(f"/api/meta/facebook/pages/{PAGE_ID}/disconnect")
    assert response.json()["data"]["status"] == "disconnected"


def test_it_syncs_pages_from_meta(alice_client, alice_account, meta):
    make_page(alice_account, page_id="999", token="old")
    meta.add(
        responses.GET,
        graph_url("me/accounts"),
        json={
            "data": [
                {
                    "id": PAGE_ID,
                    "name": "Zapatería Sofía",
                    "category": "Shoe Store",
                    "access_token": "EAAGnew-page-token",
                    "tasks": ["MANAGE", "CREATE_CONTENT"],
                    "picture": {"data": {"url": "https://scontent.example/new.jpg"}},
                }
            ],
            "paging": {"cursors": {"before": "b", "after": "a"}},
        },
    )
    response = alice_client.post("/api/meta/facebook/pages/sync", {}, format="json")
    assert response.status_code == 200
    assert [p["pageId"] for p in response.json()["data"]["pages"]] == [PAGE_ID]
    page = FacebookPage.objects.get(page_id=PAGE_ID)
    assert page.access_token == "EAAGnew-page-token"
    assert FacebookPage.all_objects.get(page_id="999").deleted_at is not None


def test_it_backfills_recent_comments_after_connecting(alice_client, alice_page, meta, worker):
    from facebook.models import Comment

    post_id = f"{PAGE_ID}_1221"
    meta.add(responses.POST, graph_url(f"{PAGE_ID}/subscribed_apps"), json={"success": True})
    meta.add(responses.GET, graph_url(f"{PAGE_ID}/posts"), json={"data": [{"id": post_id}], "paging": {}})
    meta.add(
        responses.GET,
        graph_url(f"{post_id}/comments"),
        json={
            "data": [
                {
                    "id": "1221_1",
                    "message": "¿Talla 40?",
                    "from": {"id": "71", "name": "Laura Gómez"},
                    "created_time": "2026-11-28T10:05:00+0000",
                }
            ],
            "paging": {"cursors": {"before": "b", "after": "a"}},
        },
    )

    assert alice_client.post(f"/api/meta/facebook/pages/{PAGE_ID}/connect").status_code == 200
    worker.drain()

    comment = Comment.objects.get()
    assert comment.message == "¿Talla 40?" and comment.post_id == post_id and comment.parent_id == post_id
    assert comment.created_time.isoformat() == "2026-11-28T10:05:00+00:00"


def test_it_keeps_metas_subscription_while_another_account_uses_the_page(
    alice_client, connected_page, bob, meta
):
    from tests.factories import make_account

    make_page(make_account(bob, meta_user_id="20002"), status=FacebookPage.Status.CONNECTED)
    response = alice_client.post(f"/api/meta/facebook/pages/{PAGE_ID}/disconnect")
    assert response.json()["data"]["status"] == "disconnected"
    assert len(meta.calls) == 0


def test_it_keeps_metas_subscription_while_a_linked_instagram_account_is_connected(
    alice_client, connected_page, meta
):
    from instagram.models import InstagramAccount

    ig = InstagramAccount.objects.create(
        account=connected_page.account, ig_account_id="17841400000000001", page_id=PAGE_ID, status="connected"
    )
    response = alice_client.post(f"/api/meta/facebook/pages/{PAGE_ID}/disconnect")
    assert response.json()["data"]["status"] == "disconnected"
    assert len(meta.calls) == 0  # Instagram's events still arrive through the page

    ig.status = "disconnected"
    ig.save()
    connected_page.status = "connected"
    connected_page.save()
    meta.add(responses.DELETE, graph_url(f"{PAGE_ID}/subscribed_apps"), json={"success": True})
    alice_client.post(f"/api/meta/facebook/pages/{PAGE_ID}/disconnect")
    assert [c.request.method for c in meta.calls] == ["DELETE"]

"""Lists over our own tables at any depth (issue 19): `cursor` pages, stable under inserts made
between pages; tampered or foreign cursors and deep offsets refused naming `cursor`; a `total`
that stops counting at COUNT_CAP and says when it is an estimate."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Notification
from botopia_meta.api import pagination
from facebook.models import Comment, Conversation, ConversationMessage
from tests.factories import PAGE_ID, make_account, make_page, make_whatsapp_account
from whatsapp.models import Message

MESSAGES = "/api/meta/whatsapp/messages"
NOTIFICATIONS = "/api/meta/notifications"


@pytest.fixture
def number(alice):
    return make_whatsapp_account(alice)[2]


def add_message(number, at, **fields) -> Message:
    values = {"direction": "outbound", "contact_wa_id": "15550001111", "type": "text", "status": "read"}
    return Message.objects.create(phone_number=number, created_at=at, **{**values, **fields})


def walk(client, path: str, limit: int, between=None) -> list[str]:
    """Every id, page by page through nextCursor; `between(n)` runs after page n."""
    ids, url, pages = [], f"{path}?limit={limit}", 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        data = response.json()["data"]
        key = next(k for k in data if k != "pagination")
        ids += [row["id"] for row in data[key]]
        pages += 1
        if between:
            between(pages)
        cursor = data["pagination"]["nextCursor"]
        url = f"{path}?limit={limit}&cursor={cursor}" if cursor else None
        assert pages < 50
    return ids


def test_message_cursor_pages_skip_and_repeat_nothing_while_messages_arrive(alice_client, number):
    now = timezone.now()
    # ties on created_at across a page boundary: the id breaks them
    same = now - timedelta(minutes=30)
    rows = [add_message(number, now - timedelta(minutes=i)) for i in range(1, 8)]
    rows += [add_message(number, same) for _ in range(4)]
    expected = [str(m.pk) for m in sorted(rows, key=lambda m: (m.created_at, str(m.pk)), reverse=True)]

    def arrive(page: int) -> None:  # new messages land on top while the client pages
        add_message(number, timezone.now(), direction="inbound", status="received")

    assert walk(alice_client, MESSAGES, 3, between=arrive) == expected


def test_a_page_by_cursor_keeps_the_filters_and_reports_the_whole_list(alice_client, number):
    now = timezone.now()
    for i in range(5):
        add_message(number, now - timedelta(minutes=i), status="failed")
        add_message(number, now - timedelta(minutes=i, seconds=30))
    first = alice_client.get(f"{MESSAGES}?status=failed&limit=2").json()["data"]
    assert first["pagination"]["total"] == 5 and first["pagination"]["totalEstimated"] is False
    cursor = first["pagination"]["nextCursor"]
    second = alice_client.get(f"{MESSAGES}?status=failed&limit=2&cursor={cursor}").json()["data"]
    assert [m["status"] for m in second["messages"]] == ["failed", "failed"]
    assert second["pagination"]["offset"] is None and second["pagination"]["nextOffset"] is None
    assert second["pagination"]["total"] == 5
    ids = {m["id"] for m in first["messages"]} | {m["id"] for m in second["messages"]}
    assert len(ids) == 4


def test_notification_cursor_pages_are_stable(alice_client, alice):
    account = make_account(alice)
    now = timezone.now()
    made = [
        Notification.objects.create(
            account=account, kind="k", title=f"n{i}", created_at=now - timedelta(hours=i)
        )
        for i in range(6)
    ]

    def arrive(page: int) -> None:
        Notification.objects.create(account=account, kind="k", title="new", created_at=timezone.now())

    assert walk(alice_client, NOTIFICATIONS, 4, between=arrive) == [str(n.pk) for n in made]


def test_inbox_comments_and_conversation_messages_page_by_cursor(alice_client, alice):
    page = make_page(make_account(alice), status="connected")
    now = timezone.now()
    comments = [
        Comment.objects.create(
            page=page,
            comment_id=f"{PAGE_ID}_c{i}",
            post_id=f"{PAGE_ID}_1",
            parent_id=f"{PAGE_ID}_1",
            author_id="71",
            created_time=now - timedelta(minutes=i),
        )
        for i in range(5)
    ]
    conversation = Conversation.objects.create(page=page, contact_id="71", last_message_at=now)
    messages = [
        ConversationMessage.objects.create(
            conversation=conversation,
            direction="inbound",
            status="received",
            sent_at=now - timedelta(minutes=i),
        )
        for i in range(5)
    ]

    def comment_arrives(n: int) -> None:
        Comment.objects.create(
            page=page, comment_id=f"{PAGE_ID}_new{n}", post_id=f"{PAGE_ID}_1", created_time=timezone.now()
        )

    def message_arrives(n: int) -> None:
        ConversationMessage.objects.create(
            conversation=conversation, direction="inbound", status="received", sent_at=timezone.now()
        )

    assert walk(alice_client, "/api/meta/comments", 2, between=comment_arrives) == [
        str(c.pk) for c in comments
    ]
    path = f"/api/meta/conversations/{conversation.pk}/messages"
    assert walk(alice_client, path, 2, between=message_arrives) == [str(m.pk) for m in messages]


def _error(response) -> dict:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    return error


def test_a_tampered_or_foreign_cursor_is_refused_naming_cursor(alice_client, alice, number):
    now = timezone.now()
    for i in range(3):
        add_message(number, now - timedelta(minutes=i))
        Notification.objects.create(account=number.waba.account, kind="k", title="t")
    cursor = alice_client.get(f"{MESSAGES}?limit=1").json()["data"]["pagination"]["nextCursor"]
    assert cursor
    _value, stamp, signature = cursor.split(":")
    forged = "WyIyMDk5LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwiZmZmZmZmZmYtZmZmZi1mZmZmLWZmZmYtZmZmZmZmZmZmZmZmIl0"
    for bad in (f"{forged}:{stamp}:{signature}", cursor[:-2], "garbage", "A" * 5000):
        assert "cursor" in _error(alice_client.get(MESSAGES, {"cursor": bad}))["details"]
    # a real cursor of one list is no cursor of another
    assert "cursor" in _error(alice_client.get(NOTIFICATIONS, {"cursor": cursor}))["details"]
    assert "cursor" in _error(alice_client.get("/api/meta/comments", {"cursor": cursor}))["details"]
    # and the genuine one still works
    assert alice_client.get(MESSAGES, {"cursor": cursor, "limit": 1}).status_code == 200


def test_offsets_stop_at_ten_thousand_and_point_to_cursor(alice_client, number):
    add_message(number, timezone.now())
    assert alice_client.get(f"{MESSAGES}?offset={pagination.MAX_OFFSET}").status_code == 200
    for path in (MESSAGES, NOTIFICATIONS, "/api/meta/comments", "/api/meta/conversations"):
        error = _error(alice_client.get(f"{path}?offset={pagination.MAX_OFFSET + 1}"))
        assert "`cursor`" in " ".join(error["details"]["offset"])
    cursor = alice_client.get(f"{MESSAGES}?limit=1").json()["data"]["pagination"]
    both = _error(alice_client.get(MESSAGES, {"offset": 1, "cursor": "x"}))
    assert "offset" in both["details"]
    assert cursor["nextCursor"] is None  # a single message: nothing follows


def test_the_total_is_exact_up_to_the_cap_then_an_estimate(alice_client, number, monkeypatch):
    monkeypatch.setattr(pagination, "COUNT_CAP", 5)
    now = timezone.now()
    for i in range(5):
        add_message(number, now - timedelta(minutes=i))
    exact = alice_client.get(f"{MESSAGES}?limit=2").json()["data"]["pagination"]
    assert (exact["total"], exact["totalEstimated"]) == (5, False)
    for i in range(5, 9):
        add_message(number, now - timedelta(minutes=i))
    with CaptureQueriesContext(connection) as queries:
        page = alice_client.get(f"{MESSAGES}?limit=2").json()["data"]["pagination"]
    assert page["totalEstimated"] is True and page["total"] >= 5
    assert page["nextOffset"] == 2 and page["nextCursor"]
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts and all("LIMIT 6" in sql for sql in counts)  # never an unbounded count
    # a filter matching few is exact again
    few = alice_client.get(f"{MESSAGES}?status=failed").json()["data"]["pagination"]
    assert (few["total"], few["totalEstimated"]) == (0, False)


def test_a_list_with_its_own_mixed_order_pages_by_cursor_in_that_order(alice_client, alice):
    """Templates sort by (-updatedAt, name, language): the cursor keeps that meaning (the
    primary key appended only breaks ties)."""
    from tests.factories import make_template
    from whatsapp.models import WhatsAppTemplate

    _, waba, _ = make_whatsapp_account(alice)
    for i, name in enumerate(["b_notice", "a_notice", "c_notice", "a_notice", "d_notice"]):
        make_template(waba, name=name, language=["en", "es", "fr", "pt_BR", "de"][i], template_id=f"59{i}")
    WhatsAppTemplate.objects.filter(name__in=["b_notice", "c_notice"]).update(updated_at=timezone.now())
    everything = alice_client.get("/api/meta/whatsapp/templates?limit=100").json()["data"]["templates"]
    assert len(everything) == 5
    assert walk(alice_client, "/api/meta/whatsapp/templates", 2) == [t["id"] for t in everything]

"""Each list's page query, built through the real selectors, is read off an index on PostgreSQL
(EXPLAIN on tables with realistic statistics: tens of thousands of rows over two tenants,
ANALYZEd), never a sequential scan of the big table: with cursors too."""

from datetime import timedelta
from itertools import product

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Notification, NotificationRead
from botopia_meta.api.pagination import keyset_after, keyset_ordering
from botopia_meta.inbox.selectors import comments_owned, conversations_owned
from botopia_meta.inbox.source import COMMENT_ORDER, CONVERSATION_ORDER, MESSAGE_ORDER
from botopia_meta.registry import INBOX_SOURCES
from facebook.models import Comment, Conversation, ConversationMessage
from tests.factories import PAGE_ID, default_org, make_page, make_whatsapp_account
from webhooks.selectors import notification_list
from whatsapp.messages.selectors import conversation_list, message_list
from whatsapp.models import Broadcast, Contact, Message

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="EXPLAIN plans are PostgreSQL's")

PER_TENANT = 15_000
STATUSES = ["read"] * 4 + ["delivered"] * 2 + ["sent"]


def _status(i: int) -> tuple[str, str]:
    if i % 10 < 3:
        return "inbound", "received"
    if i % 100 == 5:
        return "outbound", "failed"
    return "outbound", STATUSES[i % len(STATUSES)]


def _fill_messages(number, broadcast) -> None:
    now = timezone.now()
    rows = []
    for i in range(PER_TENANT):
        direction, status = _status(i)
        rows.append(
            Message(
                phone_number=number,
                direction=direction,
                status=status,
                contact_wa_id=str(15550000000 + i % 500),
                type="text",
                broadcast=broadcast if i % 50 == 7 else None,
                created_at=now - timedelta(seconds=PER_TENANT - i),
            )
        )
    Message.objects.bulk_create(rows, batch_size=2_000)


CONTACTS = 20_000


def _fill_contacts(number) -> None:
    """WhatsApp conversations with their stored state: one in ten unread, a few contacts with
    no message yet (no conversation)."""
    now = timezone.now()
    Contact.objects.bulk_create(
        (
            Contact(
                phone_number=number,
                wa_id=str(15560000000 + i),
                last_message_at=None if i % 97 == 0 else now - timedelta(seconds=i),
                unread_count=i % 3 if i % 10 == 0 else 0,
            )
            for i in range(CONTACTS)
        ),
        batch_size=2_000,
    )


@pytest.fixture
def world(alice, bob):
    numbers = {}
    for user, waba_id, phone_id in ((alice, "301", "401"), (bob, "302", "402")):
        number = make_whatsapp_account(user, waba_id=waba_id, phone_id=phone_id)[2]
        broadcast = Broadcast.objects.create(phone_number=number, template_name="t", template_language="en")
        _fill_messages(number, broadcast)
        _fill_contacts(number)
        numbers[user.username] = (number, broadcast)
    # one Meta account each (a caller with several: see ARCHITECTURE.md, growth plan)
    account = numbers["alice"][0].waba.account
    now = timezone.now()
    for owner in (account, numbers["bob"][0].waba.account):
        notifications = Notification.objects.bulk_create(
            Notification(account=owner, kind="k", title="t", created_at=now - timedelta(minutes=i))
            for i in range(5_000)
        )
        # read state is per member: a third read by the account's owner
        NotificationRead.objects.bulk_create(
            NotificationRead(notification=n, user=owner.connected_by) for n in notifications[::3]
        )
    conversations = []
    for owner, page_id in ((account, PAGE_ID), (numbers["bob"][0].waba.account, "330000000000002")):
        page = make_page(owner, page_id=page_id, status="connected")
        Comment.objects.bulk_create(
            Comment(
                page=page,
                comment_id=f"{page_id}_c{i}",
                post_id=f"{page_id}_{i % 20}",
                created_time=now - timedelta(minutes=i),
            )
            for i in range(5_000)
        )
        Conversation.objects.bulk_create(
            Conversation(page=page, contact_id=str(i), last_message_at=now - timedelta(minutes=i))
            for i in range(2_000)
        )
        conversation = Conversation.objects.filter(page=page).order_by("-last_message_at").first()
        ConversationMessage.objects.bulk_create(
            ConversationMessage(
                conversation=conversation,
                direction="inbound",
                status="received",
                sent_at=now - timedelta(minutes=i),
            )
            for i in range(3_000)
        )
        conversations.append(conversation)
    with connection.cursor() as cursor:
        for model in (
            Message,
            Contact,
            Notification,
            NotificationRead,
            Comment,
            Conversation,
            ConversationMessage,
        ):
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    return {"number": numbers["alice"][0], "broadcast": numbers["alice"][1], "conversation": conversations[0]}


SMALL = 500  # a sort of this many rows (the planner's estimate) is a handful, not the table


def plan_of(queryset) -> tuple[str, list[dict]]:
    """The plan as text, and its nodes (EXPLAIN's JSON, flattened)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        text = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        nodes, todo = [], [cursor.fetchone()[0][0]["Plan"]]
    while todo:
        node = todo.pop()
        nodes.append(node)
        todo.extend(node.get("Plans", []))
    return text, nodes


def assert_indexed(queryset, table: str, scope: str | tuple[str, ...]) -> None:
    """The first page and a page by cursor (from the middle of the list) are both read in order
    off an index: no sequential scan of the table and no sort of its matching rows."""
    ordering = keyset_ordering(queryset)
    assert ordering is not None
    names = [name.lstrip("-") for name in ordering]
    pages = [queryset.order_by(*ordering)[:26]]
    for key in queryset.order_by(*ordering).values_list(*names)[100:101]:
        pages.append(queryset.order_by(*ordering).filter(keyset_after(ordering, list(key)))[:26])
    for page in pages:
        plan, nodes = plan_of(page)
        assert "Index" in plan, plan
        assert f"Seq Scan on {table}" not in plan, plan
        # entered at the caller's own rows (the index starts with `scope`), not a walk of
        # everybody's rows newest first that filters out other tenants'
        conditions = [n.get("Index Cond", "") for n in nodes if n["Node Type"].endswith("Index Scan")]
        scopes = (scope,) if isinstance(scope, str) else scope
        assert any(name in condition for condition in conditions for name in scopes), plan
        # the index gives the order: no sort of every match (a few rows of a rare combination,
        # found by a bitmap of two indexes, may be sorted)
        # (an Incremental Sort only orders rows of equal created_at, as the index hands them over)
        sorted_rows = [n["Plan Rows"] for n in nodes if n["Node Type"] == "Sort"]
        assert all(rows <= SMALL for rows in sorted_rows), plan


MESSAGE_FILTERS = {
    "direction": [None, "inbound", "outbound"],
    "status": [None, "failed", "read", "received", "queued"],
    "contact": [None, "15550000007"],
}


@pytest.mark.django_db
def test_every_message_filter_and_combination_reads_an_index(world, alice):
    number, broadcast = world["number"], world["broadcast"]
    for direction, status, contact in product(*MESSAGE_FILTERS.values()):
        qs = message_list(org=default_org(alice), direction=direction, status=status, contact=contact)
        assert_indexed(qs, "whatsapp_message", "phone_number_id")
    for extra, scope in (
        ({"phone_number_id": number.phone_number_id}, "phone_number_id"),
        ({"phone_number_id": number.phone_number_id, "status": "failed"}, "phone_number_id"),
        ({"broadcast_id": broadcast.pk}, "broadcast_id"),
        ({"broadcast_id": broadcast.pk, "status": "read"}, "broadcast_id"),
        # a date range may also be entered at its first day: (created_at) bounds the walk
        (
            {"start": timezone.now() - timedelta(hours=1), "end": timezone.now()},
            ("phone_number_id", "created_at"),
        ),
        (
            {"start": timezone.now() - timedelta(hours=1), "direction": "inbound"},
            ("phone_number_id", "created_at"),
        ),
    ):
        assert_indexed(message_list(org=default_org(alice), **extra), "whatsapp_message", scope)


@pytest.mark.django_db
def test_notifications_and_inbox_lists_read_an_index(world, alice):
    for unread in (None, True, False):
        assert_indexed(
            notification_list(org=default_org(alice), user=alice, unread=unread),
            "accounts_notification",
            "account_id",
        )
    spec = INBOX_SOURCES["facebook"].spec
    assert_indexed(
        comments_owned(spec, org=default_org(alice)).order_by(*COMMENT_ORDER), "facebook_comment", "page_id"
    )
    assert_indexed(
        comments_owned(spec, org=default_org(alice), asset_id=PAGE_ID).order_by(*COMMENT_ORDER),
        "facebook_comment",
        "page_id",
    )
    conversations = conversations_owned(spec, org=default_org(alice)).filter(last_message_at__isnull=False)
    assert_indexed(conversations.order_by(*CONVERSATION_ORDER), "facebook_conversation", "page_id")
    messages = world["conversation"].messages.order_by(*MESSAGE_ORDER)
    assert_indexed(messages, "facebook_conversationmessage", "conversation_id")


@pytest.mark.django_db
def test_whatsapp_conversations_read_the_contact_index(world, alice):
    """The unified inbox's WhatsApp conversations, newest first by their stored last message:
    first page, each unread filter, a number, and deep pages by cursor, straight off
    (phone_number, -last_message_at, -id), never a scan of every contact."""
    org = default_org(alice)
    number = world["number"]
    for unread in (None, True, False):
        assert_indexed(conversation_list(org=org, unread=unread), "whatsapp_contact", "phone_number_id")
    only_one = conversation_list(org=org, phone_number_id=number.phone_number_id)
    assert_indexed(only_one, "whatsapp_contact", "phone_number_id")
    # deep: the cursor of the 15,000th conversation
    qs = conversation_list(org=org)
    key = list(qs.values_list("last_message_at", "id")[15_000])
    plan, nodes = plan_of(qs.filter(keyset_after(CONVERSATION_ORDER, key))[:26])
    assert "Seq Scan on whatsapp_contact" not in plan and "Sort" not in plan, plan
    assert any("contact_conversation_newest" in n.get("Index Name", "") for n in nodes), plan

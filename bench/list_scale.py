"""Benchmark: the lists at scale. One WhatsApp number holding N messages (default 10,000,000)
and 1,000,000 contacts (its inbox conversations, with their stored last message and unread
count), 1,000,000 webhook events and 1,000,000 status events (plus notifications, a Facebook
page's conversations and comments, one conversation with many messages), seeded with
INSERT ... SELECT generate_series on PostgreSQL, then each list timed through Django's full
request stack (test Client: middleware, token auth, throttling, renderer) and the staff
admin's changelists. Prints p50/p95 per case; the last line is one JSON object of figures.

Usage (its own database, created if missing, migrated, seeded once: a rerun with the same
sizes reuses the rows; --reseed starts over):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/botopia_listscale \\
    REDIS_URL=redis://127.0.0.1:6379/5 \\
    .venv/bin/python bench/list_scale.py [--messages 10000000] [--events 1000000] \\
        [--status-events 1000000] [--contacts 1000000] [--runs 40] [--reseed]

Targets (issue 19): every list's first page, with each filter and combination, p95 < 30 ms;
a page reached by cursor, however deep, p95 < 30 ms; admin changelists < 300 ms.
The seed takes about a minute per million messages and ~1 GB of disk per million (df -h).
"""

import argparse
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/botopia_listscale")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "botopia_meta.settings")
os.environ["API_RATE_LIMIT_USER"] = "100000000/m"  # we measure the lists, not our own throttle
os.environ.setdefault("CONN_MAX_AGE", "600")


def ensure_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin_url = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


ensure_database(os.environ["DATABASE_URL"])

import django  # noqa: E402

django.setup()
logging.getLogger("django.request").setLevel(logging.ERROR)  # the deep offset's 400 is expected

from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.db.models import NOT_PROVIDED, Model  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

CHUNK = 1_000_000
PHONE_NUMBER_ID = "710000000000001"
PAGE_ID = "720000000000001"
# About one outbound message in 37 belongs to the broadcast; failures are rare (1 in 100).
MESSAGE_COLUMNS = {
    "id": "gen_random_uuid()",
    "phone_number_id": "%(number)s",
    "broadcast_id": "CASE WHEN i %% 37 = 5 AND i %% 10 >= 3 THEN %(broadcast)s::uuid END",
    "direction": "CASE WHEN i %% 10 < 3 THEN 'inbound' ELSE 'outbound' END",
    "status": (
        "CASE WHEN i %% 10 < 3 THEN 'received' WHEN i %% 100 = 5 THEN 'failed' "
        "WHEN i %% 10 < 7 THEN 'read' WHEN i %% 10 < 9 THEN 'delivered' ELSE 'sent' END"
    ),
    # spread over the number's --contacts customers (7919 is prime: every one of them is reached)
    "contact_wa_id": "(15550000000 + (i::bigint * 7919) %% %(contacts)s)::text",
    "type": "'text'",
    "content": """jsonb_build_object('body', 'Hello number ' || i)""",
    "wamid": "'wamid.listscale.' || i",
    # newest first = highest i; ten rows a second going back from now
    "created_at": "now() - make_interval(secs => (%(total)s - i) / 10.0)",
    "updated_at": "now()",
}
# The number's customers, each a WhatsApp conversation once it has a message: their stored
# state (last message, its time, unread count) is then filled from the messages by the very
# data migration that fills it on upgrade (whatsapp 0010), timed.
CONTACT_COLUMNS = {
    "id": "gen_random_uuid()",
    "phone_number_id": "%(number)s",
    "wa_id": "(15550000000 + i - 1)::text",
    "name": "'Customer ' || i",
    "created_at": "now()",
    "updated_at": "now()",
}


def _literal(field) -> str:
    """A SQL literal for a column the seed does not set: its default, else NULL/empty."""
    from django.db.models import JSONField

    default = field.get_default() if field.default is not NOT_PROVIDED else None
    if isinstance(field, JSONField):
        return "'" + json.dumps(default if default is not None else {}) + "'::jsonb"
    if default is None:
        if field.null:
            return "NULL"
        internal = field.get_internal_type()
        if internal in ("DateTimeField", "DateField"):
            return "now()"
        if internal in ("BooleanField",):
            return "false"
        if "Integer" in internal or internal in ("FloatField", "DecimalField"):
            return "0"
        if internal == "BinaryField":
            return "''::bytea"
        return "''"
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, int | float):
        return str(default)
    if hasattr(default, "isoformat"):
        return "now()"
    return "'" + str(default).replace("'", "''").replace("%", "%%") + "'"


def insert_series(model: type[Model], count: int, columns: dict[str, str], params: dict) -> None:
    """INSERT ... SELECT over generate_series, in chunks, every column set (from `columns`, else
    the field's default) so new NOT NULL columns added by other branches don't break the seed."""
    table = model._meta.db_table
    names, values = [], []
    for field in model._meta.concrete_fields:
        if field.get_internal_type().endswith("AutoField") and field.column not in columns:
            continue  # the sequence numbers it
        names.append(connection.ops.quote_name(field.column))
        values.append(columns.get(field.column) or _literal(field))
    sql = (
        f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(values)} "
        "FROM generate_series(%(start)s, %(stop)s) AS i"
    )
    for start in range(1, count + 1, CHUNK):
        stop = min(count, start + CHUNK - 1)
        with connection.cursor() as cursor:
            cursor.execute(sql, {**params, "start": start, "stop": stop, "total": count})
        print(f"  {table}: {stop:,}/{count:,}", flush=True)


def fill_conversations() -> float | None:
    """Each contact's last message and unread count from its messages, by the migration that
    does it on upgrade (None on a tree without it). → seconds."""
    import importlib

    from django.apps import apps

    try:
        migration = importlib.import_module("whatsapp.migrations.0010_contact_conversation_state")
    except ImportError:
        return None
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE whatsapp_message")
    started = time.perf_counter()
    migration.fill_conversation_state(apps, None)
    seconds = round(time.perf_counter() - started, 1)
    print(f"  whatsapp_contact: conversation state filled in {seconds} s (migration 0010)", flush=True)
    return seconds


def seed(args) -> dict:
    from django.contrib.auth import get_user_model

    from accounts.models import MetaAccount, Notification
    from facebook.models import Comment, Conversation, ConversationMessage, FacebookPage
    from orgs.models import Membership, Organization
    from webhooks.models import WebhookEvent
    from whatsapp.models import (
        Broadcast,
        Contact,
        Message,
        MessageStatusEvent,
        WhatsAppBusinessAccount,
        WhatsAppPhoneNumber,
    )

    User = get_user_model()
    user = User.objects.filter(username="listscale").first()
    wanted = {
        "messages": args.messages,
        "events": args.events,
        "status_events": args.status_events,
        "notifications": args.notifications,
        "conversations": args.conversations,
        "contacts": args.contacts,
    }
    meta = {"sizes": wanted}
    if user and not args.reseed:
        number = WhatsAppPhoneNumber.objects.get(phone_number_id=PHONE_NUMBER_ID)
        have = {
            "messages": Message.objects.filter(phone_number=number).count(),
            "events": WebhookEvent.objects.count(),
            "status_events": MessageStatusEvent.objects.count(),
            "notifications": Notification.objects.count(),
            "conversations": Conversation.objects.count(),
            "contacts": Contact.objects.filter(phone_number=number).count(),
        }
        if have == wanted:
            print("Reusing the seeded rows.", flush=True)
            return {"user": user, "number": number, "reused": True}
        print(f"Seeded sizes differ ({have}): reseeding.", flush=True)
    for model in (
        ConversationMessage,
        Conversation,
        Comment,
        Contact,
        Message,
        MessageStatusEvent,
        WebhookEvent,
    ):
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {model._meta.db_table} CASCADE")
    User.objects.filter(username__in=["listscale", "listscale-staff"]).delete()
    MetaAccount.all_objects.filter(meta_user_id="listscale").delete()

    user = User.objects.create_user(username="listscale", password="listscale-password-123")
    User.objects.create_superuser(username="listscale-staff", password="listscale-password-123")
    Organization.objects.filter(name="listscale").delete()
    org = Organization.objects.create(name="listscale")
    Membership.objects.create(user=user, organization=org, role="owner", is_default=True)
    account = MetaAccount.objects.create(
        organization=org,
        connected_by=user,
        meta_app_id="1",
        meta_user_id="listscale",
        access_token="EAAG-listscale-token-0123456789",
        token_expiry=timezone.now() + timezone.timedelta(days=50),
        connected_at=timezone.now(),
        last_validated_at=timezone.now(),
        permissions=[
            "whatsapp_business_messaging",
            "whatsapp_business_management",
            "pages_messaging",
            "pages_manage_engagement",
            "pages_read_engagement",
            "pages_show_list",
        ],
    )
    waba = WhatsAppBusinessAccount.objects.create(account=account, waba_id="700000000000001", name="Scale")
    number = WhatsAppPhoneNumber.objects.create(
        waba=waba,
        phone_number_id=PHONE_NUMBER_ID,
        display_phone_number="+1 555-000-0001",
        verified_name="Scale",
    )
    broadcast = Broadcast.objects.create(
        phone_number=number, template_name="promo", template_language="en", status="sending"
    )
    page = FacebookPage.objects.create(
        account=account, page_id=PAGE_ID, name="Scale page", status="connected"
    )
    started = time.perf_counter()
    print("Seeding (INSERT ... SELECT generate_series):", flush=True)
    insert_series(
        Message,
        args.messages,
        MESSAGE_COLUMNS,
        {"number": number.pk, "broadcast": str(broadcast.pk), "contacts": max(1, args.contacts)},
    )
    insert_series(Contact, args.contacts, CONTACT_COLUMNS, {"number": number.pk})
    meta["contacts_fill_seconds"] = fill_conversations()
    insert_series(
        MessageStatusEvent,
        args.status_events,
        {
            "wamid": "'wamid.listscale.' || i",
            "status": "(ARRAY['sent','delivered','read'])[1 + i %% 3]",
            "at": "now() - make_interval(secs => (%(total)s - i) / 10.0)",
            "payload": """jsonb_build_object('id', 'wamid.listscale.' || i)""",
            "created_at": "now() - make_interval(secs => (%(total)s - i) / 10.0)",
        },
        {},
    )
    insert_series(
        WebhookEvent,
        args.events,
        {
            "id": "gen_random_uuid()",
            "dedupe_key": "md5(i::text) || md5((i + 1)::text)",
            "raw_body": """convert_to('{"object":"whatsapp_business_account","entry":[]}', 'UTF8')""",
            "object": "'whatsapp_business_account'",
            "fields": "CASE WHEN i %% 5 = 0 THEN 'messages' ELSE 'statuses' END",
            "status": "CASE WHEN i %% 200 = 0 THEN 'failed' ELSE 'processed' END",
            "received_at": "now() - make_interval(secs => (%(total)s - i) / 10.0)",
            "created_at": "now() - make_interval(secs => (%(total)s - i) / 10.0)",
            "updated_at": "now()",
        },
        {},
    )
    insert_series(
        Notification,
        args.notifications,
        {
            "id": "gen_random_uuid()",
            "account_id": "%(account)s::uuid",
            "kind": "'template_approved'",
            "title": "'Template approved ' || i",
            "created_at": "now() - make_interval(secs => (%(total)s - i) * 60.0)",
            "updated_at": "now()",
        },
        {"account": str(account.pk)},
    )
    with connection.cursor() as cursor:  # read state is per member: a third read by the user
        cursor.execute(
            "INSERT INTO accounts_notificationread (notification_id, user_id, read_at) "
            "SELECT id, %s, now() FROM (SELECT id, row_number() OVER () AS i FROM accounts_notification) n "
            "WHERE i %% 3 = 0",
            [user.pk],
        )
    insert_series(
        Conversation,
        args.conversations,
        {
            "id": "md5('listscale-conversation-' || i)::uuid",  # its messages name it below
            "page_id": "%(page)s::uuid",
            "contact_id": "(9100000000 + i)::text",
            "contact_name": "'Customer ' || i",
            "last_message_at": "now() - make_interval(secs => (%(total)s - i) * 30.0)",
            "last_inbound_at": "now() - make_interval(secs => (%(total)s - i) * 30.0)",
            "unread_count": "i %% 4",
            "created_at": "now() - make_interval(secs => (%(total)s - i) * 30.0)",
            "updated_at": "now()",
        },
        {"page": str(page.pk)},
    )
    # ten messages a conversation on average: half of them in the newest conversation (a deep
    # one to page through), the rest spread over all
    insert_series(
        ConversationMessage,
        args.conversations * 10,
        {
            "id": "gen_random_uuid()",
            "conversation_id": (
                "md5('listscale-conversation-' || "
                "CASE WHEN i %% 2 = 0 THEN %(conversations)s ELSE 1 + (i / 2) %% %(conversations)s END)::uuid"
            ),
            "mid": "'m_listscale.' || i",
            "direction": "CASE WHEN i %% 2 = 0 THEN 'inbound' ELSE 'outbound' END",
            "text": "'Message ' || i",
            "status": "CASE WHEN i %% 2 = 0 THEN 'received' ELSE 'read' END",
            "sent_at": "now() - make_interval(secs => (%(total)s - i) * 5.0)",
            "created_at": "now() - make_interval(secs => (%(total)s - i) * 5.0)",
            "updated_at": "now()",
        },
        {"conversations": args.conversations},
    )
    insert_series(
        Comment,
        args.conversations * 10,
        {
            "id": "gen_random_uuid()",
            "page_id": "%(page)s::uuid",
            "post_id": f"'{PAGE_ID}_' || (i %% 100)",
            "comment_id": f"'{PAGE_ID}_c' || i",
            "parent_id": f"'{PAGE_ID}_' || (i %% 100)",
            "author_id": "(9100000000 + i %% 5000)::text",
            "author_name": "'Customer ' || (i %% 5000)",
            "message": "'Comment ' || i",
            "created_time": "now() - make_interval(secs => (%(total)s - i) * 5.0)",
            "created_at": "now() - make_interval(secs => (%(total)s - i) * 5.0)",
            "updated_at": "now()",
        },
        {"page": str(page.pk)},
    )
    meta["seed_seconds"] = round(time.perf_counter() - started, 1)
    print(f"Seeded in {meta['seed_seconds']} s; VACUUM ANALYZE (as autovacuum would).", flush=True)
    return {"user": user, "number": number, "reused": False, **meta}


def vacuum_analyze() -> None:
    from accounts.models import Notification
    from facebook.models import Comment, Conversation, ConversationMessage
    from webhooks.models import WebhookEvent
    from whatsapp.models import Contact, Message, MessageStatusEvent

    connection.ensure_connection()
    raw = connection.connection
    raw.autocommit = True
    with raw.cursor() as cursor:
        for model in (
            Message,
            Contact,
            MessageStatusEvent,
            WebhookEvent,
            Notification,
            Conversation,
            ConversationMessage,
            Comment,
        ):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")


def timed(client: Client, url: str, runs: int, headers: dict) -> dict:
    """p50/p95 of the whole request, and p50/p95 of the time spent in SQL alone (DEBUG records
    each query's duration): on a loaded machine the second shows what the database costs."""
    times, sql = [], []
    status = None
    for i in range(runs + 3):
        reset_queries()
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        status = response.status_code
        if i >= 3:
            times.append(elapsed)
            sql.append(sum(float(q["time"]) for q in connection.queries) * 1000)

    def p95(values: list[float]) -> float:
        values = sorted(values)
        return round(values[min(len(values) - 1, max(0, round(0.95 * len(values)) - 1))], 1)

    return {
        "p50": round(statistics.median(times), 1),
        "p95": p95(times),
        "sql_p50": round(statistics.median(sql), 1),
        "sql_p95": p95(sql),
        "status": status,
    }


def server_ms(client: Client, url: str, headers: dict) -> float:
    """What PostgreSQL itself spends on one request's reads (planning + execution, from
    EXPLAIN ANALYZE of each SELECT it ran): unlike wall time, barely moved by a loaded machine."""
    reset_queries()
    client.get(url, headers=headers)
    total = 0.0
    with connection.cursor() as cursor:
        for query in list(connection.queries):
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
            plan = cursor.fetchone()[0][0]
            total += plan.get("Planning Time", 0) + plan.get("Execution Time", 0)
    return round(total, 2)


def deep_cursor(number, depth: int) -> str | None:
    """A real nextCursor for the page starting `depth` rows deep (None where cursors don't exist)."""
    try:
        from botopia_meta.api.pagination import cursor_for
    except ImportError:
        return None
    from whatsapp.models import Message

    row = (
        Message.objects.filter(phone_number=number)
        .order_by("-created_at", "-id")
        .values_list("created_at", "id")[depth : depth + 1]
        .first()
    )
    if row is None:
        return None
    return cursor_for("/api/meta/whatsapp/messages", ("-created_at", "-id"), row)


def deep_conversation_cursor(number, depth: int) -> str | None:
    """A real nextCursor of the inbox's conversations, `depth` WhatsApp conversations deep
    (read with SQL from the stored state, so a tree computing it from the messages, for a
    "before" figure, gets the same cursor)."""
    from botopia_meta.api.pagination import cursor_for

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT last_message_at, id FROM whatsapp_contact WHERE phone_number_id = %s"
            " AND last_message_at IS NOT NULL ORDER BY last_message_at DESC, id DESC OFFSET %s LIMIT 1",
            [number.pk, depth],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return cursor_for("/api/meta/conversations", ("-last_message_at", "-id"), row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--status-events", type=int, default=1_000_000)
    parser.add_argument("--notifications", type=int, default=100_000)
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--contacts", type=int, default=1_000_000, help="WhatsApp conversations")
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--only", help="comma list of case-name prefixes to time")
    args = parser.parse_args()

    load_start = os.getloadavg()
    setup_test_environment()
    call_command("migrate", verbosity=0)
    seeded = seed(args)
    if not seeded["reused"]:
        vacuum_analyze()
    user, number = seeded["user"], seeded["number"]

    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from facebook.models import Conversation
    from whatsapp.models import Broadcast

    token, _ = Token.objects.get_or_create(user=user)
    api = {"Authorization": f"Token {token.key}"}
    client = Client()
    staff = Client()
    staff.force_login(get_user_model().objects.get(username="listscale-staff"))
    broadcast = Broadcast.objects.filter(phone_number=number).first()
    conversation = Conversation.objects.order_by("-last_message_at").first()
    contact = "15550000007"
    msgs = "/api/meta/whatsapp/messages"

    cases: dict[str, tuple[str, Client, dict]] = {}

    def api_case(name: str, path: str, **query) -> None:
        cases[name] = (f"{path}?{urlencode(query)}" if query else path, client, api)

    api_case("messages", msgs, limit=25)
    api_case("messages direction=inbound", msgs, limit=25, direction="inbound")
    api_case("messages direction=outbound", msgs, limit=25, direction="outbound")
    api_case("messages status=failed", msgs, limit=25, status="failed")
    api_case("messages status=read", msgs, limit=25, status="read")
    api_case("messages status=queued (none)", msgs, limit=25, status="queued")
    api_case("messages direction=outbound&status=read", msgs, limit=25, direction="outbound", status="read")
    api_case("messages direction=inbound&status=failed", msgs, limit=25, direction="inbound", status="failed")
    api_case("messages contact", msgs, limit=25, contact=contact)
    api_case("messages contact&direction=inbound", msgs, limit=25, contact=contact, direction="inbound")
    api_case("messages contact&status=read", msgs, limit=25, contact=contact, status="read")
    api_case("messages phoneNumberId", msgs, limit=25, phoneNumberId=PHONE_NUMBER_ID)
    api_case(
        "messages phoneNumberId&status=failed", msgs, limit=25, phoneNumberId=PHONE_NUMBER_ID, status="failed"
    )
    api_case("messages broadcastId", msgs, limit=25, broadcastId=str(broadcast.pk))
    api_case("messages broadcastId&status=read", msgs, limit=25, broadcastId=str(broadcast.pk), status="read")
    day = (timezone.now() - timezone.timedelta(days=2)).date().isoformat()
    api_case("messages startDate&endDate", msgs, limit=25, startDate=day, endDate=day)
    api_case("messages offset=9975", msgs, limit=25, offset=9975)
    api_case("messages offset=900000", msgs, limit=25, offset=900_000)
    for depth in (10_000, args.messages // 2, args.messages - 30):
        cursor = deep_cursor(number, depth)
        if cursor:
            api_case(f"messages cursor@{depth}", msgs, limit=25, cursor=cursor)
    api_case("notifications", "/api/meta/notifications", limit=25)
    api_case("notifications unread", "/api/meta/notifications", limit=25, unread="true")
    api_case("inbox conversations", "/api/meta/conversations", limit=25)
    api_case("inbox conversations unread", "/api/meta/conversations", limit=25, unread="true")
    inbox = "/api/meta/conversations"
    api_case("inbox conversations whatsapp", inbox, limit=25, platform="whatsapp")
    api_case("inbox conversations whatsapp unread", inbox, limit=25, platform="whatsapp", unread="true")
    api_case("inbox conversations whatsapp read", inbox, limit=25, platform="whatsapp", unread="false")
    api_case("inbox conversations whatsapp phoneNumberId", inbox, limit=25, phoneNumberId=PHONE_NUMBER_ID)
    for depth in (10_000, args.contacts // 2, args.contacts - 30):
        if not 0 <= depth < args.contacts:  # fewer customers than that (--contacts)
            continue
        cursor = deep_conversation_cursor(number, depth)
        if cursor:
            api_case(f"inbox conversations cursor@{depth}", inbox, limit=25, cursor=cursor)
            api_case(
                f"inbox conversations whatsapp cursor@{depth}",
                inbox,
                limit=25,
                platform="whatsapp",
                cursor=cursor,
            )
    api_case("inbox conversation messages", f"/api/meta/conversations/{conversation.pk}/messages", limit=25)
    api_case("inbox comments", "/api/meta/comments", limit=25)
    api_case("inbox comments pageId", "/api/meta/comments", limit=25, pageId=PAGE_ID)
    for name, path in (
        ("admin messages", "/admin/whatsapp/message/"),
        ("admin messages status=failed", "/admin/whatsapp/message/?status__exact=failed"),
        ("admin status events", "/admin/whatsapp/messagestatusevent/"),
        ("admin webhook events", "/admin/webhooks/webhookevent/"),
        ("admin webhook events status=failed", "/admin/webhooks/webhookevent/?status__exact=failed"),
        ("admin notifications", "/admin/accounts/notification/"),
    ):
        cases[name] = (path, staff, {})

    only = [p.strip() for p in args.only.split(",")] if args.only else None
    results = {}
    print(
        f"\n{'case':48} {'status':>6} {'p50 ms':>8} {'p95 ms':>8} {'SQL p50':>8} {'SQL p95':>8} {'server':>8}"
    )
    for name, (url, who, headers) in cases.items():
        if only and not any(name.startswith(p) for p in only):
            continue
        runs = args.runs if not name.startswith("admin") else max(5, args.runs // 4)
        figures = timed(who, url, runs, headers)
        figures["server_ms"] = sorted(server_ms(who, url, headers) for _ in range(3))[1]
        results[name] = figures
        print(
            f"{name:48} {figures['status']:>6} {figures['p50']:>8} {figures['p95']:>8}"
            f" {figures['sql_p50']:>8} {figures['sql_p95']:>8} {figures['server_ms']:>8}",
            flush=True,
        )

    def worst(prefix: tuple[str, ...], exclude: tuple[str, ...] = (), key: str = "p95") -> float | None:
        values = [
            r[key]
            for n, r in results.items()
            if n.startswith(prefix) and not any(x in n for x in exclude) and r["status"] == 200
        ]
        return max(values) if values else None

    summary = {
        "bench": "list_scale",
        "messages": args.messages,
        "webhook_events": args.events,
        "status_events": args.status_events,
        "contacts": args.contacts,
        "contacts_fill_seconds": seeded.get("contacts_fill_seconds"),
        "load_before": [round(x, 2) for x in load_start],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "cores": os.cpu_count(),
        "worst_list_first_page_p95_ms": worst(("messages", "notifications", "inbox"), ("cursor@", "offset=")),
        "worst_cursor_p95_ms": worst(
            ("messages cursor@", "inbox conversations cursor@", "inbox conversations whatsapp cursor@")
        ),
        "worst_whatsapp_conversations_p95_ms": worst(("inbox conversations",)),
        "worst_admin_p95_ms": worst(("admin",)),
        "worst_list_first_page_sql_p95_ms": worst(
            ("messages", "notifications", "inbox"), ("cursor@", "offset="), key="sql_p95"
        ),
        "worst_cursor_sql_p95_ms": worst(
            ("messages cursor@", "inbox conversations cursor@", "inbox conversations whatsapp cursor@"),
            key="sql_p95",
        ),
        "worst_admin_sql_p95_ms": worst(("admin",), key="sql_p95"),
        "worst_list_first_page_server_ms": worst(
            ("messages", "notifications", "inbox"), ("cursor@", "offset="), key="server_ms"
        ),
        "worst_cursor_server_ms": worst(
            ("messages cursor@", "inbox conversations cursor@", "inbox conversations whatsapp cursor@"),
            key="server_ms",
        ),
        "worst_whatsapp_conversations_server_ms": worst(("inbox conversations",), key="server_ms"),
        "worst_admin_server_ms": worst(("admin",), key="server_ms"),
        "cases": results,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

"""What changes state in the webhooks app: recording deliveries, processing them, sweeping
the outbox, configuring subscriptions, marking notifications read."""

import contextlib
import hashlib
import json
import logging
import random
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any, cast
from uuid import UUID

import psycopg
from django.conf import settings
from django.contrib.auth.models import User
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Length
from django.utils import timezone

from accounts.models import MetaAccount, Notification, NotificationRead
from accounts.tokens import graph_for, page_graph_for
from botopia_meta import bulk, registry
from botopia_meta.exceptions import ValidationFailed
from botopia_meta.graph import GraphError
from botopia_meta.tasks import RetryLater, is_retryable
from webhooks import forwarding, intake_queue, processing
from webhooks import graph as webhook_graph
from webhooks.models import WebhookConfig, WebhookEvent

logger = logging.getLogger(__name__)

Status = WebhookEvent.Status
WEBHOOK_PATH = "/api/meta/webhook/events"

# An event claimed longer ago than this is presumed abandoned (worker killed) and is re-run.
CLAIM_TIMEOUT = timedelta(seconds=settings.WEBHOOK_CLAIM_TIMEOUT_SECONDS)
SWEEP_AFTER = timedelta(seconds=settings.WEBHOOK_SWEEP_AFTER_SECONDS)
# A pending row the sweeper already re-enqueued waits this long before being re-enqueued again
# (a long queue must not fill up with copies of the same id).
RESWEEP_AFTER = timedelta(seconds=settings.WEBHOOK_RESWEEP_AFTER_SECONDS)
# Transient item failures (a database hiccup, Meta throttling a handler's call) re-run the
# event this many times before it is settled as failed.
MAX_ATTEMPTS = 5


def _enqueue(event_ids: list[str]) -> bool:
    """Queue stored deliveries for processing, together (one message, one batch of the worker)."""
    from webhooks.actors import process_webhook_events

    try:
        process_webhook_events.send(event_ids)
    except Exception:
        # Broker down: the rows stay pending and the sweeper enqueues them later. Meta still
        # gets its 200: the event is durable.
        logger.warning("Could not enqueue %d webhook event(s); the sweeper will retry", len(event_ids))
        return False
    return True


def webhook_event_record(*, raw_body: bytes) -> WebhookEvent | None:
    """Store a verified delivery in one INSERT and enqueue it after commit (from a background
    thread when WEBHOOK_ENQUEUE_IN_BACKGROUND: webhooks/intake_queue.py). An identical
    delivery already stored changes nothing and returns None."""
    event = WebhookEvent(dedupe_key=hashlib.sha256(raw_body).hexdigest(), raw_body=raw_body)
    try:
        payload = processing.parse(raw_body)
    except processing.NotJson as exc:
        event.status, event.status_reason = Status.REJECTED, str(exc)
    except processing.UnknownShape as exc:
        event.status, event.status_reason = Status.IGNORED, str(exc)
    else:
        event.object = payload["object"][:64]
        event.fields, event.item_count = processing.summarise(payload)
    if not _insert(event):
        logger.info("Duplicate webhook delivery %s… ignored", event.dedupe_key[:12])
        return None
    if event.status == Status.PENDING:
        if settings.WEBHOOK_ENQUEUE_IN_BACKGROUND:  # Meta's answer does not wait for the broker
            transaction.on_commit(lambda: intake_queue.handoff.put(str(event.pk)))
        else:
            transaction.on_commit(lambda: _enqueue([str(event.pk)]))
    return event


def _insert(event: WebhookEvent) -> bool:
    """`INSERT ... ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`: one statement, no
    exception and no savepoint for a duplicate, and none of the ORM's per-call SQL compiling
    (this is the receiver's hot path). True when the row was stored."""
    meta = WebhookEvent._meta
    fields = meta.concrete_fields
    quote = connection.ops.quote_name
    # A concrete field always has a column; django-stubs types Field.column `str | None` for
    # every field (a non-concrete one has none), so it is asserted to the checker here.
    columns = [cast(str, f.column) for f in fields]
    pk_column = cast(str, meta.pk.column)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({quote('dedupe_key')}) DO NOTHING RETURNING {quote(pk_column)}"
    )
    params = bulk.row_values(fields, event, add=True)
    # The INSERT is its own health check: no `SELECT 1` round trip before it (what
    # CONN_HEALTH_CHECKS costs every request). A connection the server dropped since the last
    # request fails the INSERT: it is replaced and the INSERT runs once more (ON CONFLICT: never
    # stored twice; had the first one committed, the row waits for the sweeper to queue it).
    # Inside a transaction: Django's check as usual.
    retry = connection.connection is not None and not connection.in_atomic_block
    if retry:
        connection.health_check_done = True  # type: ignore[attr-defined]  # Django sets it per request
    try:
        return _execute_insert(sql, params)
    except (InterfaceError, OperationalError):
        if not (retry and _connection_lost()):
            raise
        logger.info("Webhook intake: the database connection was gone; reconnected")
        connection.close()
        return _execute_insert(sql, params)


def _execute_insert(sql: str, params: list) -> bool:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Parameters bound server-side: the body goes to PostgreSQL as bytes, where Django's
            # default (client-side binding) hex-escapes it into the SQL text, ~10 % of the web
            # process's CPU per delivery. Only the raw cursor changes: Django's wrapper (its
            # errors, execute wrappers, query log) and checks stay. Prepared as the database
            # settings say (DB_PREPARED_STATEMENTS: after 5 runs on a connection).
            cursor.cursor.close()
            cursor.cursor = psycopg.Cursor(connection.connection)
        cursor.execute(sql, params)
        return cursor.fetchone() is not None


def _connection_lost() -> bool:
    raw = connection.connection
    return raw is None or bool(getattr(raw, "closed", False)) or bool(getattr(raw, "broken", False))


def _abandoned(now: datetime) -> Q:
    """Events claimed by a worker that has been gone too long (killed, or stalled)."""
    return Q(status=Status.PROCESSING, claimed_at__lt=now - CLAIM_TIMEOUT)


def _claimable(now: datetime) -> Q:
    """Events a worker may claim: pending, or abandoned."""
    return Q(status=Status.PENDING) | _abandoned(now)


def _claim(event_id: UUID | str, *, force: bool) -> bool:
    now = timezone.now()
    rows = WebhookEvent.objects.filter(pk=event_id)
    if force:
        rows = rows.exclude(status=Status.PROCESSING, claimed_at__gte=now - CLAIM_TIMEOUT)
    else:
        rows = rows.filter(_claimable(now))
    # A replay (force) starts a chunked delivery from its first chunk again.
    restart = {"chunks_done": 0} if force else {}
    return bool(rows.update(status=Status.PROCESSING, claimed_at=now, attempts=F("attempts") + 1, **restart))


def _apply(slot: processing.Slot) -> tuple[dict[str, Any], BaseException | None]:
    result: dict[str, Any] = {"index": slot.index, "field": slot.field}
    if slot.item is None:
        return {**result, "outcome": "ignored", "reason": slot.problem}, None
    handler = registry.WEBHOOK_HANDLERS.get((slot.item.object, slot.item.field))
    if handler is None:
        return {**result, "outcome": "ignored", "reason": "no handler yet"}, None
    try:
        _run_item(handler, slot.item)
    except registry.ItemIgnored as exc:
        return {**result, "outcome": "ignored", "reason": str(exc.reason)[:255]}, None
    except Exception as exc:
        logger.exception("Webhook item %s (%s) failed in %s", slot.index, slot.field, slot.item.event_id)
        return {**result, "outcome": "failed", "reason": f"{type(exc).__name__}: {exc}"[:500]}, exc
    return {**result, "outcome": "applied"}, None


# PostgreSQL's "deadlock detected" and "could not serialize": the transaction was chosen as a
# victim and rolled back whole; running it again at once almost always succeeds.
_RERUN_SQLSTATES = frozenset({"40P01", "40001"})
ITEM_RERUNS = 3


def _run_item(handler: Callable[[registry.WebhookItem], None], item: registry.WebhookItem) -> None:
    """The handler in its own transaction (a savepoint when one is open: one failing item rolls
    back only its own writes). At top level, run again when PostgreSQL picked it as a deadlock
    victim; inside an outer transaction the whole of it was rolled back, so the error goes up."""
    for attempt in range(ITEM_RERUNS + 1):
        try:
            with transaction.atomic():
                handler(item)
            return
        except OperationalError as exc:
            state = getattr(exc.__cause__, "sqlstate", None)
            if state not in _RERUN_SQLSTATES or attempt == ITEM_RERUNS or connection.in_atomic_block:
                raise
            logger.info("Webhook item %s of %s rerun after %s", item.index, item.event_id, state)
            time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))


def _settle(results: list[dict[str, Any]]) -> tuple[WebhookEvent.Status, str]:
    applied = sum(r["outcome"] == "applied" for r in results)
    failed = sum(r["outcome"] == "failed" for r in results)
    if not results:
        return Status.IGNORED, "No items in the delivery."
    if failed:
        status = Status.PARTIALLY_FAILED if applied else Status.FAILED
        return status, f"{failed} of {len(results)} item(s) failed."
    if applied:
        return Status.PROCESSED, ""
    reasons = sorted({r.get("reason", "") for r in results})
    return Status.IGNORED, "; ".join(reasons)[:255]


def webhook_event_process(*, event_id: UUID | str, force: bool = False) -> WebhookEvent | None:
    """Route every item of a stored event to its handler and record each outcome.

    Runs only on a pending event (or an abandoned claim); `force` (replay) re-runs a settled
    one. Handlers are idempotent, so a re-run never double-applies. Returns None when the
    event was not ours to run (settled already, or being processed elsewhere)."""
    if not _claim(event_id, force=force):
        return None
    event = WebhookEvent.objects.get(pk=event_id)
    _process_claimed([event])
    return event


def webhook_events_process(*, event_ids: list[str]) -> int:
    """Process deliveries together: these (those still ours to run) and, while there is room
    (WEBHOOK_BATCH_EVENTS), the oldest other pending small ones, so that a backlog is worked
    off in large sets. Items a handler can merge (WhatsApp statuses of one number) are applied
    as one. → how many deliveries were claimed."""
    events = _claim_batch(event_ids)
    if events:
        _process_claimed(events)
    return len(events)


def _claim_batch(event_ids: list[str]) -> list[WebhookEvent]:
    ids = []
    for value in event_ids:
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            ids.append(UUID(value))
    now = timezone.now()
    room = settings.WEBHOOK_BATCH_EVENTS - len(ids)
    with transaction.atomic():
        mine = WebhookEvent.objects.filter(pk__in=ids).filter(_claimable(now))
        # Its own rows: waiting for a lock another writer holds on one (the sweeper marking it)
        # rather than skipping it, which would leave it to the next sweep. The others: only
        # those nobody else is claiming right now.
        rows = list(mine.order_by("pk").select_for_update().values_list("pk", "status", "attempts"))
        suspects = [(pk, attempts) for pk, status, attempts in rows if _suspect(status, attempts)]
        given_up = [pk for pk, attempts in suspects if attempts >= MAX_ATTEMPTS]
        if given_up:
            WebhookEvent.objects.filter(pk__in=given_up).update(
                status=Status.FAILED, status_reason=ABANDONED_REASON, processed_at=now, claimed_at=None
            )
            logger.error("Webhook events %s failed: abandoned by %d workers", given_up, MAX_ATTEMPTS)
        claimed = [pk for pk, _, _ in rows if pk not in given_up]
        if room > 0 and not suspects:  # a suspect takes no other delivery down with it
            more = (
                WebhookEvent.objects.filter(status=Status.PENDING)
                .exclude(pk__in=ids)
                .alias(size=Length("raw_body"))
                .filter(size__lte=settings.WEBHOOK_BATCH_MAX_BYTES)
                .order_by("received_at")
                .select_for_update(skip_locked=True)
            )
            claimed += more.values_list("pk", flat=True)[:room]
        if not claimed:
            return []
        WebhookEvent.objects.filter(pk__in=claimed).update(
            status=Status.PROCESSING, claimed_at=now, attempts=F("attempts") + 1
        )
    return list(WebhookEvent.objects.filter(pk__in=claimed).order_by("received_at"))


# A claim abandoned twice (its worker died or stalled past the claim timeout, both times) may be
# what kills workers: the sweeper queues it alone and it is claimed alone, so that it takes no
# other delivery down with it; abandoned MAX_ATTEMPTS times, it is settled as failed unrun
# (replayed from the staff console once the cause is fixed).
ABANDONED_REASON = (
    f"Abandoned by {MAX_ATTEMPTS} workers (killed, or stalled past the claim timeout) while "
    "processing it; not run again. Replay it once the cause is fixed."
)


def _suspect(status: str, attempts: int) -> bool:
    """A row taken from a claim gone stale (not handed back), claimed at least twice."""
    return status == Status.PROCESSING and attempts >= 2


def _process_claimed(events: list[WebhookEvent]) -> None:
    """Apply claimed events together and settle each. An error outside the items (loading,
    settling) hands the claims still held back, so the actor's retry runs them at once instead
    of waiting for the claims to go stale (if the database is down this fails too, and the
    sweeper recovers them later)."""
    try:
        _apply_events(events)
    except BaseException:
        with contextlib.suppress(DatabaseError):
            WebhookEvent.objects.filter(pk__in=[e.pk for e in events], status=Status.PROCESSING).update(
                status=Status.PENDING, claimed_at=None
            )
        raise


# What settling writes on an event (_write_settled: one UPDATE for a batch), and only while it is
# still being processed: a worker that ran past the claim timeout (its events were claimed again
# and settled by another) must not write its outcome over theirs, nor hand a settled one back.
_SETTLE_FIELDS = ("status", "status_reason", "item_results", "item_count", "processed_at", "claimed_at")
_STILL_CLAIMED = {"status": Status.PROCESSING}


def _apply_events(events: list[WebhookEvent]) -> None:
    small: list[tuple[WebhookEvent, list[processing.Slot]]] = []
    large: list[tuple[WebhookEvent, list[list[processing.Slot]]]] = []
    settled: list[WebhookEvent] = []
    for event in events:
        try:
            payload = processing.parse(bytes(event.raw_body))
        except (processing.NotJson, processing.UnknownShape) as exc:
            status = Status.REJECTED if isinstance(exc, processing.NotJson) else Status.IGNORED
            settled.append(_settled(event, status=status, reason=str(exc), results=[]))
            continue
        slots = list(processing.slots(event.pk, payload, received_at=event.received_at))
        chunks = processing.chunks(slots, settings.WEBHOOK_CHUNK_ITEMS)
        if len(chunks) > 1:
            large.append((event, chunks))
        else:
            small.append((event, chunks[0]))

    again = []
    for (event, _), (results, retryable) in zip(small, _apply_together([s for _, s in small]), strict=True):
        if retryable and event.attempts < MAX_ATTEMPTS:
            event.status, event.claimed_at, event.processed_at = Status.PENDING, None, None
            event.item_results, event.item_count = results, len(results)
            again.append(event)
        else:
            status, reason = _settle(results)
            settled.append(_settled(event, status=status, reason=reason, results=results))
    with transaction.atomic():
        _write_settled([*settled, *again])
    for event, chunks in large:
        _process_chunks(event, chunks)
    if again:
        raise RetryLater(f"Transient failure in {len(again)} webhook event(s)")


def _apply_together(batch: list[list[processing.Slot]]) -> list[tuple[list[dict[str, Any]], bool]]:
    """Each event's outcomes (one per slot, in order) and whether one failed in a way worth
    running again. Items a handler merges (registry.WebhookMerger) are applied as one per key,
    at most WEBHOOK_CHUNK_ITEMS sub-items at a time, after the others; if a merge fails for
    good, its items are applied one by one, so one bad item never fails the rest."""
    results: list[list[dict[str, Any]]] = [[{} for _ in slots] for slots in batch]
    retryable = [False] * len(batch)

    def record(e: int, i: int, result: dict[str, Any], error: BaseException | None) -> None:
        results[e][i] = result
        retryable[e] |= error is not None and is_retryable(error)

    # (merger, key) → its parts, each [weight so far, (event, slot position, slot), ...].
    groups: dict[tuple[registry.WebhookMerger, Any], list[list[Any]]] = {}
    for e, slots in enumerate(batch):
        for i, slot in enumerate(slots):
            merger = registry.webhook_merger(slot.item) if slot.item else None
            keyed = merger.key(slot.item) if merger and slot.item else None
            if merger is None or keyed is None:
                record(e, i, *_apply(slot))
                continue
            key, weight = keyed
            parts = groups.setdefault((merger, key), [])
            if not parts or parts[-1][0] + weight > settings.WEBHOOK_CHUNK_ITEMS:
                parts.append([0])
            parts[-1][0] += weight
            parts[-1].append((e, i, slot))
    for (merger, _), parts in groups.items():
        for _, *members in parts:
            _apply_merged(merger, members, record)
    return [(r, again) for r, again in zip(results, retryable, strict=True)]


def _apply_merged(
    merger: registry.WebhookMerger,
    members: list[tuple[int, int, processing.Slot]],
    record: Callable[[int, int, dict[str, Any], BaseException | None], None],
) -> None:
    """Members' items as one (alone: as it is); a merge that fails for good, one by one."""
    first = members[0][2]
    if len(members) > 1:
        merged = merger.merge([slot.item for _, _, slot in members if slot.item])
        result, error = _apply(processing.Slot(first.index, first.field, merged))
        if error is None or is_retryable(error):
            for e, i, slot in members:
                record(e, i, {**result, "index": slot.index}, error)
            return
    for e, i, slot in members:  # alone, or which one is bad: each on its own
        record(e, i, *_apply(slot))


def _apply_all(slots: list[processing.Slot]) -> tuple[list[dict[str, Any]], bool]:
    """Each slot's outcome, and whether one failed in a way worth running again."""
    return _apply_together([slots])[0]


def _process_chunks(event: WebhookEvent, chunks: list[list[processing.Slot]]) -> WebhookEvent:
    """A large delivery, chunk after chunk from the first not done yet, each committed with
    its progress (a kill loses at most the chunk in flight; the retry resumes after the last
    one committed). After WEBHOOK_SLICE_SECONDS the rest is queued again, behind whatever
    other events came in meanwhile, instead of holding this worker thread."""
    results: list[dict[str, Any]] = list(event.item_results) if event.chunks_done else []
    started = time.monotonic()
    done = event.chunks_done
    while done < len(chunks):
        ran = _run_chunk(event, chunks[done], done, results)
        if ran is None:  # taken over by another worker: the event is theirs now
            return event
        results = ran
        done += 1
        if done < len(chunks) and time.monotonic() - started >= settings.WEBHOOK_SLICE_SECONDS:
            if _our_claim(event).update(status=Status.PENDING, claimed_at=None, attempts=0):
                _enqueue([str(event.pk)])  # not sent (broker down): the sweeper queues the pending row
                event.status = Status.PENDING
            event.chunks_done = done
            return event
    results = _merged(results)
    status, reason = _settle(results)
    _write_settled([_settled(event, status=status, reason=reason, results=results)])
    return event


def _run_chunk(
    event: WebhookEvent, slots: list[processing.Slot], done: int, results: list[dict[str, Any]]
) -> list[dict[str, Any]] | None:
    """One chunk and its progress in one transaction; a transient failure rolls it back and
    the event is retried from this chunk. → the outcomes so far, or None when the claim is no
    longer ours (nothing of the chunk kept)."""
    with transaction.atomic():
        chunk_results, retryable = _apply_all(slots)
        again = retryable and event.attempts < MAX_ATTEMPTS
        if again:
            transaction.set_rollback(True)
        else:
            results = [*results, *chunk_results]
            if not _our_claim(event).update(chunks_done=done + 1, item_results=results):
                transaction.set_rollback(True)
                return None
    if again:
        if not _our_claim(event).update(status=Status.PENDING, claimed_at=None):
            return None
        raise RetryLater(f"Transient failure in chunk {done + 1} of webhook event {event.pk}")
    return results


def _our_claim(event: WebhookEvent) -> QuerySet[WebhookEvent]:
    """The event's row while the claim this worker took is still the current one: a worker
    that ran past the claim timeout (the sweeper queued the event again and another worker
    claimed it) must not write its progress over the other's, nor hand the event back."""
    return WebhookEvent.objects.filter(pk=event.pk, status=Status.PROCESSING, claimed_at=event.claimed_at)


_OUTCOME_RANK = {"ignored": 0, "applied": 1, "failed": 2}


def _merged(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One outcome per slot: the parts of a split item (same index) count as the item, failed
    if one failed, else applied if one applied."""
    merged: list[dict[str, Any]] = []
    for result in results:
        if merged and merged[-1]["index"] == result["index"]:
            merged[-1] = max(merged[-1], result, key=lambda r: _OUTCOME_RANK.get(r["outcome"], 0))
        else:
            merged.append(result)
    return merged


def _write_settled(events: list[WebhookEvent]) -> None:
    """Events settled (or handed back) in memory, written in one UPDATE to those still ours."""
    bulk.update_rows(events, _SETTLE_FIELDS, only_if=_STILL_CLAIMED)


def _settled(event: WebhookEvent, *, status: str, reason: str, results: list[dict]) -> WebhookEvent:
    """The event settled, in memory (written by _write_settled)."""
    event.status, event.status_reason = status, reason[:255]
    event.item_results, event.processed_at, event.claimed_at = results, timezone.now(), None
    if results:
        event.item_count = len(results)
    return event


def webhook_events_sweep(*, limit: int = 500) -> int:
    """Enqueue events left pending for over a minute (broker was down, or a message was lost)
    and claims abandoned by a dead worker. Returns how many were enqueued."""
    now = timezone.now()
    rows = list(
        WebhookEvent.objects.filter(
            Q(status=Status.PENDING, received_at__lt=now - SWEEP_AFTER) | _abandoned(now)
        )
        .filter(Q(swept_at__isnull=True) | Q(swept_at__lt=now - RESWEEP_AFTER))
        .order_by("received_at")
        .values_list("pk", "status", "attempts")[:limit]
    )
    batches: list[list[UUID]] = []  # a suspect alone, the others WEBHOOK_BATCH_EVENTS at a time
    together: list[UUID] = []
    for pk, status, attempts in rows:
        if _suspect(status, attempts):
            batches.append([pk])
        else:
            together.append(pk)
    size = settings.WEBHOOK_BATCH_EVENTS
    batches += [together[start : start + size] for start in range(0, len(together), size)]
    sent: list[UUID] = []
    for batch in batches:
        if not _enqueue([str(pk) for pk in batch]):
            break  # broker still down: try again at the next sweep
        sent += batch
    if sent:
        WebhookEvent.objects.filter(pk__in=sent).update(swept_at=now)
        logger.info("Sweeper enqueued %d pending webhook event(s)", len(sent))
    return len(sent)


# Which subscription fields belong to which Meta object (messages exists for all three).
OBJECT_FIELDS: dict[str, frozenset[str]] = {
    "whatsapp_business_account": frozenset(
        {
            "messages",
            "message_template_status_update",
            "message_template_quality_update",
            "template_category_update",
            "phone_number_quality_update",
            "phone_number_name_update",
            "account_update",
            "account_review_update",
            "business_capability_update",
            "security",
        }
    ),
    "page": frozenset(
        {"feed", "messages", "messaging_postbacks", "message_deliveries", "message_reads", "mention"}
    ),
    "instagram": frozenset({"comments", "live_comments", "mentions", "messages", "story_insights"}),
}
KNOWN_FIELDS: frozenset[str] = frozenset().union(*OBJECT_FIELDS.values())


def _subscribe(target: str, call: Callable[[], Any]) -> dict[str, Any]:
    try:
        call()
    except GraphError as exc:
        return {"target": target, "ok": False, "error": exc.details()}
    return {"target": target, "ok": True}


def _has_assets(account: MetaAccount, object_type: str) -> bool:
    # Reverse relations of the platform models: webhooks never imports the platform apps.
    if object_type == "whatsapp_business_account":
        return account.whatsapp_accounts.exists()
    if object_type == "page":
        return account.facebook_pages.filter(status="connected").exists()
    return account.instagram_accounts.exclude(status="disconnected").exists()


def _shared_fields(object_type: str, own: list[str]) -> list[str]:
    """Meta keeps ONE subscription per app object and per page, shared by every tenant: a
    subscribe call replaces its fields. So we always send the union of every live
    configuration's fields for that object, never one tenant's subset (which would silently
    stop another business's events)."""
    union = set(own)
    for fields in WebhookConfig.objects.exclude(status=WebhookConfig.Status.FAILED).values_list(
        "fields", flat=True
    ):
        union.update(name for name, on in (fields or {}).items() if on and name in OBJECT_FIELDS[object_type])
    return sorted(union)


def webhook_configure(
    *, account: MetaAccount, verify_token: str, fields: dict[str, bool], forward_url: str | None = None
) -> tuple[WebhookConfig, str | None]:
    """Store the account's verify token and fields, then subscribe at Meta: the app for each
    object, each WABA's subscribed_apps, each connected page's subscribed_apps. Each target's
    outcome (or Meta's refusal) is kept in `results`. (ext) `forward_url` ("" removes it)
    gets a signing secret on first use, returned once as the second value."""
    wanted = sorted(name for name, on in fields.items() if on)
    # An object is subscribed only for fields it has and when the account has such assets.
    per_object = {
        obj: [f for f in wanted if f in known] if _has_assets(account, obj) else []
        for obj, known in OBJECT_FIELDS.items()
    }
    if not any(per_object.values()):
        raise ValidationFailed(
            "None of these fields applies to this account's assets.",
            details={"fields": ["Connect a WhatsApp account, a page or an Instagram account first."]},
        )
    # Saved (committed) before calling Meta: Meta calls our handshake with this token while
    # the subscription call is in flight. The account row's lock makes two configure calls of
    # one account take turns, so the second updates the row the first created.
    with transaction.atomic():
        MetaAccount.objects.select_for_update().filter(pk=account.pk).first()
        config = WebhookConfig.objects.filter(account=account).first() or WebhookConfig(account=account)
        config.verify_token = verify_token
        config.fields = fields
        config.target_url = settings.PUBLIC_BASE_URL + WEBHOOK_PATH
        config.status = WebhookConfig.Status.PENDING
        new_secret = None
        if forward_url is not None:
            config.forward_url = forward_url
            if forward_url and not config.forward_secret:
                config.forward_secret = new_secret = secrets.token_urlsafe(32)
        config.save()

    results = [
        _subscribe(
            f"app:{obj}",
            partial(
                webhook_graph.app_subscription_create,
                object_type=obj,
                callback_url=config.target_url,
                verify_token=verify_token,
                fields=_shared_fields(obj, subset),
            ),
        )
        for obj, subset in per_object.items()
        if subset
    ]
    if per_object["whatsapp_business_account"]:
        client = graph_for(account)
        for waba in account.whatsapp_accounts.all():
            result = _subscribe(
                f"waba:{waba.waba_id}",
                partial(webhook_graph.waba_subscribe, client, waba_id=waba.waba_id),
            )
            results.append(result)
            if result["ok"] and not waba.subscribed:
                type(waba).objects.filter(pk=waba.pk).update(subscribed=True)
    if per_object["page"]:
        for page in account.facebook_pages.filter(status="connected").exclude(access_token=""):
            client = page_graph_for(account, page_id=page.page_id, page_token=page.access_token)
            results.append(
                _subscribe(
                    f"page:{page.page_id}",
                    partial(
                        webhook_graph.page_subscribe,
                        # Connecting the page subscribed every page field we handle;
                        # narrowing it here would cut other tenants' (and Instagram's) events.
                        client,
                        page_id=page.page_id,
                        fields=sorted(OBJECT_FIELDS["page"]),
                    ),
                )
            )

    succeeded = sum(r["ok"] for r in results)
    if succeeded == len(results):
        config.status = WebhookConfig.Status.ACTIVE
    else:
        config.status = WebhookConfig.Status.PARTIAL if succeeded else WebhookConfig.Status.FAILED
    config.results = results
    config.configured_at = timezone.now()
    config.save(update_fields=["status", "results", "configured_at", "updated_at"])
    return config, new_secret


def notification_mark_read(*, notification: Notification, user: User) -> Notification:
    """`user` has read it (idempotent); the other members' read state is untouched."""
    NotificationRead.objects.bulk_create(
        [NotificationRead(notification=notification, user=user)], ignore_conflicts=True
    )
    notification.read = True  # type: ignore[attr-defined]  # what with_read_state annotates
    return notification


def notification_forward(*, notification_id: UUID | str) -> bool:
    """(ext) POST a notification to its account's forward URL, signed. Transient failures
    raise RetryLater (the actor retries with backoff); a refusal is logged and dropped.
    Receivers dedupe on X-Botopia-Delivery (the notification id): a retry may deliver twice."""
    notification = Notification.objects.select_related("account").filter(pk=notification_id).first()
    if notification is None:
        return False
    config = WebhookConfig.objects.filter(account=notification.account).exclude(forward_url="").first()
    if config is None or not config.forward_secret:
        return False
    body = json.dumps(
        {
            "id": str(notification.pk),
            "accountId": str(notification.account_id),
            "kind": notification.kind,
            "severity": notification.severity,
            "title": notification.title,
            "body": notification.body,
            "relatedType": notification.related_type,
            "relatedId": notification.related_id,
            "createdAt": notification.created_at.isoformat().replace("+00:00", "Z"),
        }
    ).encode()
    try:
        forwarding.send(
            url=config.forward_url, secret=config.forward_secret, body=body, delivery_id=str(notification.pk)
        )
    except forwarding.ForwardFailed as exc:
        if exc.transient:
            raise RetryLater(f"Forward of notification {notification.pk} failed: {exc}") from None
        logger.warning("Forward of notification %s refused: %s", notification.pk, exc)
        return False
    return True


def notification_created(*, notification: Notification) -> None:
    """Enqueue the forward of a new notification after commit, when its account has a URL."""
    if not WebhookConfig.objects.filter(account_id=notification.account_id).exclude(forward_url="").exists():
        return

    def enqueue() -> None:
        from webhooks.actors import forward_notification

        try:
            forward_notification.send(str(notification.pk))
        except Exception:
            logger.warning("Could not enqueue the forward of notification %s", notification.pk)

    transaction.on_commit(enqueue)


def webhook_events_prune(*, now: datetime | None = None, batch: int = 5000) -> dict[str, int]:
    """Delete settled events older than settings.WEBHOOK_EVENT_RETENTION_DAYS (default 30),
    in batches (short locks); pending and processing ones are never pruned. Logs the counts."""
    days = settings.WEBHOOK_EVENT_RETENTION_DAYS
    cutoff = (now or timezone.now()) - timedelta(days=days)
    old = WebhookEvent.objects.filter(received_at__lt=cutoff).exclude(
        status__in=[Status.PENDING, Status.PROCESSING]
    )
    deleted: dict[str, int] = {}
    while True:
        ids = list(old.values_list("pk", flat=True)[:batch])
        if not ids:
            break
        for row in WebhookEvent.objects.filter(pk__in=ids).values("status").annotate(n=Count("pk")):
            deleted[row["status"]] = deleted.get(row["status"], 0) + row["n"]
        WebhookEvent.objects.filter(pk__in=ids).delete()
    if deleted:
        logger.info("Pruned webhook events older than %d days: %s", days, deleted)
    return deleted

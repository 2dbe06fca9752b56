"""Writes for WhatsApp messages, and the one owner of a message's status: queue a send
(validated, window-checked, idempotent), deliver it from the actor, sweep what lost jobs left,
mark an inbound message as read, fan broadcasts out, and apply Meta's webhooks (inbound
messages, status updates) to the same rows. Send-payload rules: whatsapp/messages/payloads.py."""

import functools
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.selectors import account_for_work
from accounts.tokens import graph_for
from analytics.recording import deferred, message_status_calls, record, record_many, record_message_status
from botopia_meta import bulk, metrics
from botopia_meta.exceptions import NotFound, OutsideServiceWindow, ValidationFailed
from botopia_meta.graph import GraphClient, GraphError, GraphInvalidParameter
from botopia_meta.tasks import enqueue_on_commit, is_retryable
from whatsapp.media.services import media_track_inbound
from whatsapp.messages import graph, staff_signals
from whatsapp.messages.conversations import conversation_note, conversation_read, conversations_note
from whatsapp.messages.limits import messaging_limit_reserve
from whatsapp.messages.payloads import (
    invalid,
    message_content,
    normalize_wa_id,
    send_payload,
    template_content,
    template_payload,
)
from whatsapp.messages.substitution import SubstitutionError, build_components
from whatsapp.messages.throughput import LATE_AFTER, MAX_WAIT, PAIR, RESERVED, pacer
from whatsapp.models import (
    Broadcast,
    BroadcastBatch,
    Contact,
    Message,
    MessageStatusEvent,
    WhatsAppPhoneNumber,
)

logger = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)
THROTTLE_CODES = (130429, 131056)
CLOCK_SKEW = timedelta(minutes=5)  # an inbound timestamp further ahead of its receipt is flagged
AWAITING_WEBHOOK = "No answer from Meta; awaiting its status webhook."
NO_WAMID = "Meta answered without a message id; awaiting its status webhook."
SWEEP_BATCH = 10_000
NOT_CONNECTED = (
    "Not sent: the Meta account is no longer connected (expired, revoked or removed). Reconnect it."
)


def window_open(contact: Contact | None, *, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return bool(contact and contact.last_inbound_at and contact.last_inbound_at > now - WINDOW)


def message_create(
    *,
    user_id: int,
    number: WhatsAppPhoneNumber,
    to: str,
    type: str,
    body: dict,
    idempotency_key: str | None = None,
    context_wamid: str | None = None,
) -> tuple[Message, bool]:
    """Validate, check the window, store as queued and enqueue the send after commit.
    → (message, created); a repeated Idempotency-Key answers the first message."""
    if idempotency_key:
        existing = Message.objects.filter(
            user_id=user_id, phone_number=number, idempotency_key=idempotency_key
        ).first()
        if existing is not None:
            return existing, False
    wa_id = normalize_wa_id(to)
    content, template = message_content(number=number, type=type, body=body)
    if type != "template":
        contact = Contact.objects.filter(phone_number=number, wa_id=wa_id).first()
        if not window_open(contact):
            raise OutsideServiceWindow()
    if context_wamid:
        if not Message.objects.filter(wamid=context_wamid, phone_number=number).exists():
            # Only this number's own messages can be quoted; someone else's is the same 404
            # as a missing one, naming the field.
            reason = "No message of this number has this wamid."
            raise NotFound(reason, details={"context.message_id": [reason]})
        content = {**content, "_context": {"message_id": context_wamid}}
    try:
        with transaction.atomic():
            if type == "template":  # the only kind that reaches a customer outside a window
                messaging_limit_reserve(number=number, wa_ids=[wa_id])
            message = Message.objects.create(
                direction=Message.Direction.OUTBOUND,
                phone_number=number,
                contact_wa_id=wa_id,
                type=type,
                content=content,
                status=Message.Status.QUEUED,
                status_updated_at=timezone.now(),
                enqueued_at=timezone.now(),
                template=template,
                template_name=template.name if template else "",
                template_language=template.language if template else "",
                user_id=user_id,
                idempotency_key=idempotency_key or None,
            )
            conversation_note(message=message)
    except IntegrityError:
        # Two concurrent POSTs with the same key: the first one wins.
        return Message.objects.get(
            user_id=user_id, phone_number=number, idempotency_key=idempotency_key
        ), False
    _enqueue("send_message", str(message.pk), swept=True)  # messages_sweep re-queues it
    return message, True


def _enqueue(actor_name: str, *args: str | list[str], swept: bool = False) -> None:
    # Imported here: the actors module imports this one.
    from whatsapp.messages import actors

    enqueue_on_commit(getattr(actors, actor_name), *args, swept=swept)


def _set_status(message: Message, status: str, **fields: Any) -> None:
    now = timezone.now()
    message.status = status
    message.status_updated_at = now
    for key, value in fields.items():
        setattr(message, key, value)
    Message.objects.filter(pk=message.pk).update(status=status, status_updated_at=now, **fields)


def _requeue(message: Message, wait: float) -> None:
    # Not through _enqueue: it needs a delay, and runs in the send actor outside a transaction.
    from whatsapp.messages.actors import send_message

    Message.objects.filter(pk=message.pk).update(enqueued_at=timezone.now())
    send_message.send_with_options(args=(str(message.pk),), delay=max(1, int(wait * 1000)))


def _release(message: Message) -> None:
    """Back from `sending` to `queued`: Meta refused before sending, the job runs again."""
    Message.objects.filter(pk=message.pk, status=Message.Status.SENDING).update(status=Message.Status.QUEUED)


def _fail(
    message: Message, *, number: WhatsAppPhoneNumber, account_id: UUID, code: int | None, title: str
) -> None:
    now = timezone.now()
    _set_status(message, Message.Status.FAILED, failed_at=now, error_code=code, error_title=title[:512])
    staff_signals.send_outcome(phone_number_id=number.phone_number_id, outcome="failed")
    staff_signals.message_failed(
        account_id=account_id,
        phone_number_id=number.phone_number_id,
        display_number=number.display_phone_number,
        code=code,
        title=title,
    )
    record_message_status(
        account_id=account_id,
        phone_number_id=number.phone_number_id,
        message_id=str(message.pk),
        status="failed",
        at=now,
        error_code=code,
    )


# Message ids per send job from a broadcast fan-out: the job's load, token decrypt, writes and
# counts are shared by that many sends (bench/broadcast.py at cap 1,000: ~390 msg/s with 10,
# ~420 with 25, ~470-500 with 50, no better with 100). A worker killed mid-job leaves at most
# this many `sending` for the sweep to settle as `unknown`.
SEND_BATCH = 50


def message_deliver(*, message_id: str) -> None:
    """Send one queued message to Meta (from the actor). Idempotent: anything not queued is left."""
    messages_deliver(message_ids=[message_id])


def messages_deliver(*, message_ids: list[str]) -> None:
    """Send queued messages to Meta one after another (from the actor; a broadcast's jobs
    carry SEND_BATCH ids). Idempotent: anything not queued is left. Each message is paced,
    claimed and sent on its own, as if alone in its job; what a job shares is the loading
    (the messages, and once each their number, account and broadcast), the Graph client
    (one token decrypt per account), and the counting (analytics and metrics written once
    at the end)."""
    order = {str(pk): index for index, pk in enumerate(message_ids)}
    messages = sorted(
        Message.objects.filter(pk__in=message_ids, status=Message.Status.QUEUED),
        key=lambda message: order.get(str(message.pk), 0),
    )
    _attach_senders(messages)
    counts: list[dict[str, Any]] = []
    sent: list[tuple[Message, str, datetime]] = []
    clients: dict[UUID, GraphClient] = {}
    transient: GraphError | None = None
    try:
        with metrics.batched():
            for index, message in enumerate(messages):
                try:
                    wait = _deliver(message, clients=clients, counts=counts, sent=sent)
                except GraphError as exc:
                    # Meta failed this one for now (it is queued again): the others still go,
                    # and the job is retried for it alone (the rest are sent by then).
                    transient = transient or exc
                    continue
                if wait is not None:
                    _requeue_rest(messages[index + 1 :], wait)
                    break
    finally:
        # The sends happened: written and counted even if a later one raised. Until this
        # write they are `sending`: a worker killed before it leaves them to the sweep, which
        # makes them `unknown` for their status webhooks to settle (never sent again).
        _sent_write(sent)
        if counts:
            record_many(counts)
    if transient is not None:
        raise transient  # the actor retries with backoff; `messages_give_up` when it stops


def _attach_senders(messages: list[Message]) -> None:
    """Each message's number (with its WABA and account) and broadcast (only what sending
    reads of it), loaded once for the job: joined into every message's row, the same
    number, account (its token decrypted) and broadcast (its list of invalid recipients, up
    to 100,000) were read and built again for each of the job's messages."""
    # all_objects: a removed number's messages are still loaded with it, and failed for it.
    numbers = WhatsAppPhoneNumber.all_objects.select_related("waba__account").in_bulk(
        {message.phone_number_id for message in messages if message.phone_number_id}
    )
    broadcasts = Broadcast.objects.only("id", "cancelled_at").in_bulk(
        {message.broadcast_id for message in messages if message.broadcast_id}
    )
    for message in messages:
        if (number := numbers.get(message.phone_number_id)) is not None:
            message.phone_number = number
        if (broadcast := broadcasts.get(message.broadcast_id)) is not None:
            message.broadcast = broadcast


def _deliver(
    message: Message,
    *,
    clients: dict[UUID, GraphClient],
    counts: list[dict[str, Any]],
    sent: list[tuple[Message, str, datetime]],
) -> float | None:
    """Pace, claim and send one message loaded by messages_deliver; a send Meta accepted joins
    `sent` (written by the job with the others). → None, or the seconds until its number has
    a slot (it was queued again for then; so is the rest of the job)."""
    number = message.phone_number
    if number is None:
        return None
    if message.broadcast is not None and message.broadcast.cancelled_at:
        _set_status(message, Message.Status.CANCELLED)
        return None
    account = number.waba.account
    if not account.is_active or number.waba.deleted_at or number.deleted_at:
        _set_status(message, Message.Status.FAILED, failed_at=timezone.now(), error_title=NOT_CONNECTED)
        return None
    kind, wait = pacer.take(number.phone_number_id, message.contact_wa_id, number.max_send_rate)
    if kind == PAIR:
        _requeue(message, wait)  # only this recipient waits; the others keep flowing
        return None
    if kind != RESERVED:
        _requeue(message, wait)
        return wait
    slot = pacer.clock() + wait
    if wait > 0:
        time.sleep(wait)
    # Claim it: one job sends it. A worker killed from here on leaves it `sending`; the sweep
    # then marks it `unknown` for the status webhook to settle, never sends it a second time.
    if not _claim(message):
        return None
    # Meta's answers decide below. Any other exception (our own code around the call) leaves
    # it `sending`: the request may have left, so the sweep makes it `unknown`, never resends.
    try:
        if (client := clients.get(account.pk)) is None:
            client = clients[account.pk] = graph_for(account)
        payload = send_payload(message)
        if (later := _on_time(message, number, slot)) is not None:
            return later
        gate = functools.partial(_gate, message, number)
        data = graph.message_send(client, number.phone_number_id, payload, before_send=gate)
    except _PutBack as back:
        return back.wait
    except GraphError as exc:
        if exc.code in THROTTLE_CODES:
            # Meta's throughput (130429) or pair-rate (131056) limit: slow down, don't fail.
            _release(message)
            _requeue(message, pacer.throttled(number.phone_number_id, message.contact_wa_id, exc.code))
            return None
        if exc.outcome_unknown:
            # The request may have been sent: resending could deliver it twice. The status
            # webhook (matched by biz_opaque_callback_data) settles it.
            _set_status(message, Message.Status.UNKNOWN, error_title=AWAITING_WEBHOOK)
            staff_signals.send_outcome(phone_number_id=number.phone_number_id, outcome="unknown")
            return None
        if not exc.permanent:
            _release(message)
            raise  # the actor retries with backoff; `message_give_up` when it stops
        _fail(
            message,
            number=number,
            account_id=account.pk,
            code=exc.code,
            title=exc.user_title or exc.message or "",
        )
        return None
    wamid = _sent_wamid(data)
    if wamid is None:
        # Meta said 200 but named no message: we cannot tell whether it went out, nor match
        # its statuses by wamid. Like a lost answer: unknown, never resent; a status webhook
        # (found by biz_opaque_callback_data) settles it.
        logger.warning("Meta accepted message %s without a message id", message.pk)
        _set_status(message, Message.Status.UNKNOWN, error_title=NO_WAMID)
        return None
    now = timezone.now()
    sent.append((message, wamid, now))
    staff_signals.send_outcome(phone_number_id=number.phone_number_id, outcome="sent")
    counts.extend(
        message_status_calls(
            account_id=account.pk,
            phone_number_id=number.phone_number_id,
            message_id=wamid,
            status="sent",
            at=now,
            dimensions={"template": message.template_name} if message.template_name else None,
        )
    )
    return None


def _claim(message: Message) -> bool:
    """queued → sending, attempts + 1, if it is still queued: → whether this job has it. On
    PostgreSQL as plain SQL: the ORM built this one-row UPDATE for more CPU than it runs."""
    if connection.vendor != "postgresql":
        return bool(
            Message.objects.filter(pk=message.pk, status=Message.Status.QUEUED).update(
                status=Message.Status.SENDING, status_updated_at=timezone.now(), attempts=F("attempts") + 1
            )
        )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(Message._meta.db_table)} "  # noqa: S608
            "SET status = %s, status_updated_at = %s, attempts = attempts + 1 WHERE id = %s AND status = %s",
            [Message.Status.SENDING, timezone.now(), message.pk, Message.Status.QUEUED],
        )
        return cursor.rowcount == 1


def _on_time(message: Message, number: WhatsAppPhoneNumber, slot: float) -> float | None:
    """A claimed send late for its slot (a busy machine, a slow claim) takes a new one: sent
    now it would bunch with the sends of later slots. → None: on time; else it was released
    and queued again for that many seconds (and so is the rest of its job)."""
    try:
        while pacer.clock() - slot > LATE_AFTER:
            kind, wait = pacer.take(number.phone_number_id, None, number.max_send_rate)
            if kind != RESERVED:
                return _put_back(message, wait)
            slot = pacer.clock() + wait
            if wait > 0:
                time.sleep(wait)
    except BaseException:
        _release(message)  # it never left (Redis unreachable, the job's time limit): sent later
        raise
    return None


class _PutBack(Exception):
    """From the gate through message_send: the send was released and queued again in `wait` s."""

    def __init__(self, wait: float):
        super().__init__(wait)
        self.wait = wait


def _gate(message: Message, number: WhatsAppPhoneNumber) -> None:
    """The last step before the request leaves (message_send's `before_send`, after the circuit
    breaker): the pacer's gate lets it go only while its number's past second has room, which
    keeps the cap in every sliding second however late sends run. Run this late, not before the
    call: every wait between the gate and the wire (a Redis round trip, the GIL after it) lets
    the sends bunch again on their way to Meta."""
    try:
        while (wait := pacer.depart(number.phone_number_id, number.max_send_rate)) > 0 and wait <= MAX_WAIT:
            time.sleep(wait)
    except BaseException:
        _release(message)  # it never left: sent later
        raise
    if wait > 0:
        raise _PutBack(_put_back(message, wait))


def _put_back(message: Message, wait: float) -> float:
    _release(message)
    _requeue(message, wait)
    return wait


def _sent_write(sent: list[tuple[Message, str, datetime]]) -> None:
    """A job's sends Meta accepted, (message, wamid, when): each gets its wamid unless one is
    stored, and goes sending → sent only from `sending` (a status webhook that raced ahead,
    matched by our callback id, already moved it further). On PostgreSQL one
    `UPDATE … FROM (VALUES …)`: building a CASE per message through the ORM cost more CPU
    than the rest of the send."""
    if not sent:
        return
    sending = Message.Status.SENDING
    if connection.vendor != "postgresql":
        for message, wamid, at in sent:
            was_sending = Q(status=sending)
            Message.objects.filter(pk=message.pk).update(
                wamid=Coalesce(F("wamid"), Value(wamid)),
                status=Case(When(was_sending, then=Value(Message.Status.SENT)), default=F("status")),
                status_updated_at=Case(When(was_sending, then=Value(at)), default=F("status_updated_at")),
                sent_at=Case(When(was_sending, then=Value(at)), default=F("sent_at")),
            )
        return
    table = connection.ops.quote_name(Message._meta.db_table)
    values = ", ".join(["(%s::uuid, %s, %s::timestamptz)"] * len(sent))
    params: list[Any] = []
    for message, wamid, at in sent:
        params += [message.pk, wamid, at]
    # The rows locked first, in id order: the order every status webhook locks messages in (an
    # UPDATE … FROM locks them in its join's order, and deadlocked with them).
    ids = sorted(message.pk for message, _, _ in sent)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {table} WHERE id = ANY(%s) ORDER BY id FOR UPDATE",  # noqa: S608
            [ids],
        )
        cursor.execute(
            f"UPDATE {table} AS m SET wamid = COALESCE(m.wamid, v.wamid), "  # noqa: S608
            "status = CASE WHEN m.status = %s THEN %s ELSE m.status END, "
            "status_updated_at = CASE WHEN m.status = %s THEN v.at ELSE m.status_updated_at END, "
            "sent_at = CASE WHEN m.status = %s THEN v.at ELSE m.sent_at END "
            f"FROM (VALUES {values}) AS v(id, wamid, at) WHERE m.id = v.id",
            [sending, Message.Status.SENT, sending, sending, *params],
        )


def _requeue_rest(messages: list[Message], wait: float) -> None:
    """The rest of a job whose number has no slot for `wait` seconds: one job again, then."""
    if not messages:
        return
    from whatsapp.messages.actors import send_messages

    ids = [str(message.pk) for message in messages]
    Message.objects.filter(pk__in=ids).update(enqueued_at=timezone.now())
    send_messages.send_with_options(args=(ids,), delay=max(1, int(wait * 1000)))


def _sent_wamid(data: Any) -> str | None:
    """`messages[0].id` of Meta's send answer, or None when it is missing or not a string."""
    messages = data.get("messages") if isinstance(data, dict) else None
    first = messages[0] if isinstance(messages, list) and messages else None
    wamid = first.get("id") if isinstance(first, dict) else None
    return wamid[:255] if isinstance(wamid, str) and wamid.strip() else None


def message_give_up(*, message_id: str, exc: BaseException) -> None:
    """The send job stopped retrying: a message still waiting is failed, with the reason."""
    messages_give_up(message_ids=[message_id], exc=exc)


def messages_give_up(*, message_ids: list[str], exc: BaseException) -> None:
    """The send job stopped retrying: its messages still waiting are failed, with the reason."""
    if isinstance(exc, GraphError):
        code, title = exc.code, f"Meta kept failing ({exc.user_title or exc.message}). Send it again later."
    else:
        code, title = None, "Not sent: an internal error stopped the send. Send it again later."
    waiting = Message.objects.filter(pk__in=message_ids, status=Message.Status.QUEUED)
    for message in waiting.select_related("phone_number__waba"):
        if (number := message.phone_number) is not None:
            _fail(message, number=number, account_id=number.waba.account_id, code=code, title=title)


@dataclass(frozen=True)
class Swept:
    """What messages_sweep found: how many sends it settled as unknown, and the ids whose jobs
    its actor queues again (messages to send, broadcasts to fan out)."""

    unknown: int
    messages: list[str]
    broadcasts: list[str]


def messages_sweep(*, now: datetime | None = None) -> Swept:
    """Settle what a lost job left behind (periodic); the actor queues the ids it returns.

    - `sending` for longer than STALE_SENDING_SECONDS: the worker died mid-send; the
      request may have reached Meta, so it becomes `unknown` (the status webhook settles it).
    - `queued` since its job was queued REQUEUE_AFTER_SECONDS ago, while its number sent
      nothing queued before it in that time: the broker lost the job (flushed, restarted
      without persistence); it is queued again. A job that was not lost only finds it claimed
      or sent, so this never sends twice; a backlog still draining gets no duplicate jobs.
    - broadcasts with batches nobody is fanning out get their fan-out job again."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.STALE_SENDING_SECONDS)
    unknown = Message.objects.filter(status=Message.Status.SENDING, status_updated_at__lt=stale).update(
        status=Message.Status.UNKNOWN, status_updated_at=now, error_title=AWAITING_WEBHOOK
    )
    lost = now - timedelta(seconds=settings.REQUEUE_AFTER_SECONDS)
    # While its number is still sending messages queued before it, a message is waiting its
    # turn in a long backlog, not lost (the queue is first in, first out).
    ahead_moving = Message.objects.filter(
        phone_number=OuterRef("phone_number"), sent_at__gte=lost, enqueued_at__lte=OuterRef("enqueued_at")
    )
    waiting = Message.objects.filter(status=Message.Status.QUEUED, enqueued_at__lt=lost).exclude(
        Exists(ahead_moving)
    )
    ids = list(waiting.values_list("pk", flat=True)[:SWEEP_BATCH])
    Message.objects.filter(pk__in=ids).update(enqueued_at=now)
    broadcast_ids = list(
        Broadcast.objects.filter(cancelled_at__isnull=True, batches__isnull=False, updated_at__lt=lost)
        .values_list("pk", flat=True)
        .distinct()
    )
    Broadcast.objects.filter(pk__in=broadcast_ids).update(updated_at=now)
    return Swept(
        unknown=unknown, messages=[str(pk) for pk in ids], broadcasts=[str(pk) for pk in broadcast_ids]
    )


def message_mark_read(*, message: Message, typing_indicator: dict | None = None) -> Message:
    if message.direction != Message.Direction.INBOUND or not message.wamid:
        raise invalid("id", "Only a received message can be marked as read.")
    number = message.phone_number
    account = account_for_work(account_id=number.waba.account_id) if number is not None else None
    if number is None or account is None:
        raise NotFound("No such message.")
    graph.message_mark_read(
        graph_for(account), number.phone_number_id, message.wamid, typing_indicator=typing_indicator
    )
    if message.read_at is None:
        message.read_at = timezone.now()
        _read(Message.objects.filter(pk=message.pk), message, message.read_at)
    return message


def _read(unread: QuerySet[Message], message: Message, at: datetime) -> int:
    """Mark `unread` (inbound messages of `message`'s conversation) read at `at`; those that
    were unread leave the conversation's unread count. → how many."""
    count = unread.filter(read_at__isnull=True).update(read_at=at)
    conversation_read(number_id=message.phone_number_id, wa_id=message.contact_wa_id, count=count)
    return count


def conversation_mark_read(*, contact: Contact) -> int:
    """Read a whole conversation (the inbox's "mark read"): Meta gets one read receipt, for its
    newest unread inbound message (Meta marks the earlier ones read with it), through
    `message_mark_read`; here every unread inbound message up to that one is marked read.
    A message Meta refuses to mark (code 100: too old, unknown to it) is still read here, or
    the conversation would stay unread for ever; any other error changes nothing.
    → messages marked (0, and no call to Meta, when nothing was unread)."""
    unread = Message.objects.filter(
        phone_number_id=contact.phone_number_id,
        contact_wa_id=contact.wa_id,
        direction=Message.Direction.INBOUND,
        read_at__isnull=True,
    )
    newest = (
        unread.filter(wamid__isnull=False)
        .exclude(wamid="")
        .select_related("phone_number__waba")
        .order_by("-created_at", "-pk")
        .first()
    )
    if newest is None:
        return 0
    try:
        message_mark_read(message=newest)
    except GraphInvalidParameter as exc:
        logger.warning("Meta refused the read receipt of %s (code=%s): read here only", newest.pk, exc.code)
        newest.read_at = timezone.now()
        _read(Message.objects.filter(pk=newest.pk), newest, newest.read_at)
    assert newest.read_at is not None
    return 1 + _read(
        unread.filter(created_at__lte=newest.created_at).exclude(pk=newest.pk), newest, newest.read_at
    )


# --- broadcasts -----------------------------------------------------------------------------

MAX_RECIPIENTS = 100_000
BATCH_SIZE = 2_000


def broadcast_create(
    *, user_id: int, number: WhatsAppPhoneNumber, template: dict, recipients: list
) -> Broadcast:
    """Validate every recipient up front (invalid ones are listed, not sent) and store the
    valid ones in batches; the fan-out actor turns them into queued messages and sends them
    through the same queue and bucket. The request does no per-message writes: 100,000
    recipients answer in about a second."""
    if not isinstance(template, dict):
        raise invalid("template", "Must be an object with name and language.")
    if not isinstance(recipients, list) or not recipients:
        raise invalid("recipients", "Give at least one recipient.")
    if len(recipients) > MAX_RECIPIENTS:
        raise invalid("recipients", f"At most {MAX_RECIPIENTS} recipients per broadcast.")
    _, mirror = template_content(number, template, check_only=True)
    rejected: list[dict] = []
    valid: list[list] = []
    seen: set[str] = set()
    for index, recipient in enumerate(recipients):
        to = recipient.get("to") if isinstance(recipient, dict) else None
        try:
            wa_id = normalize_wa_id(to)
            if wa_id in seen:
                raise invalid("to", "Duplicate recipient in this broadcast.")
            components = build_components(
                components=mirror.components,
                parameter_format=mirror.parameter_format,
                parameters=recipient.get("parameters"),
            )
        except ValidationFailed as exc:
            rejected.append({"index": index, "to": to, "error": exc.message})
            continue
        except SubstitutionError as exc:
            rejected.append({"index": index, "to": to, "error": f"parameters.{exc.field}: {exc.message}"})
            continue
        seen.add(wa_id)
        valid.append([wa_id, components or None])
    with transaction.atomic():
        messaging_limit_reserve(number=number, wa_ids=[wa_id for wa_id, _ in valid])
        broadcast = Broadcast.objects.create(
            phone_number=number,
            template=mirror,
            template_name=mirror.name,
            template_language=mirror.language,
            total=len(valid),
            invalid=rejected,
            user_id=user_id,
            status=Broadcast.Status.QUEUED if valid else Broadcast.Status.COMPLETED,
        )
        BroadcastBatch.objects.bulk_create(
            BroadcastBatch(broadcast=broadcast, recipients=chunk)
            for chunk in (valid[i : i + BATCH_SIZE] for i in range(0, len(valid), BATCH_SIZE))
        )
        if valid:
            _enqueue("broadcast_fanout", str(broadcast.pk), swept=True)  # resumed by messages_sweep
    return broadcast


def _take_batch(broadcast: Broadcast) -> list[Message] | None:
    """Turn the broadcast's next batch into queued messages, in one transaction: the batch row
    is deleted with the messages created, so two fan-outs never both take it. None: no batch."""
    with transaction.atomic():
        batch = (
            BroadcastBatch.objects.select_for_update(skip_locked=True)
            .filter(broadcast=broadcast)
            .order_by("pk")
            .first()
        )
        if batch is None:
            return None
        if not BroadcastBatch.objects.filter(pk=batch.pk).delete()[0]:
            return []  # another fan-out took it first (SQLite has no row locks)
        now = timezone.now()
        payload = template_payload(broadcast.template_name, broadcast.template_language)
        # One created_at for the batch: each recipient's conversation moves to it at once.
        rows = [
            Message(
                direction=Message.Direction.OUTBOUND,
                phone_number_id=broadcast.phone_number_id,
                contact_wa_id=wa_id,
                type="template",
                content={**payload, "components": components} if components else payload,
                status=Message.Status.QUEUED,
                status_updated_at=now,
                enqueued_at=now,
                template_id=broadcast.template_id,
                template_name=broadcast.template_name,
                template_language=broadcast.template_language,
                broadcast=broadcast,
                user_id=broadcast.user_id,
                created_at=now,
            )
            for wa_id, components in batch.recipients
        ]
        _messages_insert(rows)
        conversations_note(number_id=broadcast.phone_number_id, messages=rows, at=now)
        Broadcast.objects.filter(pk=broadcast.pk, status=Broadcast.Status.QUEUED).update(
            status=Broadcast.Status.SENDING
        )
    return rows


def _messages_insert(rows: list[Message]) -> None:
    """Store new messages (their ids set by their default). On PostgreSQL one COPY: bulk_create
    quoted 2,000 rows' values in Python, a quarter of a broadcast's CPU per message."""
    if connection.vendor != "postgresql":
        Message.objects.bulk_create(rows)
        return
    fields = Message._meta.concrete_fields
    qn = connection.ops.quote_name
    columns = ", ".join(qn(str(field.column)) for field in fields)
    sql = f"COPY {qn(Message._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(bulk.row_values(fields, row, add=True))
    for row in rows:
        row._state.adding, row._state.db = False, connection.alias


def broadcast_fanout(*, broadcast_id: str) -> int:
    """Batch by batch, create the broadcast's messages and queue one send for each (from an
    actor; resumable: a batch is either still stored or already messages). → messages queued."""
    count = 0
    while True:
        broadcast = Broadcast.objects.filter(pk=broadcast_id, cancelled_at__isnull=True).first()
        if broadcast is None:
            return count
        rows = _take_batch(broadcast)
        if rows is None:
            break
        # SEND_BATCH messages per job: one load, one token decrypt, one analytics write for them.
        for start in range(0, len(rows), SEND_BATCH):
            _enqueue("send_messages", [str(row.pk) for row in rows[start : start + SEND_BATCH]])
        count += len(rows)
    return count


def broadcast_cancel(*, broadcast: Broadcast) -> Broadcast:
    """Stop what has not been sent yet; what Meta already has is not recalled."""
    with transaction.atomic():
        updated = Broadcast.objects.filter(pk=broadcast.pk, cancelled_at__isnull=True).update(
            cancelled_at=timezone.now(), status=Broadcast.Status.CANCELLED
        )
        if updated:
            Message.objects.filter(broadcast=broadcast, status=Message.Status.QUEUED).update(
                status=Message.Status.CANCELLED, status_updated_at=timezone.now()
            )
            BroadcastBatch.objects.filter(broadcast=broadcast).delete()  # recipients not needed now
    broadcast.refresh_from_db()
    return broadcast


# --- webhook intake: inbound messages and status updates ------------------------------------

STATUS_FIELDS = {"sent": "sent_at", "delivered": "delivered_at", "read": "read_at", "failed": "failed_at"}


def _ts(value: object) -> datetime:
    if not isinstance(value, str | int | float):  # what int() takes from JSON
        return timezone.now()
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):  # OverflowError: past year 9999
        return timezone.now()


def derived_status(message: Message) -> str:
    """read > delivered > failed > sent: a failure never erases a later read or delivery."""
    if message.read_at:
        return Message.Status.READ
    if message.delivered_at:
        return Message.Status.DELIVERED
    if message.failed_at:
        return Message.Status.FAILED
    if message.sent_at:
        return Message.Status.SENT
    return message.status


def message_apply_inbound(
    *,
    number: WhatsAppPhoneNumber,
    message: dict,
    profiles: dict[str, str],
    received_at: datetime | None = None,
) -> bool:
    wamid, wa_id = message.get("id"), str(message.get("from") or "")
    if not wamid or not wa_id:
        return False
    at = _ts(message.get("timestamp"))
    # A timestamp after we received the message (a sender's clock, a forged payload) would
    # hold the 24-hour window open until then: it counts as received when we got it.
    # Seconds ahead are clock skew between Meta and us: clamped too, flagged only beyond that.
    received_at = received_at or timezone.now()
    clamped = at > received_at + CLOCK_SKEW
    if clamped:
        logger.warning("Inbound %s dated %s, after its receipt: clamped to %s", wamid, at, received_at)
    at = min(at, received_at)
    kind = message.get("type") or "unknown"
    content = message.get(kind)
    if not isinstance(content, dict):
        content = {
            k: v for k, v in message.items() if k not in {"from", "id", "timestamp", "type", "context"}
        }
    if message.get("context"):
        content = {**content, "_context": message["context"]}
    if clamped:
        content = {**content, "_clamped_timestamp": str(message.get("timestamp"))}  # the flag
    try:
        with transaction.atomic():
            stored = Message.objects.create(
                direction=Message.Direction.INBOUND,
                phone_number=number,
                contact_wa_id=wa_id,
                type=kind,
                content=content,
                wamid=wamid,
                status=Message.Status.RECEIVED,
                status_updated_at=at,
            )
            media_track_inbound(message=stored)
    except IntegrityError:
        return False  # a redelivery: already stored
    contact, _ = Contact.objects.select_for_update().get_or_create(phone_number=number, wa_id=wa_id)
    changed: dict[str, Any] = {}
    if contact.last_inbound_at is None or at > contact.last_inbound_at:
        changed["last_inbound_at"] = at
    name = profiles.get(wa_id)
    if name and name != contact.name:
        changed["name"] = name[:255]
    # One UPDATE of the locked row: the conversation and what this message tells of the contact.
    conversation_note(message=stored, also={**changed, "updated_at": timezone.now()} if changed else None)
    record(
        account_id=number.waba.account_id,
        platform="whatsapp",
        metric="received",
        at=at,
        asset_id=number.phone_number_id,
        dimensions={"type": kind},
        key=f"{wamid}:received",
    )
    return True


def _callback_uuid(value: object) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None


def _status_parts(status: dict) -> tuple[Any, str, datetime] | None:
    """(wamid, status name, Meta's time) of a status we apply; None for one we skip."""
    wamid, name = status.get("id"), status.get("status")
    if not wamid or name not in STATUS_FIELDS:
        return None
    return wamid, name, _ts(status.get("timestamp"))


def _status_to_message(message: Message, status: dict, *, wamid: Any, name: str, at: datetime) -> int | None:
    """A status's changes to its message, in memory: the earliest time of each status, the
    wamid when we had none, Meta's error, pricing and conversation, the derived status.
    → the error code of a failure."""
    field = STATUS_FIELDS[name]
    if getattr(message, field) is None or at < getattr(message, field):
        setattr(message, field, at)
    if not message.wamid:
        message.wamid = wamid
    error_code = None
    if name == "failed":
        error = (status.get("errors") or [{}])[0] or {}
        error_code = error.get("code")
        message.error_code = error_code if isinstance(error_code, int) else None
        message.error_title = str(error.get("title") or error.get("message") or "")[:512]
    if status.get("pricing"):
        message.pricing = status["pricing"]
    if status.get("conversation"):
        message.conversation = status["conversation"]
    message.status = derived_status(message)
    message.status_updated_at = timezone.now()
    return error_code


def _status_counted(
    number: WhatsAppPhoneNumber, message: Message, *, wamid: Any, name: str, at: datetime, error_code: Any
) -> None:
    """After a status is applied to its row: the failure notice, the analytics counts."""
    if name == "failed":
        staff_signals.message_failed(
            account_id=number.waba.account_id,
            phone_number_id=number.phone_number_id,
            display_number=number.display_phone_number,
            code=error_code,
            title=message.error_title,
        )
    record_message_status(
        account_id=number.waba.account_id,
        phone_number_id=number.phone_number_id,
        message_id=wamid,
        status=name,
        at=at,
        dimensions={"template": message.template_name} if message.template_name else None,
        error_code=error_code,
    )


def _number_of(numbers: list[WhatsAppPhoneNumber], message: Message) -> WhatsAppPhoneNumber:
    """The row (of the webhook's number rows) a message is under: its organization's."""
    return next((n for n in numbers if n.pk == message.phone_number_id), numbers[0])


def message_apply_status(*, numbers: list[WhatsAppPhoneNumber], status: dict) -> bool:
    """One status on its own (the set path's fallback, and an orphan's first status). Its
    message is the one we sent, under whichever of the number's rows (one per organization
    that connected it); an orphan's row is made under the oldest."""
    parts = _status_parts(status)
    if parts is None:
        return False
    wamid, name, at = parts
    try:
        with transaction.atomic():
            MessageStatusEvent.objects.create(wamid=wamid, status=name, at=at, payload=status)
    except IntegrityError:
        return False  # this (wamid, status) was applied already
    rows = {n.pk for n in numbers}
    ours = Message.objects.select_for_update().filter(phone_number__in=rows)
    # Every row with the wamid, in one query: ours, or one under a number row no longer at work.
    named = list(Message.objects.select_for_update().filter(wamid=wamid).order_by("pk"))
    message = next((m for m in named if m.phone_number_id in rows), None)
    if message is None and (pk := _callback_uuid(status.get("biz_opaque_callback_data"))):
        message = ours.filter(pk=pk).first()
    if message is None:
        if named:
            # The wamid is on a number row no longer at work (a shared number whose other
            # organization disconnected): that organization's message, not an orphan here.
            return False
        # Sent outside Botopia, or before its row existed: kept so nothing is lost.
        number = numbers[0]
        try:
            with transaction.atomic():
                message = Message.objects.create(
                    direction=Message.Direction.OUTBOUND,
                    phone_number=number,
                    contact_wa_id=str(status.get("recipient_id") or ""),
                    type="unknown",
                    wamid=wamid,
                    status=Message.Status.UNKNOWN,
                )
        except IntegrityError:
            # Another status of the same orphan (Meta sends sent and delivered close together)
            # inserted it first: update that row.
            message = ours.filter(wamid=wamid, phone_number=number).first()
            if message is None:
                return False
    number = _number_of(numbers, message)
    error_code = _status_to_message(message, status, wamid=wamid, name=name, at=at)
    message.save()
    staff_signals.status_applied(at=at, status=name, phone_number_id=number.phone_number_id)
    _status_counted(number, message, wamid=wamid, name=name, at=at, error_code=error_code)
    return True


class _NotASet(Exception):
    """The statuses can't be applied as a set with the outcome of one by one: apply them so."""


# What a status changes on a message row (bulk_update sets no auto_now: updated_at is set).
_STATUS_WRITES = (
    "status",
    "status_updated_at",
    "sent_at",
    "delivered_at",
    "read_at",
    "failed_at",
    "wamid",
    "error_code",
    "error_title",
    "pricing",
    "conversation",
    "updated_at",
)


def _status_events_insert(rows: list[tuple[str, str, datetime, dict]]) -> set[tuple[str, str]]:
    """One INSERT of (wamid, status, at, payload) ON CONFLICT DO NOTHING; → the pairs stored
    now (a pair stored already was applied before)."""
    meta = MessageStatusEvent._meta
    at_field, payload_field = meta.get_field("at"), meta.get_field("payload")
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    params: list[Any] = []
    for wamid, name, at, payload in rows:
        params += [
            wamid,
            name,
            at_field.get_db_prep_save(at, connection),
            payload_field.get_db_prep_save(payload, connection),
            now,
        ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {meta.db_table} (wamid, status, at, payload, created_at) "  # noqa: S608
            f"VALUES {', '.join(['(%s, %s, %s, %s, %s)'] * len(rows))} "
            "ON CONFLICT (wamid, status) DO NOTHING RETURNING wamid, status",
            params,
        )
        return {(wamid, name) for wamid, name in cursor.fetchall()}


def _status_set_apply(
    numbers: list[WhatsAppPhoneNumber], statuses: list[dict], locked: list[Message]
) -> list[dict]:
    """Apply statuses, in order, to their locked messages as one set: one INSERT of their
    status events, one UPDATE of the rows, one flush of the counts. The same outcome as one by
    one. → the tail to apply one by one, from the first status whose message isn't stored
    (an orphan's row is made there) or whose wamid isn't a string."""
    by_wamid: dict[Any, Message] = {}
    for m in locked:  # by primary key: the row one by one would find first
        if m.wamid:
            by_wamid.setdefault(m.wamid, m)
    by_pk = {m.pk: m for m in locked}
    planned: list[tuple[dict, str, str, datetime, Message]] = []
    # A row without a wamid gets the first one applied to it; statuses after that one find the
    # row by it. giver[pk]: the planned status expected to give it; relies_on[k]: planned[k]
    # found its row that way, so it holds only if that status is applied (not stored before).
    giver: dict[Any, int] = {}
    relies_on: dict[int, int] = {}
    seen: set[tuple[str, str]] = set()
    tail: list[dict] = []
    for position, status in enumerate(statuses):
        parts = _status_parts(status)
        if parts is None:
            continue
        wamid, name, at = parts
        if not isinstance(wamid, str) or len(wamid) > 255:
            tail = statuses[position:]
            break
        message = by_wamid.get(wamid)
        if message is None and (pk := _callback_uuid(status.get("biz_opaque_callback_data"))):
            message = by_pk.get(pk)
        if message is None:
            tail = statuses[position:]
            break
        if (wamid, name) in seen:
            continue  # one by one, the second finds its status event stored: it changes nothing
        seen.add((wamid, name))
        if not message.wamid:
            if message.pk not in giver:
                giver[message.pk] = len(planned)
                by_wamid[wamid] = message
            elif by_wamid.get(wamid) is message:
                relies_on[len(planned)] = giver[message.pk]
        planned.append((status, wamid, name, at, message))
    if not planned:
        return tail
    stored = _status_events_insert(sorted((w, n, at, s) for s, w, n, at, _ in planned))
    applied = [i for i, (_, wamid, name, _, _) in enumerate(planned) if (wamid, name) in stored]
    if any(planned[relies_on[i]][1:3] not in stored for i in applied if i in relies_on):
        # A status found its row through a wamid that an earlier one, applied before, won't give it.
        raise _NotASet()
    touched: dict[Any, Message] = {}
    counted = []
    for i in applied:
        status, wamid, name, at, message = planned[i]
        error_code = _status_to_message(message, status, wamid=wamid, name=name, at=at)
        touched[message.pk] = message
        counted.append((message, wamid, name, at, error_code))
    now = timezone.now()
    for message in touched.values():
        message.updated_at = now
    bulk.update_rows(sorted(touched.values(), key=lambda m: m.pk), _STATUS_WRITES)
    for message, wamid, name, at, error_code in counted:
        _status_counted(
            _number_of(numbers, message), message, wamid=wamid, name=name, at=at, error_code=error_code
        )
    staff_signals.statuses_applied(
        applied=[(at, name) for _, _, name, at, _ in counted], phone_number_id=numbers[0].phone_number_id
    )
    return tail


def _statuses_apply(numbers: list[WhatsAppPhoneNumber], statuses: list[dict], locked: list[Message]) -> None:
    """The statuses as a set; if the set fails, one by one, each with its savepoint: one bad
    status (logged) never keeps the others from being applied. A transient database error
    (deadlock victim, connection lost) goes up: the whole change runs again."""
    try:
        with transaction.atomic(), deferred():
            rest = _status_set_apply(numbers, statuses, locked)
    except Exception as exc:
        if is_retryable(exc):
            raise
        if not isinstance(exc, _NotASet):
            logger.exception(
                "Statuses of %s applied one by one after the set failed", numbers[0].phone_number_id
            )
        rest = statuses
    for status in rest:
        try:
            with transaction.atomic(), deferred():
                message_apply_status(numbers=numbers, status=status)
        except Exception as exc:
            if is_retryable(exc):
                raise
            logger.exception("Status %r of %s not applied", status.get("id"), numbers[0].phone_number_id)


def messages_apply_webhook(
    *,
    numbers: list[WhatsAppPhoneNumber],
    messages: list,
    statuses: list,
    profiles: dict[str, str],
    received_at: datetime | None = None,
) -> None:
    """Store a `messages` change's inbound messages and apply its statuses, in one transaction.
    `numbers`: the number's rows at work, oldest first, one per organization that connected it.
    Each stores its own copy of an inbound message; a status goes to the message it is about,
    under whichever row.

    Meta redelivers and reorders: every write is idempotent (unique wamid, one status event
    per (wamid, status)) and a message's status is derived from the timestamps it has
    collected (`derived_status`), so any arrival order ends the same."""
    # Concurrent deliveries touch the same rows (a message's statuses arrive in different
    # batches, every status counts into the same analytics buckets): each transaction takes
    # its row locks in one global order (messages by id, then contacts, then the status
    # events by (wamid, status), then the analytics keys and buckets at the end), so two of
    # them never wait on each other in a cycle (contacts in (number row, wa_id) order: the
    # rows come oldest first, the messages by sender).
    messages = sorted(
        (m for m in messages if isinstance(m, dict)), key=lambda m: (str(m.get("from")), str(m.get("id")))
    )
    statuses = [s for s in statuses if isinstance(s, dict)]
    # All or nothing with the caller's transaction (the webhook item's): no savepoint of its own.
    with transaction.atomic(savepoint=False), deferred():
        locked = _lock_messages(numbers, statuses)
        for number in numbers:
            for message in messages:
                message_apply_inbound(
                    number=number, message=message, profiles=profiles, received_at=received_at
                )
        if statuses:
            _statuses_apply(numbers, statuses, locked)


def _lock_messages(numbers: list[WhatsAppPhoneNumber], statuses: list[dict]) -> list[Message]:
    """Lock, in primary-key order, every stored message of the number's rows the statuses name
    (by wamid or by our id in biz_opaque_callback_data), and load what a status changes (and
    the row it is under): one query."""
    wamids = {s["id"] for s in statuses if isinstance(s.get("id"), str) and s["id"]}
    pks = {pk for s in statuses if (pk := _callback_uuid(s.get("biz_opaque_callback_data")))}
    if not wamids and not pks:
        return []
    rows = [n.pk for n in numbers]
    query = Message.objects.filter(phone_number__in=rows).filter(Q(wamid__in=wamids) | Q(pk__in=pks))
    return list(
        query.order_by("pk").select_for_update().only(*_STATUS_WRITES, "template_name", "phone_number")
    )

"""Messenger-style DMs shared by Facebook and Instagram (Instagram Messaging is the Messenger
platform): webhooks, queued replies, receipts, contact names. The platform's `InboxSpec` gives
the models, the asset FK, the Graph calls and the actors' names."""

import importlib
import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from botopia_meta.exceptions import OutsideServiceWindow
from botopia_meta.graph import GraphError
from botopia_meta.inbox.meta import from_unix, stored_error
from botopia_meta.inbox.spec import InboxSpec
from botopia_meta.tasks import enqueue_on_commit

logger = logging.getLogger(__name__)

SWEEP_BATCH = 10_000
STOPPED_MID_SEND = (
    "The send was interrupted: it may or may not have reached the person. "
    "Check the conversation before sending again."
)


def _enqueue(spec: InboxSpec, actor_name: str, *args: str, swept: bool = False) -> None:
    # The platform's actors are imported here: they import this module. Their names carry the
    # platform's prefix (fb_deliver_message), which queued messages refer to.
    actors = importlib.import_module(spec.actors_module)
    enqueue_on_commit(getattr(actors, f"{spec.key_prefix}_{actor_name}"), *args, swept=swept)


def inbound_message(item: dict) -> dict | None:
    """The message in a messaging element; a postback (a tapped button) counts as one: the
    person wrote to us, so it opens the 24-hour window like a text would."""
    message = item.get("message")
    if isinstance(message, dict) and message.get("mid"):
        return message
    postback = item.get("postback")
    if isinstance(postback, dict) and postback.get("mid"):
        return {"mid": postback["mid"], "text": str(postback.get("title") or postback.get("payload") or "")}
    return None


def message_apply_webhook(spec: InboxSpec, *, asset: Any, item: dict) -> str:
    """One `entry[].messaging[]` element: a message to the asset, or an echo of one it sent."""
    Conversation, Message = spec.conversation_model, spec.message_model
    message = inbound_message(item)
    if message is None:
        return "ignored"
    is_echo = bool(message.get("is_echo"))
    contact_id = str(((item.get("recipient") if is_echo else item.get("sender")) or {}).get("id") or "")
    if not contact_id:
        return "ignored"
    if spec.honour_deletes and message.get("is_deleted"):
        Message.objects.filter(**{f"conversation__{spec.asset}": asset}, mid=message["mid"]).update(
            text="", attachments=[]
        )
        return "deleted"
    # Never later than now: a future timestamp would hold the 24-hour window open until then.
    at = min(from_unix(item.get("timestamp")) or timezone.now(), timezone.now())
    conversation, new_contact = Conversation.objects.get_or_create(
        **{spec.asset: asset}, contact_id=contact_id
    )
    if new_contact:
        _enqueue(spec, "fetch_contact_name", str(conversation.pk))
    if conversation.messages.filter(mid=message["mid"]).exists():
        return "duplicate"
    try:
        with transaction.atomic():
            conversation.messages.create(
                mid=str(message["mid"]),
                direction=Message.Direction.OUTBOUND if is_echo else Message.Direction.INBOUND,
                text=str(message.get("text") or ""),
                attachments=message.get("attachments") or [],
                status=Message.Status.SENT if is_echo else Message.Status.RECEIVED,
                sent_at=at,
            )
    except IntegrityError:
        return "duplicate"
    updates: dict = {"last_message_at": at}
    if not is_echo:
        updates["last_inbound_at"] = at
        updates["unread_count"] = F("unread_count") + 1
    Conversation.objects.filter(pk=conversation.pk).update(**updates)
    if not is_echo:
        spec.record(asset=asset, metric="dms_received", at=at, key=f"dm:{message['mid']}:received")
    return "echo" if is_echo else "created"


def message_queue(spec: InboxSpec, *, conversation: Any, text: str, image_url: str) -> Any:
    """Store the reply as queued and send it after commit; 409 outside the service window."""
    Message = spec.message_model
    now = timezone.now()
    if conversation.last_inbound_at is None or now - conversation.last_inbound_at > spec.service_window:
        raise OutsideServiceWindow(spec.window_refusal)
    message = conversation.messages.create(
        direction=Message.Direction.OUTBOUND,
        text=text,
        image_url=image_url,
        status=Message.Status.QUEUED,
        sent_at=now,
    )
    spec.conversation_model.objects.filter(pk=conversation.pk).update(last_message_at=now, unread_count=0)
    # The broker being down is no error: the reply is stored and the message sweep queues it.
    _enqueue(spec, "deliver_message", str(message.pk), swept=True)
    return message


def message_deliver(spec: InboxSpec, *, message_pk: str) -> None:
    """Send a queued reply once: the row is claimed atomically, so a redelivered actor
    message never sends twice. `spec.refusals`: our own errors (with .code/.message) that fail it."""
    Message = spec.message_model
    claimed = Message.objects.filter(pk=message_pk, status=Message.Status.QUEUED).update(
        status=Message.Status.SENDING, updated_at=timezone.now()
    )
    if not claimed:
        return
    message = Message.objects.select_related(f"conversation__{spec.asset}__account").get(pk=message_pk)
    failures: tuple[type[Exception], ...] = (GraphError, *spec.refusals)
    try:
        mid = spec.graph.message_send(
            getattr(message.conversation, spec.asset),
            recipient_id=message.conversation.contact_id,
            text=message.text,
            image_url=message.image_url,
        )
    except failures as exc:
        if isinstance(exc, GraphError) and not exc.permanent and not exc.outcome_unknown:
            # Meta refused or never saw it: put it back for the retry. A lost answer (read
            # timeout, dropped connection, gateway page) is ambiguous: it may have been
            # delivered, so it fails instead of risking a double.
            Message.objects.filter(pk=message_pk).update(
                status=Message.Status.QUEUED, updated_at=timezone.now()
            )
            raise
        message.status, message.error = Message.Status.FAILED, stored_error(exc)
        message.save(update_fields=["status", "error", "updated_at"])
        return
    message.mid, message.status = mid, Message.Status.SENT
    try:
        message.save(update_fields=["mid", "status", "updated_at"])
    except IntegrityError:
        # The echo webhook stored this mid first: keep ours, drop the echo's copy.
        message.conversation.messages.filter(mid=mid).exclude(pk=message.pk).delete()
        message.save(update_fields=["mid", "status", "updated_at"])


def message_give_up(spec: InboxSpec, *, message_pk: str, exc: BaseException) -> None:
    """The send job stopped retrying (Meta kept failing, or our own error): fail the reply."""
    Message = spec.message_model
    error = (
        stored_error(exc)
        if isinstance(exc, GraphError)
        else {"code": None, "message": "An internal error stopped the send."}
    )
    error["message"] = f"Not sent after retries: {error['message']} Send it again later."
    Message.objects.filter(pk=message_pk, status=Message.Status.QUEUED).update(
        status=Message.Status.FAILED, error=error, updated_at=timezone.now()
    )


def messages_sweep(spec: InboxSpec, *, now: datetime | None = None) -> list[str]:
    """What lost jobs left behind (periodic): a reply `sending` for STALE_SENDING_SECONDS had
    its worker die mid-send: it may have reached the person, so it fails with that said rather
    than risk a double. → pks of queued replies whose job was lost, to queue again (a job that
    was not lost finds them claimed, so nothing is sent twice). The clock is `updated_at`, which
    only the send's own transitions touch while a reply is queued or sending."""
    Message = spec.message_model
    now = now or timezone.now()
    Message.objects.filter(
        status=Message.Status.SENDING,
        updated_at__lt=now - timedelta(seconds=settings.STALE_SENDING_SECONDS),
    ).update(
        status=Message.Status.FAILED,
        error={"code": None, "message": STOPPED_MID_SEND},
        updated_at=now,
    )
    lost = Message.objects.filter(
        status=Message.Status.QUEUED, updated_at__lt=now - timedelta(seconds=settings.REQUEUE_AFTER_SECONDS)
    )
    pks = [str(pk) for pk in lost.values_list("pk", flat=True)[:SWEEP_BATCH]]
    Message.objects.filter(pk__in=pks).update(updated_at=now)
    return pks


def conversation_mark_read(spec: InboxSpec, *, conversation: Any) -> None:
    spec.conversation_model.objects.filter(pk=conversation.pk).update(unread_count=0)


def message_apply_receipt(spec: InboxSpec, *, asset: Any, item: dict) -> int:
    """`delivery` / `read` receipts: our outbound messages up to the watermark (or the named
    ones) move forward to delivered / read, never backwards."""
    Message = spec.message_model
    contact_id = str((item.get("sender") or {}).get("id") or "")
    # The `conversation` FK is declared on each concrete model (to its own app's Conversation),
    # so django-stubs, checking lookups against the abstract base's fields, cannot see it.
    outbound = Message.objects.filter(  # type: ignore[misc]
        **{f"conversation__{spec.asset}": asset},
        conversation__contact_id=contact_id,
        direction=Message.Direction.OUTBOUND,
    )
    S = Message.Status
    receipt = item.get("read") or item.get("delivery") or {}
    to_status, from_statuses = (
        (S.READ, [S.SENT, S.DELIVERED]) if item.get("read") else (S.DELIVERED, [S.SENT])
    )
    outbound = outbound.filter(status__in=from_statuses)
    mids = receipt.get("mids") or ([receipt["mid"]] if receipt.get("mid") else [])
    watermark = from_unix(receipt.get("watermark"))
    if watermark is not None:
        selected = outbound.filter(sent_at__lte=watermark)
    elif mids:
        last = outbound.filter(mid__in=mids).order_by("-sent_at").values_list("sent_at", flat=True).first()
        selected = outbound.filter(sent_at__lte=last) if last else outbound.none()
    else:
        return 0
    return selected.update(status=to_status, updated_at=timezone.now())


def conversation_fetch_contact_name(spec: InboxSpec, *, conversation_pk: str) -> None:
    """Best effort for the actors: a name makes the inbox readable; Meta may refuse (privacy
    settings), which is logged, not retried. `spec.refusals`: our own errors that mean "no
    profile"."""
    conversation = (
        spec.conversation_model.objects.select_related(f"{spec.asset}__account")
        .filter(pk=conversation_pk)
        .first()
    )
    if conversation is None or conversation.contact_name:
        return
    try:
        profile = spec.graph.contact_profile(getattr(conversation, spec.asset), conversation.contact_id)
    except GraphError as exc:
        if not exc.permanent:
            raise
        logger.info("No profile for conversation %s (code=%s)", conversation_pk, exc.code)
        return
    except spec.refusals:
        logger.info("No page token to read the profile for conversation %s", conversation_pk)
        return
    name = spec.contact_name(profile)
    if name:
        spec.conversation_model.objects.filter(pk=conversation.pk).update(contact_name=name[:255])

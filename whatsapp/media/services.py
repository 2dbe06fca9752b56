"""Writes for WhatsApp media: upload a file to Meta; track an inbound message's media,
download it (lookup, fetch from Meta's host, sha256 check, store), give up on it; re-queue
lost downloads; delete stored files past the retention. A media row's state is mirrored on
its message as `content["media"]` = {"url", "mimeType", "size", "status", "error"?}."""

import base64
import binascii
import hmac
import logging
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.selectors import account_for_work
from accounts.tokens import graph_for
from botopia_meta.exceptions import ValidationFailed
from botopia_meta.graph import GraphError, is_transient
from botopia_meta.tasks import enqueue_on_commit
from whatsapp.media import graph, rules
from whatsapp.models import Message, WhatsAppMedia, WhatsAppPhoneNumber

logger = logging.getLogger(__name__)

Status = WhatsAppMedia.Status
_MEDIA_ID = re.compile(r"\d{1,64}")  # Meta's ids are numbers: nothing else reaches a Graph path
GONE = "Meta no longer has this media (it expired or was deleted)."
NOT_CONNECTED = "The Meta account is no longer connected: reconnect it to download media."
SWEEP_AFTER = timedelta(minutes=30)  # a pending download not (re)queued for this long was lost
SPOOL_BYTES = 1024 * 1024  # downloads larger than this go to a temporary file, not memory


@dataclass(frozen=True)
class Uploaded:
    id: str
    mime_type: str
    size: int
    kind: str


def _enqueue(actor_name: str, *args: str, swept: bool = False) -> None:
    # Imported here: the actors module imports this one.
    from whatsapp.media import actors

    enqueue_on_commit(getattr(actors, actor_name), *args, swept=swept)


# --- upload -------------------------------------------------------------------------------


def media_upload(
    *,
    number: WhatsAppPhoneNumber,
    file: IO[bytes],
    filename: str,
    declared_type: str,
    size: int,
    kind: str | None = None,
) -> Uploaded:
    """Check the file against Meta's rules for its kind (400 naming `file` otherwise), then
    upload it to the number at Meta; Meta's media id is what a send references."""
    head = file.read(64)
    file.seek(0)
    mime_type = rules.guessed_type(declared_type, filename)
    try:
        kind, mime_type = rules.check_upload(kind=kind, mime_type=mime_type, size=size, head=head)
    except rules.MediaRefused as exc:
        raise ValidationFailed(f"{exc.field}: {exc}", details={exc.field: [str(exc)]}) from None
    name = _safe_filename(filename, mime_type)
    account = number.waba.account
    data = graph.media_upload(
        graph_for(account), number.phone_number_id, file=file, filename=name, mime_type=mime_type
    )
    media_id = str(data.get("id") or "")
    if not media_id:
        raise GraphError("Meta accepted the upload without a media id.", http_status=200)
    logger.info("Uploaded a %s (%d bytes) for number %s", kind, size, number.phone_number_id)
    return Uploaded(id=media_id, mime_type=mime_type, size=size, kind=kind)


def _safe_filename(filename: str, mime_type: str) -> str:
    """The client's file name with only safe characters (it reaches Meta, and the customer)."""
    stem = re.sub(r"[^\w.\- ]+", "_", filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip(" .")[:120]
    return stem or f"file{rules.SUFFIXES.get(mime_type, '')}"


# --- inbound media ------------------------------------------------------------------------


def _url(media: WhatsAppMedia) -> str:
    return f"/api/meta/whatsapp/media/{media.pk}"


def _summary(media: WhatsAppMedia) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "url": _url(media),
        "mimeType": media.mime_type,
        "size": media.size,
        "status": media.status,
    }
    if media.error:
        summary["error"] = media.error
    return summary


def _mirror(media: WhatsAppMedia) -> None:
    """Write the row's state onto its message's content (locked: one writer at a time)."""
    if media.message_id is None:
        return
    with transaction.atomic():
        message = Message.objects.select_for_update().filter(pk=media.message_id).first()
        if message is None:
            return
        message.content = {**(message.content or {}), "media": _summary(media)}
        message.save(update_fields=["content", "updated_at"])


def media_track_inbound(*, message: Message) -> WhatsAppMedia | None:
    """For an inbound message just stored: if it carries media, a pending row (mirrored on the
    message) and its download job, queued after the commit (the sweep queues it again if the
    broker is down)."""
    content = message.content if isinstance(message.content, dict) else {}
    media_id = content.get("id")
    if (
        message.type not in rules.INBOUND_KINDS
        or not isinstance(media_id, str | int)
        or message.phone_number is None
    ):
        return None
    media = WhatsAppMedia.objects.create(
        phone_number=message.phone_number,
        message=message,
        media_id=str(media_id)[:128],
        kind=message.type,
        mime_type=rules.normalized_type(str(content.get("mime_type") or ""))[:255],
        sha256=str(content.get("sha256") or "")[:128],
        filename=str(content.get("filename") or "")[:255],
        enqueued_at=timezone.now(),
    )
    message.content = {**content, "media": _summary(media)}
    message.save(update_fields=["content", "updated_at"])
    _enqueue("download_media", str(media.pk), swept=True)
    return media


def _settle(media: WhatsAppMedia, status: str, error: str = "") -> None:
    """pending → failed/expired, once."""
    updated = WhatsAppMedia.objects.filter(pk=media.pk, status=Status.PENDING).update(
        status=status, error=error[:512], updated_at=timezone.now()
    )
    if updated:
        media.status, media.error = status, error[:512]
        _mirror(media)
        logger.info("Media %s of message %s: %s (%s)", media.pk, media.message_id, status, error)


def _digest_matches(expected: str, hex_digest: str) -> bool:
    """Meta gives the sha256 in hex (media lookup) or base64 (webhooks): either may match."""
    expected = expected.strip()
    if not expected:
        return True  # Meta gave none: nothing to check against
    if not expected.isascii():
        return False
    if hmac.compare_digest(expected.lower(), hex_digest):
        return True
    standard = expected.replace("-", "+").replace("_", "/")  # either base64 alphabet
    try:
        raw = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(raw, bytes.fromhex(hex_digest))


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else None


def media_download(*, media_pk: str) -> None:
    """Download one pending media from Meta and store it (from the actor). Idempotent: a row
    no longer pending is left alone. Transient failures raise (the actor retries, bounded);
    a media Meta no longer has is `expired`; a bad checksum, a refused host or size is `failed`."""
    media = (
        WhatsAppMedia.objects.filter(pk=media_pk, status=Status.PENDING)
        .select_related("phone_number__waba")
        .first()
    )
    if media is None:
        return
    WhatsAppMedia.objects.filter(pk=media.pk).update(attempts=F("attempts") + 1)
    account = account_for_work(account_id=media.phone_number.waba.account_id)
    if account is None:
        _settle(media, Status.FAILED, NOT_CONNECTED)
        return
    if not _MEDIA_ID.fullmatch(media.media_id):
        _settle(media, Status.FAILED, "Meta's media id is malformed.")
        return
    client = graph_for(account)
    try:
        info = graph.media_lookup(client, media.media_id)
    except GraphError as exc:
        if is_transient(exc):
            raise
        gone = exc.http_status == 404 or (exc.code == 100 and exc.subcode in (None, 33))
        _settle(media, Status.EXPIRED if gone else Status.FAILED, GONE if gone else exc.message)
        return
    declared = _int_or_none(info.get("file_size"))
    cap = settings.WHATSAPP_MEDIA_MAX_BYTES
    if declared is not None and declared > cap:
        _settle(media, Status.FAILED, f"The media is {declared} bytes, more than the {cap} we store.")
        return
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        try:
            fetched = graph.media_download(client, str(info.get("url") or ""), spool, max_bytes=cap)
        except GraphError as exc:
            if is_transient(exc):
                raise
            gone = exc.http_status in (404, 410)
            _settle(media, Status.EXPIRED if gone else Status.FAILED, GONE if gone else exc.message)
            return
        # The lookup's checksum describes the very file at that URL; the webhook's, when the
        # lookup gave none.
        expected = str(info.get("sha256") or media.sha256 or "")
        if not _digest_matches(expected, fetched.sha256):
            logger.warning("Media %s: sha256 mismatch (got %s)", media.pk, fetched.sha256)
            _settle(media, Status.FAILED, "The downloaded file does not match Meta's sha256: discarded.")
            return
        mime_type = (
            rules.normalized_type(str(info.get("mime_type") or "")) or media.mime_type or fetched.content_type
        )
        spool.seek(0)
        _store(media, spool, size=fetched.size, mime_type=mime_type[:255])


def _store(media: WhatsAppMedia, content: IO[bytes], *, size: int, mime_type: str) -> None:
    storage = WhatsAppMedia._meta.get_field("file").storage
    now = timezone.now()
    # Our own name, never the sender's: the number, the month, our id, the type's suffix.
    name = f"{media.phone_number.phone_number_id}/{now:%Y/%m}/{media.pk}{rules.SUFFIXES.get(mime_type, '')}"
    stored_name = storage.save(name, File(content, name=name))
    with transaction.atomic():
        row = WhatsAppMedia.objects.select_for_update().filter(pk=media.pk).first()
        if row is None or row.status != Status.PENDING:
            # Another job (a swept duplicate) settled it first: keep its outcome.
            transaction.on_commit(lambda: storage.delete(stored_name))
            return
        row.file.name = stored_name
        row.size, row.mime_type, row.status, row.error, row.stored_at = (
            size,
            mime_type,
            Status.STORED,
            "",
            now,
        )
        row.save(update_fields=["file", "size", "mime_type", "status", "error", "stored_at", "updated_at"])
        _mirror(row)
    logger.info("Stored media %s of message %s (%d bytes)", media.pk, media.message_id, size)


def media_give_up(*, media_pk: str, exc: BaseException) -> None:
    """The download failed for good (retries spent, or an error not worth retrying)."""
    media = WhatsAppMedia.objects.filter(pk=media_pk, status=Status.PENDING).first()
    if media is not None:
        reason = exc.message if isinstance(exc, GraphError) else type(exc).__name__
        _settle(media, Status.FAILED, f"Download failed after retries: {reason}")


def media_sweep(*, now: datetime | None = None, batch: int = 1000) -> list[str]:
    """Pending downloads whose job was lost (broker down at commit, worker killed): marked
    queued again; returns their ids for the actor to queue."""
    now = now or timezone.now()
    stale = Q(enqueued_at__lt=now - SWEEP_AFTER) | Q(enqueued_at__isnull=True)
    ids = [
        str(pk)
        for pk in WhatsAppMedia.objects.filter(stale, status=Status.PENDING).values_list("pk", flat=True)[
            :batch
        ]
    ]
    if ids:
        WhatsAppMedia.objects.filter(pk__in=ids).update(enqueued_at=now)
        logger.info("Re-queueing %d media download(s) whose job was lost", len(ids))
    return ids


def media_prune(*, now: datetime | None = None, batch: int = 500) -> int:
    """Delete stored files older than WHATSAPP_MEDIA_RETENTION_DAYS and mark them `expired` on
    their messages, in batches; returns how many. Logs its progress."""
    days = settings.WHATSAPP_MEDIA_RETENTION_DAYS
    cutoff = (now or timezone.now()) - timedelta(days=days)
    reason = f"Removed after {days} days (retention)."
    removed = 0
    while True:
        rows = list(
            WhatsAppMedia.objects.filter(status=Status.STORED, stored_at__lt=cutoff).order_by("stored_at")[
                :batch
            ]
        )
        if not rows:
            break
        for media in rows:
            name = media.file.name
            if name:
                media.file.storage.delete(name)
            media.file.name = ""
            media.status, media.error = Status.EXPIRED, reason
            media.save(update_fields=["file", "status", "error", "updated_at"])
            _mirror(media)
        removed += len(rows)
        logger.info("Media retention: %d file(s) older than %d days removed so far", removed, days)
    if removed:
        logger.info("Media retention: removed %d file(s) older than %d days", removed, days)
    return removed

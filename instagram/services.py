"""What the Instagram views, actors and webhook handlers do."""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from accounts.models import MetaAccount
from analytics.recording import record
from botopia_meta.exceptions import ValidationFailed
from botopia_meta.graph import GraphError
from botopia_meta.inbox import comments, meta
from botopia_meta.safe_urls import require_meta_fetched_url
from botopia_meta.tasks import enqueue_on_commit
from instagram import graph
from instagram.inbox import SPEC
from instagram.models import Comment, InstagramAccount, MediaPublish

logger = logging.getLogger(__name__)

SCHEDULE_MIN = timedelta(minutes=1)
SCHEDULE_MAX = timedelta(days=30)
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v")
CAROUSEL_MIN, CAROUSEL_MAX = 2, 10
MEDIA_NOT_READY = 9007  # Meta says FINISHED a moment before media_publish accepts it


def poll_delay_ms() -> int:
    return int(settings.IG_CONTAINER_POLL_MS)


def max_polls() -> int:
    # Reels can take minutes to process; 5 s * 120 = 10 minutes before we give up.
    return int(settings.IG_CONTAINER_MAX_POLLS)


def _enqueue(actor_name: str, *args: str, swept: bool = False, delay_ms: int | None = None) -> None:
    # Imported here: the actors module imports this one.
    from instagram import actors

    enqueue_on_commit(getattr(actors, actor_name), *args, swept=swept, delay_ms=delay_ms)


# --- accounts and media --------------------------------------------------------------------


def ig_account_connect(*, ig: InstagramAccount) -> InstagramAccount:
    """Subscribe the linked page (Instagram webhooks for Facebook Login arrive through it)."""
    graph.subscribe(ig)
    ig.status = InstagramAccount.Status.CONNECTED
    ig.save(update_fields=["status", "updated_at"])
    _enqueue("ig_backfill_comments", str(ig.pk))
    return ig


def ig_account_disconnect(*, ig: InstagramAccount) -> InstagramAccount:
    ig.status = InstagramAccount.Status.DISCONNECTED
    ig.save(update_fields=["status", "updated_at"])
    return ig


def _media_row(item: dict) -> dict[str, Any]:
    return {
        "id": str(item.get("id") or ""),
        "media_type": item.get("media_type") or "",
        "media_url": item.get("media_url") or item.get("thumbnail_url") or "",
        "permalink": item.get("permalink") or "",
        "caption": item.get("caption") or "",
        "timestamp": meta.iso(item.get("timestamp")),
        "likes": int(item.get("like_count") or 0),
        "comments": int(item.get("comments_count") or 0),
    }


def media_list(
    *, ig: InstagramAccount, limit: int, before: str | None, after: str | None
) -> tuple[list[dict], dict]:
    """One page of the account's media from Meta, cached briefly. Publishing starts afresh."""
    return meta.cached_list(
        kind="ig:media",
        asset_id=ig.ig_account_id,
        limit=limit,
        before=before,
        after=after,
        fetch=lambda: graph.media(ig, limit=limit, before=before, after=after),
        row=_media_row,
    )


# --- publishing ----------------------------------------------------------------------------


def _is_video(url: str) -> bool:
    return url.lower().split("?", 1)[0].endswith(VIDEO_SUFFIXES)


def publish_create(
    *,
    ig: InstagramAccount,
    media_type: str,
    media_urls: list[str],
    caption: str = "",
    scheduled_publish_time: datetime | None = None,
) -> MediaPublish:
    """Validate, store, and hand the publish to a worker now or at its time."""
    if media_type == MediaPublish.MediaType.CAROUSEL:
        if not CAROUSEL_MIN <= len(media_urls) <= CAROUSEL_MAX:
            reason = f"A carousel needs {CAROUSEL_MIN} to {CAROUSEL_MAX} media URLs."
            raise ValidationFailed(reason, details={"media_urls": [reason]})
    elif len(media_urls) != 1:
        raise ValidationFailed("Give exactly one mediaUrl.", details={"media_url": ["Give exactly one."]})
    field = "media_urls" if media_type == MediaPublish.MediaType.CAROUSEL else "media_url"
    urls = [require_meta_fetched_url(url, field=field) for url in media_urls]
    if media_type in (MediaPublish.MediaType.VIDEO, MediaPublish.MediaType.REELS) and not _is_video(urls[0]):
        reason = "Must be a video (.mp4 or .mov)."
        raise ValidationFailed(reason, details={"media_url": [reason]})
    if media_type == MediaPublish.MediaType.IMAGE and _is_video(urls[0]):
        reason = "Is a video: use mediaType REELS."
        raise ValidationFailed(reason, details={"media_url": [reason]})
    if scheduled_publish_time is not None:
        now = timezone.now()
        if not now + SCHEDULE_MIN <= scheduled_publish_time <= now + SCHEDULE_MAX:
            reason = "Must be between 1 minute and 30 days from now."
            raise ValidationFailed(reason, details={"scheduled_publish_time": [reason]})
    publish = MediaPublish.objects.create(
        ig_account=ig,
        media_type=media_type,
        media_urls=urls,
        caption=caption,
        scheduled_publish_time=scheduled_publish_time,
        status=MediaPublish.Status.SCHEDULED if scheduled_publish_time else MediaPublish.Status.PENDING,
    )
    delay_ms = None
    if scheduled_publish_time is not None:
        delay_ms = max(0, int((scheduled_publish_time - timezone.now()).total_seconds() * 1000))
    # publish_sweep queues a pending or due publish whose message was lost (or never sent).
    _enqueue("ig_publish_media", str(publish.pk), swept=True, delay_ms=delay_ms)
    return publish


def publish_cancel(*, publish: MediaPublish) -> MediaPublish:
    claimed = MediaPublish.objects.filter(pk=publish.pk, status=MediaPublish.Status.SCHEDULED).update(
        status=MediaPublish.Status.CANCELLED, updated_at=timezone.now()
    )
    if not claimed:
        raise ValidationFailed(
            "Only a scheduled publish can be cancelled.", details={"status": [publish.status]}
        )
    publish.refresh_from_db()
    return publish


def _claim(publish: MediaPublish, from_status: str, to_status: str) -> bool:
    """Move the row from one status to the next only if no other worker did it first."""
    claimed = MediaPublish.objects.filter(pk=publish.pk, status=from_status).update(
        status=to_status, updated_at=timezone.now()
    )
    if claimed:
        publish.status = to_status
    return bool(claimed)


def _fail(publish: MediaPublish, error: dict) -> str:
    MediaPublish.objects.filter(pk=publish.pk).update(
        status=MediaPublish.Status.FAILED, error=error, updated_at=timezone.now()
    )
    logger.info("Instagram publish %s failed: %s", publish.pk, error.get("code"))
    return "failed"


def _container_params(media_type: str, url: str, caption: str, *, carousel_item: bool = False) -> dict:
    params: dict = {}
    if media_type in (MediaPublish.MediaType.VIDEO, MediaPublish.MediaType.REELS):
        params = {"media_type": "REELS", "video_url": url}  # Meta folded VIDEO into REELS
    elif media_type == MediaPublish.MediaType.STORIES:
        params = {"media_type": "STORIES", ("video_url" if _is_video(url) else "image_url"): url}
    elif carousel_item and _is_video(url):
        params = {"media_type": "VIDEO", "video_url": url}
    else:
        params = {"image_url": url}
    if carousel_item:
        params["is_carousel_item"] = "true"
    elif caption and media_type != MediaPublish.MediaType.STORIES:
        params["caption"] = caption
    return params


def _create_containers(publish: MediaPublish) -> str | None:
    ig = publish.ig_account
    if ig.account.status != MetaAccount.Status.ACTIVE or ig.deleted_at is not None:
        return _fail(
            publish,
            {
                "code": "ACCOUNT_NOT_CONNECTED",
                "message": f"The Meta account is {ig.account.status}: reconnect it.",
            },
        )
    used, allowed = graph.publishing_limit(ig)
    if used >= allowed:
        return _fail(
            publish,
            {"code": "PUBLISHING_LIMIT", "message": f"Instagram allows {allowed} API posts per 24 hours."},
        )
    if publish.media_type == MediaPublish.MediaType.CAROUSEL:
        publish.children_ids = [
            graph.container_create(ig, _container_params("CAROUSEL", url, "", carousel_item=True))
            for url in publish.media_urls
        ]
    else:
        publish.container_id = graph.container_create(
            ig, _container_params(publish.media_type, publish.media_urls[0], publish.caption)
        )
    publish.status = MediaPublish.Status.PROCESSING
    publish.save(update_fields=["children_ids", "container_id", "status", "updated_at"])
    return None


def _poll(publish: MediaPublish) -> str:
    """One look at the containers: 'poll' again later, or publish, or fail."""
    ig = publish.ig_account
    pending = [publish.container_id] if publish.container_id else list(publish.children_ids)
    for container_id in pending:
        code, detail = graph.container_status(ig, container_id)
        if code in ("ERROR", "EXPIRED"):
            return _fail(publish, {"code": code, "message": detail or f"Meta's container is {code}."})
        if code not in ("FINISHED", "PUBLISHED"):
            # updated_at moves with every look, so the sweep only revives a chain that stalled.
            polls = MediaPublish.objects.filter(pk=publish.pk).update(
                polls=F("polls") + 1, updated_at=timezone.now()
            )
            publish.refresh_from_db(fields=["polls"])
            if polls and publish.polls >= max_polls():
                return _fail(
                    publish, {"code": "TIMEOUT", "message": "Meta did not finish processing the media."}
                )
            return "poll"
    if not publish.container_id:  # carousel children are ready: now the album container
        params = {
            "media_type": "CAROUSEL",
            "children": ",".join(publish.children_ids),
        }
        if publish.caption:
            params["caption"] = publish.caption
        album_id = graph.container_create(ig, params)
        # Two pollers may both get here; the first stored album wins, the other expires unused.
        MediaPublish.objects.filter(pk=publish.pk, container_id="").update(
            container_id=album_id, updated_at=timezone.now()
        )
        publish.refresh_from_db(fields=["container_id"])
        return _poll(publish)
    if not _claim(publish, MediaPublish.Status.PROCESSING, MediaPublish.Status.PUBLISHING):
        return "claimed elsewhere"
    try:
        publish.media_id = graph.media_publish(ig, publish.container_id)
    except GraphError as exc:
        if exc.code == MEDIA_NOT_READY:
            MediaPublish.objects.filter(pk=publish.pk).update(
                status=MediaPublish.Status.PROCESSING, polls=F("polls") + 1, updated_at=timezone.now()
            )
            publish.refresh_from_db(fields=["polls"])
            if publish.polls >= max_polls():
                return _fail(publish, meta.stored_error(exc))
            return "poll"
        if not exc.permanent and not exc.outcome_unknown:
            MediaPublish.objects.filter(pk=publish.pk).update(status=MediaPublish.Status.PROCESSING)
            raise
        return _fail(publish, meta.stored_error(exc))
    publish.status, publish.published_at = MediaPublish.Status.PUBLISHED, timezone.now()
    publish.save(update_fields=["media_id", "status", "published_at", "updated_at"])
    try:
        publish.permalink = graph.media_permalink(ig, publish.media_id)[:1024]
        publish.save(update_fields=["permalink", "updated_at"])
    except GraphError as exc:
        logger.info("No permalink for media %s yet (code=%s)", publish.media_id, exc.code)
    meta.list_changed(kind="ig:media", asset_id=ig.ig_account_id)
    record(
        account_id=ig.account_id,
        platform="instagram",
        metric="posts_published",
        at=publish.published_at,
        asset_id=ig.ig_account_id,
        dimensions={"media_type": publish.media_type},
        key=f"ig:publish:{publish.pk}:published",
    )
    return "published"


def publish_step(*, publish_pk: str) -> str:
    try:
        return _publish_step(publish_pk)
    except graph.PageTokenMissing as exc:
        MediaPublish.objects.filter(pk=publish_pk).exclude(status=MediaPublish.Status.PUBLISHED).update(
            status=MediaPublish.Status.FAILED, error=meta.stored_error(exc)
        )
        return "failed"


def _publish_step(publish_pk: str) -> str:
    """Advance one publish as far as it can go now. Answers 'poll' when Meta is still
    processing (the actor looks again later); every transition is claimed atomically, so a
    duplicate message (the delayed one and the periodic sweep) never publishes twice."""
    publish = MediaPublish.objects.select_related("ig_account__account").filter(pk=publish_pk).first()
    if publish is None:
        return "missing"
    if publish.status == MediaPublish.Status.SCHEDULED:
        if publish.scheduled_publish_time and publish.scheduled_publish_time > timezone.now() + timedelta(
            seconds=1
        ):
            return "not due"
        if not _claim(publish, MediaPublish.Status.SCHEDULED, MediaPublish.Status.PENDING):
            return "claimed elsewhere"
    if publish.status == MediaPublish.Status.PENDING:
        if not _claim(publish, MediaPublish.Status.PENDING, MediaPublish.Status.CREATING):
            return "claimed elsewhere"
        try:
            if _create_containers(publish):
                return "failed"
        except GraphError as exc:
            if not exc.permanent:
                MediaPublish.objects.filter(pk=publish.pk).update(status=MediaPublish.Status.PENDING)
                raise
            return _fail(publish, meta.stored_error(exc))
    if publish.status == MediaPublish.Status.PROCESSING:
        try:
            return _poll(publish)
        except GraphError as exc:
            if not exc.permanent:
                raise
            return _fail(publish, meta.stored_error(exc))
    return publish.status


def publish_sweep(*, now: datetime | None = None) -> list[str]:
    """Rows whose actor message was lost (broker flushed, worker killed): due scheduled ones,
    pending ones and stalled polls. Returns their ids for re-sending."""
    now = now or timezone.now()
    stale = now - timedelta(minutes=5)
    due = MediaPublish.objects.filter(status=MediaPublish.Status.SCHEDULED, scheduled_publish_time__lte=now)
    stuck = MediaPublish.objects.filter(
        status__in=[MediaPublish.Status.PENDING, MediaPublish.Status.PROCESSING], updated_at__lt=stale
    )
    # A worker that died mid-call leaves CREATING/PUBLISHING: only a person can tell whether
    # Meta got the call, so those are marked failed rather than retried blindly.
    MediaPublish.objects.filter(
        status__in=[MediaPublish.Status.CREATING, MediaPublish.Status.PUBLISHING],
        updated_at__lt=now - timedelta(hours=1),
    ).update(
        status=MediaPublish.Status.FAILED,
        error={"code": "INTERRUPTED", "message": "Interrupted mid-call: check the account before retrying."},
    )
    return [str(pk) for qs in (due, stuck) for pk in qs.values_list("pk", flat=True)]


# --- comments ------------------------------------------------------------------------------


def comment_apply_webhook(*, ig: InstagramAccount, value: dict, sent_at: int | None = None) -> str:
    """Comment webhooks carry no time of their own: the entry's time (when Meta sent it) is
    the closest we have."""
    _, created = comments.comment_store(
        SPEC,
        asset=ig,
        comment_id=str(value["id"]),
        post_id=str((value.get("media") or {}).get("id") or ""),
        parent_id=str(value.get("parent_id") or ""),
        author=value.get("from") or {},
        message=str(value.get("text") or ""),
        created_time=meta.from_unix(sent_at),
    )
    return "created" if created else "duplicate"


def mention_apply_webhook(*, ig: InstagramAccount, value: dict) -> str:
    """A mention only names the comment: its text is read from Meta."""
    comment_id = str(value.get("comment_id") or "")
    if Comment.all_objects.filter(ig_account=ig, comment_id=comment_id).exists():
        return "duplicate"
    found = graph.mentioned_comment(ig, comment_id)
    _, created = comments.comment_store(
        SPEC,
        asset=ig,
        comment_id=comment_id,
        post_id=str(value.get("media_id") or (found.get("media") or {}).get("id") or ""),
        parent_id="",
        author={"username": found.get("username") or ""},
        message=str(found.get("text") or ""),
        created_time=meta.parse_time(found.get("timestamp")),
        is_mention=True,
    )
    return "created" if created else "duplicate"


def comment_backfill(*, ig: InstagramAccount, media_count: int = 10) -> int:
    items, _ = graph.media(ig, limit=media_count, before=None, after=None)
    stored = 0
    for item in items:
        media_id = str(item.get("id") or "")
        for raw in graph.media_comments(ig, media_id):
            _, created = comments.comment_store(
                SPEC,
                asset=ig,
                comment_id=str(raw.get("id") or ""),
                post_id=media_id,
                parent_id=str(raw.get("parent_id") or ""),
                author={
                    "id": (raw.get("from") or {}).get("id"),
                    "username": raw.get("username") or (raw.get("from") or {}).get("username"),
                },
                message=str(raw.get("text") or ""),
                created_time=meta.parse_time(raw.get("timestamp")),
            )
            stored += created
    return stored

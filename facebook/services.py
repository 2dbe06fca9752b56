"""What the Facebook views, actors and webhook handlers do."""

import contextlib
import logging
from datetime import UTC, datetime, timedelta

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import MetaAccount
from analytics.recording import record
from botopia_meta.exceptions import OutsideServiceWindow, ValidationFailed
from botopia_meta.graph import GraphError, GraphTimeout
from facebook import graph
from facebook.models import Comment, Conversation, ConversationMessage, FacebookPage, Post

logger = logging.getLogger(__name__)

LIST_CACHE_SECONDS = 60
SERVICE_WINDOW = timedelta(hours=24)
SCHEDULE_MIN = timedelta(minutes=10)
SCHEDULE_MAX = timedelta(days=30)


def _from_unix(value) -> datetime | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number > 10**11:  # Messenger timestamps are milliseconds, feed ones seconds
        number /= 1000
    return datetime.fromtimestamp(number, tz=UTC)


def _parse_meta_time(value) -> datetime | None:
    if isinstance(value, int | float):
        return _from_unix(value)
    if isinstance(value, str) and value:
        try:
            return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
        except ValueError:
            return _from_unix(value)
    return None


def _iso(value) -> str | None:
    """Meta writes `+0000`; the API answers ISO 8601 like every other timestamp (`...Z`)."""
    parsed = _parse_meta_time(value)
    return parsed.isoformat().replace("+00:00", "Z") if parsed else None


# --- pages ---------------------------------------------------------------------------------


def page_sync(*, account: MetaAccount) -> list[FacebookPage]:
    """Re-read the pages the account's token reaches; new ones become `available`, pages no
    longer reachable are soft-deleted, returning ones are restored."""
    seen: set[str] = set()
    rows: list[FacebookPage] = []
    for item in graph.pages_of(account):
        page_id = str(item.get("id") or "")
        if not page_id:
            continue
        seen.add(page_id)
        picture = ((item.get("picture") or {}).get("data") or {}).get("url") or ""
        defaults = {
            "name": str(item.get("name") or "")[:255],
            "category": str(item.get("category") or "")[:255],
            "picture_url": picture[:1024],
            "tasks": item.get("tasks") or [],
            "deleted_at": None,
        }
        if item.get("access_token"):
            defaults["access_token"] = item["access_token"]
        page, _ = FacebookPage.all_objects.update_or_create(
            account=account, page_id=page_id, defaults=defaults
        )
        rows.append(page)
    FacebookPage.objects.filter(account=account).exclude(page_id__in=seen).update(deleted_at=timezone.now())
    return rows


def page_connect(*, page: FacebookPage) -> FacebookPage:
    """Subscribe our app to the page's webhooks (with the page token), then backfill comments."""
    graph.subscribe(page)
    page.status = FacebookPage.Status.CONNECTED
    page.save(update_fields=["status", "updated_at"])
    from facebook.actors import fb_backfill_page_comments

    transaction.on_commit(lambda: fb_backfill_page_comments.send(str(page.pk)))
    return page


def page_disconnect(*, page: FacebookPage) -> FacebookPage:
    """Stop showing the page's events. Meta's subscription is per (app, page), shared by every
    Botopia account that connected the page: it is removed only when the last one leaves."""
    still_used = (
        FacebookPage.objects.filter(page_id=page.page_id, status=FacebookPage.Status.CONNECTED)
        .exclude(pk=page.pk)
        .exists()
    )
    try:
        if not still_used:
            graph.unsubscribe(page)
    except GraphError as exc:
        # A page whose token Meta no longer accepts has no subscription to remove.
        if exc.permanent is False:
            raise
        logger.info(
            "Unsubscribing page %s failed permanently (code=%s); marking it anyway", page.pk, exc.code
        )
    page.status = FacebookPage.Status.DISCONNECTED
    page.save(update_fields=["status", "updated_at"])
    return page


# --- posts ---------------------------------------------------------------------------------


def _posts_version(page_id: str) -> int:
    return cache.get_or_set(f"fb:posts:v:{page_id}", 1, timeout=None)


def post_list(
    *, page: FacebookPage, limit: int, before: str | None, after: str | None
) -> tuple[list[dict], dict]:
    """One page of the page's posts from Meta, cached briefly: a dashboard refresh must not spend
    the page's rate limit. Publishing bumps the cache version."""
    key = f"fb:posts:{page.page_id}:{_posts_version(page.page_id)}:{limit}:{before or ''}:{after or ''}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    items, cursors = graph.posts(page, limit=limit, before=before, after=after)
    rows = [
        {
            "id": str(item.get("id") or ""),
            "message": item.get("message") or "",
            "created_time": _iso(item.get("created_time")),
            "type": item.get("status_type") or "",
            "permalink_url": item.get("permalink_url") or "",
            "picture": item.get("full_picture") or "",
            "likes": int(((item.get("likes") or {}).get("summary") or {}).get("total_count") or 0),
            "comments": int(((item.get("comments") or {}).get("summary") or {}).get("total_count") or 0),
        }
        for item in items
    ]
    result = (rows, {"before": cursors.get("before"), "after": cursors.get("after")})
    cache.set(key, result, LIST_CACHE_SECONDS)
    return result


def post_create(
    *,
    page: FacebookPage,
    message: str = "",
    link: str = "",
    photo_url: str = "",
    published: bool = True,
    scheduled_publish_time: datetime | None = None,
) -> Post:
    """Publish now, or schedule natively at Meta (a scheduled post is unpublished until then)."""
    if not (message or link or photo_url):
        raise ValidationFailed(
            "A post needs a message, a link or a photo.", details={"message": ["Required."]}
        )
    if scheduled_publish_time is not None:
        now = timezone.now()
        if not (now + SCHEDULE_MIN <= scheduled_publish_time <= now + SCHEDULE_MAX):
            reason = "Must be between 10 minutes and 30 days from now."
            raise ValidationFailed(reason, details={"scheduled_publish_time": [reason]})
        published = False
    post = Post(
        page=page,
        message=message,
        link=link,
        photo_url=photo_url,
        scheduled_publish_time=scheduled_publish_time,
        status=(
            Post.Status.SCHEDULED
            if scheduled_publish_time
            else Post.Status.PUBLISHED
            if published
            else Post.Status.UNPUBLISHED
        ),
    )
    try:
        post.post_id = graph.post_create(
            page,
            message=message,
            link=link,
            photo_url=photo_url,
            published=published,
            scheduled_publish_time=scheduled_publish_time,
        )
    except GraphError as exc:
        post.status = Post.Status.FAILED
        post.error = {
            "code": exc.code,
            "subcode": exc.subcode,
            "message": exc.message,
            "fbtraceId": exc.fbtrace_id,
        }
        post.save()
        raise
    post.save()
    try:
        post.permalink_url = graph.post_permalink(page, post.post_id)[:1024]
        post.save(update_fields=["permalink_url", "updated_at"])
    except GraphError as exc:
        # The post exists; a missing permalink must not turn the answer into an error.
        logger.info("No permalink for post %s yet (code=%s)", post.post_id, exc.code)
    with contextlib.suppress(ValueError):
        cache.incr(f"fb:posts:v:{page.page_id}")
    if post.status == Post.Status.PUBLISHED:
        _record_post_published(page, post.post_id, post.created_at)
    return post


def _record_post_published(page: FacebookPage, post_id: str, at: datetime) -> None:
    # One key per post: our own publish and the feed webhook announcing it count once.
    record(
        account_id=page.account_id,
        platform="facebook",
        metric="posts_published",
        at=at,
        asset_id=page.page_id,
        key=f"fb:{page.account_id}:post:{post_id}:published",
    )


def post_apply_feed_change(*, page: FacebookPage, value: dict) -> str:
    """A post appeared on the page (ours, a natively scheduled one going live, or one made on
    Facebook): mark our row published and count it."""
    post_id = str(value.get("post_id") or "")
    if value.get("verb") != "add" or not post_id:
        return "ignored"
    if str((value.get("from") or {}).get("id") or "") != page.page_id:
        return "visitor post"
    at = _parse_meta_time(value.get("created_time")) or timezone.now()
    Post.objects.filter(page=page, post_id=post_id, status=Post.Status.SCHEDULED).update(
        status=Post.Status.PUBLISHED, updated_at=timezone.now()
    )
    _record_post_published(page, post_id, at)
    return "published"


def post_cancel(*, post: Post) -> Post:
    if post.status != Post.Status.SCHEDULED:
        raise ValidationFailed("Only a scheduled post can be cancelled.", details={"status": [post.status]})
    graph.post_delete(post.page, post.post_id)
    post.status = Post.Status.CANCELLED
    post.save(update_fields=["status", "updated_at"])
    return post


# --- comments ------------------------------------------------------------------------------


def comment_store(
    *,
    page: FacebookPage,
    comment_id: str,
    post_id: str,
    parent_id: str,
    author: dict,
    message: str,
    created_time,
) -> tuple[Comment, bool]:
    """Insert once per (page, comment id): Meta redelivers, and backfill overlaps webhooks."""
    try:
        comment, created = Comment.all_objects.get_or_create(
            page=page,
            comment_id=comment_id,
            defaults={
                "post_id": post_id,
                "parent_id": parent_id,
                "author_id": str(author.get("id") or ""),
                "author_name": str(author.get("name") or "")[:255],
                "message": message,
                "created_time": created_time or timezone.now(),
            },
        )
    except IntegrityError:
        comment, created = Comment.all_objects.get(page=page, comment_id=comment_id), False
    if created and comment.author_id != page.page_id:
        record(
            account_id=page.account_id,
            platform="facebook",
            metric="comments_received",
            at=comment.created_time,
            asset_id=page.page_id,
            key=f"fb:{page.account_id}:comment:{comment_id}:received",
        )
    return comment, created


def comment_apply_feed_change(*, page: FacebookPage, value: dict) -> str:
    """Apply one `feed` change about a comment; returns what happened."""
    comment_id = str(value.get("comment_id") or "")
    verb = value.get("verb")
    if verb == "remove":
        Comment.objects.filter(page=page, comment_id=comment_id).update(deleted_at=timezone.now())
        return "removed"
    if verb in ("hide", "unhide"):
        Comment.objects.filter(page=page, comment_id=comment_id).update(hidden=verb == "hide")
        return verb
    comment, created = comment_store(
        page=page,
        comment_id=comment_id,
        post_id=str(value.get("post_id") or ""),
        parent_id=str(value.get("parent_id") or ""),
        author=value.get("from") or {},
        message=str(value.get("message") or ""),
        created_time=_parse_meta_time(value.get("created_time")),
    )
    author_id = str((value.get("from") or {}).get("id") or "")
    if created and author_id == page.page_id and comment.parent_id:
        # The page answered from Facebook itself: the comment it answered is replied.
        Comment.objects.filter(page=page, comment_id=comment.parent_id, reply_id="").update(
            reply_id=comment_id, reply_message=comment.message, replied_at=comment.created_time
        )
    if not created and verb == "edited" and value.get("message") is not None:
        Comment.all_objects.filter(pk=comment.pk).update(message=str(value["message"]))
        return "edited"
    return "created" if created else "duplicate"


def comment_backfill(*, page: FacebookPage, posts: int = 10) -> int:
    """Recent comments on the page's latest posts, so the inbox is not empty after connecting."""
    items, _ = graph.posts(page, limit=posts, before=None, after=None)
    stored = 0
    for item in items:
        post_id = str(item.get("id") or "")
        for raw in graph.post_comments(page, post_id):
            _, created = comment_store(
                page=page,
                comment_id=str(raw.get("id") or ""),
                post_id=post_id,
                parent_id=str((raw.get("parent") or {}).get("id") or post_id),
                author=raw.get("from") or {},
                message=str(raw.get("message") or ""),
                created_time=_parse_meta_time(raw.get("created_time")),
            )
            stored += created
    return stored


def comment_reply(*, comment: Comment, message: str) -> Comment:
    reply_id = graph.comment_reply(comment.page, comment.comment_id, message)
    first_reply = not comment.reply_id
    comment.reply_id, comment.reply_message, comment.replied_at = reply_id, message, timezone.now()
    comment.save(update_fields=["reply_id", "reply_message", "replied_at", "updated_at"])
    # Our own reply also comes back as a feed webhook: store it now so it is not "unreplied".
    comment_store(
        page=comment.page,
        comment_id=reply_id,
        post_id=comment.post_id,
        parent_id=comment.comment_id,
        author={"id": comment.page.page_id, "name": comment.page.name},
        message=message,
        created_time=comment.replied_at,
    )
    if first_reply:
        record(
            account_id=comment.page.account_id,
            platform="facebook",
            metric="comments_replied",
            at=comment.replied_at,
            asset_id=comment.page.page_id,
            key=f"fb:{comment.page.account_id}:comment:{comment.comment_id}:replied",
        )
    return comment


def comment_set_hidden(*, comment: Comment, hidden: bool) -> Comment:
    graph.comment_hide(comment.page, comment.comment_id, hidden)
    comment.hidden = hidden
    comment.save(update_fields=["hidden", "updated_at"])
    return comment


def comment_delete(*, comment: Comment) -> Comment:
    graph.comment_delete(comment.page, comment.comment_id)
    comment.soft_delete()
    return comment


# --- Messenger -----------------------------------------------------------------------------


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


def message_apply_webhook(*, page: FacebookPage, item: dict) -> str:
    """One `entry[].messaging[]` element: a message to the page, or an echo of one it sent."""
    message = inbound_message(item)
    if message is None:
        return "ignored"
    is_echo = bool(message.get("is_echo"))
    contact_id = str(((item.get("recipient") if is_echo else item.get("sender")) or {}).get("id") or "")
    if not contact_id:
        return "ignored"
    at = _from_unix(item.get("timestamp")) or timezone.now()
    conversation, new_contact = Conversation.objects.get_or_create(page=page, contact_id=contact_id)
    if new_contact:
        from facebook.actors import fb_fetch_contact_name

        transaction.on_commit(lambda: fb_fetch_contact_name.send(str(conversation.pk)))
    if ConversationMessage.objects.filter(conversation=conversation, mid=message["mid"]).exists():
        return "duplicate"
    try:
        with transaction.atomic():
            ConversationMessage.objects.create(
                conversation=conversation,
                mid=str(message["mid"]),
                direction=ConversationMessage.Direction.OUTBOUND
                if is_echo
                else ConversationMessage.Direction.INBOUND,
                text=str(message.get("text") or ""),
                attachments=message.get("attachments") or [],
                status=ConversationMessage.Status.SENT if is_echo else ConversationMessage.Status.RECEIVED,
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
        record(
            account_id=page.account_id,
            platform="facebook",
            metric="dms_received",
            at=at,
            asset_id=page.page_id,
            key=f"fb:{page.account_id}:dm:{message['mid']}:received",
        )
    return "echo" if is_echo else "created"


def message_queue(*, conversation: Conversation, text: str, image_url: str) -> ConversationMessage:
    """Store the reply as queued and send it after commit; 409 outside Messenger's 24 hours."""
    now = timezone.now()
    if conversation.last_inbound_at is None or now - conversation.last_inbound_at > SERVICE_WINDOW:
        raise OutsideServiceWindow(
            "This person has not written to the page in the last 24 hours: Messenger does not allow a reply."
        )
    message = ConversationMessage.objects.create(
        conversation=conversation,
        direction=ConversationMessage.Direction.OUTBOUND,
        text=text,
        image_url=image_url,
        status=ConversationMessage.Status.QUEUED,
        sent_at=now,
    )
    Conversation.objects.filter(pk=conversation.pk).update(last_message_at=now, unread_count=0)
    from facebook.actors import fb_deliver_message

    transaction.on_commit(lambda: fb_deliver_message.send(str(message.pk)))
    return message


def message_deliver(*, message_pk: str) -> None:
    """Send a queued reply once: the row is claimed atomically, so a redelivered actor
    message never sends twice."""
    claimed = ConversationMessage.objects.filter(
        pk=message_pk, status=ConversationMessage.Status.QUEUED
    ).update(status=ConversationMessage.Status.SENDING)
    if not claimed:
        return
    message = ConversationMessage.objects.select_related("conversation__page__account").get(pk=message_pk)
    page = message.conversation.page
    try:
        mid = graph.message_send(
            page, recipient_id=message.conversation.contact_id, text=message.text, image_url=message.image_url
        )
    except GraphError as exc:
        if not exc.permanent and not (isinstance(exc, GraphTimeout) and exc.sent):
            # Meta refused or never saw it: put it back for the retry. A read timeout is
            # ambiguous (it may have been delivered), so it fails instead of risking a double.
            ConversationMessage.objects.filter(pk=message_pk).update(status=ConversationMessage.Status.QUEUED)
            raise
        message.status = ConversationMessage.Status.FAILED
        message.error = {
            "code": exc.code,
            "subcode": exc.subcode,
            "message": exc.message,
            "fbtraceId": exc.fbtrace_id,
        }
        message.save(update_fields=["status", "error", "updated_at"])
        return
    message.mid, message.status = mid, ConversationMessage.Status.SENT
    try:
        message.save(update_fields=["mid", "status", "updated_at"])
    except IntegrityError:
        # The echo webhook stored this mid first: keep ours, drop the echo's copy.
        ConversationMessage.objects.filter(conversation=message.conversation, mid=mid).exclude(
            pk=message.pk
        ).delete()
        message.save(update_fields=["mid", "status", "updated_at"])


def conversation_mark_read(*, conversation: Conversation) -> None:
    Conversation.objects.filter(pk=conversation.pk).update(unread_count=0)


def conversation_fetch_contact_name(*, conversation: Conversation) -> None:
    if conversation.contact_name:
        return
    profile = graph.contact_profile(conversation.page, conversation.contact_id)
    name = " ".join(part for part in (profile.get("first_name"), profile.get("last_name")) if part)
    if name:
        Conversation.objects.filter(pk=conversation.pk).update(contact_name=name[:255])


def message_apply_receipt(*, page, item: dict) -> int:
    """`delivery` / `read` receipts: our outbound messages up to the watermark (or the named
    ones) move forward to delivered / read, never backwards."""
    contact_id = str((item.get("sender") or {}).get("id") or "")
    outbound = ConversationMessage.objects.filter(
        conversation__page=page,
        conversation__contact_id=contact_id,
        direction=ConversationMessage.Direction.OUTBOUND,
    )
    S = ConversationMessage.Status
    receipt = item.get("read") or item.get("delivery") or {}
    to_status, from_statuses = (
        (S.READ, [S.SENT, S.DELIVERED]) if item.get("read") else (S.DELIVERED, [S.SENT])
    )
    outbound = outbound.filter(status__in=from_statuses)
    mids = receipt.get("mids") or ([receipt["mid"]] if receipt.get("mid") else [])
    watermark = _from_unix(receipt.get("watermark"))
    if watermark is not None:
        selected = outbound.filter(sent_at__lte=watermark)
    elif mids:
        last = outbound.filter(mid__in=mids).order_by("-sent_at").values_list("sent_at", flat=True).first()
        selected = outbound.filter(sent_at__lte=last) if last else outbound.none()
    else:
        return 0
    return selected.update(status=to_status, updated_at=timezone.now())

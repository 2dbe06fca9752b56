"""What the Facebook views, actors and webhook handlers do."""

import contextlib
import hashlib
import logging
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.discovery import DiscoveryRun
from accounts.models import MetaAccount
from analytics.recording import record
from botopia_meta import registry
from botopia_meta.exceptions import ValidationFailed
from botopia_meta.graph import GraphError
from botopia_meta.inbox import messaging
from botopia_meta.inbox.messaging import inbound_message  # noqa: F401 (re-exported)
from facebook import graph
from facebook.discovery import discover_facebook
from facebook.models import Comment, Conversation, ConversationMessage, FacebookPage, Post

MESSAGING = messaging.MessagingSpec(Conversation, ConversationMessage, asset="page")

logger = logging.getLogger(__name__)

LIST_CACHE_SECONDS = 60
SERVICE_WINDOW = timedelta(hours=24)
SCHEDULE_MIN = timedelta(minutes=10)
SCHEDULE_MAX = timedelta(days=30)


_from_unix = messaging.from_unix


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


def page_sync(*, account: MetaAccount) -> None:
    """Re-read the pages the account's token reaches, exactly as discovery does: new ones
    become `available`, pages no longer reachable are soft-deleted, returning ones restored."""
    discover_facebook(account, run=DiscoveryRun(account))


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
    Botopia account that connected the page and by what is linked to it (a connected Instagram
    account's events arrive through it): it is removed only when the last one leaves."""
    still_used = (
        FacebookPage.objects.filter(page_id=page.page_id, status=FacebookPage.Status.CONNECTED)
        .exclude(pk=page.pk)
        .exists()
    ) or registry.page_subscription_in_use(page.page_id)
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
    # The cursors come from the client: hashed, so no character or length of theirs can make an
    # invalid cache key.
    cursors = hashlib.sha256(f"{before or ''}\x00{after or ''}".encode()).hexdigest()
    key = f"fb:posts:{page.page_id}:{_posts_version(page.page_id)}:{limit}:{cursors}"
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
    # The post exists at Meta: Redis being down must not turn this into an error answer, whose
    # retry would publish it twice. The list cache expires by itself.
    with contextlib.suppress(Exception):
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
    return messaging.comment_set_hidden(
        comment=comment, hidden=hidden, hide=graph.comment_hide, asset=comment.page
    )


def comment_delete(*, comment: Comment) -> Comment:
    return messaging.comment_delete(comment=comment, delete=graph.comment_delete, asset=comment.page)


# --- Messenger -----------------------------------------------------------------------------


def message_apply_webhook(*, page: FacebookPage, item: dict) -> str:
    """One `entry[].messaging[]` element: a message to the page, or an echo of one it sent."""
    from facebook.actors import fb_fetch_contact_name

    def record_received(at: datetime, mid: str) -> None:
        record(
            account_id=page.account_id,
            platform="facebook",
            metric="dms_received",
            at=at,
            asset_id=page.page_id,
            key=f"fb:{page.account_id}:dm:{mid}:received",
        )

    return messaging.message_apply_webhook(
        MESSAGING,
        asset=page,
        item=item,
        fetch_contact_name=fb_fetch_contact_name.send,
        record_received=record_received,
    )


def message_queue(*, conversation: Conversation, text: str, image_url: str) -> ConversationMessage:
    """Store the reply as queued and send it after commit; 409 outside Messenger's 24 hours."""
    from facebook.actors import fb_deliver_message

    return messaging.message_queue(
        MESSAGING,
        conversation=conversation,
        text=text,
        image_url=image_url,
        window=SERVICE_WINDOW,
        refusal="This person has not written to the page in the last 24 hours: "
        "Messenger does not allow a reply.",
        deliver=fb_deliver_message,
    )


def message_deliver(*, message_pk: str) -> None:
    """Send a queued reply once (the row is claimed atomically)."""

    def send(message: ConversationMessage) -> str:
        return graph.message_send(
            message.conversation.page,
            recipient_id=message.conversation.contact_id,
            text=message.text,
            image_url=message.image_url,
        )

    messaging.message_deliver(MESSAGING, message_pk=message_pk, send=send)


def conversation_mark_read(*, conversation: Conversation) -> None:
    messaging.conversation_mark_read(MESSAGING, conversation=conversation)


def conversation_fetch_contact_name(*, conversation: Conversation) -> None:
    if conversation.contact_name:
        return
    profile = graph.contact_profile(conversation.page, conversation.contact_id)
    name = " ".join(part for part in (profile.get("first_name"), profile.get("last_name")) if part)
    if name:
        Conversation.objects.filter(pk=conversation.pk).update(contact_name=name[:255])


def message_apply_receipt(*, page, item: dict) -> int:
    return messaging.message_apply_receipt(MESSAGING, asset=page, item=item)

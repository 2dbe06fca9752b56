"""What the Facebook views, actors and webhook handlers do."""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from accounts.discovery import DiscoveryRun
from accounts.models import MetaAccount
from botopia_meta import registry
from botopia_meta.exceptions import ValidationFailed
from botopia_meta.graph import GraphError
from botopia_meta.inbox import comments, meta
from botopia_meta.tasks import enqueue_on_commit
from facebook import graph
from facebook.discovery import discover_facebook
from facebook.inbox import SPEC
from facebook.models import Comment, FacebookPage, Post

logger = logging.getLogger(__name__)

SCHEDULE_MIN = timedelta(minutes=10)
SCHEDULE_MAX = timedelta(days=30)


def _enqueue(actor_name: str, *args: str) -> None:
    # Imported here: the actors module imports this one.
    from facebook import actors

    enqueue_on_commit(getattr(actors, actor_name), *args)


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
    _enqueue("fb_backfill_page_comments", str(page.pk))
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


def _post_row(item: dict) -> dict[str, Any]:
    return {
        "id": str(item.get("id") or ""),
        "message": item.get("message") or "",
        "created_time": meta.iso(item.get("created_time")),
        "type": item.get("status_type") or "",
        "permalink_url": item.get("permalink_url") or "",
        "picture": item.get("full_picture") or "",
        "likes": int(((item.get("likes") or {}).get("summary") or {}).get("total_count") or 0),
        "comments": int(((item.get("comments") or {}).get("summary") or {}).get("total_count") or 0),
    }


def post_list(
    *, page: FacebookPage, limit: int, before: str | None, after: str | None
) -> tuple[list[dict], dict]:
    """One page of the page's posts from Meta, cached briefly. Publishing starts afresh."""
    return meta.cached_list(
        kind="fb:posts",
        asset_id=page.page_id,
        limit=limit,
        before=before,
        after=after,
        fetch=lambda: graph.posts(page, limit=limit, before=before, after=after),
        row=_post_row,
    )


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
        post.status, post.error = Post.Status.FAILED, meta.stored_error(exc)
        post.save()
        raise
    post.save()
    try:
        post.permalink_url = graph.post_permalink(page, post.post_id)[:1024]
        post.save(update_fields=["permalink_url", "updated_at"])
    except GraphError as exc:
        # The post exists; a missing permalink must not turn the answer into an error.
        logger.info("No permalink for post %s yet (code=%s)", post.post_id, exc.code)
    meta.list_changed(kind="fb:posts", asset_id=page.page_id)
    if post.status == Post.Status.PUBLISHED:
        _record_post_published(page, post.post_id, post.created_at)
    return post


def _record_post_published(page: FacebookPage, post_id: str, at: datetime) -> None:
    # One key per post: our own publish and the feed webhook announcing it count once.
    SPEC.record(asset=page, metric="posts_published", at=at, key=f"post:{post_id}:published")


def post_apply_feed_change(*, page: FacebookPage, value: dict) -> str:
    """A post appeared on the page (ours, a natively scheduled one going live, or one made on
    Facebook): mark our row published and count it."""
    post_id = str(value.get("post_id") or "")
    if value.get("verb") != "add" or not post_id:
        return "ignored"
    if str((value.get("from") or {}).get("id") or "") != page.page_id:
        return "visitor post"
    at = meta.parse_time(value.get("created_time")) or timezone.now()
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
    # A reply by the page itself (answered on Facebook) marks the comment it answers replied.
    comment, created = comments.comment_store(
        SPEC,
        asset=page,
        comment_id=comment_id,
        post_id=str(value.get("post_id") or ""),
        parent_id=str(value.get("parent_id") or ""),
        author=value.get("from") or {},
        message=str(value.get("message") or ""),
        created_time=meta.parse_time(value.get("created_time")),
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
            _, created = comments.comment_store(
                SPEC,
                asset=page,
                comment_id=str(raw.get("id") or ""),
                post_id=post_id,
                parent_id=str((raw.get("parent") or {}).get("id") or post_id),
                author=raw.get("from") or {},
                message=str(raw.get("message") or ""),
                created_time=meta.parse_time(raw.get("created_time")),
                link_own_reply=False,  # a backfill never marked the page's own replies (unchanged)
            )
            stored += created
    return stored

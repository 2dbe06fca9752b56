"""Facebook Pages and Instagram: the demo page and its linked IG account, posts, media
containers and publishing (what follows a publication: sandbox/social.py; insights:
sandbox/insights.py)."""

import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone

from sandbox import demo, events, social
from sandbox.context import Ctx
from sandbox.meta import MetaError, new_id, paged, pick
from sandbox.models import IgMedia, Post, Subscription, Token
from sandbox.oauth import page_token_for

PUBLISH_LIMIT = 100  # API-published IG posts per 24 hours


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def me_accounts(ctx: Ctx, node: str) -> dict:
    if ctx.token is None or ctx.token.kind != Token.Kind.USER:
        raise MetaError("(#100) Tried accessing nonexisting field (accounts) on node type (Page)", code=100)
    page = {**demo.PAGE, "access_token": page_token_for(ctx.token).token}
    item = pick(page, ctx.get("fields"), default=("name", "access_token", "category", "tasks"))
    return paged([item], limit=ctx.limit(), after=ctx.get("after"), url=ctx.url_without_cursor())


def page_get(ctx: Ctx, node: str) -> dict:
    return pick(demo.PAGE, ctx.get("fields"), default=("name",))


def page_subscribe(ctx: Ctx, node: str) -> dict:
    fields = [f for f in str(ctx.get("subscribed_fields") or "").split(",") if f]
    if not fields:
        raise MetaError("(#100) The parameter subscribed_fields is required.", code=100)
    Subscription.objects.update_or_create(target=node, defaults={"fields": fields})
    return {"success": True}


def page_unsubscribe(ctx: Ctx, node: str) -> dict:
    Subscription.objects.filter(target=node).delete()
    return {"success": True}


# --- posts --------------------------------------------------------------------------------


def _post_meta(post: Post) -> dict:
    return {
        "id": post.post_id,
        "message": post.message,
        "created_time": _iso(post.created_at),
        "permalink_url": f"https://www.facebook.com/{post.post_id.replace('_', '/posts/')}",
        "full_picture": post.photo_url or None,
        "status_type": "added_photos" if post.photo_url else "mobile_status_update",
        "is_published": post.published,
        "scheduled_publish_time": int(post.scheduled_publish_time.timestamp())
        if post.scheduled_publish_time
        else None,
        "likes": {"data": [], "summary": {"total_count": 0, "can_like": True, "has_liked": False}},
        "comments": {
            "data": [],
            "summary": {
                "order": "ranked",
                "total_count": social.comment_count(post.post_id),
                "can_comment": True,
            },
        },
        "shares": {"count": 0},
    }


def posts_list(ctx: Ctx, node: str) -> dict:
    rows = Post.objects.filter(page_id=node, published=True).order_by("-created_at", "-id")
    items = [
        {
            k: v
            for k, v in pick(_post_meta(p), ctx.get("fields"), ("message", "created_time")).items()
            if v is not None
        }
        for p in rows
    ]
    return paged(items, limit=ctx.limit(), after=ctx.get("after"), url=ctx.url_without_cursor())


def _scheduled(ctx: Ctx) -> datetime | None:
    raw = ctx.get("scheduled_publish_time")
    if raw in (None, ""):
        return None
    if not str(raw).isdigit():
        raise MetaError(
            "(#100) Invalid parameter", code=100, user_msg="scheduled_publish_time: not a timestamp"
        )
    at = datetime.fromtimestamp(int(raw), tz=UTC)
    now = timezone.now()
    if not now + timedelta(minutes=10) <= at <= now + timedelta(days=30):
        raise MetaError(
            "(#100) The specified scheduled publish time is invalid.",
            code=100,
            user_msg="Scheduled posts must be between 10 minutes and 30 days from now.",
        )
    return at


def _create_post(ctx: Ctx, node: str, *, photo_url: str = "") -> Post:
    scheduled = _scheduled(ctx)
    published = str(ctx.get("published", "true")).lower() != "false"
    if scheduled is not None and published:
        raise MetaError("(#100) Cannot specify a scheduled publish time on a published post", code=100)
    message = str(ctx.get("caption" if photo_url else "message") or "")
    link = "" if photo_url else str(ctx.get("link") or "")
    if not (message or link or photo_url):
        raise MetaError("(#100) Missing message or attachment.", code=100)
    return Post.objects.create(
        post_id=f"{node}_{new_id()}",
        page_id=node,
        message=message,
        link=link,
        photo_url=photo_url,
        published=published,
        scheduled_publish_time=scheduled,
    )


def _published(post: Post) -> None:
    """Meta announces the page's own post by a `feed` webhook; people then react to it."""
    if post.published:
        events.schedule([(settings.SANDBOX_STATUS_DELAY_MS, social.post_added_payload(post, time.time()))])
        social.after_publish(social.FB, post.post_id, caption=post.message)


def feed_create(ctx: Ctx, node: str) -> dict:
    post = _create_post(ctx, node)
    _published(post)
    return {"id": post.post_id}


def photo_create(ctx: Ctx, node: str) -> dict:
    url = str(ctx.get("url") or "")
    if not url.startswith(("https://", "http://")):
        raise MetaError("(#100) Missing or invalid image file", code=100, user_msg="url")
    post = _create_post(ctx, node, photo_url=url)
    _published(post)
    return {"id": new_id(), "post_id": post.post_id}


def post_get(ctx: Ctx, node: str) -> dict:
    post = Post.objects.get(post_id=node)
    return {
        k: v
        for k, v in pick(_post_meta(post), ctx.get("fields"), ("message", "created_time")).items()
        if v is not None
    }


def post_delete(ctx: Ctx, node: str) -> dict:
    Post.objects.filter(post_id=node).delete()
    return {"success": True}


# --- Instagram ----------------------------------------------------------------------------


def ig_get(ctx: Ctx, node: str) -> dict:
    media_count = IgMedia.objects.filter(ig_id=node, published_at__isnull=False).count()
    body = pick({**demo.IG_ACCOUNT, "media_count": media_count}, ctx.get("fields"), default=("username",))
    mentioned = social.mentioned_comment(str(ctx.get("fields") or ""))
    if mentioned is not None:
        body["mentioned_comment"] = mentioned
    return body


def _media_meta(media: IgMedia) -> dict:
    url = media.params.get("image_url") or media.params.get("video_url") or ""
    kind = {"REELS": "VIDEO", "STORIES": "IMAGE" if media.params.get("image_url") else "VIDEO"}
    return {
        "id": media.media_id,
        "media_type": kind.get(media.media_type, media.media_type),
        "media_product_type": "REELS" if media.media_type == "REELS" else "FEED",
        "media_url": url,
        "permalink": f"https://www.instagram.com/p/sbx{media.media_id[-8:]}/",
        "caption": media.params.get("caption", ""),
        "timestamp": _iso(media.published_at or media.created_at),
        "like_count": 0,
        "comments_count": social.comment_count(media.media_id) if media.media_id else 0,
        "username": demo.IG_USERNAME,
    }


def ig_media_list(ctx: Ctx, node: str) -> dict:
    rows = IgMedia.objects.filter(ig_id=node, published_at__isnull=False).order_by("-published_at", "-id")
    items = [pick(_media_meta(m), ctx.get("fields")) for m in rows]
    return paged(items, limit=ctx.limit(), after=ctx.get("after"), url=ctx.url_without_cursor())


def ig_container_create(ctx: Ctx, node: str) -> dict:
    """POST /{ig-id}/media: an image is ready at once; a video (REELS, STORIES, VIDEO) is
    IN_PROGRESS for two status delays, like Meta's processing."""
    params = {
        k: str(v)
        for k, v in ctx.data.items()
        if k in ("image_url", "video_url", "caption", "media_type", "is_carousel_item", "children")
    }
    media_type = params.get("media_type", "").upper() or ("IMAGE" if params.get("image_url") else "")
    if media_type == "CAROUSEL":
        children = [c for c in params.get("children", "").split(",") if c]
        if not 2 <= len(children) <= 10 or IgMedia.objects.filter(container_id__in=children).count() != len(
            children
        ):
            raise MetaError(
                "(#100) The parameter children is invalid.", code=100, user_msg="2 to 10 item containers"
            )
        ready = timezone.now()
    else:
        url = (
            params.get("video_url")
            if media_type in ("REELS", "VIDEO", "STORIES") and params.get("video_url")
            else params.get("image_url")
        )
        if not url or not url.startswith(("https://", "http://")):
            raise MetaError(
                "Only photo or video can be accepted as media type.",
                code=9004,
                subcode=2207052,
                user_title="Media download has failed",
                user_msg="The media could not be fetched from this URI.",
            )
        video = "video_url" in params and url == params["video_url"]
        ready = timezone.now() + timedelta(milliseconds=2 * settings.SANDBOX_STATUS_DELAY_MS if video else 0)
    media = IgMedia.objects.create(
        container_id=new_id(), ig_id=node, media_type=media_type or "IMAGE", params=params, ready_at=ready
    )
    return {"id": media.container_id}


def _status_code(media: IgMedia) -> str:
    if media.published_at:
        return "PUBLISHED"
    if media.created_at < timezone.now() - timedelta(hours=24):
        return "EXPIRED"
    return "FINISHED" if media.ready_at <= timezone.now() else "IN_PROGRESS"


def container_get(ctx: Ctx, node: str) -> dict:
    media = IgMedia.objects.get(container_id=node)
    status = _status_code(media)
    return pick(
        {"id": node, "status_code": status, "status": status.title()}, ctx.get("fields"), ("status_code",)
    )


def ig_publish(ctx: Ctx, node: str) -> dict:
    media = IgMedia.objects.filter(container_id=str(ctx.get("creation_id") or ""), ig_id=node).first()
    if media is None:
        raise MetaError("(#100) The parameter creation_id is invalid.", code=100)
    status = _status_code(media)
    if status == "PUBLISHED":
        raise MetaError("(#100) This media has already been published.", code=100)
    if status != "FINISHED":
        raise MetaError(
            "Media ID is not available",
            code=9007,
            subcode=2207027,
            user_title="Media not ready",
            user_msg="The media is not ready for publishing, please wait for a moment",
        )
    since = timezone.now() - timedelta(hours=24)
    if IgMedia.objects.filter(ig_id=node, published_at__gte=since).count() >= PUBLISH_LIMIT:
        raise MetaError("Application request limit reached", code=4, subcode=2207042)
    media.media_id, media.published_at = new_id(), timezone.now()
    media.save(update_fields=["media_id", "published_at"])
    if not media.params.get("is_carousel_item"):
        social.after_publish(social.IG, media.media_id, caption=media.params.get("caption", ""))
    return {"id": media.media_id}


def publishing_limit(ctx: Ctx, node: str) -> dict:
    since = timezone.now() - timedelta(hours=24)
    used = IgMedia.objects.filter(ig_id=node, published_at__gte=since).count()
    return {
        "data": [{"quota_usage": used, "config": {"quota_total": PUBLISH_LIMIT, "quota_duration": 86400}}]
    }


def media_get(ctx: Ctx, node: str) -> dict:
    return pick(
        _media_meta(IgMedia.objects.get(media_id=node)), ctx.get("fields"), ("media_type", "permalink")
    )

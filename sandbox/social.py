"""Facebook and Instagram activity: comments from simulated people on what the demo page and
IG account publish, mentions, direct messages, and the Graph calls that answer them (list,
reply, hide, unhide, delete comments; Send API; profiles). Every event reaches our receiver as
the webhook Meta sends (sandbox/events.py), from the sandbox's own queue."""

import base64
import json
import random
import re
import secrets
import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from sandbox import demo, events
from sandbox.context import Ctx
from sandbox.meta import MetaError, field_names, new_id, no_object, paged, pick
from sandbox.models import Comment, DirectMessage, IgMedia, Post

FB, IG = Comment.Platform.FACEBOOK, Comment.Platform.INSTAGRAM
WINDOW = timedelta(hours=24)  # Messenger's and Instagram's standard messaging window
RECEIPT_MIN_MS = 1000
PEOPLE_BY_ID = {
    **{p["psid"]: (FB, p) for p in demo.PEOPLE},
    **{p["igsid"]: (IG, p) for p in demo.PEOPLE},
}


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def full_name(person: dict) -> str:
    return f"{person['first_name']} {person['last_name']}"


def visible(rows: QuerySet[Comment]) -> QuerySet[Comment]:
    """Comments as Meta shows them now: made already (scheduled ones wait), not deleted."""
    return rows.filter(created_at__lte=timezone.now(), deleted=False)


# --- webhook bodies ---------------------------------------------------------------------------


def _page_change(field: str, value: dict, at: float) -> dict:
    return {
        "object": "page",
        "entry": [{"id": demo.PAGE_ID, "time": int(at), "changes": [{"field": field, "value": value}]}],
    }


def _ig_change(field: str, value: dict, at: float) -> dict:
    return {
        "object": "instagram",
        "entry": [{"id": demo.IG_ID, "time": int(at), "changes": [{"field": field, "value": value}]}],
    }


def messaging_payload(platform: str, item: dict, at: float) -> dict:
    """`entry[].messaging[]`: Messenger and Instagram DMs and receipts (times in milliseconds)."""
    object_type, entry_id = ("page", demo.PAGE_ID) if platform == FB else ("instagram", demo.IG_ID)
    return {"object": object_type, "entry": [{"id": entry_id, "time": int(at * 1000), "messaging": [item]}]}


def _post_url(post_id: str) -> str:
    return f"https://www.facebook.com/{post_id.replace('_', '/posts/')}"


def _post_block(post: Post) -> dict:
    return {
        "status_type": "added_photos" if post.photo_url else "mobile_status_update",
        "is_published": True,
        "updated_time": _iso(post.created_at),
        "permalink_url": _post_url(post.post_id),
        "promotion_status": "inactive",
        "id": post.post_id,
    }


def post_added_payload(post: Post, at: float) -> dict:
    value: dict = {
        "from": {"id": demo.PAGE_ID, "name": demo.PAGE_NAME},
        "post_id": post.post_id,
        "created_time": int(at),
        "item": "photo" if post.photo_url else "status",
        "published": 1,
        "verb": "add",
    }
    if post.message:
        value["message"] = post.message
    if post.photo_url:
        value["link"] = post.photo_url
    return _page_change("feed", value, at)


def feed_comment_payload(comment: Comment, verb: str, at: float) -> dict:
    post = Post.objects.filter(post_id=comment.object_id).first()
    value: dict = {
        "from": {"id": comment.author_id, "name": comment.author_name},
        "post_id": comment.object_id,
        "comment_id": comment.comment_id,
        "created_time": int(at),
        "item": "comment",
        "parent_id": comment.parent_id or comment.object_id,
        "verb": verb,
    }
    if post is not None:
        value["post"] = _post_block(post)
    if verb == "add":
        value["message"] = comment.text
    return _page_change("feed", value, at)


def ig_comment_payload(comment: Comment, at: float) -> dict:
    value: dict = {
        "from": {"id": comment.author_id, "username": comment.author_name},
        "media": {"id": comment.object_id, "media_product_type": _product_type(comment.object_id)},
        "id": comment.comment_id,
        "text": comment.text,
    }
    if comment.parent_id:
        value["parent_id"] = comment.parent_id
    return _ig_change("comments", value, at)


def mention_payload(comment: Comment, at: float) -> dict:
    return _ig_change("mentions", {"media_id": comment.object_id, "comment_id": comment.comment_id}, at)


def _product_type(media_id: str) -> str:
    media = IgMedia.objects.filter(media_id=media_id).first()
    return "REELS" if media is not None and media.media_type == "REELS" else "FEED"


def new_mid(platform: str) -> str:
    if platform == IG:
        return base64.b64encode(b"ig_item:" + secrets.token_bytes(24)).decode().rstrip("=")
    return "m_" + secrets.token_urlsafe(48)


def inbound_dm_payload(dm: DirectMessage, at: float) -> dict:
    me = demo.PAGE_ID if dm.platform == FB else demo.IG_ID
    item = {
        "sender": {"id": dm.contact_id},
        "recipient": {"id": me},
        "timestamp": int(at * 1000),
        "message": {"mid": dm.mid, "text": dm.text},
    }
    return messaging_payload(dm.platform, item, at)


def receipt_payload(dm: DirectMessage, kind: str, at: float) -> dict:
    """Messenger's `message_deliveries` / `message_reads` for an outbound message."""
    watermark = int(at * 1000)
    item: dict = {"sender": {"id": dm.contact_id}, "recipient": {"id": demo.PAGE_ID}}
    if kind == "delivery":  # Meta's delivery carries no timestamp of its own, a read does
        item["delivery"] = {"mids": [dm.mid], "watermark": watermark}
    else:
        item["timestamp"] = watermark
        item["read"] = {"watermark": watermark}
    return messaging_payload(FB, item, at)


# --- simulated activity -----------------------------------------------------------------------


def _new_fb_comment_id(post_id: str) -> str:
    return f"{post_id.split('_')[-1]}_{new_id()}"


def add_comment(
    platform: str,
    object_id: str,
    person: dict,
    text: str,
    *,
    delay_ms: int,
    parent_id: str = "",
    mention: bool = False,
) -> tuple[Comment, dict]:
    """A person's comment, made `delay_ms` from now, and the webhook Meta sends for it."""
    at = time.time() + delay_ms / 1000
    if platform == FB:
        comment_id, author_id, author_name = _new_fb_comment_id(object_id), person["psid"], full_name(person)
    else:
        comment_id, author_id, author_name = new_id(), person["ig_user_id"], person["username"]
    comment = Comment.objects.create(
        comment_id=comment_id,
        platform=platform,
        object_id=object_id,
        parent_id=parent_id,
        author_id=author_id,
        author_name=author_name,
        text=text,
        is_mention=mention,
        created_at=timezone.now() + timedelta(milliseconds=delay_ms),
    )
    if platform == FB:
        payload = feed_comment_payload(comment, "add", at)
    else:
        payload = mention_payload(comment, at) if mention else ig_comment_payload(comment, at)
    return comment, payload


def add_inbound_dm(platform: str, person: dict, text: str, *, delay_ms: int) -> tuple[DirectMessage, dict]:
    at = time.time() + delay_ms / 1000
    dm = DirectMessage.objects.create(
        mid=new_mid(platform),
        platform=platform,
        contact_id=person["psid" if platform == FB else "igsid"],
        direction=DirectMessage.Direction.INBOUND,
        text=text,
        created_at=timezone.now() + timedelta(milliseconds=delay_ms),
    )
    return dm, inbound_dm_payload(dm, at)


def after_publish(
    platform: str, object_id: str, *, caption: str = "", rng: random.Random | None = None
) -> None:
    """What follows a publication at Meta: a few comments over the next status delays (the
    last one a reply to the first), a mention when the caption asks for one, then a DM."""
    rng = rng or random.Random()
    step = settings.SANDBOX_STATUS_DELAY_MS
    people = rng.sample(demo.PEOPLE, demo.COMMENTS_PER_PUBLISH + 1)
    scheduled: list[tuple[int, dict]] = []
    first: Comment | None = None
    for i in range(demo.COMMENTS_PER_PUBLISH):
        delay = step * (1 + i)
        is_reply = first is not None and i == demo.COMMENTS_PER_PUBLISH - 1
        text = rng.choice(demo.REPLY_TEXTS if is_reply else demo.COMMENT_TEXTS)
        parent = first.comment_id if is_reply and first is not None else ""
        comment, payload = add_comment(platform, object_id, people[i], text, delay_ms=delay, parent_id=parent)
        first = first or comment
        scheduled.append((delay, payload))
    delay = step * (1 + demo.COMMENTS_PER_PUBLISH)
    if platform == IG and set(re.findall(r"\w+", caption.lower())) & set(demo.MENTION_WORDS):
        # Someone mentions the account in a comment on their own media (not ours).
        _, payload = add_comment(IG, new_id(), people[-1], demo.MENTION_TEXT, delay_ms=delay, mention=True)
        scheduled.append((delay, payload))
    _, payload = add_inbound_dm(platform, people[-1], rng.choice(demo.DM_TEXTS), delay_ms=delay)
    scheduled.append((delay, payload))
    events.schedule(scheduled)


def random_dm(platform: str | None = None, rng: random.Random | None = None) -> DirectMessage:
    """A DM out of the blue, to the page or the IG account (the periodic actor's)."""
    rng = rng or random.Random()
    platform = platform or rng.choice([FB, IG])
    dm, payload = add_inbound_dm(platform, rng.choice(demo.PEOPLE), rng.choice(demo.DM_TEXTS), delay_ms=0)
    events.schedule([(0, payload)])
    return dm


# --- Graph endpoints: comments ----------------------------------------------------------------


def _comment(node: str) -> Comment:
    return Comment.objects.get(comment_id=node)


def fb_comment_meta(comment: Comment) -> dict:
    body: dict = {
        "id": comment.comment_id,
        "message": comment.text,
        "from": {"id": comment.author_id, "name": comment.author_name},
        "created_time": _iso(comment.created_at),
        "is_hidden": comment.hidden,
        "can_hide": comment.author_id != demo.PAGE_ID,
        "like_count": 0,
        "comment_count": visible(Comment.objects.filter(parent_id=comment.comment_id)).count(),
        "permalink_url": f"{_post_url(comment.object_id)}?comment_id={comment.comment_id}",
    }
    if comment.parent_id:
        body["parent"] = {"id": comment.parent_id}
    return body


def ig_comment_meta(comment: Comment) -> dict:
    body: dict = {
        "id": comment.comment_id,
        "text": comment.text,
        "timestamp": _iso(comment.created_at),
        "username": comment.author_name,
        "from": {"id": comment.author_id, "username": comment.author_name},
        "hidden": comment.hidden,
        "like_count": 0,
        "media": {"id": comment.object_id},
    }
    if comment.parent_id:
        body["parent_id"] = comment.parent_id
    return body


def post_comments(ctx: Ctx, node: str) -> dict:
    """GET /{post-id}/comments: top-level comments, oldest first; `filter=stream` adds the
    replies (as Meta's chronological stream)."""
    rows = visible(Comment.objects.filter(object_id=node, platform=FB)).order_by("created_at", "id")
    if ctx.get("filter") != "stream":
        rows = rows.filter(parent_id="")
    items = [pick(fb_comment_meta(c), ctx.get("fields"), ("message", "created_time", "from")) for c in rows]
    return paged(items, limit=ctx.limit(), after=ctx.get("after"), url=ctx.url_without_cursor())


def comment_replies(ctx: Ctx, node: str) -> dict:
    """GET /{comment-id}/comments (Facebook) or /{comment-id}/replies (Instagram)."""
    comment = _comment(node)
    rows = visible(Comment.objects.filter(parent_id=node)).order_by("created_at", "id")
    meta = fb_comment_meta if comment.platform == FB else ig_comment_meta
    default = ("message", "created_time", "from") if comment.platform == FB else ("text", "timestamp")
    items = [pick(meta(c), ctx.get("fields"), default) for c in rows]
    return paged(items, limit=ctx.limit(), after=ctx.get("after"), url=ctx.url_without_cursor())


def media_comments(ctx: Ctx, node: str) -> dict:
    """GET /{ig-media-id}/comments: top-level comments (replies are under /{comment}/replies)."""
    rows = visible(Comment.objects.filter(object_id=node, platform=IG, parent_id="")).order_by(
        "created_at", "id"
    )
    items = [pick(ig_comment_meta(c), ctx.get("fields"), ("text", "timestamp")) for c in rows]
    return paged(items, limit=ctx.limit(), after=ctx.get("after"), url=ctx.url_without_cursor())


def comment_get(ctx: Ctx, node: str) -> dict:
    comment = _comment(node)
    if comment.deleted:
        raise no_object(node)
    if comment.platform == FB:
        return pick(fb_comment_meta(comment), ctx.get("fields"), ("message", "created_time", "from"))
    return pick(ig_comment_meta(comment), ctx.get("fields"), ("text", "timestamp"))


def _reply_text(ctx: Ctx) -> str:
    text = str(ctx.get("message") or "")
    if not text.strip():
        raise MetaError("(#100) The parameter message is required", code=100)
    return text


def _alive(node: str, method: str = "POST") -> Comment:
    comment = _comment(node)
    if comment.deleted or comment.created_at > timezone.now():
        raise no_object(node, method)
    return comment


def fb_comment_reply(ctx: Ctx, node: str) -> dict:
    """POST /{comment-id}/comments: the page answers; Meta sends the page's own comment back as
    a `feed` webhook."""
    parent = _alive(node)
    if parent.platform != FB:
        raise MetaError(
            "(#100) Tried accessing nonexisting field (comments) on node type (IGComment)", code=100
        )
    # Facebook threads one level deep: a reply to a reply joins the top-level comment's thread.
    thread = parent.parent_id or parent.comment_id
    reply = Comment.objects.create(
        comment_id=_new_fb_comment_id(parent.object_id),
        platform=FB,
        object_id=parent.object_id,
        parent_id=thread,
        author_id=demo.PAGE_ID,
        author_name=demo.PAGE_NAME,
        text=_reply_text(ctx),
        created_at=timezone.now(),
    )
    events.schedule([(settings.SANDBOX_STATUS_DELAY_MS, feed_comment_payload(reply, "add", time.time()))])
    return {"id": reply.comment_id}


def ig_comment_reply(ctx: Ctx, node: str) -> dict:
    """POST /{ig-comment-id}/replies: the account answers; Meta notifies the reply by a
    `comments` webhook too."""
    parent = _alive(node)
    if parent.platform != IG or parent.is_mention:
        raise MetaError("(#100) Tried accessing nonexisting field (replies) on node type (Comment)", code=100)
    reply = Comment.objects.create(
        comment_id=new_id(),
        platform=IG,
        object_id=parent.object_id,
        parent_id=parent.parent_id or parent.comment_id,
        author_id=demo.IG_ID,
        author_name=demo.IG_USERNAME,
        text=_reply_text(ctx),
        created_at=timezone.now(),
    )
    events.schedule([(settings.SANDBOX_STATUS_DELAY_MS, ig_comment_payload(reply, time.time()))])
    return {"id": reply.comment_id}


def comment_update(ctx: Ctx, node: str) -> dict:
    """POST /{comment-id} with `is_hidden` (Facebook) or `hide` (Instagram). Facebook sends a
    `feed` webhook with verb hide / unhide; Instagram sends none."""
    comment = _alive(node)
    name = "is_hidden" if comment.platform == FB else "hide"
    raw = str(ctx.get(name, "")).lower()
    if raw not in ("true", "false"):
        raise MetaError(f"(#100) The parameter {name} is required", code=100)
    if comment.author_id in (demo.PAGE_ID, demo.IG_ID):
        raise MetaError("(#100) Cannot hide your own comment", code=100)
    hidden = raw == "true"
    changed = comment.hidden != hidden
    comment.hidden = hidden
    comment.save(update_fields=["hidden"])
    if comment.platform == FB and changed:
        verb = "hide" if hidden else "unhide"
        events.schedule(
            [(settings.SANDBOX_STATUS_DELAY_MS, feed_comment_payload(comment, verb, time.time()))]
        )
    return {"success": True}


def comment_delete(ctx: Ctx, node: str) -> dict:
    """DELETE /{comment-id}: Facebook sends a `feed` webhook with verb remove; Instagram none."""
    comment = _alive(node, "DELETE")
    Comment.objects.filter(pk=comment.pk).update(deleted=True)
    Comment.objects.filter(parent_id=comment.comment_id).update(deleted=True)  # its thread goes too
    if comment.platform == FB:
        events.schedule(
            [(settings.SANDBOX_STATUS_DELAY_MS, feed_comment_payload(comment, "remove", time.time()))]
        )
    return {"success": True}


def mentioned_comment(fields: str) -> dict | None:
    """`mentioned_comment.comment_id(<id>){...}` of GET /{ig-id}, or None when not asked."""
    for name in field_names(fields):
        if name != "mentioned_comment":
            continue
        start = fields.find("comment_id(")
        comment_id = fields[start + len("comment_id(") :].split(")")[0] if start >= 0 else ""
        comment = Comment.objects.filter(comment_id=comment_id, is_mention=True, deleted=False).first()
        if comment is None:
            raise MetaError("(#100) The parameter comment_id is invalid.", code=100)
        return {
            "id": comment.comment_id,
            "text": comment.text,
            "timestamp": _iso(comment.created_at),
            "username": comment.author_name,
            "media": {"id": comment.object_id},
        }
    return None


def comment_count(object_id: str) -> int:
    return visible(Comment.objects.filter(object_id=object_id, is_mention=False)).count()


# --- Graph endpoints: messaging ---------------------------------------------------------------


def person_get(ctx: Ctx, node: str) -> dict:
    """GET /{psid} (first_name, last_name, ...) or /{igsid} (name, username)."""
    platform, person = PEOPLE_BY_ID[node]
    if not DirectMessage.objects.filter(contact_id=node, direction=DirectMessage.Direction.INBOUND).exists():
        raise MetaError("(#100) No profile available for that user.", code=100, subcode=2018218)
    if platform == FB:
        profile: dict[str, object] = {
            "id": node,
            "first_name": person["first_name"],
            "last_name": person["last_name"],
            "name": full_name(person),
            "profile_pic": f"https://demo.botopia.invalid/people/{person['psid']}.png",
        }
        return pick(profile, ctx.get("fields"), ("first_name", "last_name"))
    profile = {
        "id": node,
        "name": full_name(person),
        "username": person["username"],
        "profile_pic": f"https://demo.botopia.invalid/people/{person['igsid']}.png",
        "follower_count": 100 + int(person["igsid"][-3:]),
        "is_user_follow_business": True,
    }
    return pick(profile, ctx.get("fields"), ("name", "username"))


def _json_param(value: object) -> object:
    """Meta takes an object parameter as JSON in a form field too."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def messages_send(ctx: Ctx, node: str) -> dict:
    """POST /{page-id}/messages: the Send API, for Messenger (a PSID) and Instagram (an IGSID,
    through the linked page). Refused outside the 24-hour window, as Meta does; a Messenger
    message is then delivered and read by webhook."""
    recipient = _json_param(ctx.get("recipient"))
    contact_id = str((recipient or {}).get("id") or "") if isinstance(recipient, dict) else ""
    if not contact_id:
        raise MetaError("(#100) The parameter recipient is required", code=100)
    if contact_id not in PEOPLE_BY_ID:
        raise MetaError("(#100) No matching user found", code=100, subcode=2018001)
    message = _json_param(ctx.get("message"))
    if not isinstance(message, dict) or not (message.get("text") or message.get("attachment")):
        raise MetaError("(#100) The parameter message is required", code=100)
    if len(str(message.get("text") or "")) > 2000:
        raise MetaError("(#100) Length of param message[text] must be less than or equal to 2000", code=100)
    platform, _ = PEOPLE_BY_ID[contact_id]
    last = (
        DirectMessage.objects.filter(
            contact_id=contact_id, direction=DirectMessage.Direction.INBOUND, created_at__lte=timezone.now()
        )
        .order_by("-created_at")
        .first()
    )
    if last is None or timezone.now() - last.created_at > WINDOW:
        raise MetaError(
            "(#10) This message is sent outside of allowed window. Learn more about the new policy here: "
            "https://developers.facebook.com/docs/messenger-platform/policy-overview",
            code=10,
            subcode=2018278,
        )
    now = timezone.now()
    dm = DirectMessage.objects.create(
        mid=new_mid(platform),
        platform=platform,
        contact_id=contact_id,
        direction=DirectMessage.Direction.OUTBOUND,
        text=str(message.get("text") or ""),
        payload=message,
        created_at=now,
    )
    if platform == FB:
        # At least RECEIPT_MIN_MS: a receipt that overtook the sender's own record of the send
        # (it stores the message_id once this answer reaches it) would find nothing to update.
        step = max(settings.SANDBOX_STATUS_DELAY_MS, RECEIPT_MIN_MS)
        at = time.time()
        events.schedule(
            [
                (step, receipt_payload(dm, "delivery", at + step / 1000)),
                (2 * step, receipt_payload(dm, "read", at + 2 * step / 1000)),
            ]
        )
    return {"recipient_id": contact_id, "message_id": dm.mid}

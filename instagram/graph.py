"""Instagram calls to Meta (Instagram API with Facebook Login), built on the shared transport.

Every call uses the token of the Facebook page the account is linked to. The page row belongs
to the facebook app; we reach it through the account's reverse relation rather than importing
that app (platform apps never import each other)."""

from accounts.tokens import page_graph_for
from botopia_meta.exceptions import Conflict
from botopia_meta.graph import GraphClient

MEDIA_FIELDS = "id,media_type,media_url,thumbnail_url,permalink,caption,timestamp,like_count,comments_count"
COMMENT_FIELDS = "id,text,timestamp,username,from{id,username},parent_id,hidden"
# The linked page's webhook subscription carries Instagram DMs; POSTing a subset would drop the
# Facebook fields, so this is the same full list the facebook app subscribes.
PAGE_SUBSCRIBED_FIELDS = "feed,messages,messaging_postbacks,message_deliveries,message_reads"


class PageTokenMissing(Conflict):
    code = "PAGE_NOT_AVAILABLE"
    default_message = (
        "The Facebook page this Instagram account is linked to is not available: "
        "sync your pages (POST /api/meta/facebook/pages/sync) or reconnect."
    )


def client_for(ig) -> GraphClient:
    page = ig.account.facebook_pages.filter(page_id=ig.page_id, deleted_at__isnull=True).first()
    if page is None or not page.access_token:
        raise PageTokenMissing()
    return page_graph_for(ig.account, page_id=ig.page_id, page_token=page.access_token)


def subscribe(ig) -> None:
    client_for(ig).post(f"{ig.page_id}/subscribed_apps", {"subscribed_fields": PAGE_SUBSCRIBED_FIELDS})


def media(ig, *, limit: int, before: str | None, after: str | None) -> tuple[list[dict], dict]:
    params: dict = {"fields": MEDIA_FIELDS, "limit": limit}
    if before:
        params["before"] = before
    if after:
        params["after"] = after
    return client_for(ig).page(f"{ig.ig_account_id}/media", params)


def publishing_limit(ig) -> tuple[int, int]:
    """(posts published in the last 24 hours, allowed)."""
    data = (
        client_for(ig)
        .get(f"{ig.ig_account_id}/content_publishing_limit", {"fields": "quota_usage,config"})
        .json_object
    )
    item = (data.get("data") or [{}])[0]
    return int(item.get("quota_usage") or 0), int((item.get("config") or {}).get("quota_total") or 100)


def container_create(ig, params: dict) -> str:
    return str(client_for(ig).post(f"{ig.ig_account_id}/media", params, idempotent=False).json_object["id"])


def container_status(ig, container_id: str) -> tuple[str, str]:
    """(status_code, status): IN_PROGRESS, FINISHED, ERROR, EXPIRED or PUBLISHED, and Meta's detail."""
    data = client_for(ig).get(container_id, {"fields": "status_code,status"}).json_object
    return str(data.get("status_code") or ""), str(data.get("status") or "")


def media_publish(ig, container_id: str) -> str:
    answer = client_for(ig).post(
        f"{ig.ig_account_id}/media_publish", {"creation_id": container_id}, idempotent=False
    )
    return str(answer.json_object["id"])


def media_permalink(ig, media_id: str) -> str:
    return str(client_for(ig).get(media_id, {"fields": "permalink"}).json_object.get("permalink") or "")


def media_comments(ig, media_id: str, *, limit: int = 50) -> list[dict]:
    items, _ = client_for(ig).page(f"{media_id}/comments", {"fields": COMMENT_FIELDS, "limit": limit})
    return items


def mentioned_comment(ig, comment_id: str) -> dict:
    field = f"mentioned_comment.comment_id({comment_id}){{id,text,timestamp,username,media{{id}}}}"
    return client_for(ig).get(ig.ig_account_id, {"fields": field}).json_object.get("mentioned_comment") or {}


def comment_reply(ig, comment_id: str, message: str) -> str:
    return str(
        client_for(ig).post(f"{comment_id}/replies", {"message": message}, idempotent=False).json_object["id"]
    )


def comment_hide(ig, comment_id: str, hidden: bool) -> None:
    client_for(ig).post(comment_id, {"hide": "true" if hidden else "false"})


def comment_delete(ig, comment_id: str) -> None:
    client_for(ig).delete(comment_id)


def message_send(ig, *, recipient_id: str, text: str, image_url: str) -> str:
    """Instagram Messaging through the linked page; only within 24 hours of the person's message."""
    if image_url:
        message: dict = {"attachment": {"type": "image", "payload": {"url": image_url}}}
    else:
        message = {"text": text}
    answer = client_for(ig).post(
        f"{ig.page_id}/messages",
        json={"recipient": {"id": recipient_id}, "message": message},
        idempotent=False,
    )
    return str(answer.json_object["message_id"])


def contact_profile(ig, igsid: str) -> dict:
    """An Instagram-scoped user's name and username (readable once they wrote to the account)."""
    return client_for(ig).get(igsid, {"fields": "name,username"}).json_object

"""Facebook Page calls to Meta, built on the shared transport. Page calls use the page token."""

from datetime import datetime

from accounts.tokens import page_graph_for
from botopia_meta.graph import GraphClient

POST_FIELDS = (
    "id,message,created_time,permalink_url,full_picture,status_type,"
    "likes.summary(true).limit(0),comments.summary(true).limit(0)"
)
COMMENT_FIELDS = "id,message,from{id,name},created_time,parent{id},is_hidden"
# Everything our handlers consume; Meta sends nothing for fields a page is not subscribed to.
SUBSCRIBED_FIELDS = "feed,messages,messaging_postbacks,message_deliveries,message_reads"


def client_for_page(page) -> GraphClient:
    return page_graph_for(page.account, page_id=page.page_id, page_token=page.access_token)


def subscribe(page, fields: str = SUBSCRIBED_FIELDS) -> None:
    client_for_page(page).post(f"{page.page_id}/subscribed_apps", {"subscribed_fields": fields})


def unsubscribe(page) -> None:
    client_for_page(page).delete(f"{page.page_id}/subscribed_apps")


def posts(page, *, limit: int, before: str | None, after: str | None) -> tuple[list[dict], dict]:
    params = {"fields": POST_FIELDS, "limit": limit}
    if before:
        params["before"] = before
    if after:
        params["after"] = after
    return client_for_page(page).page(f"{page.page_id}/posts", params)


def post_create(
    page,
    *,
    message: str,
    link: str,
    photo_url: str,
    published: bool,
    scheduled_publish_time: datetime | None,
) -> str:
    """Meta's id of the new post (`<page>_<post>`). Not retried on timeout: a post may exist."""
    data: dict = {}
    if photo_url:
        path = f"{page.page_id}/photos"
        data["url"] = photo_url
        if message:
            data["caption"] = message
    else:
        path = f"{page.page_id}/feed"
        if message:
            data["message"] = message
        if link:
            data["link"] = link
    if scheduled_publish_time is not None:
        data["published"] = "false"
        data["scheduled_publish_time"] = str(int(scheduled_publish_time.timestamp()))
    elif not published:
        data["published"] = "false"
    answer = client_for_page(page).post(path, data, idempotent=False).json_object
    # Photos answer {"id": <photo id>, "post_id": <page>_<post>}.
    return str(answer.get("post_id") or answer["id"])


def post_permalink(page, post_id: str) -> str:
    return str(
        client_for_page(page).get(post_id, {"fields": "permalink_url"}).json_object.get("permalink_url") or ""
    )


def post_delete(page, post_id: str) -> None:
    client_for_page(page).delete(post_id)


def post_comments(page, post_id: str, *, limit: int = 100) -> list[dict]:
    items, _ = client_for_page(page).page(
        f"{post_id}/comments", {"fields": COMMENT_FIELDS, "limit": limit, "filter": "stream"}
    )
    return items


def comment_reply(page, comment_id: str, message: str) -> str:
    answer = client_for_page(page).post(f"{comment_id}/comments", {"message": message}, idempotent=False)
    return str(answer.json_object["id"])


def comment_hide(page, comment_id: str, hidden: bool) -> None:
    client_for_page(page).post(comment_id, {"is_hidden": "true" if hidden else "false"})


def comment_delete(page, comment_id: str) -> None:
    client_for_page(page).delete(comment_id)


def message_send(page, *, recipient_id: str, text: str, image_url: str) -> str:
    """Messenger Send API; RESPONSE type is only allowed inside the 24-hour window."""
    if image_url:
        message: dict = {"attachment": {"type": "image", "payload": {"url": image_url, "is_reusable": True}}}
    else:
        message = {"text": text}
    answer = client_for_page(page).post(
        f"{page.page_id}/messages",
        json={"recipient": {"id": recipient_id}, "messaging_type": "RESPONSE", "message": message},
        idempotent=False,
    )
    return str(answer.json_object["message_id"])


def contact_profile(page, psid: str) -> dict:
    """Messenger's user profile: only readable for someone who wrote to the page."""
    return client_for_page(page).get(psid, {"fields": "first_name,last_name"}).json_object

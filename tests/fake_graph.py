"""A permissive stand-in for the Graph API at the HTTP level (`responses`): every call gets a
Meta-shaped success body chosen by method and path, so that endpoints calling Meta can be
exercised end to end (fuzzing, the secrets flow) without a 502 from an unmatched request.

Ids that are not numeric Meta ids (Meta would answer code 100) get Meta's own error body."""

import json
import re
import time
from urllib.parse import parse_qs, urlsplit

import responses
from django.conf import settings

from tests.accounts.conftest import meta_phone_number
from tests.world import PERMISSIONS

GRAPH = re.compile(r"^https://graph\.facebook\.com/v[\d.]+/(?P<path>.*)$")
USER_TOKEN = "EAAGfakeGraphLongLivedUserToken0123456789"
PAGE_TOKEN_PREFIX = "EAAGfakeGraphPageToken"
_ID = re.compile(r"^[\d_]+$")


def _json(status: int, body: dict, headers: dict | None = None):
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body)


def _error(code: int, message: str, subcode: int | None = None):
    error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AFakeTrace01"}
    if subcode:
        error["error_subcode"] = subcode
    return _json(400, {"error": error})


def _page(items: list[dict]) -> dict:
    return {"data": items, "paging": {"cursors": {"before": "QVFIUa", "after": "QVFIUb"}}}


class FakeGraph:
    """Records calls (method, path, params) and answers them. `waba`, `pages` and `ig` are the
    assets discovery finds (Meta ids)."""

    def __init__(self, waba: str = "2001", phones=("3001",), pages=("4001",), ig: str = "5001"):
        self.waba, self.phones, self.pages, self.ig = waba, list(phones), list(pages), ig
        self.calls: list[tuple[str, str, dict]] = []
        self.page_tokens = {p: f"{PAGE_TOKEN_PREFIX}{p}abcdef0123456789" for p in self.pages}
        self.counter = 0
        self.refusals = 0  # calls answered with a Meta error
        self.fail_next = False  # set: the next call gets Meta's "invalid parameter" error

    def install(self, mock: responses.RequestsMock) -> None:
        for method in ("GET", "POST", "DELETE"):
            mock.add_callback(method, GRAPH, callback=self)

    def next_id(self) -> str:
        self.counter += 1
        return f"17{self.counter:012d}"

    def __call__(self, request):
        url = urlsplit(request.url)
        path = GRAPH.match(f"{url.scheme}://{url.netloc}{url.path}").group("path").strip("/")
        params = {k: v[-1] for k, v in parse_qs(url.query).items()}
        body = request.body
        if isinstance(body, bytes):
            body = body.decode(errors="replace")  # a multipart upload carries binary
        if body and body.lstrip().startswith("{"):
            params.update(json.loads(body))
        elif body:
            params.update({k: v[-1] for k, v in parse_qs(body).items()})
        self.calls.append((request.method, path, params))
        if self.fail_next:
            self.fail_next = False
            answer = _error(100, "(#100) Invalid parameter", subcode=2018001)
        else:
            answer = self.answer(request.method, path.split("/"), params)
        if answer[0] >= 400:
            self.refusals += 1
        return answer

    def answer(self, method: str, parts: list[str], params: dict):
        head, tail = parts[0], parts[1:]
        now = int(time.time())
        if head == "oauth" and tail == ["access_token"]:
            return _json(200, {"access_token": USER_TOKEN, "token_type": "bearer", "expires_in": 5184000})
        if head == "debug_token":
            data = {
                "app_id": settings.META_APP_ID,
                "type": "USER",
                "application": "Botopia",
                "expires_at": now + 60 * 86400,
                "data_access_expires_at": now + 90 * 86400,
                "issued_at": now,
                "is_valid": True,
                "scopes": PERMISSIONS,
                "granular_scopes": [
                    {"scope": s, "target_ids": [self.waba, *self.pages]} for s in PERMISSIONS
                ],
                "user_id": "10001",
            }
            return _json(200, {"data": data})
        if head == "me":
            if not tail:
                return _json(200, {"id": "10001", "name": "Ana Pérez"})
            if tail == ["permissions"]:
                if method == "DELETE":
                    return _json(200, {"success": True})
                return _json(200, {"data": [{"permission": p, "status": "granted"} for p in PERMISSIONS]})
            if tail == ["accounts"]:
                return _json(200, _page([self.page_body(p) for p in self.pages]))
            if tail == ["businesses"]:
                return _json(200, _page([]))
        if head == "debug_token" or not _ID.match(head):
            message = f"Unsupported {method.lower()} request. Object with ID '{head}' does not exist"
            return _error(100, message)
        last = tail[-1] if tail else ""
        if method == "DELETE":
            return _json(200, {"success": True})
        if last == "subscribed_apps" or last == "subscriptions":
            return _json(200, {"success": True} if method == "POST" else {"data": []})
        if last == "whatsapp_business_profile":
            if method == "POST":
                return _json(200, {"success": True})
            profile = {"about": "Hi", "messaging_product": "whatsapp", "vertical": "OTHER"}
            return _json(200, {"data": [profile]})
        if last == "phone_numbers":
            return _json(200, _page([meta_phone_number(p) for p in self.phones]))
        if last == "message_templates":
            if method == "POST":
                return _json(200, {"id": self.next_id(), "status": "PENDING", "category": "UTILITY"})
            return _json(200, _page([]))
        if last == "messages" and method == "POST":
            if "messaging_product" in params:
                to = str(params.get("to", ""))
                wamid = f"wamid.HBgL{self.next_id()}"
                return _json(
                    200,
                    {
                        "messaging_product": "whatsapp",
                        "contacts": [{"input": to, "wa_id": to.lstrip("+")}],
                        "messages": [{"id": wamid}],
                    },
                )
            return _json(200, {"recipient_id": "9101", "message_id": f"m_{self.next_id()}"})
        if last in ("feed", "photos") and method == "POST":
            return _json(200, {"id": f"{head}_{self.next_id()}", "post_id": f"{head}_{self.next_id()}"})
        if last in ("comments", "replies") and method == "POST":
            return _json(200, {"id": self.next_id()})
        if last == "media" and method == "POST":
            return _json(200, {"id": self.next_id()})
        if last == "media_publish":
            return _json(200, {"id": self.next_id()})
        if last == "content_publishing_limit":
            limit = {"quota_usage": 0, "config": {"quota_total": 100, "quota_duration": 86400}}
            return _json(200, {"data": [limit]})
        if last in ("posts", "media", "comments", "insights", "conversations", "tags"):
            return _json(200, _page([]))
        if method == "POST":
            return _json(200, {"success": True})
        # GET of an object: shaped by what is asked.
        fields = str(params.get("fields", ""))
        if head == self.waba and "analytics" not in fields:
            return _json(
                200,
                {
                    "id": head,
                    "name": "Botopia Store",
                    "currency": "USD",
                    "timezone_id": "1",
                    "message_template_namespace": "abcd_1234",
                    "account_review_status": "APPROVED",
                },
            )
        if head == self.ig:
            return _json(
                200,
                {
                    "id": head,
                    "username": "botopia.cafe",
                    "name": "Botopia Café",
                    "followers_count": 10,
                    "media_count": 2,
                },
            )
        body: dict = {"id": head}
        for key in ("analytics", "conversation_analytics", "pricing_analytics", "template_analytics"):
            if fields.startswith(key + "."):
                body[key] = {"data": []} if key != "analytics" else {"data_points": []}
        if "permalink" in fields:
            body["permalink_url"] = body["permalink"] = f"https://www.facebook.com/{head}"
        if "status_code" in fields:
            body.update({"status_code": "FINISHED", "status": "Finished: Media has been uploaded"})
        if "first_name" in fields or "username" in fields:
            body.update({"first_name": "Fan", "last_name": "One", "name": "Fan One", "username": "fan"})
        return _json(200, body)

    def page_body(self, page_id: str) -> dict:
        body = {
            "id": page_id,
            "name": f"Page {page_id}",
            "category": "Coffee shop",
            "access_token": self.page_tokens[page_id],
            "tasks": ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"],
            "picture": {"data": {"url": "https://scontent.xx.fbcdn.net/p.jpg"}},
        }
        if page_id == self.pages[0]:
            body["instagram_business_account"] = {"id": self.ig}
        return body

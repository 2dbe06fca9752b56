"""The sandbox's one entry point: /sandbox/graph/[vXX.X/]<node>[/<edge>], dispatched on the
kind of node, the edge and the method to a small endpoint function, as Meta's Graph API
would answer. 404 (the service's own) unless the sandbox is enabled (META_SANDBOX, DEBUG on)."""

import hashlib
import hmac
import json
import re
from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.views.decorators.csrf import csrf_exempt

import sandbox
from sandbox import demo, insights, media, oauth, pages, social, whatsapp
from sandbox.context import Ctx
from sandbox.meta import MetaError, answer, error_answer, no_object, unknown_path
from sandbox.models import Comment, IgMedia, Post, Template, Token

_VERSION = re.compile(r"v\d+\.\d+")
Endpoint = Callable[[Ctx, str], dict]
NONE, APP, TOKEN = "none", "app", "token"  # what a route needs from the caller

# (node kind, edge, method) → (endpoint, auth)
ROUTES: dict[tuple[str, str, str], tuple[Endpoint, str]] = {
    ("oauth", "access_token", "GET"): (oauth.access_token, NONE),
    ("debug_token", "", "GET"): (oauth.debug_token, APP),
    ("me", "", "GET"): (oauth.me, TOKEN),
    ("me", "permissions", "GET"): (oauth.permissions, TOKEN),
    ("me", "permissions", "DELETE"): (oauth.permissions_revoke, TOKEN),
    ("me", "accounts", "GET"): (pages.me_accounts, TOKEN),
    ("app", "", "GET"): (oauth.app_get, APP),
    ("app", "subscriptions", "GET"): (oauth.subscriptions_list, APP),
    ("app", "subscriptions", "POST"): (oauth.subscriptions_create, APP),
    ("business", "owned_whatsapp_business_accounts", "GET"): (whatsapp.business_wabas, TOKEN),
    ("waba", "", "GET"): (whatsapp.waba_get, TOKEN),
    ("waba", "phone_numbers", "GET"): (whatsapp.phone_numbers, TOKEN),
    ("waba", "message_templates", "GET"): (whatsapp.templates_list, TOKEN),
    ("waba", "message_templates", "POST"): (whatsapp.template_create, TOKEN),
    ("waba", "message_templates", "DELETE"): (whatsapp.template_delete, TOKEN),
    ("waba", "subscribed_apps", "GET"): (whatsapp.subscribed_apps_get, TOKEN),
    ("waba", "subscribed_apps", "POST"): (whatsapp.subscribed_apps_add, TOKEN),
    ("waba", "subscribed_apps", "DELETE"): (whatsapp.subscribed_apps_remove, TOKEN),
    ("phone", "", "GET"): (whatsapp.phone_get, TOKEN),
    ("phone", "messages", "POST"): (whatsapp.messages_send, TOKEN),
    ("phone", "media", "POST"): (media.upload, TOKEN),
    ("wamedia", "", "GET"): (media.lookup, TOKEN),
    ("phone", "whatsapp_business_profile", "GET"): (whatsapp.profile_get, TOKEN),
    ("phone", "whatsapp_business_profile", "POST"): (whatsapp.profile_update, TOKEN),
    ("template", "", "GET"): (whatsapp.template_get, TOKEN),
    ("template", "", "POST"): (whatsapp.template_edit, TOKEN),
    ("page", "", "GET"): (pages.page_get, TOKEN),
    ("page", "posts", "GET"): (pages.posts_list, TOKEN),
    ("page", "feed", "GET"): (pages.posts_list, TOKEN),
    ("page", "published_posts", "GET"): (pages.posts_list, TOKEN),
    ("page", "feed", "POST"): (pages.feed_create, TOKEN),
    ("page", "photos", "POST"): (pages.photo_create, TOKEN),
    ("page", "subscribed_apps", "POST"): (pages.page_subscribe, TOKEN),
    ("page", "subscribed_apps", "DELETE"): (pages.page_unsubscribe, TOKEN),
    ("page", "insights", "GET"): (insights.page_insights, TOKEN),
    ("page", "messages", "POST"): (social.messages_send, TOKEN),
    ("post", "", "GET"): (pages.post_get, TOKEN),
    ("post", "", "DELETE"): (pages.post_delete, TOKEN),
    ("post", "comments", "GET"): (social.post_comments, TOKEN),
    ("comment", "", "GET"): (social.comment_get, TOKEN),
    ("comment", "", "POST"): (social.comment_update, TOKEN),
    ("comment", "", "DELETE"): (social.comment_delete, TOKEN),
    ("comment", "comments", "GET"): (social.comment_replies, TOKEN),
    ("comment", "comments", "POST"): (social.fb_comment_reply, TOKEN),
    ("comment", "replies", "GET"): (social.comment_replies, TOKEN),
    ("comment", "replies", "POST"): (social.ig_comment_reply, TOKEN),
    ("person", "", "GET"): (social.person_get, TOKEN),
    ("ig", "", "GET"): (pages.ig_get, TOKEN),
    ("ig", "media", "GET"): (pages.ig_media_list, TOKEN),
    ("ig", "media", "POST"): (pages.ig_container_create, TOKEN),
    ("ig", "media_publish", "POST"): (pages.ig_publish, TOKEN),
    ("ig", "content_publishing_limit", "GET"): (pages.publishing_limit, TOKEN),
    ("ig", "insights", "GET"): (insights.ig_insights, TOKEN),
    ("container", "", "GET"): (pages.container_get, TOKEN),
    ("media", "", "GET"): (pages.media_get, TOKEN),
    ("media", "comments", "GET"): (social.media_comments, TOKEN),
    ("media", "insights", "GET"): (insights.media_insights, TOKEN),
}


def node_kind(node: str) -> str | None:
    fixed = {
        "me": "me",
        "oauth": "oauth",
        "debug_token": "debug_token",
        str(settings.META_APP_ID): "app",
        demo.BUSINESS_ID: "business",
        demo.WABA_ID: "waba",
        demo.PAGE_ID: "page",
        demo.IG_ID: "ig",
    }
    if node in fixed:
        return fixed[node]
    if node in demo.PHONE_NUMBERS:
        return "phone"
    if node in social.PEOPLE_BY_ID:
        return "person"
    if node in media.ASSETS:
        return "wamedia"
    if not re.fullmatch(r"\d+(_\d+)?", node):
        return None
    if Comment.objects.filter(comment_id=node).exists():
        return "comment"
    if "_" in node:
        return "post" if Post.objects.filter(post_id=node).exists() else None
    if Template.objects.filter(template_id=node).exists():
        return "template"
    if IgMedia.objects.filter(container_id=node).exists():
        return "container"
    if IgMedia.objects.filter(media_id=node).exists():
        return "media"
    return None


def _data(request: HttpRequest) -> dict:
    """Query string, form body and JSON body, merged (Meta reads parameters from all three)."""
    data: dict = dict(request.GET.items())
    if request.content_type == "application/json" and request.body:
        try:
            body = json.loads(request.body)
        except ValueError:
            raise MetaError("(#100) Invalid JSON for postcard", code=100) from None
        if isinstance(body, dict):
            data.update(body)
    elif request.method == "POST":
        data.update(request.POST.items())
    elif request.method == "DELETE" and request.body:
        data.update(QueryDict(request.body).items())
    return data


def _authenticate(ctx: Ctx, request: HttpRequest, needs: str) -> None:
    if needs == NONE:
        return
    token = str(ctx.get("access_token") or "")
    if not token and request.headers.get("Authorization", "").startswith("Bearer "):
        token = request.headers["Authorization"].removeprefix("Bearer ").strip()
    if not token:
        raise MetaError("An access token is required to request this resource.", code=104)
    if "|" in token:
        app_id, _, secret = token.partition("|")
        if app_id != str(settings.META_APP_ID) or not hmac.compare_digest(secret, settings.META_APP_SECRET):
            raise MetaError("Invalid OAuth access token signature.", code=190)
        ctx.app_token = True
        return
    # debug_token also takes a user token; the app's own edges need the app token.
    if needs == APP and ctx.path.startswith(str(settings.META_APP_ID)):
        raise MetaError("(#15) This method must be called with an app access_token.", code=15)
    row = Token.objects.filter(token=token).first()
    if (error := oauth.token_error(row)) is not None:
        raise error
    proof = ctx.get("appsecret_proof")
    if proof is not None:
        expected = hmac.new(settings.META_APP_SECRET.encode(), token.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(str(proof), expected):
            raise MetaError(
                "Invalid appsecret_proof provided in the API argument", code=100, type="GraphMethodException"
            )
    ctx.token = row


def media_download(request: HttpRequest) -> HttpResponse:
    """A WhatsApp media file behind a lookup's URL (Meta's is on lookaside.fbsbx.com)."""
    if not sandbox.enabled():
        raise Http404("The Meta sandbox is off.")

    def authenticate(request: HttpRequest) -> None:
        _authenticate(Ctx(request=request, data={}, path=media.DOWNLOAD_PATH), request, TOKEN)

    try:
        return media.download(request, authenticate)
    except MetaError as exc:
        return error_answer(exc)


@csrf_exempt
def graph(request: HttpRequest, path: str) -> HttpResponse:
    if not sandbox.enabled():
        raise Http404("The Meta sandbox is off.")
    parts = [p for p in path.split("/") if p]
    if parts and _VERSION.fullmatch(parts[0]):
        parts = parts[1:]
    try:
        if not parts:
            raise unknown_path(path)
        ctx = Ctx(request=request, data=_data(request), path="/".join(parts))
        node, edge = parts[0], "/".join(parts[1:])
        kind = node_kind(node)
        method = request.method or ""  # None only on an HttpRequest built by hand
        route = ROUTES.get((kind, edge, method)) if kind else None
        if route is None:
            _authenticate(ctx, request, TOKEN)  # like Meta, a bad token is reported first
            if kind and edge and not any(k == kind and e == edge for k, e, _ in ROUTES):
                raise unknown_path(edge)
            raise no_object(node, method)  # also Meta's answer to an unsupported method
        endpoint, needs = route
        _authenticate(ctx, request, needs)
        return answer(endpoint(ctx, node))
    except MetaError as exc:
        return error_answer(exc)

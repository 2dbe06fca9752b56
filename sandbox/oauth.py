"""Tokens and the app: OAuth exchanges, debug_token, /me, permissions, app subscriptions."""

import hashlib
import hmac
import secrets
from datetime import timedelta

import requests
from django.conf import settings
from django.utils import timezone

from sandbox import demo
from sandbox.context import Ctx
from sandbox.meta import MetaError, new_id, pick
from sandbox.models import Subscription, Token

SHORT_LIVED_SECONDS = 5_183  # Meta's short-lived user tokens last about 1.5 hours
LONG_LIVED_SECONDS = 5_184_000  # and long-lived ones about 60 days
OBJECTS = ("whatsapp_business_account", "page", "instagram", "user", "permissions")


def _issue(*, seconds: int | None) -> Token:
    expires_at = timezone.now() + timedelta(seconds=seconds) if seconds else None
    return Token.objects.create(token="EAAGsbx" + secrets.token_urlsafe(40), expires_at=expires_at)


def token_error(token: Token | None) -> MetaError | None:
    """Meta's answer to a token it does not accept, or None when the token is good."""
    if token is None:
        return MetaError("Invalid OAuth access token - Cannot parse access token", code=190)
    if token.revoked_at is not None:
        return MetaError(
            f"Error validating access token: The user has not authorized application {settings.META_APP_ID}.",
            code=190,
            subcode=458,
        )
    if token.expires_at is not None and token.expires_at <= timezone.now():
        return MetaError("Error validating access token: Session has expired.", code=190, subcode=463)
    return None


def page_token_for(user_token: Token) -> Token:
    """The page token /me/accounts hands out: one per user token (never expires, as a page
    token from a long-lived user token does)."""
    digest = hmac.new(settings.META_APP_SECRET.encode(), user_token.token.encode(), hashlib.sha256)
    token, _ = Token.objects.get_or_create(
        token="EAAGsbxPage" + digest.hexdigest()[:48],
        defaults={"kind": Token.Kind.PAGE, "page_id": demo.PAGE_ID},
    )
    return token


def _check_client(ctx: Ctx) -> None:
    if str(ctx.get("client_id", "")) != str(settings.META_APP_ID):
        raise MetaError("Error validating application. Invalid application ID.", code=101)
    if not hmac.compare_digest(str(ctx.get("client_secret", "")), settings.META_APP_SECRET):
        raise MetaError("Error validating client secret.", code=1)


def access_token(ctx: Ctx, node: str) -> dict:
    """GET /oauth/access_token: a code (OAuth or Embedded Signup) → short-lived token, or
    grant_type=fb_exchange_token → long-lived token."""
    _check_client(ctx)
    if ctx.get("grant_type") == "fb_exchange_token":
        old = Token.objects.filter(token=str(ctx.get("fb_exchange_token", "")), kind=Token.Kind.USER).first()
        if (error := token_error(old)) is not None:
            raise error
        token = _issue(seconds=LONG_LIVED_SECONDS)
        return {"access_token": token.token, "token_type": "bearer", "expires_in": LONG_LIVED_SECONDS}
    code = str(ctx.get("code", ""))
    if not code:
        raise MetaError("Missing authorization code", code=100)
    if code.startswith(demo.BAD_CODE_PREFIX):
        raise MetaError("Invalid verification code format.", code=100, subcode=36008)
    if code.startswith(demo.USED_CODE_PREFIX):
        raise MetaError("This authorization code has been used.", code=100, subcode=36009)
    token = _issue(seconds=SHORT_LIVED_SECONDS)
    return {"access_token": token.token, "token_type": "bearer", "expires_in": SHORT_LIVED_SECONDS}


def debug_token(ctx: Ctx, node: str) -> dict:
    token = Token.objects.filter(token=str(ctx.get("input_token", ""))).first()
    error = token_error(token)
    if error is not None:
        details: dict[str, object] = {"code": 190, "message": error.body["message"]}
        if "error_subcode" in error.body:
            details["subcode"] = error.body["error_subcode"]
        data = {"is_valid": False, "scopes": [], "error": details}
        if token is not None:
            data.update({"app_id": settings.META_APP_ID, "type": token.kind, "user_id": demo.USER_ID})
        return {"data": data}
    assert token is not None  # token_error answers for a missing token
    now = timezone.now()
    data = {
        "app_id": str(settings.META_APP_ID),
        "type": token.kind,
        "application": "Botopia (sandbox)",
        "data_access_expires_at": int((now + timedelta(days=90)).timestamp()),
        "expires_at": int(token.expires_at.timestamp()) if token.expires_at else 0,
        "is_valid": True,
        "issued_at": int(token.created_at.timestamp()),
        "scopes": demo.PERMISSIONS,
        "granular_scopes": demo.GRANULAR_SCOPES,
        "user_id": demo.USER_ID,
    }
    if token.kind == Token.Kind.PAGE:
        data["profile_id"] = token.page_id
    return {"data": data}


def me(ctx: Ctx, node: str) -> dict:
    if ctx.token and ctx.token.kind == Token.Kind.PAGE:
        return pick(demo.PAGE, ctx.get("fields"), default=("name",))
    return pick({"id": demo.USER_ID, "name": demo.USER_NAME}, ctx.get("fields"), default=("name",))


def permissions(ctx: Ctx, node: str) -> dict:
    return {"data": [{"permission": name, "status": "granted"} for name in demo.PERMISSIONS]}


def permissions_revoke(ctx: Ctx, node: str) -> dict:
    """DELETE /me/permissions: the user removes the app; every token they had dies with it."""
    Token.objects.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
    return {"success": True}


def app_get(ctx: Ctx, node: str) -> dict:
    return pick({"id": str(settings.META_APP_ID), "name": "Botopia (sandbox)"}, ctx.get("fields"), ("name",))


def subscriptions_list(ctx: Ctx, node: str) -> dict:
    data = []
    for sub in Subscription.objects.filter(target__startswith="app:").order_by("target"):
        data.append(
            {
                "object": sub.target.removeprefix("app:"),
                "callback_url": sub.callback_url,
                "active": True,
                "fields": [{"name": name, "version": "v26.0"} for name in sub.fields],
            }
        )
    return {"data": data}


def subscriptions_create(ctx: Ctx, node: str) -> dict:
    """POST /{app-id}/subscriptions. Like Meta, verifies the callback first: a GET with
    hub.mode=subscribe must echo hub.challenge."""
    object_type = str(ctx.get("object", ""))
    if object_type not in OBJECTS:
        raise MetaError(f"(#100) Param object must be one of {{{', '.join(OBJECTS)}}}", code=100)
    callback = str(ctx.get("callback_url", ""))
    if not callback.startswith(("https://", "http://")):
        raise MetaError("(#100) Param callback_url must be a valid URL", code=100)
    if not callback.startswith(settings.PUBLIC_BASE_URL.rstrip("/") + "/"):
        # The sandbox only calls this service back: it must not be a relay to other hosts.
        raise MetaError("(#100) Param callback_url must be under PUBLIC_BASE_URL in the sandbox", code=100)
    challenge = new_id()
    try:
        reply = requests.get(
            callback,
            params={
                "hub.mode": "subscribe",
                "hub.challenge": challenge,
                "hub.verify_token": str(ctx.get("verify_token", "")),
            },
            timeout=10,
        )
        verified = reply.status_code == 200 and reply.text == challenge
        why = (
            f'The URL couldn\'t be validated. Response does not match challenge, expected value="{challenge}"'
        )
    except requests.RequestException as exc:
        verified, why = (
            False,
            f"The URL couldn't be validated. Callback verification failed: {type(exc).__name__}",
        )
    if not verified:
        raise MetaError(f"(#2200) callback verification failed: {why}", code=2200)
    fields = [f for f in str(ctx.get("fields", "")).split(",") if f]
    Subscription.objects.update_or_create(
        target=f"app:{object_type}", defaults={"callback_url": callback, "fields": fields}
    )
    return {"success": True}

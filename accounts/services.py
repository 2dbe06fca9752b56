"""Writes of the accounts app: connecting, refreshing, validating, disconnecting and
discovering a Meta account's assets."""

import contextlib
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from accounts import graph as meta
from accounts.discovery import meta_id
from accounts.exceptions import MetaAuthFailed, MetaTokenExpired
from accounts.models import MetaAccount
from accounts.notifications import Severity, notify
from accounts.tokens import graph_for, require_readable
from botopia_meta.exceptions import AccountNotConnected
from botopia_meta.graph import GraphError, GraphTokenExpired
from botopia_meta.registry import DISCOVERY_STEPS
from botopia_meta.tasks import enqueue_on_commit
from orgs.models import Organization

logger = logging.getLogger(__name__)

Status = MetaAccount.Status


def _invalid_token_reason(info: meta.TokenInfo) -> dict[str, Any]:
    details = {
        "metaCode": info.error.get("code"),
        "metaSubcode": info.error.get("subcode"),
        "metaMessage": info.error.get("message") or "Meta reports the token as invalid.",
    }
    return {key: value for key, value in details.items() if value not in (None, "")}


def _checked_token_info(token: str) -> meta.TokenInfo:
    """debug_token, refusing a token that is invalid, for another app, or a page/app token."""
    try:
        info = meta.debug_token(token)
    except GraphError as exc:
        if not exc.permanent:
            raise
        raise MetaAuthFailed("Meta could not check this token.", details=exc.details()) from None
    if not info.is_valid:
        raise MetaAuthFailed("Meta reports this token as invalid.", details=_invalid_token_reason(info))
    if info.app_id != str(settings.META_APP_ID):
        raise MetaAuthFailed(
            "This token was issued for another Meta app.",
            details={"metaMessage": "The token's app_id is not this app's.", "appId": info.app_id},
        )
    if info.type not in ("USER", "SYSTEM_USER"):
        raise MetaAuthFailed(
            "Connect a user or system-user token, not a page or app token.",
            details={"metaMessage": f"The token's type is {info.type or 'unknown'}.", "type": info.type},
        )
    return info


def _store(
    *,
    org: Organization,
    user: User,
    token: str,
    info: meta.TokenInfo,
    expires_at: Any,
    permissions: list[str],
    profile: dict,
) -> tuple[MetaAccount, bool]:
    meta_user_id = meta_id(profile.get("id")) or meta_id(info.user_id)
    if meta_user_id is None:
        raise MetaAuthFailed("Meta did not say whose token this is.", details={"metaMessage": "No user id."})
    now = timezone.now()
    token_type = (
        MetaAccount.TokenType.SYSTEM_USER if info.type == "SYSTEM_USER" else MetaAccount.TokenType.USER
    )
    with transaction.atomic():
        # all_objects: connecting again brings back a soft-deleted row rather than clashing with it.
        # One row per (organization, app, Meta user): two organizations connecting the same
        # Meta user (and so the same WABAs and pages) each get their own account.
        account, created = MetaAccount.all_objects.update_or_create(
            organization=org,
            meta_app_id=str(settings.META_APP_ID),
            meta_user_id=meta_user_id,
            defaults={
                "connected_by": user,
                "meta_user_name": str(profile.get("name") or "")[:255],
                "token_type": token_type,
                "access_token": token,
                "token_expiry": expires_at,
                "permissions": permissions,
                "granular_scopes": info.granular_scopes,
                "status": Status.ACTIVE,
                "needs_reauth": False,
                "last_validated_at": now,
                "connected_at": now,
                "deleted_at": None,
            },
        )
        account_id = str(account.pk)
        _enqueue("discover_assets", account_id)
    return account, created


def _enqueue(actor_name: str, *args: str) -> None:
    # Imported here: the actors module imports this one.
    from accounts import actors

    enqueue_on_commit(getattr(actors, actor_name), *args)


def account_connect_oauth(
    *, org: Organization, user: User, code: str, redirect_uri: str | None
) -> tuple[MetaAccount, bool]:
    """Exchange an OAuth / Embedded Signup code for a long-lived token and store the account in
    `org`, connected by `user`.

    Returns (account, created). Meta refusing the code raises MetaAuthFailed; nothing is stored.
    """
    try:
        grant = meta.exchange_code(code=code, redirect_uri=redirect_uri)
        if grant.expires_at is not None:
            # A token without expires_in (Embedded Signup's system-user token) is already permanent.
            grant = meta.exchange_long_lived(grant.access_token)
        info = _checked_token_info(grant.access_token)
        profile = meta.me(grant.access_token)
        # A system-user token (Embedded Signup) carries its grants in debug_token's scopes.
        permissions = meta.granted_permissions(grant.access_token) if info.type == "USER" else info.scopes
    except GraphError as exc:
        if not exc.permanent:
            raise
        raise MetaAuthFailed("Meta refused this login code.", details=exc.details()) from None
    expires_at = info.expires_at if info.expires_at is not None else grant.expires_at
    return _store(
        org=org,
        user=user,
        token=grant.access_token,
        info=info,
        expires_at=expires_at,
        permissions=permissions,
        profile=profile,
    )


def account_connect_token(*, org: Organization, user: User, access_token: str) -> tuple[MetaAccount, bool]:
    """Validate a system-user ("permanent") token with debug_token and store the account in
    `org`, connected by `user`."""
    info = _checked_token_info(access_token)
    try:
        profile = meta.me(access_token)
    except GraphError as exc:
        if not exc.permanent:
            raise
        raise MetaAuthFailed("Meta refused this token.", details=exc.details()) from None
    return _store(
        org=org,
        user=user,
        token=access_token,
        info=info,
        expires_at=info.expires_at,
        permissions=info.scopes,
        profile=profile,
    )


def account_mark_token_invalid(*, account_id: Any, reason: str = "") -> bool:
    """Meta no longer accepts the token: status expired, needs_reauth, one notification.

    A queryset update, so a stale in-memory account (an actor's) cannot overwrite the mark.
    Returns True when the account was active until now.
    """
    now = timezone.now()
    was_active = MetaAccount.objects.filter(pk=account_id, status=Status.ACTIVE).update(
        status=Status.EXPIRED, needs_reauth=True, updated_at=now
    )
    MetaAccount.objects.filter(pk=account_id, status=Status.EXPIRED).update(needs_reauth=True)
    if was_active:
        account = MetaAccount.objects.get(pk=account_id)
        connected = account.connected_at.isoformat() if account.connected_at else "never"
        notify(
            account=account,
            kind="token_expired",
            severity=Severity.CRITICAL,
            title="Reconnect your Meta account",
            body=reason or "Meta no longer accepts this account's access token. Connect it again.",
            related_type="meta_account",
            related_id=str(account.pk),
            # One notification per connection: a reconnect followed by a new expiry notifies again.
            dedupe_key=f"token_expired:{connected}",
        )
        logger.warning("Meta account %s marked expired: %s", account_id, reason or "token invalid")
    return bool(was_active)


def account_warn_token_expiring(*, account: MetaAccount) -> None:
    """Tell the owner a token we cannot refresh expires soon (once per expiry date)."""
    if account.token_expiry is None:
        return
    day = account.token_expiry.date().isoformat()
    notify(
        account=account,
        kind="token_expiring",
        severity=Severity.WARNING,
        title=f"Your Meta access token expires on {day}",
        body="Generate a new system-user token in Meta Business Manager and connect it again.",
        related_type="meta_account",
        related_id=str(account.pk),
        dedupe_key=f"token_expiring:{day}",
    )


def _apply_token_info(
    account: MetaAccount, *, info: meta.TokenInfo, fallback_expiry: Any, token: str | None = None
) -> bool:
    """Store what debug_token said (and a new token, if any). A conditional update: a
    disconnect that landed while we were asking Meta is never undone, and a validation never
    writes back an older token than a concurrent refresh stored. False: the account was revoked."""
    now = timezone.now()
    values: dict[str, Any] = {
        "token_expiry": info.expires_at if info.expires_at is not None else fallback_expiry,
        "granular_scopes": info.granular_scopes,
        "last_validated_at": now,
        "status": Status.ACTIVE,
        "needs_reauth": False,
        "updated_at": now,
    }
    if info.scopes:
        values["permissions"] = info.scopes
    if token is not None:
        values["access_token"] = token
    updated = MetaAccount.objects.filter(pk=account.pk).exclude(status=Status.REVOKED).update(**values)
    if updated:
        for name, value in values.items():
            setattr(account, name, value)
    return bool(updated)


def _token_rejected(account: MetaAccount, details: dict[str, Any]) -> MetaTokenExpired:
    account_mark_token_invalid(account_id=account.pk, reason=str(details.get("metaMessage") or ""))
    account.refresh_from_db()
    return MetaTokenExpired(details=details)


def account_token_refresh(*, account: MetaAccount) -> MetaAccount:
    """A user token gets a fresh long-lived token (fb_exchange_token); a system-user token,
    which does not expire, is re-validated. Meta refusing the token (190) marks the account
    expired and raises MetaTokenExpired (401)."""
    if account.status == Status.REVOKED or account.deleted_at is not None:
        raise AccountNotConnected("This Meta account was disconnected: connect it again.")
    require_readable(account)
    token, fallback_expiry = account.access_token, account.token_expiry
    if account.token_type == MetaAccount.TokenType.USER:
        try:
            grant = meta.exchange_long_lived(account.access_token)
        except GraphTokenExpired as exc:
            raise _token_rejected(account, exc.details()) from None
        token, fallback_expiry = grant.access_token, grant.expires_at
    # Not inside the try: a 190 from debug_token is about our app token, not the user's.
    info = meta.debug_token(token)
    if not info.is_valid or info.app_id != str(settings.META_APP_ID):
        raise _token_rejected(account, _invalid_token_reason(info))
    if not _apply_token_info(account, token=token, info=info, fallback_expiry=fallback_expiry):
        raise AccountNotConnected("This Meta account was disconnected meanwhile: connect it again.")
    return account


def account_token_validate(*, account: MetaAccount) -> bool:
    """The daily re-check: debug_token; an invalid token marks the account expired."""
    if not account.is_active:
        return False
    try:
        require_readable(account)
    except GraphTokenExpired:
        return False  # marked needs_reauth
    info = meta.debug_token(account.access_token)
    if not info.is_valid or info.app_id != str(settings.META_APP_ID):
        account_mark_token_invalid(
            account_id=account.pk, reason=str(info.error.get("message") or "Meta reports the token invalid.")
        )
        return False
    return _apply_token_info(account, info=info, fallback_expiry=account.token_expiry)


def account_disconnect(*, account: MetaAccount) -> MetaAccount:
    """Revoke the app's permissions at Meta, mark the account revoked and forget its token.

    Every actor and webhook handler checks the account is active, so work for it stops."""
    if account.status == Status.REVOKED:
        return account
    # DELETE /me/permissions removes our app for that Meta user everywhere: while another
    # Botopia account still uses the same Meta user, revoking would cut its token too.
    shared = (
        MetaAccount.objects.filter(
            meta_app_id=account.meta_app_id, meta_user_id=account.meta_user_id, status=Status.ACTIVE
        )
        .exclude(pk=account.pk)
        .exists()
    )
    if not shared:
        # A token Meta already refuses (190) holds no grant of ours left to revoke.
        with contextlib.suppress(GraphTokenExpired):
            meta.revoke_permissions(graph_for(account))
    # Page tokens derive from the user token: forget them too (reverse relation, no import).
    account.facebook_pages.update(access_token="", status="disconnected")
    account.status = Status.REVOKED
    account.needs_reauth = False
    account.access_token = ""
    account.refresh_token = ""
    account.save(update_fields=["status", "needs_reauth", "access_token", "refresh_token", "updated_at"])
    return account


def account_discover(*, account: MetaAccount) -> dict[str, Any]:
    """Run every registered discovery step (one per platform app) for the account.

    Each step is idempotent. A permanent Meta error in one step (a permission the user did
    not grant) does not stop the others; a transient one is raised after the others ran, so
    the actor retries the whole (re-runnable) discovery.
    """
    from accounts.discovery import DiscoveryRun

    if not account.is_active:
        return {}
    run = DiscoveryRun(account)
    results: dict[str, Any] = {}
    transient: GraphError | None = None
    for name, step in DISCOVERY_STEPS.items():
        try:
            results[name] = step(account, run=run)
        except GraphTokenExpired:
            raise  # the token_invalid receiver has marked the account: nothing more to find
        except GraphError as exc:
            if not exc.permanent:
                transient = transient or exc
                continue
            logger.warning("Discovery step %s failed for %s: code=%s", name, account.pk, exc.code)
            results[name] = {"error": exc.code}
    account.last_discovered_at = timezone.now()
    account.save(update_fields=["last_discovered_at", "updated_at"])
    if transient is not None:
        raise transient
    return results


def account_connect(
    *,
    org: Organization,
    user: User,
    code: str | None = None,
    redirect_uri: str | None = None,
    access_token: str | None = None,
) -> tuple[MetaAccount, bool]:
    """Connect with an OAuth code, or with a system-user token. Returns (account, created)."""
    if access_token:
        return account_connect_token(org=org, user=user, access_token=access_token)
    return account_connect_oauth(org=org, user=user, code=code or "", redirect_uri=redirect_uri)

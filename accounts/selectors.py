"""Reads scoped to the organization a request acts on (orgs.context). Everything user-facing
starts here."""

import contextlib
from collections.abc import Iterable
from datetime import datetime, timedelta
from uuid import UUID

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import MetaAccount
from botopia_meta.exceptions import AccountNotConnected, MissingMetaPermission, NotFound
from botopia_meta.fields import is_undecryptable
from botopia_meta.graph import GraphTokenExpired
from orgs.models import Organization

# Ownership is decided here and nowhere else. Two meanings, one function each; every
# user-facing query filters through one of them, `via` being the lookup path from the queried
# model to its MetaAccount ("waba__account" for a template, "" for MetaAccount itself).
# Ownership is by organization: the request's (request.org, orgs.context); what a member may
# do there is their role's business (orgs.permissions), checked before the view runs.


def owned_by(org: Organization, *, via: str = "") -> Q:
    """Rows under the organization's accounts that are not deleted, whatever their status: what
    its members may read (an expired account's history stays visible until it is removed)."""
    prefix = f"{via}__" if via else ""
    return Q(**{f"{prefix}organization": org, f"{prefix}deleted_at__isnull": True})


def active_for(org: Organization, *, via: str = "") -> Q:
    """Rows under the organization's connected (active) accounts: what its members may act on,
    and what the inbox lists (a disconnected account's conversations can't be answered)."""
    prefix = f"{via}__" if via else ""
    return owned_by(org, via=via) & Q(**{f"{prefix}status": MetaAccount.Status.ACTIVE})


def account_list(*, org: Organization) -> QuerySet[MetaAccount]:
    return MetaAccount.objects.filter(owned_by(org))


def account_get(*, org: Organization, account_id: UUID | str) -> MetaAccount:
    """The organization's account by id; another's (or a malformed id) is 404."""
    try:
        return account_list(org=org).get(pk=UUID(str(account_id)))
    except (ValueError, MetaAccount.DoesNotExist):
        raise NotFound("No such Meta account.") from None


def active_account(
    *, org: Organization, account_id: UUID | str | None = None, permissions: Iterable[str] = ()
) -> MetaAccount:
    """The account an endpoint acts on: the given one, or the most recently connected active one.

    Raises 409 ACCOUNT_NOT_CONNECTED when there is none, 403 MISSING_META_PERMISSION when the
    account lacks one of `permissions` (before any Graph call is made).
    """
    account: MetaAccount | None
    if account_id is not None:
        account = account_get(org=org, account_id=account_id)
        if account.status != MetaAccount.Status.ACTIVE:
            raise AccountNotConnected(f"This Meta account is {account.status}: reconnect it.")
    else:
        account = (
            account_list(org=org)
            .filter(status=MetaAccount.Status.ACTIVE)
            .order_by("-connected_at", "-created_at")
            .first()
        )
        if account is None:
            raise AccountNotConnected()
    require_permissions(account, *permissions)
    return account


def require_permissions(account: MetaAccount, *names: str) -> None:
    """403 MISSING_META_PERMISSION naming what `account` was not granted, before any Graph call."""
    missing = account.missing_permissions(names)
    if missing:
        raise MissingMetaPermission(missing)


# The reverse relations the platform apps' asset models declare on MetaAccount (read by name,
# so accounts never imports them). Their default managers hide soft-deleted rows.
PLATFORM_ASSETS = {
    "whatsapp": "whatsapp_accounts",
    "facebook": "facebook_pages",
    "instagram": "instagram_accounts",
}


def account_current(*, org: Organization) -> MetaAccount | None:
    """The account the status screen shows: the most recently connected active one, else the
    most recent expired one (so the screen can ask for a re-login)."""
    accounts = account_list(org=org).order_by("-connected_at", "-created_at")
    return (
        accounts.filter(status=MetaAccount.Status.ACTIVE).first()
        or accounts.filter(status=MetaAccount.Status.EXPIRED).first()
    )


def account_platforms(*, account: MetaAccount | None) -> dict[str, bool]:
    platforms = {}
    for platform, relation in PLATFORM_ASSETS.items():
        manager = getattr(account, relation, None) if account is not None else None
        platforms[platform] = bool(manager is not None and manager.exists())
    return platforms


def account_status(*, org: Organization, account_id: UUID | str | None = None) -> dict:
    account = account_get(org=org, account_id=account_id) if account_id else account_current(org=org)
    if account is None:
        return {
            "connected": False,
            "account_id": None,
            "expires_at": None,
            "permissions": [],
            "platforms": account_platforms(account=None),
            "needs_reauth": False,
            "token_preview": None,
        }
    if is_undecryptable(account.access_token) and not account.needs_reauth:
        # Its token no key decrypts: say so now (needs_reauth, a notification), not at the
        # next call to Meta.
        from accounts.tokens import require_readable

        with contextlib.suppress(GraphTokenExpired):
            require_readable(account)
        account.refresh_from_db(fields=["status", "needs_reauth"])
    return {
        "connected": account.is_active,
        "account_id": account.pk,
        "expires_at": account.token_expiry,
        "permissions": list(account.permissions or []),
        "platforms": account_platforms(account=account),
        "needs_reauth": account.needs_reauth,
        "token_preview": account.token_preview,
    }


def account_for_work(*, account_id: UUID | str) -> MetaAccount | None:
    """For actors and webhook handlers: the account if work may still be done for it (active),
    else None (expired, revoked or deleted: drop the job)."""
    account = MetaAccount.objects.filter(pk=account_id).first()
    return account if account is not None and account.is_active else None


def accounts_due_for_refresh(*, within: timedelta, now: datetime | None = None) -> list[UUID]:
    """Active user-token accounts whose token expires within `within` and that were not
    refreshed in the last 12 hours (Meta may hand back the same expiry: don't hammer it)."""
    now = now or timezone.now()
    return list(
        MetaAccount.objects.filter(
            status=MetaAccount.Status.ACTIVE,
            token_type=MetaAccount.TokenType.USER,
            token_expiry__isnull=False,
            token_expiry__lte=now + within,
        )
        .filter(Q(last_validated_at__isnull=True) | Q(last_validated_at__lt=now - timedelta(hours=12)))
        .values_list("pk", flat=True)
    )


def accounts_due_for_validation(*, older_than: timedelta, now: datetime | None = None) -> list[UUID]:
    now = now or timezone.now()
    return list(
        MetaAccount.objects.filter(status=MetaAccount.Status.ACTIVE)
        .filter(Q(last_validated_at__isnull=True) | Q(last_validated_at__lt=now - older_than))
        .values_list("pk", flat=True)
    )


def accounts_expiring_without_refresh(*, within: timedelta, now: datetime | None = None) -> QuerySet:
    """Active system-user tokens with an expiry within `within`: Meta offers no exchange for
    them, their owner must generate a new one in Business Manager."""
    now = now or timezone.now()
    return MetaAccount.objects.filter(
        status=MetaAccount.Status.ACTIVE,
        token_type=MetaAccount.TokenType.SYSTEM_USER,
        token_expiry__isnull=False,
        token_expiry__lte=now + within,
    )

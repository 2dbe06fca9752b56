"""Reads scoped to the requesting user. Everything user-facing starts here."""

from collections.abc import Iterable
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser

from accounts.models import MetaAccount
from botopia_meta.exceptions import AccountNotConnected, MissingMetaPermission, NotFound


def account_list(*, user: AbstractBaseUser):
    return MetaAccount.objects.filter(user=user)


def account_get(*, user: AbstractBaseUser, account_id: UUID | str) -> MetaAccount:
    """The user's own account by id; anybody else's (or a malformed id) is 404."""
    try:
        return account_list(user=user).get(pk=UUID(str(account_id)))
    except (ValueError, MetaAccount.DoesNotExist):
        raise NotFound("No such Meta account.") from None


def active_account(
    *, user: AbstractBaseUser, account_id: UUID | str | None = None, permissions: Iterable[str] = ()
) -> MetaAccount:
    """The account an endpoint acts on: the given one, or the most recently connected active one.

    Raises 409 ACCOUNT_NOT_CONNECTED when there is none, 403 MISSING_META_PERMISSION when the
    account lacks one of `permissions` (before any Graph call is made).
    """
    if account_id is not None:
        account = account_get(user=user, account_id=account_id)
        if account.status != MetaAccount.Status.ACTIVE:
            raise AccountNotConnected(f"This Meta account is {account.status}: reconnect it.")
    else:
        account = (
            account_list(user=user)
            .filter(status=MetaAccount.Status.ACTIVE)
            .order_by("-connected_at", "-created_at")
            .first()
        )
        if account is None:
            raise AccountNotConnected()
    missing = account.has_permissions(tuple(permissions))
    if missing:
        raise MissingMetaPermission(missing)
    return account

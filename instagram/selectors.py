"""Reads scoped to the requesting user: everything starts from their own active accounts."""

from uuid import UUID

from django.contrib.auth.models import User
from django.db.models import Case, QuerySet, Value, When

from accounts.selectors import active_for, owned_by
from botopia_meta.exceptions import NotFound
from instagram.models import InstagramAccount, MediaPublish


def ig_account_list(*, user: User) -> QuerySet[InstagramAccount]:
    return (
        InstagramAccount.objects.filter(active_for(user, via="account"))
        .select_related("account")
        .order_by("username", "ig_account_id")
    )


def ig_account_get(*, user: User, account_id: str) -> InstagramAccount:
    """By our UUID or by Meta's IG account id; someone else's answers 404 like a missing one."""
    qs = ig_account_list(user=user)
    try:
        qs = qs.filter(pk=UUID(str(account_id)))
    except ValueError:
        qs = qs.filter(ig_account_id=str(account_id)).order_by(
            "-account__connected_at", "-account__created_at"
        )
    ig = qs.first()
    if ig is None:
        raise NotFound("No such Instagram account among your connected accounts.")
    return ig


def ig_account_default(*, user: User) -> InstagramAccount:
    """The account a request without `accountId` means: a connected one first."""
    connected_first = Case(When(status=InstagramAccount.Status.CONNECTED, then=Value(0)), default=Value(1))
    ig = ig_account_list(user=user).order_by(connected_first, "-account__connected_at", "username").first()
    if ig is None:
        raise NotFound("No Instagram account among your connected accounts: connect one first.")
    return ig


def publish_list(*, user: User) -> QuerySet[MediaPublish]:
    """Publishes of the caller's live accounts, whatever the Meta account's status (an expired
    account's history stays visible)."""
    return MediaPublish.objects.filter(
        owned_by(user, via="ig_account__account"), ig_account__deleted_at__isnull=True
    ).select_related("ig_account")

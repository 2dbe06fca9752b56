"""Reads scoped to the request's organization: everything starts from its active accounts."""

from uuid import UUID

from django.db.models import Case, QuerySet, Value, When

from accounts.selectors import active_for, owned_by
from botopia_meta.exceptions import NotFound
from instagram.models import InstagramAccount, MediaPublish
from orgs.models import Organization


def ig_account_list(*, org: Organization) -> QuerySet[InstagramAccount]:
    return (
        InstagramAccount.objects.filter(active_for(org, via="account"))
        .select_related("account")
        .order_by("username", "ig_account_id")
    )


def ig_account_get(*, org: Organization, account_id: str) -> InstagramAccount:
    """By our UUID or by Meta's IG account id; someone else's answers 404 like a missing one."""
    qs = ig_account_list(org=org)
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


def ig_account_default(*, org: Organization) -> InstagramAccount:
    """The account a request without `accountId` means: a connected one first."""
    connected_first = Case(When(status=InstagramAccount.Status.CONNECTED, then=Value(0)), default=Value(1))
    ig = ig_account_list(org=org).order_by(connected_first, "-account__connected_at", "username").first()
    if ig is None:
        raise NotFound("No Instagram account among your connected accounts: connect one first.")
    return ig


def publish_list(*, org: Organization) -> QuerySet[MediaPublish]:
    """Publishes of the caller's live accounts, whatever the Meta account's status (an expired
    account's history stays visible)."""
    return MediaPublish.objects.filter(
        owned_by(org, via="ig_account__account"), ig_account__deleted_at__isnull=True
    ).select_related("ig_account")

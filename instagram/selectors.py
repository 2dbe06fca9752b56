"""Reads scoped to the requesting user: everything starts from their own active accounts."""

from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Case, QuerySet, Value, When

from accounts.models import MetaAccount
from botopia_meta.exceptions import NotFound
from botopia_meta.inbox.selectors import owned
from instagram.models import Comment, Conversation, InstagramAccount, MediaPublish


def ig_account_list(*, user: AbstractBaseUser) -> QuerySet[InstagramAccount]:
    return (
        InstagramAccount.objects.filter(account__user=user, account__status=MetaAccount.Status.ACTIVE)
        .select_related("account")
        .order_by("username", "ig_account_id")
    )


def ig_account_get(*, user: AbstractBaseUser, account_id: str) -> InstagramAccount:
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


def ig_account_default(*, user: AbstractBaseUser) -> InstagramAccount:
    """The account a request without `accountId` means: a connected one first."""
    connected_first = Case(When(status=InstagramAccount.Status.CONNECTED, then=Value(0)), default=Value(1))
    ig = ig_account_list(user=user).order_by(connected_first, "-account__connected_at", "username").first()
    if ig is None:
        raise NotFound("No Instagram account among your connected accounts: connect one first.")
    return ig


def connected_accounts_for_webhook(ig_account_id: str) -> list[InstagramAccount]:
    return list(
        InstagramAccount.objects.filter(
            ig_account_id=str(ig_account_id),
            status=InstagramAccount.Status.CONNECTED,
            account__status=MetaAccount.Status.ACTIVE,
        ).select_related("account")
    )


def publish_list(*, user: AbstractBaseUser) -> QuerySet[MediaPublish]:
    return MediaPublish.objects.filter(
        ig_account__account__user=user, ig_account__deleted_at__isnull=True
    ).select_related("ig_account")


def comment_list(*, user: AbstractBaseUser) -> QuerySet[Comment]:
    return owned(Comment, "ig_account", user)


def conversation_list(*, user: AbstractBaseUser) -> QuerySet[Conversation]:
    return owned(Conversation, "ig_account", user)

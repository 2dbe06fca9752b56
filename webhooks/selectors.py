"""Reads of the webhooks app. User-facing ones start from the caller's own accounts."""

import hmac
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Q, QuerySet

from accounts.models import MetaAccount, Notification
from accounts.notifications import with_read_state
from accounts.selectors import account_list
from botopia_meta.exceptions import NotFound
from orgs.models import Organization
from webhooks.models import WebhookConfig


def verify_token_matches(*, token: str) -> bool:
    """Meta's handshake token equals the app-wide one or an in-use config's. Tokens are
    encrypted at rest (no lookup by value), so every candidate is compared, in constant time."""
    given = token.encode()
    candidates = [settings.META_WEBHOOK_VERIFY_TOKEN] if settings.META_WEBHOOK_VERIFY_TOKEN else []
    candidates += WebhookConfig.objects.filter(
        status__in=[WebhookConfig.Status.PENDING, WebhookConfig.Status.ACTIVE, WebhookConfig.Status.PARTIAL],
        account__status=MetaAccount.Status.ACTIVE,
        account__deleted_at__isnull=True,
    ).values_list("verify_token", flat=True)
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(candidate.encode(), given)
    return matched


def webhook_config_get(*, account: MetaAccount) -> WebhookConfig:
    config = WebhookConfig.objects.filter(account=account).first()
    if config is None:
        raise NotFound("Webhooks are not configured for this account: POST /api/meta/webhook/configure.")
    return config


def notification_list(*, org: Organization, user: User, unread: bool | None = None) -> QuerySet[Notification]:
    """The notifications of the organization, each with `read`: whether `user` (the caller, not
    another member) read it. The organization's accounts first, then their notifications by
    account id: read newest first off the (account, created_at, id) index, not sorted after a join."""
    accounts = list(account_list(org=org).values_list("pk", flat=True))
    notifications = Notification.objects.filter(account_id__in=accounts).order_by("-created_at", "-id")
    notifications = with_read_state(notifications, user=user)
    if unread is not None:
        notifications = notifications.filter(Q(read=not unread))  # the annotation (Q: the stubs can't see it)
    return notifications


def notification_get(*, org: Organization, user: User, notification_id: str) -> Notification:
    """A notification of the organization; anybody else's (or a malformed id) is 404."""
    try:
        return notification_list(org=org, user=user).get(pk=UUID(str(notification_id)))
    except (ValueError, Notification.DoesNotExist):
        raise NotFound("No such notification.") from None

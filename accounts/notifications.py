"""Creating notifications: the one entry point for every app (webhook handlers, actors); and
their read state, which is per member: a NotificationRead row says one user read one."""

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet

from accounts.models import MetaAccount, Notification, NotificationRead

Severity = Notification.Severity


def notify(
    *,
    account: MetaAccount,
    kind: str,
    title: str,
    body: str = "",
    severity: str = Severity.INFO,
    related_type: str = "",
    related_id: str = "",
    dedupe_key: str | None = None,
) -> Notification | None:
    """Create a notification. With `dedupe_key`, a second call with the same key (a webhook
    replay, a retried actor) creates nothing and returns None."""
    try:
        with transaction.atomic():
            return Notification.objects.create(
                account=account,
                kind=kind,
                title=title[:255],
                body=body,
                severity=severity,
                related_type=related_type,
                related_id=str(related_id),
                dedupe_key=dedupe_key,
            )
    except IntegrityError:
        if dedupe_key is None:
            raise
        return None


def with_read_state(notifications: QuerySet[Notification], *, user: User) -> QuerySet[Notification]:
    """Each notification with `read`: whether `user` read it (filterable: `.filter(read=False)`)."""
    return notifications.annotate(
        read=Exists(NotificationRead.objects.filter(notification=OuterRef("pk"), user=user))
    )

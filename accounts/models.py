from collections.abc import Iterable

from django.conf import settings
from django.db import models

from botopia_meta.fields import EncryptedTextField, mask_secret
from botopia_meta.models import SoftDeleteModel, TimestampedModel


class MetaAccount(SoftDeleteModel):
    """An organization's connection to Meta: one Meta user (or system user) and its token,
    connected by one of its members (`connected_by`, kept for the record)."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        EXPIRED = "expired"
        REVOKED = "revoked"

    class TokenType(models.TextChoices):
        USER = "user"
        SYSTEM_USER = "system_user"

    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="meta_accounts"
    )
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="meta_accounts",
    )
    meta_app_id = models.CharField(max_length=64)
    meta_user_id = models.CharField(max_length=64)
    meta_user_name = models.CharField(max_length=255, blank=True)
    token_type = models.CharField(max_length=16, choices=TokenType.choices, default=TokenType.USER)
    access_token = EncryptedTextField()
    refresh_token = EncryptedTextField(blank=True, default="")
    token_expiry = models.DateTimeField(null=True, blank=True, help_text="Empty: the token never expires.")
    permissions = models.JSONField(default=list, blank=True)
    # debug_token's granular_scopes: [{"scope", "target_ids"}], naming the exact WABAs and
    # pages the token may touch; discovery reads it.
    granular_scopes = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    needs_reauth = models.BooleanField(default=False)
    last_validated_at = models.DateTimeField(null=True, blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    last_discovered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "meta_app_id", "meta_user_id"], name="uniq_meta_account_per_org"
            )
        ]
        indexes = [models.Index(fields=["organization", "status", "-connected_at"])]

    def __str__(self) -> str:
        return f"{self.meta_user_name or self.meta_user_id} ({self.organization})"

    @property
    def token_preview(self) -> str | None:
        return mask_secret(self.access_token)

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE and self.deleted_at is None

    def granular_targets(self, *scopes: str) -> list[str]:
        """Meta ids the token was granted for any of `scopes`, in order, without repeats."""
        seen: dict[str, None] = {}
        for item in self.granular_scopes or []:
            if isinstance(item, dict) and item.get("scope") in scopes:
                for target in item.get("target_ids") or []:
                    seen[str(target)] = None
        return list(seen)

    def missing_permissions(self, names: Iterable[str]) -> list[str]:
        """The names among `names` that this account was not granted."""
        granted = set(self.permissions or [])
        return [name for name in names if name not in granted]


class Notification(TimestampedModel):
    """What the dashboard's "recent activity" shows: created by webhook handlers and apps. It
    belongs to the account's organization; whether it was read is per member (NotificationRead,
    accounts.notifications.with_read_state)."""

    class Severity(models.TextChoices):
        INFO = "info"
        SUCCESS = "success"
        WARNING = "warning"
        CRITICAL = "critical"

    account = models.ForeignKey(MetaAccount, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=64)  # e.g. template_approved, quality_dropped, token_expiring
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.INFO)
    title = models.CharField(max_length=255)
    body = models.TextField(blank=True)
    related_type = models.CharField(max_length=64, blank=True)
    related_id = models.CharField(max_length=128, blank=True)
    # Same key twice (a webhook replay) creates one notification.
    dedupe_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001 (NULL: no dedupe)

    class Meta:
        ordering = ["-created_at"]
        # The list: the caller's accounts, newest first by (created_at, id); read state is
        # per member (NotificationRead, its unique key answers "has this member read it").
        indexes = [models.Index(fields=["account", "-created_at", "-id"], name="notification_newest")]
        constraints = [
            models.UniqueConstraint(fields=["account", "dedupe_key"], name="uniq_notification_dedupe")
        ]

    def __str__(self) -> str:
        return self.title


class NotificationRead(models.Model):
    """Read state is per member: a row says `user` has read `notification`."""

    id = models.BigAutoField(primary_key=True)
    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["notification", "user"], name="uniq_notification_read")
        ]

    def __str__(self) -> str:
        return f"{self.user} read {self.notification}"

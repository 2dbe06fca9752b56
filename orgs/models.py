"""A business workspace and who may do what in it.

Meta accounts belong to an Organization (MetaAccount.organization), and through them every
asset, message, template, post, comment, conversation, broadcast, notification, report and
setting. A user acts on one organization per request (orgs.context), with the permissions of
their Membership's role (orgs.permissions).
"""

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q

from botopia_meta.models import SoftDeleteModel, TimestampedModel


class Role(models.TextChoices):
    OWNER = "owner"
    ADMIN = "admin"
    AGENT = "agent"
    VIEWER = "viewer"


class Organization(SoftDeleteModel):
    name = models.CharField(max_length=120)

    def __str__(self) -> str:
        return self.name


class Membership(TimestampedModel):
    """A user in an organization, with one role. `is_default` marks the organization a request
    without X-Organization-Id acts on (the first one joined, changeable): at most one per user."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    is_default = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="uniq_membership"),
            models.UniqueConstraint(
                fields=["user"], condition=Q(is_default=True), name="uniq_default_membership"
            ),
        ]
        indexes = [models.Index(fields=["organization", "role"])]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"


class Invitation(TimestampedModel):
    """An emailed invitation to join with a role. Only the SHA-256 of its token is stored; the
    token itself is in the accept URL shown once to the inviter (and emailed)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.email} → {self.organization} ({self.role})"

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


class AuditEntry(models.Model):
    """One change a member made: who, in which organization, what, on what, when. Written in
    the same transaction as the change; never edited."""

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="audit_entries")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)  # the username then, kept if the user goes
    action = models.CharField(max_length=64)  # e.g. "template.create", "member.role_change"
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=128, blank=True)
    target_label = models.CharField(max_length=255, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["organization", "-created_at", "-id"]),
            models.Index(fields=["organization", "action", "-created_at"]),
            models.Index(fields=["organization", "actor", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.actor_label or '-'} {self.action} {self.target_label}".strip()

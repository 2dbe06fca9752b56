from django.db import models
from django.utils import timezone

from accounts.models import MetaAccount
from botopia_meta.fields import EncryptedTextField, mask_secret
from botopia_meta.models import SoftDeleteModel, TimestampedModel


class WebhookEvent(TimestampedModel):
    """One delivery from Meta, stored exactly as received. The row is the outbox: the receiver
    inserts it `pending` and enqueues its id; the sweeper re-enqueues rows left pending."""

    class Status(models.TextChoices):
        PENDING = "pending"
        PROCESSING = "processing"
        PROCESSED = "processed"
        PARTIALLY_FAILED = "partially_failed"
        FAILED = "failed"
        IGNORED = "ignored"  # nothing applied: unknown shape, unknown assets, no handler yet
        REJECTED = "rejected"  # signed, but not JSON

    # sha256 of the raw body: a redelivery of the same bytes is stored once. Meta may also
    # re-batch the same items into a different body; that is a new row, and handlers apply
    # each item idempotently on its own content keys (wamid, (wamid, status), comment id).
    dedupe_key = models.CharField(max_length=64, unique=True)
    # Not indexed (TimestampedModel's is): nothing looks events up by it, received_at orders
    # and prunes them. Every index costs each delivery's INSERT and each status change.
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    raw_body = models.BinaryField()
    object = models.CharField(max_length=64, blank=True, db_index=True)
    # Distinct fields of the delivery, comma-joined ("messages", "feed,messages"): an admin filter.
    fields = models.CharField(max_length=255, blank=True, db_index=True)
    received_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    status_reason = models.CharField(max_length=255, blank=True)
    item_count = models.PositiveIntegerField(default=0)
    # [{"index": "0.1", "field", "outcome": applied|ignored|failed, "reason"}]
    item_results = models.JSONField(default=list, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # A large delivery runs in chunks (webhooks.processing.chunks), each committed with this
    # count: a retry or a continuation resumes at the next chunk.
    chunks_done = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    swept_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["status", "received_at"]),
            models.Index(fields=["-received_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.object or '?'} {self.fields} @ {self.received_at:%Y-%m-%d %H:%M:%S} ({self.status})"

    @property
    def body_text(self) -> str:
        return bytes(self.raw_body).decode("utf-8", errors="replace")


class WebhookConfig(SoftDeleteModel):
    """A Meta account's webhook subscription: the verify token Meta echoes in its handshake,
    the fields subscribed, and what Meta answered for each target at the last configure."""

    class Status(models.TextChoices):
        PENDING = "pending"  # stored, subscriptions being made (Meta calls the handshake now)
        ACTIVE = "active"
        PARTIAL = "partial"  # some targets refused
        FAILED = "failed"

    account = models.ForeignKey(MetaAccount, on_delete=models.CASCADE, related_name="webhook_configs")
    verify_token = EncryptedTextField()
    fields = models.JSONField(default=dict)
    target_url = models.URLField(max_length=1024)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    results = models.JSONField(default=list, blank=True)
    configured_at = models.DateTimeField(null=True, blank=True)
    # (ext) Each notification of the account is POSTed here, signed with forward_secret.
    forward_url = models.URLField(max_length=1024, blank=True)
    forward_secret = EncryptedTextField(blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=models.Q(deleted_at__isnull=True),
                name="uniq_live_webhook_config",
            )
        ]

    def __str__(self) -> str:
        return f"Webhook config of {self.account} ({self.status})"

    @property
    def verify_token_preview(self) -> str | None:
        return mask_secret(self.verify_token)

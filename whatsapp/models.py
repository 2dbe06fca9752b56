from django.core.files.storage import Storage, storages
from django.db import models

from accounts.models import MetaAccount
from botopia_meta.models import SoftDeleteModel, TimestampedModel


class WhatsAppBusinessAccount(SoftDeleteModel):
    """A WABA reachable by a connected Meta account. Numbers are `WhatsAppPhoneNumber` rows:
    a WABA can have several."""

    account = models.ForeignKey(MetaAccount, on_delete=models.CASCADE, related_name="whatsapp_accounts")
    waba_id = models.CharField(max_length=64)
    name = models.CharField(max_length=255, blank=True)
    currency = models.CharField(max_length=8, blank=True)
    timezone_id = models.CharField(max_length=16, blank=True)
    message_template_namespace = models.CharField(max_length=128, blank=True)
    status = models.CharField(max_length=32, default="active")
    subscribed = models.BooleanField(default=False, help_text="Our app is in the WABA's subscribed_apps.")
    # Kept current by sync and the account_review_update / account_update /
    # business_capability_update webhooks.
    account_review_status = models.CharField(max_length=32, blank=True)  # PENDING/APPROVED/REJECTED
    ban_state = models.CharField(max_length=32, blank=True)  # SCHEDULE_FOR_DISABLE/DISABLE/REINSTATE
    capabilities = models.JSONField(default=dict, blank=True)  # max_daily_conversation_per_phone ...
    # The business portfolio that owns the WABA (owner_business_info.id): messaging limits are its.
    business_id = models.CharField(max_length=64, blank=True, db_index=True)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "WhatsApp Business account"
        constraints = [models.UniqueConstraint(fields=["account", "waba_id"], name="uniq_waba_per_account")]
        indexes = [models.Index(fields=["waba_id"])]

    def __str__(self) -> str:
        return self.name or self.waba_id


class WhatsAppPhoneNumber(SoftDeleteModel):
    waba = models.ForeignKey(WhatsAppBusinessAccount, on_delete=models.CASCADE, related_name="phone_numbers")
    phone_number_id = models.CharField(max_length=64)
    display_phone_number = models.CharField(max_length=32, blank=True)
    verified_name = models.CharField(max_length=255, blank=True)
    quality_rating = models.CharField(max_length=16, default="UNKNOWN")  # GREEN/YELLOW/RED/UNKNOWN
    messaging_limit_tier = models.CharField(max_length=32, blank=True)  # TIER_250 ... TIER_UNLIMITED
    throughput_level = models.CharField(max_length=32, blank=True)
    code_verification_status = models.CharField(max_length=32, blank=True)
    name_status = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=32, default="CONNECTED")
    business_profile = models.JSONField(default=dict, blank=True)
    # Messages per second our bucket allows for this number (Meta's default is 80).
    max_send_rate = models.PositiveIntegerField(default=80)

    class Meta:
        verbose_name = "WhatsApp phone number"
        constraints = [
            models.UniqueConstraint(fields=["waba", "phone_number_id"], name="uniq_phone_per_waba")
        ]
        indexes = [models.Index(fields=["phone_number_id"])]

    def __str__(self) -> str:
        return self.display_phone_number or self.phone_number_id


class WhatsAppTemplate(SoftDeleteModel):
    """Our mirror of a message template at Meta. Meta is the source of truth: sync, webhooks
    and our own create/edit/delete calls keep it current; lists read only the mirror."""

    class Status(models.TextChoices):
        APPROVED = "APPROVED"
        PENDING = "PENDING"
        REJECTED = "REJECTED"
        PAUSED = "PAUSED"
        DISABLED = "DISABLED"
        IN_APPEAL = "IN_APPEAL"
        PENDING_DELETION = "PENDING_DELETION"
        DELETED = "DELETED"
        LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
        ARCHIVED = "ARCHIVED"

    class Category(models.TextChoices):
        MARKETING = "MARKETING"
        UTILITY = "UTILITY"
        AUTHENTICATION = "AUTHENTICATION"

    waba = models.ForeignKey(WhatsAppBusinessAccount, on_delete=models.CASCADE, related_name="templates")
    template_id = models.CharField(max_length=64, blank=True)  # Meta's id
    name = models.CharField(max_length=512)
    language = models.CharField(max_length=16)
    category = models.CharField(max_length=32, choices=Category.choices)
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.PENDING, db_index=True)
    parameter_format = models.CharField(max_length=16, default="POSITIONAL")  # or NAMED
    components = models.JSONField(default=list)
    quality_score = models.CharField(max_length=16, blank=True)
    rejected_reason = models.CharField(max_length=255, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    # Time of the newest status webhook applied: Meta delivers out of order, and an older
    # event must not undo a newer one.
    status_event_at = models.DateTimeField(null=True, blank=True)
    # Our last successful edit at Meta: an approved template takes one edit per 24 hours.
    last_edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "WhatsApp template"
        constraints = [
            models.UniqueConstraint(
                fields=["waba", "name", "language"],
                condition=models.Q(deleted_at__isnull=True),
                name="uniq_live_template_name_language",
            )
        ]
        indexes = [
            models.Index(fields=["waba", "status", "category"]),
            models.Index(fields=["template_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"


class Contact(TimestampedModel):
    """A customer who wrote to (or was written from) one of our numbers. The 24-hour
    customer-service window is open while the last inbound message is younger than 24 h."""

    phone_number = models.ForeignKey(WhatsAppPhoneNumber, on_delete=models.CASCADE, related_name="contacts")
    wa_id = models.CharField(max_length=32)
    name = models.CharField(max_length=255, blank=True)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    # The conversation with this contact (the inbox lists one per contact and number), kept on
    # the row as Messenger's and Instagram's are so the list reads "this number, newest first"
    # straight off an index: the newest message either way (never moved back by an older one:
    # whatsapp/messages/conversations.py), and the inbound messages not yet marked read.
    # No message yet (last_message_at null): no conversation.
    last_message_at = models.DateTimeField(null=True, blank=True)
    last_message = models.ForeignKey(
        "Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    unread_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["phone_number", "wa_id"], name="uniq_contact_per_number")
        ]
        indexes = [
            models.Index(
                fields=["phone_number", "-last_message_at", "-id"], name="contact_conversation_newest"
            ),
            # ?unread=true: the conversations waiting for an answer, a small part of them.
            models.Index(
                fields=["phone_number", "-last_message_at", "-id"],
                name="contact_unread_newest",
                condition=models.Q(unread_count__gt=0),
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.wa_id


class Broadcast(TimestampedModel):
    class Status(models.TextChoices):
        QUEUED = "queued"
        SENDING = "sending"
        COMPLETED = "completed"
        CANCELLED = "cancelled"

    phone_number = models.ForeignKey(WhatsAppPhoneNumber, on_delete=models.CASCADE, related_name="broadcasts")
    template = models.ForeignKey(WhatsAppTemplate, on_delete=models.SET_NULL, null=True, related_name="+")
    template_name = models.CharField(max_length=512)
    template_language = models.CharField(max_length=16)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    invalid = models.JSONField(default=list, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    user_id = models.IntegerField(null=True, blank=True)  # who sent it (its messages carry it too)


class BroadcastBatch(models.Model):
    """Validated recipients of a broadcast not yet turned into messages: the POST stores them
    in batches and answers at once; the fan-out actor turns each batch into queued messages
    (one transaction per batch, so a worker killed mid-way resumes where it stopped)."""

    broadcast = models.ForeignKey(Broadcast, on_delete=models.CASCADE, related_name="batches")
    # [[wa_id, components or null], ...]
    recipients = models.JSONField()

    def __str__(self) -> str:
        return f"{self.broadcast_id} batch {self.pk}"


class Message(TimestampedModel):
    class Direction(models.TextChoices):
        INBOUND = "inbound"
        OUTBOUND = "outbound"

    class Status(models.TextChoices):
        QUEUED = "queued"
        SENDING = "sending"  # claimed by a worker: the request to Meta is in flight
        SENT = "sent"
        DELIVERED = "delivered"
        READ = "read"
        FAILED = "failed"
        UNKNOWN = "unknown"  # the send may have reached Meta; a status webhook settles it
        RECEIVED = "received"  # inbound
        CANCELLED = "cancelled"  # a cancelled broadcast's message that was never sent

    direction = models.CharField(max_length=8, choices=Direction.choices)
    # Null only for an orphan status: a webhook for a message we have no row for.
    phone_number = models.ForeignKey(
        WhatsAppPhoneNumber, on_delete=models.CASCADE, null=True, related_name="messages"
    )
    contact_wa_id = models.CharField(max_length=32, db_index=True)
    type = models.CharField(max_length=32)
    content = models.JSONField(default=dict, blank=True)
    # Unique per number row, not globally: two organizations connecting the same number each
    # store their own copy of an inbound message (uniq_message_wamid_per_number).
    wamid = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001 (unique when set)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    status_updated_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    error_code = models.IntegerField(null=True, blank=True)
    error_title = models.CharField(max_length=512, blank=True)
    template = models.ForeignKey(
        WhatsAppTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    template_name = models.CharField(max_length=512, blank=True)
    template_language = models.CharField(max_length=16, blank=True)
    # Indexed by the (broadcast, ...) indexes below, which skip the messages of no broadcast;
    # a plain index too would tempt the planner into reading a broadcast's every row.
    broadcast = models.ForeignKey(
        Broadcast, on_delete=models.CASCADE, null=True, blank=True, related_name="messages", db_index=False
    )
    user_id = models.IntegerField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001 (unique when set)
    pricing = models.JSONField(default=dict, blank=True)
    conversation = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the last send job for this message was put on the queue (the sweep re-queues a
    # queued message whose job was lost: broker flushed, worker killed).
    enqueued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user_id", "phone_number", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="uniq_message_idempotency_key",
            ),
            # wamid first: statuses and the staff console look messages up by wamid alone.
            models.UniqueConstraint(fields=["wamid", "phone_number"], name="uniq_message_wamid_per_number"),
        ]
        # The list (GET /messages) is "these numbers, this filter, newest first by (created_at,
        # id)": one index per filter it accepts, each ending in the sort key, so a page (by
        # cursor too) is read straight off the index. See ARCHITECTURE.md, growth plan.
        indexes = [
            models.Index(fields=["phone_number", "-created_at", "-id"], name="msg_number_newest"),
            models.Index(
                fields=["phone_number", "contact_wa_id", "-created_at", "-id"],
                name="msg_number_contact_newest",
            ),
            models.Index(
                fields=["phone_number", "direction", "-created_at", "-id"], name="msg_number_dir_newest"
            ),
            models.Index(
                fields=["phone_number", "status", "-created_at", "-id"], name="msg_number_status_newest"
            ),
            models.Index(
                fields=["phone_number", "direction", "status", "-created_at", "-id"],
                name="msg_number_dir_status_newest",
            ),
            # The list pages a broadcast newest first (the number leads: the list filters by it
            # too, so the capped count never visits the table); broadcast_progress counts by
            # status. Only broadcast messages are indexed (a conversation's have no broadcast).
            models.Index(
                fields=["phone_number", "broadcast", "-created_at", "-id"],
                name="msg_number_broadcast_newest",
                condition=models.Q(broadcast__isnull=False),
            ),
            models.Index(
                fields=["phone_number", "broadcast", "status", "-created_at", "-id"],
                name="msg_number_bcast_status_newest",
                condition=models.Q(broadcast__isnull=False),
            ),
            models.Index(
                fields=["broadcast", "status"],
                name="msg_broadcast_status",
                condition=models.Q(broadcast__isnull=False),
            ),
            # Failures are rare (about 1 in 100): the staff console's "failed" view, newest first.
            models.Index(
                fields=["-created_at", "-id"],
                name="msg_failed_newest",
                condition=models.Q(status="failed"),
            ),
            models.Index(fields=["status", "enqueued_at"]),
        ]

    def __str__(self) -> str:
        return self.wamid or str(self.pk)


class MessageStatusEvent(models.Model):
    """Each (wamid, status) Meta reports, applied once: a redelivered webhook changes nothing."""

    wamid = models.CharField(max_length=255)
    status = models.CharField(max_length=16)
    at = models.DateTimeField()
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["wamid", "status"], name="uniq_status_event")]
        # The staff console lists them newest first (and "failed" ones, rare, on their own).
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="status_event_newest"),
            models.Index(
                fields=["-created_at", "-id"],
                name="status_event_failed_newest",
                condition=models.Q(status="failed"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.wamid} {self.status}"


class MessagingLimit(models.Model):
    """Meta's messaging limit of one business portfolio, shared by all its numbers: how many
    unique customers it may reach outside a customer-service window in a moving 24 hours.
    Also the row a reservation locks, so checks for one business run one at a time."""

    # Meta's business portfolio id, or "waba:<waba id>" while the owning business is unknown.
    business_key = models.CharField(max_length=80, unique=True)
    # As Meta announces it: 250, 2000, 10000, 100000; -1 unlimited; null not announced yet
    # (then the numbers' messaging_limit_tier decides).
    max_daily = models.IntegerField(null=True, blank=True)
    announced_at = models.DateTimeField(null=True, blank=True)  # entry.time of the webhook applied
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.business_key}: {self.max_daily}"


class LimitedRecipient(models.Model):
    """A customer this business reached (a send we accepted) outside a customer-service window,
    with the latest such time: the customers counted against the limit are the rows younger
    than 24 hours, one indexed count."""

    business_key = models.CharField(max_length=80)
    wa_id = models.CharField(max_length=32)
    reached_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["business_key", "wa_id"], name="uniq_limited_recipient")
        ]
        indexes = [models.Index(fields=["business_key", "reached_at"], name="limited_recipient_window")]

    def __str__(self) -> str:
        return f"{self.business_key} {self.wa_id}"


def whatsapp_media_storage() -> Storage:
    """The `whatsapp_media` storage (settings.STORAGES): a callable, so a settings change (or a
    test's) is seen without a migration."""
    return storages["whatsapp_media"]


class WhatsAppMedia(TimestampedModel):
    """A media file (image, video, audio, document, sticker) of an inbound message: Meta's id,
    then our stored copy, served to its owner at /api/meta/whatsapp/media/<id>. Its state is
    mirrored on the message as `content["media"]` (whatsapp.media.services)."""

    class Status(models.TextChoices):
        PENDING = "pending"  # waiting for (or in) its download
        STORED = "stored"
        FAILED = "failed"  # not downloadable (checksum, size, refused): `error` says why
        EXPIRED = "expired"  # gone at Meta before we got it, or removed by retention

    phone_number = models.ForeignKey(WhatsAppPhoneNumber, on_delete=models.CASCADE, related_name="media")
    message = models.OneToOneField(
        Message, on_delete=models.CASCADE, null=True, blank=True, related_name="media_file"
    )
    media_id = models.CharField(max_length=128)  # Meta's
    kind = models.CharField(max_length=16)  # image, video, audio, document, sticker
    mime_type = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=128, blank=True)  # as the webhook gave it (base64 or hex)
    size = models.BigIntegerField(null=True, blank=True)
    filename = models.CharField(max_length=255, blank=True)  # a document's, as the sender named it
    file = models.FileField(storage=whatsapp_media_storage, max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    error = models.CharField(max_length=512, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    stored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "WhatsApp media"
        verbose_name_plural = "WhatsApp media"
        indexes = [
            models.Index(fields=["status", "enqueued_at"], name="wa_media_pending"),
            models.Index(fields=["status", "stored_at"], name="wa_media_retention"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.media_id}"

"""Abstract bases for the platform apps' Comment / Conversation / ConversationMessage models.

Only the identical fields live here; each concrete model adds its asset FK (`page` or
`ig_account`), its platform-specific fields, and its own Meta (constraint names, indexes)."""

from typing import TYPE_CHECKING, ClassVar, Self

from django.db import models

from botopia_meta.models import SoftDeleteModel, TimestampedModel

if TYPE_CHECKING:
    from django.db.models.fields.related_descriptors import RelatedManager


class CommentBase(SoftDeleteModel):
    comment_id = models.CharField(max_length=128)
    parent_id = models.CharField(max_length=128, blank=True)  # the post, or the comment replied to
    author_id = models.CharField(max_length=64, blank=True)
    author_name = models.CharField(max_length=255, blank=True)
    message = models.TextField(blank=True)
    created_time = models.DateTimeField(db_index=True)
    hidden = models.BooleanField(default=False)
    reply_id = models.CharField(max_length=128, blank=True)
    reply_message = models.TextField(blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)

    class Meta(SoftDeleteModel.Meta):
        abstract = True

    def __str__(self) -> str:
        return self.comment_id


class ConversationBase(TimestampedModel):
    contact_id = models.CharField(max_length=64)
    contact_name = models.CharField(max_length=255, blank=True)
    last_message_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    unread_count = models.PositiveIntegerField(default=0)

    # Annotations only (no attribute is created), for the shared code, which reaches the
    # concrete models through these bases (InboxSpec): Django gives each concrete model its
    # default manager, which django-stubs types on concrete models only; `messages` is the
    # reverse of the concrete message model's `conversation` FK.
    objects: ClassVar[models.Manager[Self]]
    messages: "RelatedManager[ConversationMessageBase]"

    class Meta(TimestampedModel.Meta):
        abstract = True


class ConversationMessageBase(TimestampedModel):
    class Direction(models.TextChoices):
        INBOUND = "inbound"
        OUTBOUND = "outbound"

    class Status(models.TextChoices):
        RECEIVED = "received"
        QUEUED = "queued"
        SENDING = "sending"
        SENT = "sent"
        DELIVERED = "delivered"
        READ = "read"
        FAILED = "failed"

    mid = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001 (NULL until Meta answers)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    text = models.TextField(blank=True)
    image_url = models.URLField(max_length=2048, blank=True)
    attachments = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    sent_at = models.DateTimeField(db_index=True)
    error = models.JSONField(default=dict, blank=True)

    # As on ConversationBase. `conversation` is the FK each concrete model declares (to its own
    # app's Conversation, so it cannot live here).
    objects: ClassVar[models.Manager[Self]]
    conversation: ConversationBase

    class Meta(TimestampedModel.Meta):
        abstract = True

    def __str__(self) -> str:
        return self.mid or str(self.pk)

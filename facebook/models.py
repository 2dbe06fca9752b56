from django.db import models

from accounts.models import MetaAccount
from botopia_meta.fields import EncryptedTextField
from botopia_meta.models import SoftDeleteModel, TimestampedModel


class FacebookPage(SoftDeleteModel):
    class Status(models.TextChoices):
        AVAILABLE = "available"  # found at connect time, webhooks not subscribed
        CONNECTED = "connected"
        DISCONNECTED = "disconnected"

    account = models.ForeignKey(MetaAccount, on_delete=models.CASCADE, related_name="facebook_pages")
    page_id = models.CharField(max_length=64)
    name = models.CharField(max_length=255, blank=True)
    category = models.CharField(max_length=255, blank=True)
    picture_url = models.URLField(max_length=1024, blank=True)
    access_token = EncryptedTextField(blank=True, default="")  # the page token
    tasks = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.AVAILABLE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "page_id"], name="uniq_page_per_account")]
        indexes = [models.Index(fields=["page_id"])]

    def __str__(self) -> str:
        return self.name or self.page_id


class Post(TimestampedModel):
    """A post we published or scheduled through the API (Meta keeps the canonical copy)."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled"
        PUBLISHED = "published"
        UNPUBLISHED = "unpublished"  # published=false: a hidden post (e.g. for ads), never public
        FAILED = "failed"
        CANCELLED = "cancelled"

    page = models.ForeignKey(FacebookPage, on_delete=models.CASCADE, related_name="posts")
    post_id = models.CharField(max_length=128, blank=True)
    message = models.TextField(blank=True)
    link = models.URLField(max_length=2048, blank=True)
    photo_url = models.URLField(max_length=2048, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, db_index=True)
    scheduled_publish_time = models.DateTimeField(null=True, blank=True)
    permalink_url = models.URLField(max_length=1024, blank=True)
    error = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["page", "status", "-created_at"])]

    def __str__(self) -> str:
        return self.post_id or str(self.pk)


class Comment(SoftDeleteModel):
    """A comment on one of a connected page's posts, from the `feed` webhook or a backfill."""

    page = models.ForeignKey(FacebookPage, on_delete=models.CASCADE, related_name="comments")
    comment_id = models.CharField(max_length=128)
    post_id = models.CharField(max_length=128, blank=True)
    parent_id = models.CharField(max_length=128, blank=True)  # the post, or the comment replied to
    author_id = models.CharField(max_length=64, blank=True)
    author_name = models.CharField(max_length=255, blank=True)
    message = models.TextField(blank=True)
    created_time = models.DateTimeField(db_index=True)
    hidden = models.BooleanField(default=False)
    reply_id = models.CharField(max_length=128, blank=True)
    reply_message = models.TextField(blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["page", "comment_id"], name="uniq_fb_comment")]
        indexes = [models.Index(fields=["page", "-created_time"])]

    def __str__(self) -> str:
        return self.comment_id


class Conversation(TimestampedModel):
    """A Messenger thread between a connected page and one person (their page-scoped id)."""

    page = models.ForeignKey(FacebookPage, on_delete=models.CASCADE, related_name="conversations")
    contact_id = models.CharField(max_length=64)
    contact_name = models.CharField(max_length=255, blank=True)
    last_message_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    unread_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["page", "contact_id"], name="uniq_fb_conversation")]
        indexes = [models.Index(fields=["page", "-last_message_at"])]

    def __str__(self) -> str:
        return f"{self.page_id}:{self.contact_id}"


class ConversationMessage(TimestampedModel):
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

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    mid = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001 (NULL until Meta answers)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    text = models.TextField(blank=True)
    image_url = models.URLField(max_length=2048, blank=True)
    attachments = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    sent_at = models.DateTimeField(db_index=True)
    error = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["conversation", "mid"], name="uniq_fb_message_mid")]
        indexes = [models.Index(fields=["conversation", "-sent_at"])]

    def __str__(self) -> str:
        return self.mid or str(self.pk)

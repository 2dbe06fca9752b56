from django.db import models

from accounts.models import MetaAccount
from botopia_meta.inbox.models import CommentBase, ConversationBase, ConversationMessageBase
from botopia_meta.models import SoftDeleteModel, TimestampedModel


class InstagramAccount(SoftDeleteModel):
    """An Instagram professional account, reached through the Facebook page it is linked to
    (its calls use that page's token). `page_id` is Meta's id of that page."""

    class Status(models.TextChoices):
        AVAILABLE = "available"
        CONNECTED = "connected"
        DISCONNECTED = "disconnected"

    account = models.ForeignKey(MetaAccount, on_delete=models.CASCADE, related_name="instagram_accounts")
    ig_account_id = models.CharField(max_length=64)
    page_id = models.CharField(max_length=64, blank=True)
    username = models.CharField(max_length=255, blank=True)
    name = models.CharField(max_length=255, blank=True)
    profile_picture = models.URLField(max_length=1024, blank=True)
    followers_count = models.PositiveIntegerField(null=True, blank=True)
    media_count = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.AVAILABLE)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "ig_account_id"], name="uniq_ig_per_account")
        ]
        indexes = [models.Index(fields=["ig_account_id"])]

    def __str__(self) -> str:
        return self.username or self.ig_account_id


class MediaPublish(TimestampedModel):
    """One publish request. Instagram has no native scheduling: a scheduled row waits for its
    delayed actor message (or the periodic sweep), and every step claims the row atomically
    so duplicates of the message never publish twice."""

    class MediaType(models.TextChoices):
        IMAGE = "IMAGE"
        VIDEO = "VIDEO"
        REELS = "REELS"
        CAROUSEL = "CAROUSEL"
        STORIES = "STORIES"

    class Status(models.TextChoices):
        SCHEDULED = "scheduled"
        PENDING = "pending"  # due: waiting for a worker to create the containers
        CREATING = "creating"
        PROCESSING = "processing"  # containers exist; polling until Meta says FINISHED
        PUBLISHING = "publishing"
        PUBLISHED = "published"
        FAILED = "failed"
        CANCELLED = "cancelled"

    ig_account = models.ForeignKey(InstagramAccount, on_delete=models.CASCADE, related_name="publishes")
    media_type = models.CharField(max_length=16, choices=MediaType.choices)
    media_urls = models.JSONField(default=list)
    caption = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, db_index=True)
    scheduled_publish_time = models.DateTimeField(null=True, blank=True, db_index=True)
    container_id = models.CharField(max_length=64, blank=True)
    children_ids = models.JSONField(default=list, blank=True)
    polls = models.PositiveIntegerField(default=0)
    media_id = models.CharField(max_length=64, blank=True)
    permalink = models.URLField(max_length=1024, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    error = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "scheduled_publish_time"])]

    def __str__(self) -> str:
        return f"{self.media_type} {self.status}"


class Comment(CommentBase):
    """A comment on (or a mention in a comment on) a connected account's media."""

    ig_account = models.ForeignKey(InstagramAccount, on_delete=models.CASCADE, related_name="comments")
    media_id = models.CharField(max_length=128, blank=True)
    is_mention = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ig_account", "comment_id"], name="uniq_ig_comment")]
        indexes = [models.Index(fields=["ig_account", "-created_time", "-id"], name="ig_comment_newest")]


class Conversation(ConversationBase):
    """An Instagram DM thread with one person (their Instagram-scoped id)."""

    ig_account = models.ForeignKey(InstagramAccount, on_delete=models.CASCADE, related_name="conversations")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ig_account", "contact_id"], name="uniq_ig_conversation")
        ]
        indexes = [
            models.Index(fields=["ig_account", "-last_message_at", "-id"], name="ig_conversation_newest")
        ]

    def __str__(self) -> str:
        return f"{self.ig_account_id}:{self.contact_id}"


class ConversationMessage(ConversationMessageBase):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["conversation", "mid"], name="uniq_ig_message_mid")]
        indexes = [models.Index(fields=["conversation", "-sent_at", "-id"], name="ig_conv_message_newest")]

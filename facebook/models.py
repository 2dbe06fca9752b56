from django.db import models

from accounts.models import MetaAccount
from botopia_meta.fields import EncryptedTextField
from botopia_meta.inbox.models import CommentBase, ConversationBase, ConversationMessageBase
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


class Comment(CommentBase):
    """A comment on one of a connected page's posts, from the `feed` webhook or a backfill."""

    page = models.ForeignKey(FacebookPage, on_delete=models.CASCADE, related_name="comments")
    post_id = models.CharField(max_length=128, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["page", "comment_id"], name="uniq_fb_comment")]
        indexes = [models.Index(fields=["page", "-created_time", "-id"], name="fb_comment_newest")]


class Conversation(ConversationBase):
    """A Messenger thread between a connected page and one person (their page-scoped id)."""

    page = models.ForeignKey(FacebookPage, on_delete=models.CASCADE, related_name="conversations")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["page", "contact_id"], name="uniq_fb_conversation")]
        indexes = [models.Index(fields=["page", "-last_message_at", "-id"], name="fb_conversation_newest")]

    def __str__(self) -> str:
        return f"{self.page_id}:{self.contact_id}"


class ConversationMessage(ConversationMessageBase):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["conversation", "mid"], name="uniq_fb_message_mid")]
        indexes = [models.Index(fields=["conversation", "-sent_at", "-id"], name="fb_conv_message_newest")]

"""What the sandbox remembers between calls, as Meta would: tokens it issued, templates,
sent messages, posts, Instagram containers, subscriptions and business profile edits. The
demo business itself is constant (sandbox/demo.py)."""

from django.db import models


class Token(models.Model):
    class Kind(models.TextChoices):
        USER = "USER"
        PAGE = "PAGE"

    token = models.CharField(max_length=128, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.USER)
    page_id = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)  # None: never expires
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "sandbox_token"

    def __str__(self) -> str:
        return self.kind


class Template(models.Model):
    template_id = models.CharField(max_length=64, unique=True)
    waba_id = models.CharField(max_length=64)
    name = models.CharField(max_length=512)
    language = models.CharField(max_length=16)
    category = models.CharField(max_length=32)
    parameter_format = models.CharField(max_length=16, default="POSITIONAL")
    components = models.JSONField(default=list)
    status = models.CharField(max_length=32, default="PENDING")
    rejected_reason = models.CharField(max_length=64, default="NONE")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "sandbox_template"
        constraints = [
            models.UniqueConstraint(fields=["waba_id", "name", "language"], name="sandbox_template_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.language}) {self.status}"

    def as_meta(self) -> dict:
        return {
            "id": self.template_id,
            "name": self.name,
            "language": self.language,
            "status": self.status,
            "category": self.category,
            "components": self.components,
            "parameter_format": self.parameter_format,
            "quality_score": {"score": "UNKNOWN"},
            "rejected_reason": self.rejected_reason,
        }


class Message(models.Model):
    wamid = models.CharField(max_length=128, unique=True)
    phone_number_id = models.CharField(max_length=64)
    to = models.CharField(max_length=32)
    type = models.CharField(max_length=32)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "sandbox_message"

    def __str__(self) -> str:
        return self.wamid


class Post(models.Model):
    post_id = models.CharField(max_length=128, unique=True)
    page_id = models.CharField(max_length=64)
    message = models.TextField(blank=True)
    link = models.URLField(max_length=2000, blank=True)
    photo_url = models.URLField(max_length=2000, blank=True)
    published = models.BooleanField(default=True)
    scheduled_publish_time = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "sandbox_post"

    def __str__(self) -> str:
        return self.post_id


class IgMedia(models.Model):
    """An Instagram media container, and once published, the media it became."""

    container_id = models.CharField(max_length=64, unique=True)
    media_id = models.CharField(max_length=64, blank=True, db_index=True)
    ig_id = models.CharField(max_length=64)
    media_type = models.CharField(max_length=32)
    params = models.JSONField(default=dict)
    ready_at = models.DateTimeField()  # IN_PROGRESS until then, FINISHED after
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "sandbox_ig_media"

    def __str__(self) -> str:
        return self.container_id


class Subscription(models.Model):
    """`app:<object>` (POST /{app-id}/subscriptions: where webhooks go) or an asset id
    (POST /{waba-or-page}/subscribed_apps)."""

    target = models.CharField(max_length=128, unique=True)
    callback_url = models.URLField(max_length=2000, blank=True)
    fields = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "sandbox_subscription"

    def __str__(self) -> str:
        return self.target


class BusinessProfile(models.Model):
    phone_number_id = models.CharField(max_length=64, unique=True)
    data = models.JSONField(default=dict)

    class Meta:
        db_table = "sandbox_business_profile"

    def __str__(self) -> str:
        return self.phone_number_id


class Comment(models.Model):
    """A comment by a simulated person (or the page / IG account's reply) on a sandbox post or
    IG media. Rows are written when the activity is scheduled, `created_at` in the future: lists
    show a comment from the moment its webhook leaves."""

    class Platform(models.TextChoices):
        FACEBOOK = "facebook"
        INSTAGRAM = "instagram"

    comment_id = models.CharField(max_length=128, unique=True)
    platform = models.CharField(max_length=16, choices=Platform.choices)
    object_id = models.CharField(max_length=128, db_index=True)  # post id or IG media id
    parent_id = models.CharField(max_length=128, blank=True)  # the comment answered, if any
    author_id = models.CharField(max_length=64)
    author_name = models.CharField(max_length=255)
    text = models.TextField()
    is_mention = models.BooleanField(default=False)  # a comment elsewhere mentioning the IG account
    hidden = models.BooleanField(default=False)
    deleted = models.BooleanField(default=False)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "sandbox_comment"

    def __str__(self) -> str:
        return self.comment_id


class DirectMessage(models.Model):
    """A Messenger or Instagram DM between a simulated person and the page / IG account."""

    class Direction(models.TextChoices):
        INBOUND = "inbound"
        OUTBOUND = "outbound"

    mid = models.CharField(max_length=128, unique=True)
    platform = models.CharField(max_length=16, choices=Comment.Platform.choices)
    contact_id = models.CharField(max_length=64, db_index=True)  # PSID or IGSID
    direction = models.CharField(max_length=16, choices=Direction.choices)
    text = models.TextField(blank=True)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "sandbox_direct_message"

    def __str__(self) -> str:
        return self.mid

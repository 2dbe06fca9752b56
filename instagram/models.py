from django.db import models

from accounts.models import MetaAccount
from botopia_meta.models import SoftDeleteModel


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

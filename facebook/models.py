from django.db import models

from accounts.models import MetaAccount
from botopia_meta.fields import EncryptedTextField
from botopia_meta.models import SoftDeleteModel


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

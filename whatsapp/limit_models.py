"""Tables behind Meta's messaging limit (whatsapp/limits.py). Imported by whatsapp/models.py."""

from django.db import models


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

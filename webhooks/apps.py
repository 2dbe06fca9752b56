from django.apps import AppConfig
from django.db.models.signals import post_save


def _notification_saved(sender, instance, created: bool, **kwargs) -> None:
    if created:
        from webhooks.services import notification_created

        notification_created(notification=instance)


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from accounts.models import Notification

        # Notifications are created by every app through accounts.notifications.notify; the
        # (ext) forward hooks in here so that accounts stays unaware of it.
        post_save.connect(_notification_saved, sender=Notification, dispatch_uid="webhooks-forward")

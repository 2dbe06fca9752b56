from django.conf import settings

from botopia_meta.scheduler import periodic
from botopia_meta.tasks import actor
from webhooks import services


@actor(queue_name="webhooks", time_limit=5 * 60 * 1000)
def process_webhook_events(event_ids: list[str]) -> None:
    services.webhook_events_process(event_ids=event_ids)


@actor(queue_name="webhooks", time_limit=5 * 60 * 1000)
def process_webhook_event(event_id: str, force: bool = False) -> None:
    """One event: a replay (`force`), or a message queued before deliveries were batched."""
    services.webhook_event_process(event_id=event_id, force=force)


@periodic(seconds=settings.WEBHOOK_SWEEP_SECONDS)
@actor(queue_name="webhooks")
def sweep_webhook_events() -> None:
    services.webhook_events_sweep()


@periodic(seconds=24 * 3600)
@actor(queue_name="webhooks")
def prune_webhook_events() -> None:
    services.webhook_events_prune()


@actor(queue_name="webhooks", max_retries=10)
def forward_notification(notification_id: str) -> None:
    services.notification_forward(notification_id=notification_id)

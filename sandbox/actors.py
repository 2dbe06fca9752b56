"""The sandbox's background work, on the real queue like everything else: delivering the
webhooks Meta would send, finishing a template's review after a delay, and a DM now and then
to the demo page or IG account."""

import logging
import time

from django.conf import settings

import sandbox
from botopia_meta.scheduler import periodic
from botopia_meta.tasks import RetryLater, actor
from sandbox import demo, events, social
from sandbox.models import Template

logger = logging.getLogger(__name__)


@actor(queue_name="sandbox", max_retries=5)
def deliver_webhook(payload: dict) -> None:
    """POST one signed webhook to the subscribed callback. Like Meta, a non-2xx answer or no
    answer is retried later (with the actors' backoff)."""
    if not sandbox.enabled() or not events.subscribed(payload):
        return
    try:
        response = events.post(payload)
    except Exception as exc:  # connection refused, timeout: Meta retries too
        raise RetryLater(f"webhook delivery failed: {type(exc).__name__}") from None
    if response.status_code >= 300:
        raise RetryLater(f"webhook delivery answered {response.status_code}")


@actor(queue_name="sandbox")
def review_template(template_id: str) -> None:
    """A pending template is APPROVED, or REJECTED when its name contains 'reject'; Meta then
    sends message_template_status_update."""
    if not sandbox.enabled():
        return
    template = Template.objects.filter(template_id=template_id, status="PENDING").first()
    if template is None:
        return  # deleted, or reviewed already
    if demo.REJECT_MARKER in template.name:
        template.status, template.rejected_reason = "REJECTED", "INVALID_FORMAT"
    else:
        template.status, template.rejected_reason = "APPROVED", "NONE"
    template.save(update_fields=["status", "rejected_reason"])
    deliver_webhook.send(events.template_status_payload(template, time.time()))


@actor(queue_name="sandbox")
def direct_message_now_and_then() -> None:
    """Someone writes to the demo page or IG account (periodic, in sandbox mode only)."""
    if sandbox.enabled():
        social.random_dm()


# Registered only when the sandbox runs, so a production scheduler never enqueues it.
if sandbox.enabled():
    periodic(seconds=getattr(settings, "SANDBOX_DM_EVERY_SECONDS", 90))(direct_message_now_and_then)

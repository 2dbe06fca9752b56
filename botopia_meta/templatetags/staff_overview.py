"""The admin index's "what needs attention" table: one cheap query per line."""

import logging
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django import template
from django.db.models import Count, Min, Q
from django.urls import reverse
from django.utils import timezone

register = template.Library()
logger = logging.getLogger(__name__)

EXPIRY_WARNING = timedelta(days=7)


def _url(name: str, **query: Any) -> str:
    return f"{reverse(name)}?{urlencode(query)}" if query else reverse(name)


def _age(seconds: float) -> str:
    minutes, _ = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else f"{int(seconds)} s"


def failed_jobs() -> int | None:
    """Dead-lettered jobs over every queue (None: the broker could not be asked)."""
    from botopia_meta.metrics import _queue_figures

    try:
        return sum(dead for _, _, _, dead in _queue_figures())
    except Exception as exc:
        logger.warning("dead-letter count unavailable: %s", type(exc).__name__)
        return None


def overview(now: Any = None) -> list[dict[str, Any]]:
    from accounts.models import MetaAccount
    from webhooks.models import WebhookEvent
    from whatsapp.models import Message, WhatsAppTemplate

    now = now or timezone.now()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    active = MetaAccount.Status.ACTIVE
    accounts = MetaAccount.objects.aggregate(
        relogin=Count("pk", filter=Q(needs_reauth=True) | ~Q(status=active)),
        expiring=Count(
            "pk",
            filter=Q(
                status=active,
                needs_reauth=False,
                token_expiry__gt=now,
                token_expiry__lte=now + EXPIRY_WARNING,
            ),
        ),
    )
    failed_today = Message.objects.filter(status=Message.Status.FAILED, failed_at__gte=today).count()
    events = WebhookEvent.objects.aggregate(
        pending=Count("pk", filter=Q(status=WebhookEvent.Status.PENDING)),
        failed=Count(
            "pk", filter=Q(status__in=[WebhookEvent.Status.FAILED, WebhookEvent.Status.PARTIALLY_FAILED])
        ),
        oldest=Min("received_at", filter=Q(status=WebhookEvent.Status.PENDING)),
    )
    templates = WhatsAppTemplate.objects.filter(
        status__in=[WhatsAppTemplate.Status.REJECTED, WhatsAppTemplate.Status.PAUSED]
    ).count()
    dead = failed_jobs()
    oldest_age = (now - events["oldest"]).total_seconds() if events["oldest"] else None
    return [
        {
            "key": "accounts_relogin",
            "label": "Meta accounts needing re-login",
            "value": accounts["relogin"],
            "alert": accounts["relogin"] > 0,
            "url": _url("admin:accounts_metaaccount_changelist", attention="relogin"),
            "note": "expired, revoked or refused by Meta: the business must reconnect",
        },
        {
            "key": "accounts_expiring",
            "label": "Tokens expiring within 7 days",
            "value": accounts["expiring"],
            "alert": accounts["expiring"] > 0,
            "url": _url("admin:accounts_metaaccount_changelist", attention="expiring"),
            "note": "select them and run “Refresh token”",
        },
        {
            "key": "messages_failed_today",
            "label": "WhatsApp messages failed today (UTC)",
            "value": failed_today,
            "alert": failed_today > 0,
            "url": _url("admin:whatsapp_message_changelist", failed="today"),
            "note": "the error code and title are in the list",
        },
        {
            "key": "events_pending",
            "label": "Webhook events pending",
            "value": events["pending"],
            "alert": oldest_age is not None and oldest_age > 300,
            "url": _url("admin:webhooks_webhookevent_changelist", status__exact="pending"),
            "note": f"oldest waiting {_age(oldest_age)}" if oldest_age is not None else "none waiting",
        },
        {
            "key": "events_failed",
            "label": "Webhook events failed or partly failed",
            "value": events["failed"],
            "alert": events["failed"] > 0,
            "url": _url("admin:webhooks_webhookevent_changelist", status__in="failed,partially_failed"),
            "note": "open one to see each item's outcome, then “Re-process”",
        },
        {
            "key": "templates_rejected",
            "label": "Templates rejected or paused",
            "value": templates,
            "alert": templates > 0,
            "url": _url("admin:whatsapp_whatsapptemplate_changelist", status__in="REJECTED,PAUSED"),
            "note": "the reason is on each template's page",
        },
        {
            "key": "jobs_failed",
            "label": "Failed background jobs (dead-lettered)",
            "value": "unavailable" if dead is None else dead,
            "alert": bool(dead),
            "url": "",
            "note": "jobs that used up their retries; kept DRAMATIQ_DEAD_MESSAGE_TTL_MS",
        },
    ]


@register.simple_tag
def staff_overview() -> list[dict[str, Any]]:
    return overview()

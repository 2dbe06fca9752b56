"""Webhook handlers for template fields: status, quality and category. Registered with
botopia_meta.registry on import.

Every handler is idempotent: Meta redelivers, so a replay finds nothing to change and notifies
nobody (notifications are only made on a change, and carry a dedupe key besides).
"""

from collections.abc import Callable
from datetime import UTC, datetime

from django.core.cache import cache
from django.db import transaction

from accounts.models import Notification
from botopia_meta.registry import ItemIgnored, WebhookItem, register_webhook_handler
from whatsapp.account.handlers import OBJECT, change_field, notify_change, wabas_for_item
from whatsapp.models import WhatsAppBusinessAccount, WhatsAppTemplate

Sev = Notification.Severity
T = WhatsAppTemplate.Status

# Meta's template events onto our statuses, with the notification each deserves.
TEMPLATE_EVENTS: dict[str, tuple[str | None, str, str]] = {
    # event: (new status or None to keep, notification kind, severity)
    "APPROVED": (T.APPROVED, "template_approved", Sev.SUCCESS),
    "REINSTATED": (T.APPROVED, "template_reinstated", Sev.SUCCESS),
    "REJECTED": (T.REJECTED, "template_rejected", Sev.WARNING),
    "PENDING": (T.PENDING, "template_pending", Sev.INFO),
    "IN_APPEAL": (T.IN_APPEAL, "template_in_appeal", Sev.INFO),
    "PAUSED": (T.PAUSED, "template_paused", Sev.WARNING),
    "DISABLED": (T.DISABLED, "template_disabled", Sev.CRITICAL),
    "FLAGGED": (None, "template_flagged", Sev.WARNING),
    "PENDING_DELETION": (T.PENDING_DELETION, "template_pending_deletion", Sev.INFO),
    "DELETED": (T.DELETED, "template_deleted", Sev.INFO),
    "LIMIT_EXCEEDED": (T.LIMIT_EXCEEDED, "template_limit_exceeded", Sev.WARNING),
    "ARCHIVED": (T.ARCHIVED, "template_archived", Sev.INFO),
}
QUALITY_SEVERITY = {"RED": Sev.CRITICAL, "YELLOW": Sev.WARNING, "GREEN": Sev.SUCCESS}


def _template(waba: WhatsAppBusinessAccount, value: dict) -> WhatsAppTemplate | None:
    template_id = str(value.get("message_template_id") or "")
    templates = WhatsAppTemplate.objects.filter(waba=waba)
    return (template_id and templates.filter(template_id=template_id).first()) or templates.filter(
        name=value.get("message_template_name") or "", language=value.get("message_template_language") or ""
    ).first()


def _for_each_template(
    item: WebhookItem, apply: Callable[[WhatsAppBusinessAccount, WhatsAppTemplate], None]
) -> None:
    """Apply to the template in every mirror of the WABA; a mirror that does not have it yet
    (made elsewhere, or one sharer synced and the other not) gets a sync queued."""
    wabas, missed = wabas_for_item(item), []
    for waba in wabas:
        with transaction.atomic():
            template = _template(waba, item.value)
            if template is None:
                missed.append(waba)
                continue
            template = WhatsAppTemplate.objects.select_for_update().get(pk=template.pk)
            apply(waba, template)
    for waba in missed:
        _sync_soon(waba)
    if len(missed) == len(wabas):
        raise ItemIgnored(
            f"Template {item.value.get('message_template_id')} is not in the mirror: sync queued."
        )


SYNC_SOON_SECONDS = 300


def _sync_soon(waba: WhatsAppBusinessAccount) -> None:
    """A template made elsewhere (WhatsApp Manager) shows up in a webhook before our mirror
    knows it: queue one sync of its WABA, at most one per few minutes however many arrive.
    Sent at once, not on commit: the handler's savepoint is rolled back when it ignores the
    item, which would drop an on_commit callback, and the sync reads only committed rows."""
    from whatsapp.message_templates.actors import sync_waba_templates

    if cache.add(f"whatsapp:template-sync-soon:{waba.pk}", 1, timeout=SYNC_SOON_SECONDS):
        sync_waba_templates.send(str(waba.pk))


def template_status_update(item: WebhookItem) -> None:
    value = item.value
    event = str(value.get("event") or "").upper()
    if event not in TEMPLATE_EVENTS:
        raise ItemIgnored(f"Unknown template event {event!r}.")
    status, kind, severity = TEMPLATE_EVENTS[event]
    reason = str(value.get("reason") or "")
    reason = "" if reason.upper() == "NONE" else reason

    event_at = datetime.fromtimestamp(item.entry_time, tz=UTC) if item.entry_time else None

    def apply(waba: WhatsAppBusinessAccount, template: WhatsAppTemplate) -> None:
        if event_at and template.status_event_at and event_at < template.status_event_at:
            return  # an older event delivered late: the newer one already applied
        previous = template.status
        changed = status is not None and (previous != status or template.rejected_reason != reason[:255])
        if status is not None:
            if not changed:
                return
            template.status = status
            template.status_event_at = event_at or template.status_event_at
            template.rejected_reason = reason[:255]
            if value.get("message_template_category"):
                template.category = str(value["message_template_category"]).upper()
            template.save()
            if status == T.DELETED:
                template.soft_delete()
        body = f"Reason: {reason}." if reason else ""
        if event == "FLAGGED" and value.get("disable_info"):
            body = "Meta will disable it unless its quality improves."
        notify_change(
            item,
            waba,
            template,
            kind=kind,
            title=f"Template {template.name} ({template.language}): {event.replace('_', ' ').lower()}",
            body=body,
            severity=severity,
            key=(template.template_id, previous, event),
        )

    _for_each_template(item, apply)


def template_quality_update(item: WebhookItem) -> None:
    new = str(item.value.get("new_quality_score") or "").upper()
    if not new:
        raise ItemIgnored("No new_quality_score.")

    def apply(waba: WhatsAppBusinessAccount, template: WhatsAppTemplate) -> None:
        change_field(
            item,
            waba,
            template,
            "quality_score",
            new,
            lambda previous: {
                "kind": "template_quality_changed",
                "title": f"Template {template.name} ({template.language}) quality: {new}",
                "body": f"Was {item.value.get('previous_quality_score') or previous or 'unknown'}.",
                "severity": QUALITY_SEVERITY.get(new, Sev.INFO),
                "key": (template.template_id, previous, new),
            },
        )

    _for_each_template(item, apply)


def template_category_update(item: WebhookItem) -> None:
    new = str(item.value.get("new_category") or "").upper()
    if new not in WhatsAppTemplate.Category.values:
        raise ItemIgnored(f"Unknown category {new!r}.")

    def apply(waba: WhatsAppBusinessAccount, template: WhatsAppTemplate) -> None:
        change_field(
            item,
            waba,
            template,
            "category",
            new,
            lambda previous: {
                "kind": "template_category_changed",
                "title": f"Meta moved template {template.name} ({template.language}) to {new}",
                "body": f"Was {previous}. Pricing and delivery rules of {new} now apply.",
                "severity": Sev.WARNING,
                "key": (template.template_id, previous, new),
            },
        )

    _for_each_template(item, apply)


for _field, _handler in {
    "message_template_status_update": template_status_update,
    "message_template_quality_update": template_quality_update,
    "template_category_update": template_category_update,
}.items():
    register_webhook_handler(OBJECT, _field, _handler)

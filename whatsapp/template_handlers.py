"""Webhook handlers for WABA-level fields: template status, quality and category, phone-number
quality and name, account and review updates, capabilities. Registered with
botopia_meta.registry on import.

Every handler is idempotent: Meta redelivers, so a replay finds nothing to change and notifies
nobody (notifications are only made on a change, and carry a dedupe key besides).
"""

import re
from collections.abc import Callable
from datetime import UTC, datetime

from django.core.cache import cache
from django.db import transaction

from accounts.models import MetaAccount, Notification
from accounts.notifications import notify
from botopia_meta.registry import ItemIgnored, WebhookItem, register_webhook_handler
from whatsapp.limits import messaging_limit_update
from whatsapp.models import WhatsAppBusinessAccount, WhatsAppPhoneNumber, WhatsAppTemplate

OBJECT = "whatsapp_business_account"
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


def _wabas(item: WebhookItem) -> list[WhatsAppBusinessAccount]:
    """Every live WABA row with the entry's id whose Meta account is active (two Botopia users
    may have connected the same WABA)."""
    wabas = list(
        WhatsAppBusinessAccount.objects.filter(
            waba_id=str(item.entry_id),
            account__status=MetaAccount.Status.ACTIVE,
            account__deleted_at__isnull=True,
        ).select_related("account")
    )
    if not wabas:
        raise ItemIgnored(f"No active Meta account has WABA {item.entry_id}.")
    return wabas


def _key(item: WebhookItem, *parts: object) -> str:
    return ":".join(
        ["wa", item.field, str(item.entry_id), *(str(p) for p in parts), str(item.entry_time or "")]
    )[:255]


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
    wabas, missed = _wabas(item), []
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
    from whatsapp.actors_templates import sync_waba_templates

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
        notify(
            account=waba.account,
            kind=kind,
            title=f"Template {template.name} ({template.language}): {event.replace('_', ' ').lower()}",
            body=body,
            severity=severity,
            related_type="whatsapp_template",
            related_id=str(template.pk),
            dedupe_key=_key(item, template.template_id, previous, event),
        )

    _for_each_template(item, apply)


def template_quality_update(item: WebhookItem) -> None:
    new = str(item.value.get("new_quality_score") or "").upper()
    if not new:
        raise ItemIgnored("No new_quality_score.")

    def apply(waba: WhatsAppBusinessAccount, template: WhatsAppTemplate) -> None:
        previous = template.quality_score
        if previous == new:
            return
        template.quality_score = new
        template.save(update_fields=["quality_score", "updated_at"])
        notify(
            account=waba.account,
            kind="template_quality_changed",
            title=f"Template {template.name} ({template.language}) quality: {new}",
            body=f"Was {item.value.get('previous_quality_score') or previous or 'unknown'}.",
            severity=QUALITY_SEVERITY.get(new, Sev.INFO),
            related_type="whatsapp_template",
            related_id=str(template.pk),
            dedupe_key=_key(item, template.template_id, previous, new),
        )

    _for_each_template(item, apply)


def template_category_update(item: WebhookItem) -> None:
    new = str(item.value.get("new_category") or "").upper()
    if new not in WhatsAppTemplate.Category.values:
        raise ItemIgnored(f"Unknown category {new!r}.")

    def apply(waba: WhatsAppBusinessAccount, template: WhatsAppTemplate) -> None:
        previous = template.category
        if previous == new:
            return
        template.category = new
        template.save(update_fields=["category", "updated_at"])
        notify(
            account=waba.account,
            kind="template_category_changed",
            title=f"Meta moved template {template.name} ({template.language}) to {new}",
            body=f"Was {previous}. Pricing and delivery rules of {new} now apply.",
            severity=Sev.WARNING,
            related_type="whatsapp_template",
            related_id=str(template.pk),
            dedupe_key=_key(item, template.template_id, previous, new),
        )

    _for_each_template(item, apply)


def _digits(value: object) -> str:
    return re.sub(r"\D", "", str(value or ""))


def _numbers(item: WebhookItem, waba: WhatsAppBusinessAccount) -> list[WhatsAppPhoneNumber]:
    """The WABA's number named by display_phone_number (Meta sends digits only; we may have
    stored "+1 555-000-1111"); a WABA-wide event without one applies to every number."""
    numbers = list(WhatsAppPhoneNumber.objects.filter(waba=waba))
    wanted = _digits(item.value.get("display_phone_number") or item.value.get("phone_number"))
    if not wanted:
        return numbers
    return [n for n in numbers if _digits(n.display_phone_number) == wanted]


def phone_number_quality_update(item: WebhookItem) -> None:
    value = item.value
    event = str(value.get("event") or "").upper()
    limit = str(value.get("current_limit") or "")
    applied = False
    for waba in _wabas(item):
        for number in _numbers(item, waba):
            applied = True
            with transaction.atomic():
                number = WhatsAppPhoneNumber.objects.select_for_update().get(pk=number.pk)
                previous = number.messaging_limit_tier
                if (not limit or previous == limit) and event not in ("FLAGGED", "UNFLAGGED"):
                    continue
                if limit:
                    number.messaging_limit_tier = limit
                    number.save(update_fields=["messaging_limit_tier", "updated_at"])
                severity = {"DOWNGRADE": Sev.CRITICAL, "FLAGGED": Sev.WARNING, "UPGRADE": Sev.SUCCESS}.get(
                    event, Sev.INFO
                )
                notify(
                    account=waba.account,
                    kind="phone_number_quality_changed",
                    title=f"{number}: messaging limit {event.lower() or 'changed'} to {limit or previous}",
                    body=f"Was {value.get('old_limit') or previous or 'unknown'}.",
                    severity=severity,
                    related_type="whatsapp_phone_number",
                    related_id=str(number.pk),
                    dedupe_key=_key(item, number.phone_number_id, event, previous, limit),
                )
    if not applied:
        raise ItemIgnored(f"No phone number {value.get('display_phone_number')} in WABA {item.entry_id}.")


def phone_number_name_update(item: WebhookItem) -> None:
    value = item.value
    decision = str(value.get("decision") or "").upper()
    requested = str(value.get("requested_verified_name") or "")
    applied = False
    for waba in _wabas(item):
        for number in _numbers(item, waba):
            applied = True
            with transaction.atomic():
                number = WhatsAppPhoneNumber.objects.select_for_update().get(pk=number.pk)
                new_name = requested if decision == "APPROVED" and requested else number.verified_name
                if number.name_status == decision and number.verified_name == new_name:
                    continue
                previous = number.name_status
                number.name_status = decision
                number.verified_name = new_name
                number.save(update_fields=["name_status", "verified_name", "updated_at"])
                notify(
                    account=waba.account,
                    kind="phone_number_name_update",
                    title=f"Display name {requested or number.verified_name!r}: {decision.lower()}",
                    body=str(value.get("rejection_reason") or ""),
                    severity=Sev.SUCCESS if decision == "APPROVED" else Sev.WARNING,
                    related_type="whatsapp_phone_number",
                    related_id=str(number.pk),
                    dedupe_key=_key(item, number.phone_number_id, previous, decision, requested),
                )
    if not applied:
        raise ItemIgnored(f"No phone number {value.get('display_phone_number')} in WABA {item.entry_id}.")


BAN_STATUS = {"DISABLE": "disabled", "REINSTATE": "active"}


def account_update(item: WebhookItem) -> None:
    value = item.value
    event = str(value.get("event") or "").upper()
    ban_state = str((value.get("ban_info") or {}).get("waba_ban_state") or "").upper()
    for waba in _wabas(item):
        with transaction.atomic():
            waba = (
                WhatsAppBusinessAccount.objects.select_for_update().select_related("account").get(pk=waba.pk)
            )
            before = (waba.status, waba.ban_state)
            if ban_state:
                waba.ban_state = ban_state
                waba.status = BAN_STATUS.get(ban_state, waba.status)
            if event == "ACCOUNT_DELETED":
                waba.status = "deleted"
            if (waba.status, waba.ban_state) != before:
                waba.save(update_fields=["status", "ban_state", "updated_at"])
            severity = (
                Sev.CRITICAL
                if event in ("ACCOUNT_VIOLATION", "ACCOUNT_RESTRICTION") or ban_state
                else Sev.INFO
            )
            if ban_state == "REINSTATE":
                severity = Sev.SUCCESS
            detail = (value.get("violation_info") or {}).get("violation_type") or ban_state
            notify(
                account=waba.account,
                kind="whatsapp_account_update",
                title=f"WhatsApp account {waba}: {event.replace('_', ' ').lower() or 'updated'}",
                body=str(detail or ""),
                severity=severity,
                related_type="whatsapp_business_account",
                related_id=str(waba.pk),
                dedupe_key=_key(item, event, ban_state, detail or ""),
            )


def account_review_update(item: WebhookItem) -> None:
    decision = str(item.value.get("decision") or "").upper()
    if not decision:
        raise ItemIgnored("No decision.")
    for waba in _wabas(item):
        with transaction.atomic():
            waba = (
                WhatsAppBusinessAccount.objects.select_for_update().select_related("account").get(pk=waba.pk)
            )
            previous = waba.account_review_status
            if previous == decision:
                continue
            waba.account_review_status = decision
            waba.save(update_fields=["account_review_status", "updated_at"])
            notify(
                account=waba.account,
                kind="whatsapp_account_review",
                title=f"WhatsApp account review of {waba}: {decision.lower()}",
                severity=Sev.SUCCESS if decision == "APPROVED" else Sev.WARNING,
                related_type="whatsapp_business_account",
                related_id=str(waba.pk),
                dedupe_key=_key(item, previous, decision),
            )


def business_capability_update(item: WebhookItem) -> None:
    messaging_limit_update(item)
    capabilities = {k: v for k, v in item.value.items() if k.startswith("max_")}
    if not capabilities:
        raise ItemIgnored("No capability in the update.")
    for waba in _wabas(item):
        with transaction.atomic():
            waba = (
                WhatsAppBusinessAccount.objects.select_for_update().select_related("account").get(pk=waba.pk)
            )
            merged = {**waba.capabilities, **capabilities}
            if merged == waba.capabilities:
                continue
            waba.capabilities = merged
            waba.save(update_fields=["capabilities", "updated_at"])
            notify(
                account=waba.account,
                kind="whatsapp_capability_update",
                title=f"WhatsApp limits of {waba} changed",
                body=", ".join(f"{k}: {v}" for k, v in sorted(capabilities.items())),
                related_type="whatsapp_business_account",
                related_id=str(waba.pk),
                dedupe_key=_key(item, *sorted(f"{k}={v}" for k, v in capabilities.items())),
            )


for _field, _handler in {
    "message_template_status_update": template_status_update,
    "message_template_quality_update": template_quality_update,
    "template_category_update": template_category_update,
    "phone_number_quality_update": phone_number_quality_update,
    "phone_number_name_update": phone_number_name_update,
    "account_update": account_update,
    "account_review_update": account_review_update,
    "business_capability_update": business_capability_update,
}.items():
    register_webhook_handler(OBJECT, _field, _handler)

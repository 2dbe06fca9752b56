"""Webhook handlers for WABA-level fields other than templates: phone-number quality and
name, account and review updates, capabilities; and the lookups every WABA-level handler
shares (templates' too). Registered with botopia_meta.registry on import.

Every handler is idempotent: Meta redelivers, so a replay finds nothing to change and notifies
nobody (notifications are only made on a change, and carry a dedupe key besides).
"""

import re

from django.db import transaction

from accounts.models import Notification
from accounts.notifications import notify
from botopia_meta.registry import ItemIgnored, WebhookItem, register_webhook_handler
from whatsapp.account.selectors import waba_at_work
from whatsapp.models import WhatsAppBusinessAccount, WhatsAppPhoneNumber

OBJECT = "whatsapp_business_account"
Sev = Notification.Severity


def wabas_for_item(item: WebhookItem) -> list[WhatsAppBusinessAccount]:
    """Every live WABA row with the entry's id whose Meta account is active (two Botopia users
    may have connected the same WABA)."""
    wabas = list(
        WhatsAppBusinessAccount.objects.filter(waba_at_work(), waba_id=str(item.entry_id)).select_related(
            "account"
        )
    )
    if not wabas:
        raise ItemIgnored(f"No active Meta account has WABA {item.entry_id}.")
    return wabas


def dedupe_key(item: WebhookItem, *parts: object) -> str:
    return ":".join(
        ["wa", item.field, str(item.entry_id), *(str(p) for p in parts), str(item.entry_time or "")]
    )[:255]


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
    for waba in wabas_for_item(item):
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
                    dedupe_key=dedupe_key(item, number.phone_number_id, event, previous, limit),
                )
    if not applied:
        raise ItemIgnored(f"No phone number {value.get('display_phone_number')} in WABA {item.entry_id}.")


def phone_number_name_update(item: WebhookItem) -> None:
    value = item.value
    decision = str(value.get("decision") or "").upper()
    requested = str(value.get("requested_verified_name") or "")
    applied = False
    for waba in wabas_for_item(item):
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
                    dedupe_key=dedupe_key(item, number.phone_number_id, previous, decision, requested),
                )
    if not applied:
        raise ItemIgnored(f"No phone number {value.get('display_phone_number')} in WABA {item.entry_id}.")


BAN_STATUS = {"DISABLE": "disabled", "REINSTATE": "active"}


def account_update(item: WebhookItem) -> None:
    value = item.value
    event = str(value.get("event") or "").upper()
    ban_state = str((value.get("ban_info") or {}).get("waba_ban_state") or "").upper()
    for waba in wabas_for_item(item):
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
                dedupe_key=dedupe_key(item, event, ban_state, detail or ""),
            )


def account_review_update(item: WebhookItem) -> None:
    decision = str(item.value.get("decision") or "").upper()
    if not decision:
        raise ItemIgnored("No decision.")
    for waba in wabas_for_item(item):
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
                dedupe_key=dedupe_key(item, previous, decision),
            )


def business_capability_update(item: WebhookItem) -> None:
    capabilities = {k: v for k, v in item.value.items() if k.startswith("max_")}
    if not capabilities:
        raise ItemIgnored("No capability in the update.")
    for waba in wabas_for_item(item):
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
                dedupe_key=dedupe_key(item, *sorted(f"{k}={v}" for k, v in capabilities.items())),
            )


for _field, _handler in {
    "phone_number_quality_update": phone_number_quality_update,
    "phone_number_name_update": phone_number_name_update,
    "account_update": account_update,
    "account_review_update": account_review_update,
    "business_capability_update": business_capability_update,
}.items():
    register_webhook_handler(OBJECT, _field, _handler)

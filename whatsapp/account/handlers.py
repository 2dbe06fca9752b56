"""Webhook handlers for WABA-level fields other than templates: phone-number quality and
name, account and review updates, capabilities; and what every WABA-level handler shares
(templates' too): the WABAs an item is for, one notification per change. Registered with
botopia_meta.registry on import.

Every handler is idempotent: Meta redelivers, so a replay finds nothing to change and notifies
nobody (notifications are only made on a change, and carry a dedupe key besides).
"""

import re
from collections.abc import Callable
from typing import Any

from django.db import transaction

from accounts.models import Notification
from accounts.notifications import notify
from botopia_meta.registry import ItemIgnored, WebhookItem, register_webhook_handler
from whatsapp.account.selectors import waba_at_work
from whatsapp.messages.limits import messaging_limit_update
from whatsapp.models import WhatsAppBusinessAccount, WhatsAppPhoneNumber, WhatsAppTemplate

OBJECT = "whatsapp_business_account"
Sev = Notification.Severity
RELATED_TYPES: dict[type, str] = {
    WhatsAppBusinessAccount: "whatsapp_business_account",
    WhatsAppPhoneNumber: "whatsapp_phone_number",
    WhatsAppTemplate: "whatsapp_template",
}


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


def notify_change(
    item: WebhookItem,
    waba: WhatsAppBusinessAccount,
    related: WhatsAppBusinessAccount | WhatsAppPhoneNumber | WhatsAppTemplate,
    *,
    kind: str,
    title: str,
    key: tuple[object, ...],
    body: str = "",
    severity: str = Sev.INFO,
) -> None:
    """Tell the WABA's account owner what the item changed on `related`; `key` (with the
    item's field, entry and time) makes a redelivery notify nobody."""
    notify(
        account=waba.account,
        kind=kind,
        title=title,
        body=body,
        severity=severity,
        related_type=RELATED_TYPES[type(related)],
        related_id=str(related.pk),
        dedupe_key=dedupe_key(item, *key),
    )


def change_field(
    item: WebhookItem,
    waba: WhatsAppBusinessAccount,
    related: WhatsAppBusinessAccount | WhatsAppTemplate,
    field: str,
    new: str,
    notice: Callable[[str], dict[str, Any]],
) -> None:
    """Set one field the item reports and notify `notice(previous)` (notify_change's keywords);
    a value already held (a redelivery) changes nothing and notifies nobody."""
    previous = getattr(related, field)
    if previous == new:
        return
    setattr(related, field, new)
    related.save(update_fields=[field, "updated_at"])
    notify_change(item, waba, related, **notice(previous))


def _for_each_waba(item: WebhookItem, apply: Callable[[WhatsAppBusinessAccount], None]) -> None:
    """Apply to every mirror of the item's WABA, each under its row lock."""
    for waba in wabas_for_item(item):
        with transaction.atomic():
            apply(
                WhatsAppBusinessAccount.objects.select_for_update().select_related("account").get(pk=waba.pk)
            )


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


def _for_each_number(
    item: WebhookItem, apply: Callable[[WhatsAppBusinessAccount, WhatsAppPhoneNumber], None]
) -> None:
    """Apply to the number the item names in every mirror of its WABA, under its row lock."""
    applied = False
    for waba in wabas_for_item(item):
        for number in _numbers(item, waba):
            applied = True
            with transaction.atomic():
                apply(waba, WhatsAppPhoneNumber.objects.select_for_update().get(pk=number.pk))
    if not applied:
        raise ItemIgnored(
            f"No phone number {item.value.get('display_phone_number')} in WABA {item.entry_id}."
        )


def phone_number_quality_update(item: WebhookItem) -> None:
    value = item.value
    event = str(value.get("event") or "").upper()
    limit = str(value.get("current_limit") or "")

    def apply(waba: WhatsAppBusinessAccount, number: WhatsAppPhoneNumber) -> None:
        previous = number.messaging_limit_tier
        if (not limit or previous == limit) and event not in ("FLAGGED", "UNFLAGGED"):
            return
        if limit:
            number.messaging_limit_tier = limit
            number.save(update_fields=["messaging_limit_tier", "updated_at"])
        notify_change(
            item,
            waba,
            number,
            kind="phone_number_quality_changed",
            title=f"{number}: messaging limit {event.lower() or 'changed'} to {limit or previous}",
            body=f"Was {value.get('old_limit') or previous or 'unknown'}.",
            severity={"DOWNGRADE": Sev.CRITICAL, "FLAGGED": Sev.WARNING, "UPGRADE": Sev.SUCCESS}.get(
                event, Sev.INFO
            ),
            key=(number.phone_number_id, event, previous, limit),
        )

    _for_each_number(item, apply)


def phone_number_name_update(item: WebhookItem) -> None:
    value = item.value
    decision = str(value.get("decision") or "").upper()
    requested = str(value.get("requested_verified_name") or "")

    def apply(waba: WhatsAppBusinessAccount, number: WhatsAppPhoneNumber) -> None:
        new_name = requested if decision == "APPROVED" and requested else number.verified_name
        if number.name_status == decision and number.verified_name == new_name:
            return
        previous = number.name_status
        number.name_status = decision
        number.verified_name = new_name
        number.save(update_fields=["name_status", "verified_name", "updated_at"])
        notify_change(
            item,
            waba,
            number,
            kind="phone_number_name_update",
            title=f"Display name {requested or number.verified_name!r}: {decision.lower()}",
            body=str(value.get("rejection_reason") or ""),
            severity=Sev.SUCCESS if decision == "APPROVED" else Sev.WARNING,
            key=(number.phone_number_id, previous, decision, requested),
        )

    _for_each_number(item, apply)


BAN_STATUS = {"DISABLE": "disabled", "REINSTATE": "active"}


def account_update(item: WebhookItem) -> None:
    value = item.value
    event = str(value.get("event") or "").upper()
    ban_state = str((value.get("ban_info") or {}).get("waba_ban_state") or "").upper()

    def apply(waba: WhatsAppBusinessAccount) -> None:
        before = (waba.status, waba.ban_state)
        if ban_state:
            waba.ban_state = ban_state
            waba.status = BAN_STATUS.get(ban_state, waba.status)
        if event == "ACCOUNT_DELETED":
            waba.status = "deleted"
        if (waba.status, waba.ban_state) != before:
            waba.save(update_fields=["status", "ban_state", "updated_at"])
        severity = (
            Sev.CRITICAL if event in ("ACCOUNT_VIOLATION", "ACCOUNT_RESTRICTION") or ban_state else Sev.INFO
        )
        if ban_state == "REINSTATE":
            severity = Sev.SUCCESS
        detail = (value.get("violation_info") or {}).get("violation_type") or ban_state
        notify_change(
            item,
            waba,
            waba,
            kind="whatsapp_account_update",
            title=f"WhatsApp account {waba}: {event.replace('_', ' ').lower() or 'updated'}",
            body=str(detail or ""),
            severity=severity,
            key=(event, ban_state, detail or ""),
        )

    _for_each_waba(item, apply)


def account_review_update(item: WebhookItem) -> None:
    decision = str(item.value.get("decision") or "").upper()
    if not decision:
        raise ItemIgnored("No decision.")

    def apply(waba: WhatsAppBusinessAccount) -> None:
        change_field(
            item,
            waba,
            waba,
            "account_review_status",
            decision,
            lambda previous: {
                "kind": "whatsapp_account_review",
                "title": f"WhatsApp account review of {waba}: {decision.lower()}",
                "severity": Sev.SUCCESS if decision == "APPROVED" else Sev.WARNING,
                "key": (previous, decision),
            },
        )

    _for_each_waba(item, apply)


def business_capability_update(item: WebhookItem) -> None:
    messaging_limit_update(item)
    capabilities = {k: v for k, v in item.value.items() if k.startswith("max_")}
    if not capabilities:
        raise ItemIgnored("No capability in the update.")

    def apply(waba: WhatsAppBusinessAccount) -> None:
        merged = {**waba.capabilities, **capabilities}
        if merged == waba.capabilities:
            return
        waba.capabilities = merged
        waba.save(update_fields=["capabilities", "updated_at"])
        notify_change(
            item,
            waba,
            waba,
            kind="whatsapp_capability_update",
            title=f"WhatsApp limits of {waba} changed",
            body=", ".join(f"{k}: {v}" for k, v in sorted(capabilities.items())),
            key=tuple(sorted(f"{k}={v}" for k, v in capabilities.items())),
        )

    _for_each_waba(item, apply)


for _field, _handler in {
    "phone_number_quality_update": phone_number_quality_update,
    "phone_number_name_update": phone_number_name_update,
    "account_update": account_update,
    "account_review_update": account_review_update,
    "business_capability_update": business_capability_update,
}.items():
    register_webhook_handler(OBJECT, _field, _handler)

"""Writes to the WABA and phone-number mirror: refresh from Meta, business profile updates."""

import logging

from django.db import transaction
from django.utils import timezone

from accounts.models import MetaAccount
from botopia_meta.exceptions import ValidationFailed
from botopia_meta.graph import GraphError
from whatsapp.account import graph
from whatsapp.models import WhatsAppBusinessAccount, WhatsAppPhoneNumber

logger = logging.getLogger(__name__)

PROFILE_KEYS = ("about", "address", "description", "email", "websites", "vertical")


def phone_number_apply_meta(*, waba: WhatsAppBusinessAccount, item: dict) -> WhatsAppPhoneNumber:
    """Upsert one number from Meta's `phone_numbers` item (restoring a soft-deleted row)."""
    number = WhatsAppPhoneNumber.all_objects.filter(waba=waba, phone_number_id=str(item["id"])).first()
    if number is None:
        number = WhatsAppPhoneNumber(waba=waba, phone_number_id=str(item["id"]))
    number.deleted_at = None
    number.display_phone_number = item.get("display_phone_number") or number.display_phone_number
    number.verified_name = item.get("verified_name") or number.verified_name
    number.quality_rating = item.get("quality_rating") or number.quality_rating
    number.messaging_limit_tier = item.get("messaging_limit_tier") or number.messaging_limit_tier
    number.throughput_level = (item.get("throughput") or {}).get("level") or number.throughput_level
    number.code_verification_status = item.get("code_verification_status") or number.code_verification_status
    number.name_status = item.get("name_status") or number.name_status
    number.status = item.get("status") or number.status
    number.save()
    return number


def waba_refresh(*, waba: WhatsAppBusinessAccount) -> WhatsAppBusinessAccount:
    """Re-read the WABA, its numbers and each number's business profile from Meta.

    Numbers Meta no longer lists are soft-deleted (they come back if Meta lists them again).
    All Graph calls happen before the first write, so a failure changes nothing.
    """
    client = graph.waba_client(waba)
    info = graph.waba_get(client, waba.waba_id)
    items = graph.phone_numbers_list(client, waba.waba_id)
    profiles = {str(item["id"]): graph.business_profile_get(client, str(item["id"])) for item in items}
    with transaction.atomic():
        waba.name = info.get("name") or waba.name
        waba.currency = info.get("currency") or waba.currency
        waba.timezone_id = str(info.get("timezone_id") or waba.timezone_id)
        waba.message_template_namespace = (
            info.get("message_template_namespace") or waba.message_template_namespace
        )
        waba.account_review_status = info.get("account_review_status") or waba.account_review_status
        waba.last_refreshed_at = timezone.now()
        waba.save()
        seen = []
        for item in items:
            number = phone_number_apply_meta(waba=waba, item=item)
            number.business_profile = profile_from_meta(profiles[number.phone_number_id])
            number.save(update_fields=["business_profile", "updated_at"])
            seen.append(number.phone_number_id)
        for gone in WhatsAppPhoneNumber.objects.filter(waba=waba).exclude(phone_number_id__in=seen):
            gone.soft_delete()
    return waba


def account_refresh(*, account: MetaAccount, waba_id: str | None = None) -> list[WhatsAppBusinessAccount]:
    wabas = WhatsAppBusinessAccount.objects.filter(account=account)
    if waba_id:
        wabas = wabas.filter(waba_id=waba_id)
    return [waba_refresh(waba=waba) for waba in wabas.order_by("created_at")]


def profile_from_meta(data: dict) -> dict:
    """Meta's whatsapp_business_profile item as the mirror keeps it (refresh, update, discovery)."""
    profile = {key: data.get(key) for key in PROFILE_KEYS if key in data}
    if "profile_picture_url" in data:
        profile["profile_picture_url"] = data["profile_picture_url"]
    return profile


def business_profile_update(*, number: WhatsAppPhoneNumber, fields: dict) -> WhatsAppPhoneNumber:
    """Send the changed profile fields to Meta, then keep Meta's answer in the mirror."""
    changes = {key: value for key, value in fields.items() if key in PROFILE_KEYS}
    if "profile_picture_handle" in fields:
        changes["profile_picture_handle"] = fields["profile_picture_handle"]
    if not changes:
        raise ValidationFailed(
            "Nothing to update.",
            details={"nonFieldErrors": [f"Give at least one of {', '.join(PROFILE_KEYS)}."]},
        )
    client = graph.waba_client(number.waba)
    graph.business_profile_update(client, number.phone_number_id, changes)
    try:
        profile = profile_from_meta(graph.business_profile_get(client, number.phone_number_id))
    except GraphError:  # the update went through; show what we sent rather than fail the request
        logger.warning("Could not re-read the business profile of %s after updating it", number.pk)
        profile = {**number.business_profile, **{k: v for k, v in changes.items() if k in PROFILE_KEYS}}
    number.business_profile = profile
    number.save(update_fields=["business_profile", "updated_at"])
    return number

"""WhatsApp's discovery step: the WABAs the token was granted (debug_token's granular
scopes name them), their phone numbers and each number's business profile. Registers with
botopia_meta.registry on import.

The WABA and number reads live here (discovery asks for fewer fields than the account screen);
the business profile is read by the account screen's own function, so both store the same shape."""

import logging
from typing import Any

from accounts.discovery import DiscoveryRun, meta_id, retire_missing, sync_rows, text
from accounts.models import MetaAccount
from botopia_meta.graph import GraphError, GraphTokenExpired
from botopia_meta.registry import register_discovery
from whatsapp.account.graph import business_profile_get
from whatsapp.account.services import profile_from_meta
from whatsapp.models import WhatsAppBusinessAccount, WhatsAppPhoneNumber

logger = logging.getLogger(__name__)

WABA_SCOPES = ("whatsapp_business_management", "whatsapp_business_messaging")
WABA_FIELDS = "id,name,currency,timezone_id,message_template_namespace,owner_business_info"
PHONE_FIELDS = (
    "id,display_phone_number,verified_name,quality_rating,messaging_limit_tier,throughput,"
    "code_verification_status,name_status,status"
)


def _waba_values(data: dict) -> dict[str, Any]:
    values = {
        "name": text(data.get("name"), 255),
        "currency": text(data.get("currency"), 8),
        "timezone_id": text(data.get("timezone_id"), 16),
        "message_template_namespace": text(data.get("message_template_namespace"), 128),
    }
    owner = data.get("owner_business_info")
    # The portfolio (messaging limits).
    if isinstance(owner, dict) and (business_id := meta_id(owner.get("id"))):
        values["business_id"] = business_id
    return values


def _phone_values(number: dict) -> dict[str, Any]:
    throughput = number.get("throughput")
    if not isinstance(throughput, dict):
        throughput = {}
    values = {
        "display_phone_number": text(number.get("display_phone_number"), 32),
        "verified_name": text(number.get("verified_name"), 255),
        "quality_rating": text(number.get("quality_rating"), 16) or "UNKNOWN",
        "messaging_limit_tier": text(number.get("messaging_limit_tier"), 32),
        "throughput_level": text(throughput.get("level"), 32),
        "code_verification_status": text(number.get("code_verification_status"), 32),
        "name_status": text(number.get("name_status"), 32),
    }
    if number.get("status"):
        values["status"] = text(number["status"], 32)
    return values


def _read_profiles(run: DiscoveryRun, numbers: dict[str, dict[str, dict]]) -> int:
    """Each number's business profile into its values (so the account screen is complete right
    after connecting). Optional: a number whose profile Meta refuses, or cannot answer after
    the client's retries, keeps the profile it has (refresh reads it again). → numbers unread."""
    unread = 0
    for values_by_number in numbers.values():
        for number_id, values in values_by_number.items():
            try:
                values["business_profile"] = profile_from_meta(business_profile_get(run.graph, number_id))
            except GraphTokenExpired:
                raise
            except GraphError as exc:
                unread += 1
                logger.warning(
                    "Discovery could not read the business profile of number %s: code=%s",
                    number_id,
                    exc.code,
                )
    return unread


def discover_whatsapp(account: MetaAccount, *, run: DiscoveryRun) -> dict[str, int]:
    wabas: dict[str, dict] = {}
    numbers: dict[str, dict[str, dict]] = {}
    unreadable: list[str] = []
    for waba_id in run.targets(*WABA_SCOPES):
        try:
            wabas[waba_id] = _waba_values(run.graph.get(waba_id, {"fields": WABA_FIELDS}).json_object)
            numbers[waba_id] = {
                number_id: _phone_values(n)
                for n in run.graph.iter_items(
                    f"{waba_id}/phone_numbers", {"fields": PHONE_FIELDS, "limit": 100}
                )
                if isinstance(n, dict) and (number_id := meta_id(n.get("id")))
            }
        except GraphError as exc:
            if not exc.permanent or isinstance(exc, GraphTokenExpired):
                raise
            # One WABA refusing a read is no proof it is gone: keep its rows as they are.
            wabas.pop(waba_id, None)
            unreadable.append(waba_id)
    profiles_unread = _read_profiles(run, numbers)
    rows = sync_rows(
        WhatsAppBusinessAccount, scope={"account": account}, key="waba_id", items=wabas, keep=unreadable
    )
    for waba_id, waba in rows.items():
        sync_rows(WhatsAppPhoneNumber, scope={"waba": waba}, key="phone_number_id", items=numbers[waba_id])
    # Numbers of a WABA the token lost go with it.
    retire_missing(
        WhatsAppPhoneNumber.all_objects.filter(waba__account=account),
        field="waba__waba_id",
        seen=[*wabas, *unreadable],
    )
    return {
        "whatsapp_business_accounts": len(wabas),
        "phone_numbers": sum(len(n) for n in numbers.values()),
        "business_profiles_unread": profiles_unread,
    }


register_discovery("whatsapp", discover_whatsapp)

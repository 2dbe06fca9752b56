"""WhatsApp's discovery step: the WABAs the token was granted (debug_token's granular
scopes name them) and their phone numbers. Registers with botopia_meta.registry on import.

The two reads live here rather than in whatsapp/graph.py so that discovery stands alone."""

from typing import Any

from accounts.discovery import DiscoveryRun, retire_missing, text, upsert
from accounts.models import MetaAccount
from botopia_meta.graph import GraphError, GraphTokenExpired
from botopia_meta.registry import register_discovery
from whatsapp.models import WhatsAppBusinessAccount, WhatsAppPhoneNumber

WABA_SCOPES = ("whatsapp_business_management", "whatsapp_business_messaging")
WABA_FIELDS = "id,name,currency,timezone_id,message_template_namespace"
PHONE_FIELDS = (
    "id,display_phone_number,verified_name,quality_rating,messaging_limit_tier,throughput,"
    "code_verification_status,name_status,status"
)


def _phone_defaults(number: dict) -> dict[str, Any]:
    throughput = number.get("throughput") if isinstance(number.get("throughput"), dict) else {}
    defaults = {
        "display_phone_number": text(number.get("display_phone_number"), 32),
        "verified_name": text(number.get("verified_name"), 255),
        "quality_rating": text(number.get("quality_rating"), 16) or "UNKNOWN",
        "messaging_limit_tier": text(number.get("messaging_limit_tier"), 32),
        "throughput_level": text(throughput.get("level"), 32),
        "code_verification_status": text(number.get("code_verification_status"), 32),
        "name_status": text(number.get("name_status"), 32),
    }
    if number.get("status"):
        defaults["status"] = text(number["status"], 32)
    return defaults


def discover_whatsapp(account: MetaAccount, *, run: DiscoveryRun) -> dict[str, int]:
    seen: list[str] = []
    phones = 0
    for waba_id in run.targets(*WABA_SCOPES):
        try:
            waba_data = run.graph.get(waba_id, {"fields": WABA_FIELDS}).data
            numbers = [
                n
                for n in run.graph.iter_items(
                    f"{waba_id}/phone_numbers", {"fields": PHONE_FIELDS, "limit": 100}
                )
                if isinstance(n, dict) and n.get("id")
            ]
        except GraphError as exc:
            if not exc.permanent or isinstance(exc, GraphTokenExpired):
                raise
            # One WABA refusing a read is no proof it is gone: keep its row as it is.
            seen.append(waba_id)
            continue
        waba, _ = upsert(
            WhatsAppBusinessAccount,
            lookup={"account": account, "waba_id": waba_id},
            defaults={
                "name": text(waba_data.get("name"), 255),
                "currency": text(waba_data.get("currency"), 8),
                "timezone_id": text(waba_data.get("timezone_id"), 16),
                "message_template_namespace": text(waba_data.get("message_template_namespace"), 128),
            },
        )
        seen.append(waba_id)
        for number in numbers:
            upsert(
                WhatsAppPhoneNumber,
                lookup={"waba": waba, "phone_number_id": str(number["id"])},
                defaults=_phone_defaults(number),
            )
        phones += len(numbers)
        retire_missing(
            WhatsAppPhoneNumber.all_objects.filter(waba=waba),
            field="phone_number_id",
            seen=[str(n["id"]) for n in numbers],
        )
    retire_missing(WhatsAppBusinessAccount.all_objects.filter(account=account), field="waba_id", seen=seen)
    # Numbers of a WABA the token lost go with it.
    retire_missing(
        WhatsAppPhoneNumber.all_objects.filter(waba__account=account), field="waba__waba_id", seen=seen
    )
    return {"whatsapp_business_accounts": len(seen), "phone_numbers": phones}


register_discovery("whatsapp", discover_whatsapp)

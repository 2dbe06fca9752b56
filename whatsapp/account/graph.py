"""WhatsApp Business Management calls for the account screen (WABA, numbers, business profile),
built on the shared transport. Templates: whatsapp/message_templates/graph.py; sends:
whatsapp/messages/graph.py."""

from accounts.tokens import graph_for
from botopia_meta.graph import GraphClient
from whatsapp.models import WhatsAppBusinessAccount

WABA_FIELDS = "id,name,currency,timezone_id,message_template_namespace,account_review_status"
PHONE_FIELDS = (
    "id,display_phone_number,verified_name,quality_rating,messaging_limit_tier,throughput,"
    "code_verification_status,name_status,platform_type,status"
)
PROFILE_FIELDS = "about,address,description,email,profile_picture_url,websites,vertical"


def waba_client(waba: WhatsAppBusinessAccount) -> GraphClient:
    """The client for Business Management calls on this WABA: its account's token, with the
    WABA as the target its circuit breaker and throttling are kept per."""
    return graph_for(waba.account, target=f"waba:{waba.waba_id}")


def waba_get(client: GraphClient, waba_id: str) -> dict:
    return client.get(waba_id, {"fields": WABA_FIELDS}).json_object


def phone_numbers_list(client: GraphClient, waba_id: str) -> list[dict]:
    return list(client.iter_items(f"{waba_id}/phone_numbers", {"fields": PHONE_FIELDS}))


def business_profile_get(client: GraphClient, phone_number_id: str) -> dict:
    data = client.get(f"{phone_number_id}/whatsapp_business_profile", {"fields": PROFILE_FIELDS}).json_object
    items = data.get("data") or [{}]
    return items[0] if isinstance(items[0], dict) else {}


def business_profile_update(client: GraphClient, phone_number_id: str, fields: dict) -> None:
    client.post(
        f"{phone_number_id}/whatsapp_business_profile", json={"messaging_product": "whatsapp", **fields}
    )

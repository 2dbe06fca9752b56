"""Rows the template and account tests start from: a connected account with a WABA, a number
and templates, as discovery would have stored them."""

from django.utils import timezone

from accounts.models import MetaAccount
from whatsapp.models import WhatsAppBusinessAccount, WhatsAppPhoneNumber, WhatsAppTemplate

WABA_ID = "310000000000001"  # the entry id of the fixtures in tests/fixtures/meta/
PHONE_ID = "106540352242922"
ALL_PERMISSIONS = ["whatsapp_business_management", "whatsapp_business_messaging", "business_management"]

BODY = {
    "type": "BODY",
    "text": "Hi {{1}}, order {{2}} is on its way.",
    "example": {"body_text": [["Ana", "A-17"]]},
}


def make_account(user, *, waba_id: str = WABA_ID, phone_id: str = PHONE_ID, permissions=None, **kwargs):
    account = MetaAccount.objects.create(
        user=user,
        meta_app_id="1234",
        meta_user_id=f"meta-{user.username}",
        access_token=f"EAAG-{user.username}-token-0123456789",
        permissions=ALL_PERMISSIONS if permissions is None else permissions,
        connected_at=timezone.now(),
        **kwargs,
    )
    waba = WhatsAppBusinessAccount.objects.create(
        account=account, waba_id=waba_id, name=f"{user.username} shop"
    )
    number = WhatsAppPhoneNumber.objects.create(
        waba=waba,
        phone_number_id=phone_id,
        display_phone_number="+1 555-000-1111",
        verified_name=f"{user.username} shop",
        quality_rating="GREEN",
        messaging_limit_tier="TIER_10K",
        business_profile={"about": "We sell things", "websites": ["https://shop.example"]},
    )
    return account, waba, number


def make_template(waba, *, name: str = "order_update", language: str = "es_MX", **kwargs) -> WhatsAppTemplate:
    values = {
        "template_id": kwargs.pop("template_id", "594425479261596"),
        "category": "UTILITY",
        "status": WhatsAppTemplate.Status.APPROVED,
        "components": [BODY],
        **kwargs,
    }
    return WhatsAppTemplate.objects.create(waba=waba, name=name, language=language, **values)

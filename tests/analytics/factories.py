"""Connected accounts for the analytics tests (rows as the accounts/whatsapp apps store them)."""

from datetime import timedelta

from django.utils import timezone

from accounts.models import MetaAccount
from whatsapp.models import WhatsAppBusinessAccount, WhatsAppPhoneNumber


def connected_account(
    user, *, meta_user_id: str = "1000", waba_id: str = "", phone_number_id: str = ""
) -> MetaAccount:
    account = MetaAccount.objects.create(
        user=user,
        meta_app_id="111111111111111",
        meta_user_id=meta_user_id,
        meta_user_name=f"{user.username} business",
        access_token=f"EAAG-{user.username}-token-abcdef",
        token_expiry=timezone.now() + timedelta(days=50),
        permissions=["whatsapp_business_management", "whatsapp_business_messaging", "read_insights"],
        connected_at=timezone.now(),
    )
    if waba_id:
        waba = WhatsAppBusinessAccount.objects.create(account=account, waba_id=waba_id, name="Main WABA")
        if phone_number_id:
            WhatsAppPhoneNumber.objects.create(
                waba=waba,
                phone_number_id=phone_number_id,
                display_phone_number="+1 555-0100",
                quality_rating="GREEN",
                messaging_limit_tier="TIER_1K",
            )
    return account

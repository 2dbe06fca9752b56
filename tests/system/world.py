"""Run by the system test with `manage.py shell` against its own database: creates one user
with a connected Meta account, a WABA, a phone number and an approved template, and prints
their ids as JSON. Nothing here runs under pytest."""

import json
import sys

from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts.models import MetaAccount
from whatsapp.models import WhatsAppBusinessAccount, WhatsAppPhoneNumber, WhatsAppTemplate

WABA_ID = "310000000000077"
PHONE_NUMBER_ID = "320000000000077"
TEMPLATE = "order_update"

user = get_user_model().objects.create_user(username="system-test", password="system-test-password-1")
account = MetaAccount.objects.create(
    user=user,
    meta_app_id="111111111111111",
    meta_user_id="system-test-user",
    access_token="EAAG-system-test-token-0123456789",
    permissions=["whatsapp_business_messaging", "whatsapp_business_management"],
    connected_at=timezone.now(),
)
waba = WhatsAppBusinessAccount.objects.create(account=account, waba_id=WABA_ID)
WhatsAppPhoneNumber.objects.create(
    waba=waba, phone_number_id=PHONE_NUMBER_ID, display_phone_number="15550007777", max_send_rate=1000
)
WhatsAppTemplate.objects.create(
    waba=waba,
    name=TEMPLATE,
    language="en_US",
    category="UTILITY",
    status="APPROVED",
    components=[{"type": "BODY", "text": "Hi {{1}}, order {{2}} ships today."}],
)
token, _ = Token.objects.get_or_create(user=user)
sys.stdout.write(
    json.dumps(
        {
            "token": token.key,
            "account_id": str(account.pk),
            "waba_id": WABA_ID,
            "phone_number_id": PHONE_NUMBER_ID,
            "template": TEMPLATE,
        }
    )
    + "\n"
)

"""The sandbox's demo business and its documented rules. Every Meta id is a string of digits,
as Meta's are (the product refuses anything else).

Rules (also in README, "Try it in 2 minutes"):
- OAuth: any code is accepted, except codes starting with `bad` (Meta's "invalid code" error)
  and codes starting with `used` (Meta's "code has been used").
- Templates: a new template is PENDING, then after SANDBOX_REVIEW_DELAY_MS REJECTED when its
  name contains `reject`, APPROVED otherwise (with a status webhook either way).
- Messages: each send gets a wamid, then status webhooks sent → delivered → read, one every
  SANDBOX_STATUS_DELAY_MS; to a number ending in `000` it is sent → failed (131026) instead.
  A number ending in `7` also replies ("inbound message") after reading.
"""

BUSINESS_ID = "900000000000001"
BUSINESS_NAME = "Botopia Demo Café"
USER_ID = "900000000000010"
USER_NAME = "Demo Owner"
WABA_ID = "900000000000101"
PAGE_ID = "900000000000301"
PAGE_NAME = "Botopia Demo Café"
IG_ID = "900000000000401"
IG_USERNAME = "botopia.demo"

WABA = {
    "id": WABA_ID,
    "name": BUSINESS_NAME,
    "currency": "USD",
    "timezone_id": "1",
    "message_template_namespace": "b0f1a2c3_d4e5_4f60_8a7b_9c0d1e2f3a4b",
    "account_review_status": "APPROVED",
}
PHONE_NUMBERS = {
    "900000000000201": {
        "id": "900000000000201",
        "display_phone_number": "+1 555-010-0001",
        "verified_name": BUSINESS_NAME,
        "quality_rating": "GREEN",
        "messaging_limit_tier": "TIER_1K",
        "throughput": {"level": "STANDARD"},
        "code_verification_status": "VERIFIED",
        "name_status": "APPROVED",
        "platform_type": "CLOUD_API",
        "status": "CONNECTED",
    },
    "900000000000202": {
        "id": "900000000000202",
        "display_phone_number": "+1 555-010-0002",
        "verified_name": f"{BUSINESS_NAME} Support",
        "quality_rating": "GREEN",
        "messaging_limit_tier": "TIER_250",
        "throughput": {"level": "STANDARD"},
        "code_verification_status": "VERIFIED",
        "name_status": "APPROVED",
        "platform_type": "CLOUD_API",
        "status": "CONNECTED",
    },
}
PROFILE = {
    "about": "Coffee, cake and WhatsApp orders.",
    "address": "1 Demo Street, Springfield",
    "description": "The Botopia sandbox's demo business.",
    "email": "hello@demo.botopia.invalid",
    "profile_picture_url": "https://demo.botopia.invalid/logo.png",
    "websites": ["https://demo.botopia.invalid/"],
    "vertical": "RESTAURANT",
    "messaging_product": "whatsapp",
}
PAGE = {
    "id": PAGE_ID,
    "name": PAGE_NAME,
    "category": "Coffee Shop",
    "tasks": ["ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MESSAGING", "MODERATE", "MANAGE"],
    "picture": {"data": {"url": "https://demo.botopia.invalid/page.png"}},
    "instagram_business_account": {"id": IG_ID},
}
IG_ACCOUNT = {
    "id": IG_ID,
    "username": IG_USERNAME,
    "name": BUSINESS_NAME,
    "profile_picture_url": "https://demo.botopia.invalid/ig.png",
    "followers_count": 1280,
}

PERMISSIONS = [
    "business_management",
    "whatsapp_business_management",
    "whatsapp_business_messaging",
    "pages_show_list",
    "pages_read_engagement",
    "pages_manage_posts",
    "pages_manage_metadata",
    "pages_manage_engagement",
    "pages_messaging",
    "read_insights",
    "instagram_basic",
    "instagram_content_publish",
    "instagram_manage_comments",
    "instagram_manage_messages",
    "instagram_manage_insights",
]
_TARGETS = {"business": [BUSINESS_ID], "whatsapp": [WABA_ID], "pages": [PAGE_ID], "instagram": [IG_ID]}
GRANULAR_SCOPES = [
    {"scope": scope, "target_ids": _TARGETS[scope.split("_")[0] if scope != "read_insights" else "pages"]}
    for scope in PERMISSIONS
]

# Approved templates the demo WABA starts with (created on first use).
SEED_TEMPLATES = [
    {
        "name": "order_update",
        "language": "en_US",
        "category": "UTILITY",
        "components": [
            {
                "type": "BODY",
                "text": "Hi {{1}}, your order {{2}} is on its way.",
                "example": {"body_text": [["Ana", "#1042"]]},
            },
            {"type": "FOOTER", "text": "Botopia Demo Café"},
        ],
    },
    {
        "name": "welcome",
        "language": "en_US",
        "category": "MARKETING",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Welcome!"},
            {"type": "BODY", "text": "Thanks for following us. Show this message for a free cookie."},
        ],
    },
]

BAD_CODE_PREFIX = "bad"
USED_CODE_PREFIX = "used"
REJECT_MARKER = "reject"
FAILING_SUFFIX = "000"
REPLYING_SUFFIX = "7"
REPLY_TEXT = "Thanks, got it! 👍"

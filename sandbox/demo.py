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
- Facebook and Instagram: a published post or IG media gets comments from simulated people
  over the next few status delays (one of them a reply to another), and a DM a little later;
  an IG caption containing one of MENTION_WORDS also gets the account mentioned elsewhere.
  Every SANDBOX_DM_EVERY_SECONDS the page or the IG account receives a DM from someone.
"""

from typing import TypedDict

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


class SeedTemplate(TypedDict):
    name: str
    language: str
    category: str
    components: list[dict[str, object]]


# Approved templates the demo WABA starts with (created on first use).
SEED_TEMPLATES: list[SeedTemplate] = [
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

# Simulated people on Facebook and Instagram. Meta gives each one a page-scoped id (PSID, for
# Messenger), an Instagram-scoped id (IGSID, for IG DMs) and an Instagram user id (comments).
PEOPLE = [
    {"psid": "900000000001001", "igsid": "900000000002001", "ig_user_id": "900000000003001",
     "first_name": "Ana", "last_name": "Pérez", "username": "ana.perez"},
    {"psid": "900000000001002", "igsid": "900000000002002", "ig_user_id": "900000000003002",
     "first_name": "Bruno", "last_name": "Díaz", "username": "brunodiaz"},
    {"psid": "900000000001003", "igsid": "900000000002003", "ig_user_id": "900000000003003",
     "first_name": "Chloé", "last_name": "Martin", "username": "chloe.m"},
    {"psid": "900000000001004", "igsid": "900000000002004", "ig_user_id": "900000000003004",
     "first_name": "Emeka", "last_name": "Obi", "username": "emeka_obi"},
    {"psid": "900000000001005", "igsid": "900000000002005", "ig_user_id": "900000000003005",
     "first_name": "Grace", "last_name": "Lee", "username": "gracelee.eats"},
]  # fmt: skip
COMMENT_TEXTS = [
    "Looks delicious! 😍",
    "Are you open on Sunday?",
    "How much is it?",
    "¿Tienen opción sin gluten?",
    "Saving this for the weekend ☕",
    "Can I order for pick-up?",
]
REPLY_TEXTS = ["Same question here!", "They are, I went last week 🙌", "+1, want to know too"]
DM_TEXTS = [
    "Hi! Do you take reservations?",
    "Is the cake from your last post still available?",
    "Hola, ¿hacen envíos a domicilio? 🚚",
    "What time do you close today?",
    "Can I book a table for 4 tonight?",
]
# An IG caption with one of these words gets the account mentioned in someone else's comment.
MENTION_WORDS = ("giveaway", "contest", "tag")
MENTION_TEXT = f"@{IG_USERNAME} best flat white in town ☕"
COMMENTS_PER_PUBLISH = 3  # the last one a reply to the first

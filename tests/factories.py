"""Rows the tests start from, as connecting and discovery would have stored them: users (each
the owner of a personal organization, their default), organizations and members, a Meta
account, a WABA with its number and templates, a Facebook page, an Instagram account.

One set of defaults for the whole suite; a test passes only the fields it is about. The
default ids are the ones Meta's bodies under tests/fixtures/meta/ carry, so a fixture
replayed against these rows finds them."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import MetaAccount
from facebook.models import FacebookPage
from instagram.models import InstagramAccount
from orgs.models import Membership, Organization, Role
from whatsapp.models import Message, WhatsAppBusinessAccount, WhatsAppPhoneNumber, WhatsAppTemplate

WABA_ID = "310000000000001"
PHONE_ID = "320000000000001"
PAGE_ID = "330000000000001"
PAGE_TOKEN = "EAAGpage-token-alice-0001"
IG_ID = "17841400000000002"

PERMISSIONS = [
    "whatsapp_business_management",
    "whatsapp_business_messaging",
    "business_management",
    "pages_show_list",
    "pages_read_engagement",
    "pages_manage_metadata",
    "pages_manage_posts",
    "pages_manage_engagement",
    "pages_messaging",
    "pages_read_user_content",
    "read_insights",
    "instagram_basic",
    "instagram_content_publish",
    "instagram_manage_comments",
    "instagram_manage_messages",
    "instagram_manage_insights",
]
WHATSAPP_PERMISSIONS = ["whatsapp_business_management", "whatsapp_business_messaging", "business_management"]

# The cast's Meta user ids: two Botopia users on one Meta user share its grant (disconnecting
# one must not revoke the other), so each user is a different Meta user unless a test says so.
CAST_META_USER_IDS = {"alice": "10001", "bob": "20002", "charlie": "30003"}

# A template body with the example Meta requires for its variables.
BODY = {
    "type": "BODY",
    "text": "Hi {{1}}, order {{2}} is on its way.",
    "example": {"body_text": [["Ana", "A-17"]]},
}


def make_user(username: str, *, organization: bool = True):
    """A user; with `organization`, the owner of a personal organization (their default), as
    the migration made for every user who existed before organizations."""
    user = get_user_model().objects.create_user(username=username, password=f"{username}-password-123")
    if organization:
        make_org(f"{username}'s business", owner=user)
    return user


def make_org(name: str = "Acme", *, owner=None, **fields) -> Organization:
    """An organization; with `owner`, that user is its owner (their default if they have none)."""
    org = Organization.objects.create(name=name, **fields)
    if owner is not None:
        add_member(org, owner, Role.OWNER)
    return org


def add_member(org: Organization, user, role: str = Role.AGENT, *, default: bool | None = None) -> Membership:
    """`user` joins `org` as `role`; it becomes their default when they have none (or `default`)."""
    if default is None:
        default = not Membership.objects.filter(user=user, is_default=True).exists()
    elif default:
        Membership.objects.filter(user=user, is_default=True).update(is_default=False)
    return Membership.objects.create(user=user, organization=org, role=role, is_default=default)


def default_org(user) -> Organization:
    return Membership.objects.select_related("organization").get(user=user, is_default=True).organization


def make_account(user, **fields) -> MetaAccount:
    """A connected, validated account holding every permission we ask for, in `user`'s default
    organization (or `organization=`), connected by `user`."""
    now = timezone.now()
    values = {
        "meta_app_id": settings.META_APP_ID,
        "meta_user_id": CAST_META_USER_IDS.get(user.username, f"meta-{user.username}"),
        "meta_user_name": f"{user.username} at Meta",
        "access_token": f"EAAG-{user.username}-token-0123456789",
        "token_expiry": now + timedelta(days=50),
        "permissions": list(PERMISSIONS),
        "connected_at": now,
        "last_validated_at": now,
        **fields,
    }
    if "organization" not in values:
        values["organization"] = default_org(user)
    return MetaAccount.objects.create(connected_by=user, **values)


def make_waba(account: MetaAccount, *, waba_id: str = WABA_ID, **fields) -> WhatsAppBusinessAccount:
    owner = account.connected_by.username if account.connected_by else account.organization.name
    values = {"name": f"{owner} shop", **fields}
    return WhatsAppBusinessAccount.objects.create(account=account, waba_id=waba_id, **values)


def make_number(waba: WhatsAppBusinessAccount, *, phone_id: str = PHONE_ID, **fields) -> WhatsAppPhoneNumber:
    values = {
        "display_phone_number": "+1 555-000-1111",  # the fixtures' display number, as we store it
        "verified_name": waba.name,
        "quality_rating": "GREEN",
        "messaging_limit_tier": "TIER_10K",
        **fields,
    }
    return WhatsAppPhoneNumber.objects.create(waba=waba, phone_number_id=phone_id, **values)


def make_whatsapp_account(
    user, *, waba_id: str = WABA_ID, phone_id: str = PHONE_ID, **account_fields
) -> tuple[MetaAccount, WhatsAppBusinessAccount, WhatsAppPhoneNumber]:
    """An account with one WABA and one number: (account, waba, number)."""
    account = make_account(user, **{"permissions": list(WHATSAPP_PERMISSIONS), **account_fields})
    waba = make_waba(account, waba_id=waba_id)
    number = make_number(
        waba,
        phone_id=phone_id,
        business_profile={"about": "We sell things", "websites": ["https://shop.example"]},
    )
    return account, waba, number


def make_template_messages(
    number: WhatsAppPhoneNumber, count: int, *, prefix: str, status: str
) -> list[Message]:
    """`count` outbound template messages of `number` with wamids `wamid.<prefix><n>`, stored
    in one INSERT (the status webhooks' tests)."""
    return Message.objects.bulk_create(
        Message(
            direction="outbound",
            phone_number=number,
            contact_wa_id=f"52155{i:08d}",
            type="template",
            template_name="order_update",
            wamid=f"wamid.{prefix}{i:06d}",
            status=status,
        )
        for i in range(count)
    )


def make_template(
    waba: WhatsAppBusinessAccount, *, name: str = "order_update", language: str = "es_MX", **fields
) -> WhatsAppTemplate:
    values = {
        "template_id": "594425479261596",
        "category": WhatsAppTemplate.Category.UTILITY,
        "status": WhatsAppTemplate.Status.APPROVED,
        "components": [BODY],
        **fields,
    }
    return WhatsAppTemplate.objects.create(waba=waba, name=name, language=language, **values)


def make_page(
    account: MetaAccount,
    *,
    page_id: str = PAGE_ID,
    token: str = PAGE_TOKEN,
    status: str = FacebookPage.Status.AVAILABLE,
    **fields,
) -> FacebookPage:
    values = {
        "name": "Zapatería Sofía",
        "category": "Shoe Store",
        "picture_url": "https://scontent.example/p.jpg",
        **fields,
    }
    return FacebookPage.objects.create(
        account=account, page_id=page_id, access_token=token, status=status, **values
    )


def make_ig_account(
    account: MetaAccount,
    *,
    ig_id: str = IG_ID,
    status: str = InstagramAccount.Status.AVAILABLE,
    page: bool = True,
    **fields,
) -> InstagramAccount:
    """An Instagram account; with `page`, also the Facebook page it is linked through."""
    page_id = fields.pop("page_id", PAGE_ID)
    if page:
        FacebookPage.objects.get_or_create(
            account=account, page_id=page_id, defaults={"name": "Zapatería Sofía", "access_token": PAGE_TOKEN}
        )
    values = {
        "username": "zapateria.sofia",
        "profile_picture": "https://scontent.example/ig.jpg",
        **fields,
    }
    return InstagramAccount.objects.create(
        account=account, ig_account_id=ig_id, page_id=page_id, status=status, **values
    )

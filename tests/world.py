"""An organization with everything connected (by default the user's personal one), built with
the ORM: a Meta account with a WABA, numbers, templates, contacts, messages and a broadcast;
pages with posts, comments and conversations; Instagram accounts with publishes, comments and
conversations; notifications, a webhook config and analytics settings. Each world gets its own
Meta ids (`base` keeps them apart).

Used by the schema fuzzing, the ownership matrix and the secrets test, with `fake_graph` answering
Meta; `build_system_world` is the smaller one the multi-process system test starts from."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts.models import MetaAccount, Notification
from analytics.models import AnalyticsSettings
from facebook import models as fb
from instagram import models as ig
from orgs.models import Organization
from tests.factories import (
    PERMISSIONS,
    make_account,
    make_ig_account,
    make_number,
    make_page,
    make_template,
    make_user,
    make_waba,
)
from webhooks.models import WebhookConfig
from whatsapp.messages.conversations import conversation_note
from whatsapp.models import (
    Broadcast,
    Contact,
    Message,
    WhatsAppBusinessAccount,
    WhatsAppMedia,
    WhatsAppPhoneNumber,
    WhatsAppTemplate,
)

__all__ = ["PERMISSIONS", "World", "build_system_world", "build_world"]

SYSTEM_WABA_ID = "310000000000077"
SYSTEM_PHONE_NUMBER_ID = "320000000000077"


@dataclass
class World:
    """What one organization owns, by attribute (model instances) and the ids the API takes."""

    org: Organization
    account: MetaAccount
    waba: WhatsAppBusinessAccount
    phone: WhatsAppPhoneNumber
    template: WhatsAppTemplate
    contact: Contact
    inbound: Message
    outbound: Message
    broadcast: Broadcast
    media: WhatsAppMedia
    page: fb.FacebookPage
    post: fb.Post
    fb_comment: fb.Comment
    fb_conversation: fb.Conversation
    ig_account: ig.InstagramAccount
    publish: ig.MediaPublish
    ig_comment: ig.Comment
    ig_conversation: ig.Conversation
    notification: Notification
    webhook_config: WebhookConfig
    secrets: list[str] = field(default_factory=list)


def build_world(user, base: int, *, organization: Organization | None = None) -> World:
    """`base` (1..9) prefixes every Meta id so two worlds' ids never collide. The account is in
    `organization` (default: the user's default one), connected by `user`."""
    now = timezone.now()
    b = str(base)
    token = f"EAAGworld{b}UserToken0123456789abcdef"
    page_token = f"EAAGworld{b}PageToken0123456789abcdef"
    account = make_account(
        user,
        meta_user_id=f"{b}0001",
        access_token=token,
        **({"organization": organization} if organization is not None else {}),
        granular_scopes=[{"scope": p, "target_ids": [f"{b}2001", f"{b}4001"]} for p in PERMISSIONS],
    )
    waba = make_waba(
        account, waba_id=f"{b}2001", name=f"{user.username} store", currency="USD", subscribed=True
    )
    phone = make_number(
        waba, phone_id=f"{b}3001", display_phone_number=f"+1 555-01{b}-0001", messaging_limit_tier="TIER_1K"
    )
    template = make_template(
        waba,
        template_id=f"{b}6001",
        language="en_US",
        components=[{"type": "BODY", "text": "Your order {{1}} is on its way."}],
    )
    contact = Contact.objects.create(
        phone_number=phone, wa_id=f"57300{b}000001", name="Customer", last_inbound_at=now
    )
    inbound = Message.objects.create(
        direction=Message.Direction.INBOUND,
        phone_number=phone,
        contact_wa_id=contact.wa_id,
        type="text",
        content={"body": "hola"},
        wamid=f"wamid.HBgM{b}inbound0001",
        status=Message.Status.RECEIVED,
    )
    broadcast = Broadcast.objects.create(
        phone_number=phone,
        template=template,
        template_name=template.name,
        template_language=template.language,
        status=Broadcast.Status.QUEUED,
        total=1,
    )
    outbound = Message.objects.create(
        direction=Message.Direction.OUTBOUND,
        phone_number=phone,
        contact_wa_id=contact.wa_id,
        type="template",
        content={"name": template.name},
        wamid=f"wamid.HBgM{b}outbound001",
        status=Message.Status.SENT,
        sent_at=now,
        template=template,
        template_name=template.name,
        template_language=template.language,
        broadcast=broadcast,
        user_id=user.pk,
    )
    for message in (inbound, outbound):  # as the webhook intake and the send path do
        conversation_note(message=message)
    contact.refresh_from_db()
    media = WhatsAppMedia.objects.create(
        phone_number=phone, media_id=f"{b}8001", kind="image", mime_type="image/png", size=8, status="stored"
    )
    media.file.save(f"world/{media.pk}.png", ContentFile(b"\x89PNG\r\n\x1a\n"))
    page = make_page(
        account,
        page_id=f"{b}4001",
        token=page_token,
        status=fb.FacebookPage.Status.CONNECTED,
        name=f"{user.username} page",
        category="Coffee shop",
        tasks=["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"],
    )
    post = fb.Post.objects.create(
        page=page,
        message="Soon",
        status=fb.Post.Status.SCHEDULED,
        post_id=f"{b}4001_7001",
        scheduled_publish_time=now + timedelta(days=2),
    )
    fb_comment = fb.Comment.objects.create(
        page=page,
        comment_id=f"{b}4001_7001_8001",
        parent_id=f"{b}4001_7001",
        post_id=f"{b}4001_7001",
        author_id=f"{b}9001",
        author_name="Fan",
        message="Nice",
        created_time=now,
    )
    fb_conversation = fb.Conversation.objects.create(
        page=page, contact_id=f"{b}9101", contact_name="Fan", last_message_at=now, last_inbound_at=now
    )
    fb.ConversationMessage.objects.create(
        conversation=fb_conversation,
        mid=f"m_{b}0001",
        direction="inbound",
        text="hi",
        status="received",
        sent_at=now,
    )
    ig_account = make_ig_account(
        account,
        ig_id=f"{b}5001",
        page=False,
        page_id=page.page_id,
        username=f"{user.username}.ig",
        status=ig.InstagramAccount.Status.CONNECTED,
    )
    publish = ig.MediaPublish.objects.create(
        ig_account=ig_account,
        media_type=ig.MediaPublish.MediaType.IMAGE,
        media_urls=["https://cdn.example.com/a.jpg"],
        status=ig.MediaPublish.Status.SCHEDULED,
        scheduled_publish_time=now + timedelta(days=2),
    )
    ig_comment = ig.Comment.objects.create(
        ig_account=ig_account,
        comment_id=f"{b}1780001",
        parent_id=f"{b}1790001",
        media_id=f"{b}1790001",
        author_name="fan.ig",
        message="wow",
        created_time=now,
    )
    ig_conversation = ig.Conversation.objects.create(
        ig_account=ig_account, contact_id=f"{b}9201", last_message_at=now, last_inbound_at=now
    )
    ig.ConversationMessage.objects.create(
        conversation=ig_conversation,
        mid=f"ig_m_{b}0001",
        direction="inbound",
        text="hey",
        status="received",
        sent_at=now,
    )
    notification = Notification.objects.create(account=account, kind="template_approved", title="Approved")
    verify = f"world-{b}-verify-token-abcdef"
    webhook_config = WebhookConfig.objects.create(
        account=account,
        verify_token=verify,
        fields={"whatsapp_business_account": ["messages"]},
        target_url=f"{settings.PUBLIC_BASE_URL}/api/meta/webhook/events",
        status=WebhookConfig.Status.ACTIVE,
    )
    AnalyticsSettings.objects.create(account=account, timezone="UTC")
    return World(
        org=account.organization,
        account=account,
        waba=waba,
        phone=phone,
        template=template,
        contact=contact,
        inbound=inbound,
        outbound=outbound,
        broadcast=broadcast,
        media=media,
        page=page,
        post=post,
        fb_comment=fb_comment,
        fb_conversation=fb_conversation,
        ig_account=ig_account,
        publish=publish,
        ig_comment=ig_comment,
        ig_conversation=ig_conversation,
        notification=notification,
        webhook_config=webhook_config,
        secrets=[token, page_token, verify],
    )


def build_system_world() -> dict:
    """The system test's world, built by `manage.py shell` in its own database: one user with a
    connected account, a WABA, a number that may send 1000/s and an approved template. Returns
    what the test calls the API with (printed as JSON by the caller)."""
    user = make_user("system-test")
    account = make_account(
        user,
        meta_app_id="111111111111111",
        meta_user_id="system-test-user",
        access_token="EAAG-system-test-token-0123456789",
        token_expiry=None,
        permissions=["whatsapp_business_messaging", "whatsapp_business_management"],
    )
    waba = make_waba(account, waba_id=SYSTEM_WABA_ID)
    make_number(waba, phone_id=SYSTEM_PHONE_NUMBER_ID, display_phone_number="15550007777", max_send_rate=1000)
    template = make_template(
        waba,
        template_id="",
        language="en_US",
        components=[{"type": "BODY", "text": "Hi {{1}}, order {{2}} ships today."}],
    )
    token, _ = Token.objects.get_or_create(user=user)
    return {
        "token": token.key,
        "account_id": str(account.pk),
        "waba_id": SYSTEM_WABA_ID,
        "phone_number_id": SYSTEM_PHONE_NUMBER_ID,
        "template": template.name,
    }

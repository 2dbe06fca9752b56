"""Meta's real webhook bodies, signed and replayed through the real URL and the real worker
into the real platform handlers: each one changes what a business would see, once."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Notification
from analytics.models import DailyMetric
from facebook.models import Comment as PageComment
from facebook.models import Conversation as PageConversation
from facebook.models import FacebookPage, Post
from instagram.models import Comment as IgComment
from instagram.models import Conversation as IgConversation
from instagram.models import InstagramAccount
from tests.conftest import load_payload
from tests.factories import make_account
from tests.webhooks.conftest import deliver
from webhooks.models import WebhookEvent
from whatsapp.models import WhatsAppBusinessAccount, WhatsAppPhoneNumber, WhatsAppTemplate

WABA_ID, PHONE_ID, PAGE_ID, IG_ID = (
    "310000000000001",
    "320000000000001",
    "330000000000001",
    "17841400000000002",
)


@pytest.fixture
def business(alice):
    """Alice's business, with the made-up ids the fixture bodies carry."""
    account = make_account(
        alice,
        permissions=[
            "whatsapp_business_management",
            "whatsapp_business_messaging",
            "pages_manage_engagement",
            "pages_messaging",
            "instagram_manage_comments",
            "instagram_manage_messages",
        ],
    )
    waba = WhatsAppBusinessAccount.objects.create(account=account, waba_id=WABA_ID, name="Zapatería Sofía")
    WhatsAppPhoneNumber.objects.create(
        waba=waba,
        phone_number_id=PHONE_ID,
        display_phone_number="15550001111",
        quality_rating="GREEN",
        messaging_limit_tier="TIER_10K",
    )
    for template_id, name in (("594425479261596", "order_update"), ("594425479261597", "black_friday")):
        WhatsAppTemplate.objects.create(
            waba=waba,
            template_id=template_id,
            name=name,
            language="es_MX",
            category="UTILITY",
            status="PENDING",
            components=[{"type": "BODY", "text": "Hola"}],
        )
    FacebookPage.objects.create(
        account=account,
        page_id=PAGE_ID,
        name="Zapatería Sofía",
        access_token="EAAGpage-token-0123456789",
        status=FacebookPage.Status.CONNECTED,
    )
    InstagramAccount.objects.create(
        account=account,
        ig_account_id=IG_ID,
        page_id=PAGE_ID,
        username="zapateria.sofia",
        status=InstagramAccount.Status.CONNECTED,
    )
    return account


def replay(name: str, worker, *, times: int = 1) -> WebhookEvent:
    for _ in range(times):
        assert deliver(Client(), load_payload(name)).status_code == 200
        worker.drain()
    event = WebhookEvent.objects.get()
    assert event.status == "processed", event.item_results
    return event


def test_template_approved_updates_the_mirror_and_notifies_once(business, worker, meta):
    replay("message_template_status_update__approved", worker, times=2)
    assert WhatsAppTemplate.objects.get(name="order_update").status == "APPROVED"
    assert Notification.objects.filter(account=business, kind__icontains="approved").count() == 1


def test_template_rejected_keeps_metas_reason(business, worker, meta):
    replay("message_template_status_update__rejected", worker)
    template = WhatsAppTemplate.objects.get(name="black_friday")
    assert template.status == "REJECTED"
    assert "INVALID_FORMAT" in template.rejected_reason
    notice = Notification.objects.get(account=business, kind__icontains="rejected")
    assert notice.severity in ("warning", "critical")


def test_template_quality_red_is_recorded(business, worker, meta):
    replay("message_template_quality_update__red", worker, times=2)
    template = WhatsAppTemplate.objects.get(name="order_update")
    assert template.quality_score == "RED"
    notice = Notification.objects.get(account=business)  # one, though Meta sent it twice
    assert notice.kind == "template_quality_changed" and notice.severity == "critical"
    assert notice.title == "Template order_update (es_MX) quality: RED" and notice.body == "Was GREEN."
    assert (notice.related_type, notice.related_id) == ("whatsapp_template", str(template.pk))


def test_phone_number_downgrade_updates_the_limit_and_warns(business, worker, meta):
    replay("phone_number_quality_update__downgrade", worker, times=2)
    number = WhatsAppPhoneNumber.objects.get(phone_number_id=PHONE_ID)
    assert number.messaging_limit_tier == "TIER_1K"
    notice = Notification.objects.get(account=business)  # one, though Meta sent it twice
    assert notice.kind == "phone_number_quality_changed" and notice.severity == "critical"
    assert notice.title == "15550001111: messaging limit downgrade to TIER_1K"
    assert notice.body == "Was TIER_10K."
    assert (notice.related_type, notice.related_id) == ("whatsapp_phone_number", str(number.pk))


def test_page_comment_lands_in_the_inbox_once(business, worker, meta):
    replay("page_feed__comment_add", worker, times=2)
    comment = PageComment.objects.get()
    assert comment.comment_id == "122100000000000001_1500000000000001"
    assert comment.message == "¿Precio de los zapatos rojos?"
    assert comment.author_name == "Laura Gómez"


def test_page_post_add_is_applied(business, worker, meta):
    # The page's own post going live: the one we scheduled is now published, and counted once.
    page = FacebookPage.objects.get(page_id=PAGE_ID)
    post = Post.objects.create(
        page=page,
        post_id="330000000000001_122100000000000002",
        message="Nueva colección de invierno",
        status=Post.Status.SCHEDULED,
        scheduled_publish_time=timezone.now() + timedelta(minutes=5),
    )
    replay("page_feed__post_add", worker, times=2)
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED
    published = DailyMetric.objects.filter(account=business, metric="posts_published", asset_id=PAGE_ID)
    assert [(m.platform, m.count) for m in published] == [("facebook", 1)]


def test_messenger_message_opens_a_conversation_once(business, worker, meta):
    meta.get(
        "https://graph.facebook.com/v26.0/8800000000000001",
        json={"id": "8800000000000001", "name": "Pedro Ruiz"},
    )
    replay("page_messaging__message", worker, times=2)
    conversation = PageConversation.objects.get()
    assert conversation.contact_id == "8800000000000001"
    assert [m.text for m in conversation.messages.all()] == ["¿Abren el domingo?"]


def test_instagram_comment_lands_in_the_inbox_once(business, worker, meta):
    replay("instagram_comments__add", worker, times=2)
    comment = IgComment.objects.get()
    assert comment.comment_id == "17860000000000001"
    assert comment.message == "Me encanta 😍 ¿hay talla 38?"


def test_instagram_dm_opens_a_conversation_once(business, worker, meta):
    meta.get(
        "https://graph.facebook.com/v26.0/990000000000001",
        json={"id": "990000000000001", "name": "Laura", "username": "laura.g"},
    )
    replay("instagram_messaging__message", worker, times=2)
    conversation = IgConversation.objects.get()
    assert [m.text for m in conversation.messages.all()] == ["Hola, ¿hacen envíos?"]


def test_an_event_for_another_business_touches_nothing(alice, bob, worker, meta):
    # Bob's business is connected, but not the page in the body: nothing lands anywhere.
    make_account(bob)
    assert deliver(Client(), load_payload("page_feed__comment_add")).status_code == 200
    worker.drain()
    assert WebhookEvent.objects.get().status == "ignored"
    assert not PageComment.objects.exists()

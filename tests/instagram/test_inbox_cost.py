"""The merged inbox costs a fixed number of queries, however many rows and platforms."""

import pytest
from django.utils import timezone

from facebook.models import Comment as FacebookComment
from facebook.models import Conversation as FacebookConversation
from instagram.models import Comment as InstagramComment
from instagram.models import Conversation as InstagramConversation
from tests.factories import make_ig_account, make_number, make_waba
from whatsapp.models import Contact, Message

pytestmark = pytest.mark.django_db


def fill(ig, n: int) -> None:
    page = ig.account.facebook_pages.get()
    now = timezone.now()
    FacebookComment.objects.bulk_create(
        FacebookComment(page=page, comment_id=f"f{i}", created_time=now, message="x") for i in range(n)
    )
    InstagramComment.objects.bulk_create(
        InstagramComment(ig_account=ig, comment_id=f"i{i}", created_time=now, message="x") for i in range(n)
    )
    for i in range(n):
        FacebookConversation.objects.create(
            page=page, contact_id=f"p{i}", last_message_at=now
        ).messages.create(direction="inbound", text="hola", status="received", sent_at=now, mid=f"m{i}")
        InstagramConversation.objects.create(ig_account=ig, contact_id=f"s{i}", last_message_at=now)
    number = make_number(make_waba(ig.account))
    messages = Message.objects.bulk_create(
        Message(
            direction="inbound",
            phone_number=number,
            contact_wa_id=f"5730000{i:05}",
            type="text",
            content={"body": "hola"},
            wamid=f"wamid.{i}",
            status="received",
        )
        for i in range(n)
    )
    # Each contact with its conversation's state, as the webhook intake stores it.
    Contact.objects.bulk_create(
        Contact(
            phone_number=number,
            wa_id=m.contact_wa_id,
            last_message=m,
            last_message_at=m.created_at,
            unread_count=1,
        )
        for m in messages
    )


@pytest.mark.parametrize("rows", [3, 40])
def test_it_lists_the_inbox_in_a_fixed_number_of_queries(
    alice_client, alice_ig_account, django_assert_max_num_queries, rows
):
    fill(make_ig_account(alice_ig_account, status="connected"), rows)
    # token, membership, then per platform (2): its assets, the capped count, the page
    with django_assert_max_num_queries(8):
        data = alice_client.get("/api/meta/comments?limit=100").json()["data"]
    assert data["pagination"]["total"] == rows * 2 and len(data["comments"]) == min(100, rows * 2)
    # Facebook and Instagram as above, WhatsApp three (its numbers, its count and its page, the
    # last message joined: the conversation's state is stored on the contact), whatever the rows.
    with django_assert_max_num_queries(11):
        data = alice_client.get("/api/meta/conversations?limit=100").json()["data"]
    assert data["pagination"]["total"] == rows * 3
    assert {c["platform"] for c in data["conversations"]} == {"facebook", "instagram", "whatsapp"}

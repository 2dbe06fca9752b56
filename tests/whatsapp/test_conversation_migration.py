"""whatsapp 0010 on a database with conversations from before: each contact gets its newest
message, that message's time and its unread inbound messages, from the messages stored."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import make_user, make_whatsapp_account
from tests.migrate import migrate_to, migrate_to_latest

BEFORE = [("whatsapp", "0009_message_wamid_unique_per_number")]


@pytest.mark.django_db(transaction=True)
def test_existing_conversations_get_their_last_message_and_unread_count():
    number = make_whatsapp_account(make_user("ana"))[2]
    old = migrate_to(BEFORE)
    Contact = old.get_model("whatsapp", "Contact")
    Message = old.get_model("whatsapp", "Message")
    now = timezone.now()
    for wa_id in ("5215500000001", "5215500000002", "5215500000003"):
        Contact.objects.create(phone_number_id=number.pk, wa_id=wa_id)

    def message(wa_id, minutes_ago, direction="inbound", read=False):
        return Message.objects.create(
            phone_number_id=number.pk,
            contact_wa_id=wa_id,
            direction=direction,
            type="text",
            content={"body": f"{minutes_ago}"},
            created_at=now - timedelta(minutes=minutes_ago),
            read_at=now if read else None,
        )

    message("5215500000001", 30, read=True)
    message("5215500000001", 20)
    message("5215500000001", 10)
    last_one = message("5215500000001", 5, direction="outbound")
    message("5215500000002", 50, read=True)
    last_two = message("5215500000002", 40)
    # 5215500000003 never got a message: no conversation

    migrate_to_latest()

    from whatsapp.models import Contact as Current

    state = {
        c.wa_id: (c.last_message_id, c.last_message_at, c.unread_count)
        for c in Current.objects.filter(phone_number=number)
    }
    assert state == {
        "5215500000001": (last_one.pk, last_one.created_at, 2),
        "5215500000002": (last_two.pk, last_two.created_at, 1),
        "5215500000003": (None, None, 0),
    }

"""WABA-level webhook fields applied through the registry, from Meta's real payloads.
Applying the same item twice changes nothing the second time."""

import pytest

from accounts.models import MetaAccount, Notification
from botopia_meta.registry import WEBHOOK_HANDLERS, ItemIgnored, WebhookItem
from tests.conftest import graph_url, load_payload, payload_item
from tests.factories import WABA_ID, make_template, make_whatsapp_account
from whatsapp.models import WhatsAppBusinessAccount, WhatsAppPhoneNumber, WhatsAppTemplate


def make_item(field: str, value: dict, entry_id: str = WABA_ID) -> WebhookItem:
    return WebhookItem(
        event_id=1, object="whatsapp_business_account", field=field, entry_id=entry_id, value=value
    )


def apply(item: WebhookItem) -> None:
    WEBHOOK_HANDLERS[(item.object, item.field)](item)


def apply_twice_and_snapshot(item: WebhookItem, model, pk) -> None:
    apply(item)
    first = model.all_objects.get(pk=pk).updated_at
    notes = Notification.objects.count()
    apply(item)
    assert model.all_objects.get(pk=pk).updated_at == first
    assert Notification.objects.count() == notes


@pytest.fixture
def alice_waba(db, alice):
    return make_whatsapp_account(alice)[1]


def test_every_field_has_a_handler(db):
    for field in [
        "message_template_status_update",
        "message_template_quality_update",
        "template_category_update",
        "phone_number_quality_update",
        "phone_number_name_update",
        "account_update",
        "account_review_update",
        "business_capability_update",
    ]:
        assert ("whatsapp_business_account", field) in WEBHOOK_HANDLERS


def test_it_marks_a_template_approved_and_notifies_once(alice_waba):
    template = make_template(alice_waba, status="PENDING")
    item = payload_item(load_payload("message_template_status_update__approved"))
    apply_twice_and_snapshot(item, WhatsAppTemplate, template.pk)
    template.refresh_from_db()
    assert template.status == "APPROVED"
    note = Notification.objects.get()
    assert note.kind == "template_approved" and note.severity == "success"
    assert note.account == alice_waba.account and note.related_id == str(template.pk)
    assert "order_update" in note.title


def test_it_records_a_rejection_with_its_reason(alice_waba):
    template = make_template(
        alice_waba, name="black_friday", template_id="594425479261597", status="PENDING", category="MARKETING"
    )
    apply_twice_and_snapshot(
        payload_item(load_payload("message_template_status_update__rejected")), WhatsAppTemplate, template.pk
    )
    template.refresh_from_db()
    assert (template.status, template.rejected_reason) == ("REJECTED", "INVALID_FORMAT")
    note = Notification.objects.get()
    assert note.kind == "template_rejected" and "INVALID_FORMAT" in note.body


def test_it_finds_the_template_by_name_and_language_when_the_id_is_unknown(alice_waba):
    template = make_template(alice_waba, template_id="", status="PENDING")
    apply(payload_item(load_payload("message_template_status_update__approved")))
    template.refresh_from_db()
    assert template.status == "APPROVED"


def test_it_notifies_again_when_the_status_really_changes_back(alice_waba):
    template = make_template(alice_waba, status="PENDING")
    approved = payload_item(load_payload("message_template_status_update__approved"))
    apply(approved)
    apply(make_item("message_template_status_update", {**approved.value, "event": "PAUSED"}))
    apply(approved)
    template.refresh_from_db()
    assert template.status == "APPROVED"
    assert [n.kind for n in Notification.objects.order_by("created_at")] == [
        "template_approved",
        "template_paused",
        "template_approved",
    ]


def test_it_records_quality_red_as_critical(alice_waba):
    template = make_template(alice_waba, quality_score="GREEN")
    apply_twice_and_snapshot(
        payload_item(load_payload("message_template_quality_update__red")), WhatsAppTemplate, template.pk
    )
    template.refresh_from_db()
    assert template.quality_score == "RED"
    note = Notification.objects.get()
    assert note.kind == "template_quality_changed" and note.severity == "critical"


def test_it_applies_metas_recategorization(alice_waba):
    template = make_template(alice_waba, category="UTILITY")
    item = make_item(
        "template_category_update",
        {
            "message_template_id": 594425479261596,
            "message_template_name": "order_update",
            "message_template_language": "es_MX",
            "previous_category": "UTILITY",
            "new_category": "MARKETING",
        },
    )
    apply_twice_and_snapshot(item, WhatsAppTemplate, template.pk)
    template.refresh_from_db()
    assert template.category == "MARKETING"
    assert Notification.objects.get().kind == "template_category_changed"


def test_it_lowers_the_messaging_tier_on_a_downgrade(alice_waba):
    number = WhatsAppPhoneNumber.objects.get(waba=alice_waba)
    number.display_phone_number = "+1 555-000-1111"  # stored formatted; Meta sends digits only
    number.save()
    apply_twice_and_snapshot(
        payload_item(load_payload("phone_number_quality_update__downgrade")), WhatsAppPhoneNumber, number.pk
    )
    number.refresh_from_db()
    assert number.messaging_limit_tier == "TIER_1K"
    note = Notification.objects.get()
    assert note.kind == "phone_number_quality_changed" and note.severity == "critical"
    assert "TIER_10K" in note.body


def test_it_records_a_display_name_decision(alice_waba):
    number = WhatsAppPhoneNumber.objects.get(waba=alice_waba)
    item = make_item(
        "phone_number_name_update",
        {
            "display_phone_number": "15550001111",
            "decision": "APPROVED",
            "requested_verified_name": "Alice Shop",
        },
    )
    apply_twice_and_snapshot(item, WhatsAppPhoneNumber, number.pk)
    number.refresh_from_db()
    assert (number.name_status, number.verified_name) == ("APPROVED", "Alice Shop")


def test_it_records_a_ban_on_the_waba(alice_waba):
    item = make_item(
        "account_update",
        {
            "phone_number": "15550001111",
            "event": "DISABLED_UPDATE",
            "ban_info": {"waba_ban_state": "DISABLE", "waba_ban_date": "2026-11-28"},
        },
    )
    apply_twice_and_snapshot(item, WhatsAppBusinessAccount, alice_waba.pk)
    alice_waba.refresh_from_db()
    assert (alice_waba.status, alice_waba.ban_state) == ("disabled", "DISABLE")
    assert Notification.objects.get().severity == "critical"


def test_it_records_the_account_review_decision(alice_waba):
    apply_twice_and_snapshot(
        make_item("account_review_update", {"decision": "APPROVED"}), WhatsAppBusinessAccount, alice_waba.pk
    )
    alice_waba.refresh_from_db()
    assert alice_waba.account_review_status == "APPROVED"


def test_it_records_new_capabilities(alice_waba):
    item = make_item(
        "business_capability_update",
        {"max_daily_conversation_per_phone": 10000, "max_phone_numbers_per_business": 20},
    )
    apply_twice_and_snapshot(item, WhatsAppBusinessAccount, alice_waba.pk)
    alice_waba.refresh_from_db()
    assert alice_waba.capabilities == {
        "max_daily_conversation_per_phone": 10000,
        "max_phone_numbers_per_business": 20,
    }


def test_it_updates_every_active_account_that_shares_the_waba(alice_waba, bob):
    _, bob_waba, _ = make_whatsapp_account(bob)
    mine = make_template(alice_waba, status="PENDING")
    theirs = make_template(bob_waba, status="PENDING")
    apply(payload_item(load_payload("message_template_status_update__approved")))
    assert {WhatsAppTemplate.objects.get(pk=t.pk).status for t in (mine, theirs)} == {"APPROVED"}
    assert Notification.objects.filter(account=bob_waba.account).count() == 1


@pytest.mark.parametrize(
    "fixture",
    [
        "message_template_status_update__approved",
        "message_template_quality_update__red",
        "phone_number_quality_update__downgrade",
    ],
)
def test_it_ignores_unknown_wabas(fixture, alice_waba):
    payload = load_payload(fixture)
    payload["entry"][0]["id"] = "000000"
    with pytest.raises(ItemIgnored, match="000000"):
        apply(payload_item(payload))


def test_it_ignores_wabas_of_revoked_accounts(alice_waba):
    make_template(alice_waba, status="PENDING")
    MetaAccount.objects.update(status=MetaAccount.Status.REVOKED)
    with pytest.raises(ItemIgnored):
        apply(payload_item(load_payload("message_template_status_update__approved")))
    assert WhatsAppTemplate.objects.get().status == "PENDING"
    assert not Notification.objects.exists()


def meta_has_the_approved_template(meta) -> None:
    """The WABA's templates at Meta: the fixtures' template, approved."""
    template = {
        "id": "594425479261596",
        "name": "order_update",
        "language": "es_MX",
        "status": "APPROVED",
        "category": "UTILITY",
        "components": [],
    }
    meta.get(graph_url(f"{WABA_ID}/message_templates"), json={"data": [template], "paging": {}})


def test_a_template_made_elsewhere_is_synced_into_the_mirror(worker, alice, meta):
    _, waba, _ = make_whatsapp_account(alice)
    meta_has_the_approved_template(meta)
    item = payload_item(load_payload("message_template_status_update__approved"))
    with pytest.raises(ItemIgnored, match="sync queued"):
        apply(item)
    with pytest.raises(ItemIgnored):
        apply(item)  # a burst of webhooks queues one sync, not one each
    worker.drain()
    assert WhatsAppTemplate.objects.get(waba=waba).status == "APPROVED"
    assert len([c for c in meta.calls if "message_templates" in c.request.url]) == 1


def test_it_ignores_an_unknown_number(alice_waba):
    payload = load_payload("phone_number_quality_update__downgrade")
    payload["entry"][0]["changes"][0]["value"]["display_phone_number"] = "19990000000"
    with pytest.raises(ItemIgnored):
        apply(payload_item(payload))


def test_it_ignores_an_older_status_event_delivered_late(alice_waba):
    template = make_template(alice_waba, status="PENDING")
    value = load_payload("message_template_status_update__approved")["entry"][0]["changes"][0]["value"]
    newer = WebhookItem(
        1,
        "whatsapp_business_account",
        "message_template_status_update",
        WABA_ID,
        {**value, "event": "PAUSED"},
        entry_time=1_800_000_100,
    )
    older = WebhookItem(
        2,
        "whatsapp_business_account",
        "message_template_status_update",
        WABA_ID,
        value,
        entry_time=1_800_000_000,
    )
    apply(newer)
    apply(older)
    template.refresh_from_db()
    assert template.status == "PAUSED"
    assert [n.kind for n in Notification.objects.all()] == ["template_paused"]


def test_a_sharer_whose_mirror_lacks_the_template_gets_a_sync(worker, alice_waba, bob, meta):
    _, bob_waba, _ = make_whatsapp_account(bob)
    mine = make_template(alice_waba, status="PENDING")
    meta_has_the_approved_template(meta)
    apply(payload_item(load_payload("message_template_status_update__approved")))
    worker.drain()
    assert WhatsAppTemplate.objects.get(pk=mine.pk).status == "APPROVED"
    assert WhatsAppTemplate.objects.get(waba=bob_waba).status == "APPROVED"  # synced in

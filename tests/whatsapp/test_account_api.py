"""The WhatsApp account screen: WABA and numbers from the mirror, refresh and profile at Meta."""

import json

import pytest

from tests.conftest import graph_url, meta_error
from tests.factories import PHONE_ID, WABA_ID, make_whatsapp_account
from whatsapp.models import WhatsAppBusinessAccount, WhatsAppPhoneNumber

pytestmark = pytest.mark.django_db

ACCOUNT = "/api/meta/whatsapp/account"
NUMBERS = "/api/meta/whatsapp/phone-numbers"
REFRESH = "/api/meta/whatsapp/account/refresh"
PROFILE = "/api/meta/whatsapp/account/profile"
SECOND_PHONE = "106540352242999"


def error_of(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    return response.json()["error"]


@pytest.fixture
def alice_setup(alice):
    account, waba, number = make_whatsapp_account(alice)
    WhatsAppPhoneNumber.objects.create(
        waba=waba,
        phone_number_id=SECOND_PHONE,
        display_phone_number="+1 555-000-2222",
        quality_rating="YELLOW",
    )
    return account, waba, number


def test_it_answers_the_contracts_account_shape(alice_client, alice_setup, meta):
    _, waba, _ = alice_setup
    response = alice_client.get(ACCOUNT)
    assert response.status_code == 200
    data = response.json()["data"]
    assert {
        "id",
        "wabaId",
        "phoneNumberId",
        "phoneNumber",
        "displayName",
        "status",
        "businessProfile",
        "qualityRating",
        "createdAt",
    } <= set(data)
    assert data["id"] == str(waba.id)
    assert data["wabaId"] == WABA_ID
    assert data["phoneNumberId"] == PHONE_ID
    assert data["phoneNumber"] == "+1 555-000-1111"
    assert data["displayName"] == "alice shop"
    assert data["qualityRating"] == "GREEN"
    assert data["messagingLimitTier"] == "TIER_10K"
    assert data["businessProfile"] == {
        "about": "We sell things",
        "address": None,
        "description": None,
        "email": None,
        "websites": ["https://shop.example"],
        "profilePictureUrl": None,
        "vertical": None,
    }
    assert len(meta.calls) == 0


def test_it_picks_a_number_with_phone_number_id(alice_client, alice_setup):
    data = alice_client.get(f"{ACCOUNT}?phoneNumberId={SECOND_PHONE}").json()["data"]
    assert data["phoneNumberId"] == SECOND_PHONE
    assert data["qualityRating"] == "YELLOW"


def test_it_answers_404_for_someone_elses_number(alice_client, alice_setup, bob_client, bob):
    make_whatsapp_account(bob, waba_id="888", phone_id="777")
    error_of(bob_client.get(f"{ACCOUNT}?phoneNumberId={PHONE_ID}"), 404, "NOT_FOUND")
    error_of(alice_client.get(f"{ACCOUNT}?phoneNumberId=777"), 404, "NOT_FOUND")


def test_it_answers_409_without_an_account(charlie_client):
    error_of(charlie_client.get(ACCOUNT), 409, "ACCOUNT_NOT_CONNECTED")


def test_it_answers_409_when_the_account_has_no_waba(alice_client, alice_setup):
    WhatsAppBusinessAccount.objects.all().delete()
    error = error_of(alice_client.get(ACCOUNT), 409, "ACCOUNT_NOT_CONNECTED")
    assert "WhatsApp Business account" in error["message"]


def test_it_lists_only_the_callers_numbers(alice_client, alice_setup, bob_client, bob):
    make_whatsapp_account(bob, waba_id="888", phone_id="777")
    alice_numbers = alice_client.get(NUMBERS).json()["data"]
    assert [n["phoneNumberId"] for n in alice_numbers["phoneNumbers"]] == [PHONE_ID, SECOND_PHONE]
    assert alice_numbers["pagination"]["total"] == 2
    first = alice_numbers["phoneNumbers"][0]
    assert (
        first["wabaId"] == WABA_ID
        and first["messagingLimitTier"] == "TIER_10K"
        and first["maxSendRate"] == 80
    )
    assert [n["phoneNumberId"] for n in bob_client.get(NUMBERS).json()["data"]["phoneNumbers"]] == ["777"]


def fake_meta_account(meta, *, numbers: list[dict]) -> None:
    meta.get(
        graph_url(WABA_ID),
        json={
            "id": WABA_ID,
            "name": "Alice Shop SA",
            "currency": "USD",
            "timezone_id": "1",
            "message_template_namespace": "ns_1",
            "account_review_status": "APPROVED",
        },
    )
    meta.get(graph_url(f"{WABA_ID}/phone_numbers"), json={"data": numbers, "paging": {"cursors": {}}})
    for number in numbers:
        meta.get(
            graph_url(f"{number['id']}/whatsapp_business_profile"),
            json={
                "data": [
                    {
                        "about": f"About {number['id']}",
                        "websites": ["https://a.example"],
                        "vertical": "RETAIL",
                        "messaging_product": "whatsapp",
                    }
                ]
            },
        )


def test_it_refreshes_the_waba_numbers_and_profiles_from_meta(alice_client, alice_setup, meta):
    fake_meta_account(
        meta,
        numbers=[
            {
                "id": PHONE_ID,
                "display_phone_number": "+1 555-000-1111",
                "verified_name": "Alice Shop",
                "quality_rating": "RED",
                "messaging_limit_tier": "TIER_1K",
                "throughput": {"level": "STANDARD"},
                "code_verification_status": "VERIFIED",
                "name_status": "APPROVED",
            },
            {
                "id": "106540352243000",
                "display_phone_number": "+1 555-000-3333",
                "verified_name": "Alice Two",
                "quality_rating": "GREEN",
            },
        ],
    )
    response = alice_client.post(REFRESH, {}, format="json")
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["qualityRating"] == "RED"
    assert data["messagingLimitTier"] == "TIER_1K"
    assert data["throughputLevel"] == "STANDARD"
    assert data["displayName"] == "Alice Shop"
    assert data["businessProfile"]["about"] == f"About {PHONE_ID}"
    assert data["businessProfile"]["vertical"] == "RETAIL"
    assert data["accountReviewStatus"] == "APPROVED"
    numbers = {n.phone_number_id for n in WhatsAppPhoneNumber.objects.all()}
    assert numbers == {PHONE_ID, "106540352243000"}  # the number Meta no longer lists is soft-deleted
    assert WhatsAppPhoneNumber.all_objects.get(phone_number_id=SECOND_PHONE).deleted_at is not None
    assert WhatsAppBusinessAccount.objects.get().name == "Alice Shop SA"


def test_it_changes_nothing_when_meta_fails_during_refresh(alice_client, alice_setup, meta):
    meta.get(graph_url(WABA_ID), json={"id": WABA_ID, "name": "New name"})
    meta.get(graph_url(f"{WABA_ID}/phone_numbers"), json=meta_error(190, "expired", subcode=463), status=400)
    error_of(alice_client.post(REFRESH, {}, format="json"), 401, "META_TOKEN_EXPIRED")
    assert WhatsAppBusinessAccount.objects.get().name == "alice shop"
    assert WhatsAppPhoneNumber.objects.count() == 2


def test_refresh_requires_the_management_permission(alice_client, alice, meta):
    make_whatsapp_account(alice, permissions=["whatsapp_business_messaging"])
    error_of(alice_client.post(REFRESH, {}, format="json"), 403, "MISSING_META_PERMISSION")
    assert len(meta.calls) == 0


def test_refresh_of_someone_elses_account_is_404(alice_setup, bob_client, bob):
    account, _, _ = alice_setup
    make_whatsapp_account(bob, waba_id="888", phone_id="777")
    error_of(bob_client.post(REFRESH, {"accountId": str(account.id)}, format="json"), 404, "NOT_FOUND")


def test_it_updates_the_business_profile_at_meta(alice_client, alice_setup, meta):
    meta.post(graph_url(f"{PHONE_ID}/whatsapp_business_profile"), json={"success": True})
    meta.get(
        graph_url(f"{PHONE_ID}/whatsapp_business_profile"),
        json={
            "data": [{"about": "Open 9-5", "email": "hi@shop.example", "websites": ["https://shop.example"]}]
        },
    )
    response = alice_client.patch(PROFILE, {"about": "Open 9-5", "email": "hi@shop.example"}, format="json")
    assert response.status_code == 200, response.content
    assert json.loads(meta.calls[0].request.body) == {
        "messaging_product": "whatsapp",
        "about": "Open 9-5",
        "email": "hi@shop.example",
    }
    profile = response.json()["data"]["businessProfile"]
    assert profile["about"] == "Open 9-5" and profile["email"] == "hi@shop.example"
    assert WhatsAppPhoneNumber.objects.get(phone_number_id=PHONE_ID).business_profile["about"] == "Open 9-5"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"about": "x" * 140}, "about"),
        ({"email": "not-an-email"}, "email"),
        ({"websites": ["https://a.example", "https://b.example", "https://c.example"]}, "websites"),
        ({"websites": ["not a url"]}, "websites"),
        ({"vertical": "SPACESHIPS"}, "vertical"),
    ],
)
def test_it_validates_the_profile_before_calling_meta(alice_client, alice_setup, meta, body, field):
    error = error_of(alice_client.patch(PROFILE, body, format="json"), 400, "VALIDATION_ERROR")
    assert field in error["details"]
    assert len(meta.calls) == 0


def test_it_refuses_an_empty_profile_update(alice_client, alice_setup, meta):
    error_of(alice_client.patch(PROFILE, {}, format="json"), 400, "VALIDATION_ERROR")
    assert len(meta.calls) == 0


def test_profile_update_of_someone_elses_number_is_404(alice_setup, bob_client, bob, meta):
    make_whatsapp_account(bob, waba_id="888", phone_id="777")
    error_of(
        bob_client.patch(PROFILE, {"phoneNumberId": PHONE_ID, "about": "hacked"}, format="json"),
        404,
        "NOT_FOUND",
    )
    assert len(meta.calls) == 0


def test_the_periodic_refresh_keeps_quality_current(worker, alice, bob, meta):
    from botopia_meta import scheduler
    from whatsapp.account.actors import refresh_all_wabas

    make_whatsapp_account(alice)
    bob_account, _, _ = make_whatsapp_account(bob, waba_id="888", phone_id="777")
    bob_account.status = "expired"
    bob_account.save()
    fake_meta_account(
        meta, numbers=[{"id": PHONE_ID, "quality_rating": "YELLOW", "messaging_limit_tier": "TIER_1K"}]
    )

    assert scheduler.JOBS[refresh_all_wabas.actor_name].seconds == 6 * 3600
    refresh_all_wabas.send()
    worker.drain()

    number = WhatsAppPhoneNumber.objects.get(phone_number_id=PHONE_ID)
    assert (number.quality_rating, number.messaging_limit_tier) == ("YELLOW", "TIER_1K")
    assert all("888" not in call.request.url for call in meta.calls)

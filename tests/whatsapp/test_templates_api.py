"""Templates through the API: the mirror's list, and create / edit / delete at Meta."""

import json

import pytest
from responses import matchers

from accounts.models import MetaAccount
from tests.conftest import graph_url, meta_error
from tests.factories import BODY, WABA_ID, make_template, make_whatsapp_account
from whatsapp.models import WhatsAppTemplate

pytestmark = pytest.mark.django_db

URL = "/api/meta/whatsapp/templates"
NEW = {
    "name": "shipping_notice",
    "language": "en_US",
    "category": "UTILITY",
    "components": [
        {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}", "example": {"header_text": ["A-17"]}},
        BODY,
        {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Track"}]},
    ],
}


@pytest.fixture
def alice_waba(alice):
    _, waba, _ = make_whatsapp_account(alice)
    return waba


def error_of(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == code
    return body["error"]


# --- list -------------------------------------------------------------------------------


def test_it_lists_templates_from_the_mirror_without_calling_meta(alice_client, alice_waba, meta):
    make_template(alice_waba)
    response = alice_client.get(URL)
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["pagination"] == {
        "total": 1,
        "limit": 25,
        "offset": 0,
        "nextOffset": None,
        "totalEstimated": False,
        "nextCursor": None,
    }
    template = data["templates"][0]
    assert template["templateId"] == "594425479261596"
    assert template["name"] == "order_update"
    assert template["status"] == "APPROVED"
    # Meta's own structure passes through untouched (snake_case inside components).
    assert template["components"][0]["example"] == {"body_text": [["Ana", "A-17"]]}
    assert set(template) >= {
        "id",
        "templateId",
        "name",
        "language",
        "category",
        "status",
        "components",
        "createdAt",
    }
    assert len(meta.calls) == 0


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=approved", {"approved_one"}),
        ("status=in_review", {"pending_one", "appeal_one"}),
        ("status=rejected", {"rejected_one"}),
        ("status=PAUSED", {"paused_one"}),
        ("status=approved,rejected", {"approved_one", "rejected_one"}),
        ("category=marketing", {"rejected_one", "paused_one"}),
        ("search=APPEAL", {"appeal_one"}),
        ("language=pt_BR", {"pending_one"}),
    ],
)
def test_it_filters_with_the_contracts_values(alice_client, alice_waba, query, expected):
    S = WhatsAppTemplate.Status
    make_template(alice_waba, name="approved_one", template_id="1", status=S.APPROVED)
    make_template(alice_waba, name="pending_one", template_id="2", status=S.PENDING, language="pt_BR")
    make_template(alice_waba, name="appeal_one", template_id="3", status=S.IN_APPEAL)
    make_template(alice_waba, name="rejected_one", template_id="4", status=S.REJECTED, category="MARKETING")
    make_template(alice_waba, name="paused_one", template_id="5", status=S.PAUSED, category="MARKETING")
    response = alice_client.get(f"{URL}?{query}")
    assert response.status_code == 200, response.content
    assert {t["name"] for t in response.json()["data"]["templates"]} == expected


@pytest.mark.parametrize(("query", "field"), [("status=lost", "status"), ("category=SPAM", "category")])
def test_it_rejects_unknown_filter_values(alice_client, alice_waba, query, field):
    error = error_of(alice_client.get(f"{URL}?{query}"), 400, "VALIDATION_ERROR")
    assert field in error["details"]


def test_it_paginates_templates(alice_client, alice_waba):
    for i in range(3):
        make_template(alice_waba, name=f"t{i}", template_id=str(i))
    page = alice_client.get(f"{URL}?limit=2&offset=2").json()["data"]
    assert len(page["templates"]) == 1
    assert page["pagination"] == {
        "total": 3,
        "limit": 2,
        "offset": 2,
        "nextOffset": None,
        "totalEstimated": False,
        "nextCursor": None,
    }


def test_it_hides_soft_deleted_templates(alice_client, alice_waba):
    make_template(alice_waba).soft_delete()
    assert alice_client.get(URL).json()["data"]["templates"] == []


def test_it_shows_nobody_else_the_templates(bob_client, alice_waba, bob, meta):
    template = make_template(alice_waba)
    make_whatsapp_account(bob, waba_id="999")
    assert bob_client.get(URL).json()["data"]["templates"] == []
    error_of(bob_client.get(f"{URL}/{template.id}"), 404, "NOT_FOUND")
    error_of(bob_client.put(f"{URL}/{template.id}", {"components": [BODY]}, format="json"), 404, "NOT_FOUND")
    error_of(bob_client.delete(f"{URL}/{template.id}"), 404, "NOT_FOUND")
    error_of(bob_client.post(URL, {**NEW, "wabaId": WABA_ID}, format="json"), 404, "NOT_FOUND")
    error_of(bob_client.get(f"{URL}?wabaId={WABA_ID}"), 404, "NOT_FOUND")
    assert WhatsAppTemplate.objects.filter(pk=template.pk).exists()
    assert len(meta.calls) == 0


def test_it_answers_404_for_a_malformed_id(alice_client, alice_waba):
    error_of(alice_client.get(f"{URL}/not-a-uuid"), 404, "NOT_FOUND")


def test_it_gets_one_template(alice_client, alice_waba):
    template = make_template(alice_waba)
    data = alice_client.get(f"{URL}/{template.id}").json()["data"]
    assert data["id"] == str(template.id) and data["wabaId"] == WABA_ID


# --- create -----------------------------------------------------------------------------


def test_it_creates_a_template_at_meta(alice_client, alice_waba, meta):
    meta.post(
        graph_url(f"{WABA_ID}/message_templates"),
        json={"id": "777000111", "status": "PENDING", "category": "UTILITY"},
    )
    response = alice_client.post(URL, NEW, format="json")
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["templateId"] == "777000111"
    assert data["status"] == "PENDING"
    assert data["name"] == "shipping_notice"
    sent = json.loads(meta.calls[0].request.body)
    assert sent == {**NEW, "parameter_format": "POSITIONAL"}
    stored = WhatsAppTemplate.objects.get(template_id="777000111")
    assert stored.waba == alice_waba and stored.components == NEW["components"]
    assert alice_client.get(URL).json()["data"]["pagination"]["total"] == 1


def test_it_validates_before_calling_meta(alice_client, alice_waba, meta):
    bad = {**NEW, "components": [NEW["components"][0], {"type": "BODY", "text": "Hi {{1}}, see {{2}} now."}]}
    error = error_of(alice_client.post(URL, bad, format="json"), 400, "VALIDATION_ERROR")
    assert list(error["details"]) == ["components[1].example"]
    assert len(meta.calls) == 0
    assert not WhatsAppTemplate.objects.exists()


def test_it_names_every_missing_field(alice_client, alice_waba, meta):
    error = error_of(alice_client.post(URL, {}, format="json"), 400, "VALIDATION_ERROR")
    assert {"name", "language", "category", "components"} <= set(error["details"])
    assert len(meta.calls) == 0


def test_it_refuses_a_duplicate_name_and_language_before_meta(alice_client, alice_waba, meta):
    make_template(alice_waba, name="shipping_notice", language="en_US")
    error = error_of(alice_client.post(URL, NEW, format="json"), 409, "CONFLICT")
    assert "name" in error["details"]
    assert len(meta.calls) == 0


def test_it_requires_the_management_permission(alice_client, alice, meta):
    make_whatsapp_account(alice, permissions=["whatsapp_business_messaging"])
    error = error_of(alice_client.post(URL, NEW, format="json"), 403, "MISSING_META_PERMISSION")
    assert error["details"]["missing"] == ["whatsapp_business_management"]
    assert len(meta.calls) == 0


def test_it_answers_409_without_a_connected_account(charlie_client):
    error_of(charlie_client.post(URL, NEW, format="json"), 409, "ACCOUNT_NOT_CONNECTED")


def test_it_passes_metas_refusal_on_create(alice_client, alice_waba, meta):
    meta.post(
        graph_url(f"{WABA_ID}/message_templates"),
        json=meta_error(100, "Invalid parameter", subcode=2388023, error_user_msg="Name is being deleted"),
        status=400,
    )
    error = error_of(alice_client.post(URL, NEW, format="json"), 502, "META_API_ERROR")
    assert error["details"]["metaSubcode"] == 2388023
    assert not WhatsAppTemplate.objects.exists()


# --- update -----------------------------------------------------------------------------

EDITED = [
    {"type": "BODY", "text": "Hello {{1}}, order {{2}} left.", "example": {"body_text": [["Ana", "A-1"]]}}
]


def test_it_edits_a_template_at_meta(alice_client, alice_waba, meta):
    template = make_template(
        alice_waba, status=WhatsAppTemplate.Status.REJECTED, rejected_reason="INVALID_FORMAT"
    )
    meta.post(graph_url(template.template_id), json={"success": True})
    response = alice_client.put(
        f"{URL}/{template.id}", {"components": EDITED, "category": "MARKETING"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["data"]["id"] == str(template.id)
    assert response.json()["data"]["status"] == "PENDING"
    assert json.loads(meta.calls[0].request.body) == {"components": EDITED, "category": "MARKETING"}
    template.refresh_from_db()
    assert (template.components, template.category, template.status) == (EDITED, "MARKETING", "PENDING")


def test_it_refuses_to_edit_a_pending_template(alice_client, alice_waba, meta):
    template = make_template(alice_waba, status=WhatsAppTemplate.Status.PENDING)
    error = error_of(
        alice_client.put(f"{URL}/{template.id}", {"components": EDITED}, format="json"),
        409,
        "TEMPLATE_EDIT_REFUSED",
    )
    assert error["details"]["rule"] == "status"
    assert "APPROVED, REJECTED or PAUSED" in error["message"]
    assert len(meta.calls) == 0


def test_it_refuses_to_change_an_approved_templates_category(alice_client, alice_waba, meta):
    template = make_template(alice_waba)
    response = alice_client.put(
        f"{URL}/{template.id}", {"components": EDITED, "category": "MARKETING"}, format="json"
    )
    error = error_of(response, 409, "TEMPLATE_EDIT_REFUSED")
    assert error["details"]["rule"] == "category"
    assert len(meta.calls) == 0


def test_it_refuses_to_rename(alice_client, alice_waba, meta):
    template = make_template(alice_waba)
    response = alice_client.put(
        f"{URL}/{template.id}", {"name": "other", "components": EDITED}, format="json"
    )
    assert "name" in error_of(response, 400, "VALIDATION_ERROR")["details"]
    assert len(meta.calls) == 0


def test_it_says_which_edit_rule_meta_applied(alice_client, alice_waba, meta):
    template = make_template(alice_waba)
    meta.post(
        graph_url(template.template_id),
        json=meta_error(100, "Invalid parameter", subcode=2388294, error_user_msg="Edit limit reached"),
        status=400,
    )
    error = error_of(
        alice_client.put(f"{URL}/{template.id}", {"components": EDITED}, format="json"),
        409,
        "TEMPLATE_EDIT_REFUSED",
    )
    assert error["details"]["rule"] == "edit_limit"
    assert "once per 24 hours and 10 times per 30 days" in error["message"]
    assert error["details"]["metaMessage"] == "Edit limit reached"
    template.refresh_from_db()
    assert template.components == [BODY] and template.status == "APPROVED"


def test_it_validates_edits_before_calling_meta(alice_client, alice_waba, meta):
    template = make_template(alice_waba)
    bad = [{"type": "BODY", "text": "Hello {{1}} and {{3}}.", "example": {"body_text": [["a", "b"]]}}]
    error = error_of(
        alice_client.put(f"{URL}/{template.id}", {"components": bad}, format="json"), 400, "VALIDATION_ERROR"
    )
    assert "components[0].text" in error["details"]
    assert len(meta.calls) == 0


def test_it_refuses_edits_on_a_revoked_account(alice_client, alice_waba, meta):
    template = make_template(alice_waba, status=WhatsAppTemplate.Status.REJECTED)
    MetaAccount.objects.update(status=MetaAccount.Status.REVOKED)
    error_of(
        alice_client.put(f"{URL}/{template.id}", {"components": EDITED}, format="json"),
        409,
        "ACCOUNT_NOT_CONNECTED",
    )
    assert len(meta.calls) == 0


# --- delete -----------------------------------------------------------------------------


def test_it_deletes_at_meta_by_name_and_id(alice_client, alice_waba, meta):
    template = make_template(alice_waba)
    meta.delete(
        graph_url(f"{WABA_ID}/message_templates"),
        json={"success": True},
        match=[
            matchers.query_param_matcher(
                {"name": "order_update", "hsm_id": "594425479261596"}, strict_match=False
            )
        ],
    )
    response = alice_client.delete(f"{URL}/{template.id}")
    assert response.status_code == 200, response.content
    assert response.json()["data"] == {"id": str(template.id), "deleted": True}
    assert not WhatsAppTemplate.objects.filter(pk=template.pk).exists()
    assert WhatsAppTemplate.all_objects.get(pk=template.pk).deleted_at is not None
    error_of(alice_client.get(f"{URL}/{template.id}"), 404, "NOT_FOUND")


def test_it_removes_from_the_mirror_a_template_meta_no_longer_has(alice_client, alice_waba, meta):
    template = make_template(alice_waba)
    meta.delete(
        graph_url(f"{WABA_ID}/message_templates"),
        json=meta_error(100, "Does not exist", subcode=33),
        status=400,
    )
    assert alice_client.delete(f"{URL}/{template.id}").status_code == 200
    assert not WhatsAppTemplate.objects.exists()


def test_it_keeps_the_row_when_meta_refuses_the_delete(alice_client, alice_waba, meta):
    template = make_template(alice_waba)
    meta.delete(
        graph_url(f"{WABA_ID}/message_templates"), json=meta_error(200, "Permission denied"), status=403
    )
    error_of(alice_client.delete(f"{URL}/{template.id}"), 403, "MISSING_META_PERMISSION")
    assert WhatsAppTemplate.objects.filter(pk=template.pk).exists()


@pytest.mark.parametrize("method", ["put", "delete"])
def test_it_never_edits_or_deletes_without_metas_id(alice_client, alice_waba, meta, method):
    # A delete by name alone would remove every language of the template at Meta.
    template = make_template(alice_waba, template_id="", status=WhatsAppTemplate.Status.REJECTED)
    response = getattr(alice_client, method)(f"{URL}/{template.id}", {"components": EDITED}, format="json")
    error = error_of(response, 409, "CONFLICT")
    assert "sync" in error["message"]
    assert len(meta.calls) == 0
    assert WhatsAppTemplate.objects.filter(pk=template.pk).exists()


def test_the_list_costs_the_same_few_queries_for_any_page_size(
    alice_client, alice_waba, django_assert_max_num_queries
):
    for i in range(60):
        make_template(alice_waba, name=f"t{i}", template_id=str(i))
    with django_assert_max_num_queries(4):  # token, membership, count, one page with its WABA
        response = alice_client.get(f"{URL}?limit=100&status=approved")
    assert len(response.json()["data"]["templates"]) == 60


def test_it_refuses_a_second_edit_of_an_approved_template_within_a_day(alice_client, alice_waba, meta):
    template = make_template(alice_waba, status=WhatsAppTemplate.Status.REJECTED)
    meta.post(graph_url(template.template_id), json={"success": True})
    assert alice_client.put(f"{URL}/{template.id}", {"components": EDITED}, format="json").status_code == 200
    WhatsAppTemplate.objects.filter(pk=template.pk).update(status=WhatsAppTemplate.Status.APPROVED)
    response = alice_client.put(f"{URL}/{template.id}", {"components": [BODY]}, format="json")
    error = error_of(response, 409, "TEMPLATE_EDIT_REFUSED")
    assert error["details"]["rule"] == "edit_limit" and "nextEditAt" in error["details"]
    assert len(meta.calls) == 1

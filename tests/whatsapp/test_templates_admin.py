"""Staff pages for WABAs, numbers and templates: filters, the sync action, no token shown."""

import pytest

from tests.conftest import graph_url
from tests.factories import make_template, make_whatsapp_account
from whatsapp.models import WhatsAppTemplate


@pytest.fixture
def setup(db, alice):
    account, waba, number = make_whatsapp_account(alice)
    template = make_template(waba)
    return account, waba, number, template


@pytest.mark.parametrize(
    "path",
    [
        "/admin/whatsapp/whatsappbusinessaccount/",
        "/admin/whatsapp/whatsappphonenumber/?quality_rating__exact=GREEN",
        "/admin/whatsapp/whatsapptemplate/?status__exact=APPROVED&category__exact=UTILITY",
    ],
)
def test_it_lists_without_showing_a_token(staff_client, setup, path):
    account = setup[0]
    response = staff_client.get(path)
    assert response.status_code == 200
    assert account.access_token.encode() not in response.content


def test_the_waba_page_shows_only_a_masked_token(staff_client, setup):
    account, waba, _, _ = setup
    response = staff_client.get(f"/admin/whatsapp/whatsappbusinessaccount/{waba.pk}/change/")
    assert response.status_code == 200
    assert account.access_token.encode() not in response.content
    assert account.access_token[:4].encode() + "…".encode() in response.content


def test_the_template_filters_narrow_the_list(staff_client, setup):
    response = staff_client.get("/admin/whatsapp/whatsapptemplate/?status__exact=REJECTED")
    assert b"order_update" not in response.content
    response = staff_client.get("/admin/whatsapp/whatsapptemplate/?category__exact=UTILITY")
    assert b"order_update" in response.content


def test_the_sync_action_syncs_the_selected_templates_waba(worker, staff_client, setup, meta):
    _, waba, _, template = setup
    meta.get(
        graph_url(f"{waba.waba_id}/message_templates"),
        json={
            "data": [
                {
                    "id": "4",
                    "name": "brand_new",
                    "language": "en",
                    "status": "PENDING",
                    "category": "MARKETING",
                    "components": [],
                }
            ],
            "paging": {},
        },
    )
    response = staff_client.post(
        "/admin/whatsapp/whatsapptemplate/",
        {"action": "sync_from_meta", "_selected_action": [str(template.pk)]},
    )
    assert response.status_code == 302
    worker.drain()
    assert [t.name for t in WhatsAppTemplate.objects.all()] == ["brand_new"]

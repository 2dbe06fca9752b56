"""Reconciling the mirror with Meta's template list: API, command, actor, periodic job."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from responses import matchers

from botopia_meta import scheduler
from tests.conftest import graph_url, meta_error
from tests.factories import BODY, WABA_ID, make_template, make_whatsapp_account
from whatsapp.models import WhatsAppTemplate

URL = "/api/meta/whatsapp/templates/sync"
TEMPLATES_URL = graph_url(f"{WABA_ID}/message_templates")


def meta_template(template_id: str, name: str, status: str = "APPROVED", **extra) -> dict:
    return {
        "id": template_id,
        "name": name,
        "language": "es_MX",
        "status": status,
        "category": "UTILITY",
        "parameter_format": "POSITIONAL",
        "components": [BODY],
        **extra,
    }


def first_page_only(request) -> tuple[bool, str]:
    # responses pops a mock that shares a match with another: keep the two pages disjoint.
    return "after=" not in request.url, "asks for a later page"


def fake_meta_list(meta, first_page: list[dict], second_page: list[dict]) -> None:
    meta.get(
        TEMPLATES_URL,
        match=[matchers.query_param_matcher({"after": "CURSOR1"}, strict_match=False)],
        json={"data": second_page, "paging": {"cursors": {"before": "CURSOR1", "after": "CURSOR2"}}},
    )
    meta.get(
        TEMPLATES_URL,
        match=[first_page_only],
        json={
            "data": first_page,
            "paging": {
                "cursors": {"before": "CURSOR0", "after": "CURSOR1"},
                "next": f"{TEMPLATES_URL}?after=CURSOR1&access_token=secret",
            },
        },
    )


@pytest.fixture
def alice_waba(alice):
    return make_whatsapp_account(alice)[1]


@pytest.fixture
def mirror(alice_waba):
    """What we had: one template unchanged at Meta, one Meta since approved, one Meta deleted."""
    return {
        "same": make_template(alice_waba, name="same", template_id="1"),
        "changed": make_template(alice_waba, name="changed", template_id="2", status="PENDING"),
        "gone": make_template(alice_waba, name="gone", template_id="3"),
    }


def meta_pages() -> tuple[list[dict], list[dict]]:
    return (
        [meta_template("1", "same"), meta_template("2", "changed", quality_score={"score": "GREEN"})],
        [meta_template("4", "brand_new", status="PENDING", rejected_reason="NONE")],
    )


def assert_reconciled(alice_waba, mirror) -> None:
    live = {t.name: t for t in WhatsAppTemplate.objects.filter(waba=alice_waba)}
    assert set(live) == {"same", "changed", "brand_new"}
    assert live["changed"].status == "APPROVED" and live["changed"].quality_score == "GREEN"
    assert live["brand_new"].template_id == "4" and live["brand_new"].rejected_reason == ""
    assert WhatsAppTemplate.all_objects.get(pk=mirror["gone"].pk).deleted_at is not None


@pytest.mark.django_db
def test_it_adds_updates_and_removes_through_the_api(alice_client, alice_waba, mirror, meta):
    fake_meta_list(meta, *meta_pages())
    response = alice_client.post(URL, {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["data"] == {
        "added": 1,
        "updated": 1,
        "unchanged": 1,
        "removed": 1,
        "wabas": [WABA_ID],
    }
    assert_reconciled(alice_waba, mirror)
    # The cursor we followed is Meta's `after`, never the token-bearing `next` URL.
    assert "access_token=secret" not in meta.calls[1].request.url
    assert "after=CURSOR1" in meta.calls[1].request.url


@pytest.mark.django_db
def test_it_changes_nothing_when_run_twice(alice_client, alice_waba, mirror, meta):
    fake_meta_list(meta, *meta_pages())
    alice_client.post(URL, {}, format="json")
    second = alice_client.post(URL, {}, format="json").json()["data"]
    assert second == {"added": 0, "updated": 0, "unchanged": 3, "removed": 0, "wabas": [WABA_ID]}


@pytest.mark.django_db
def test_it_brings_back_a_template_meta_lists_again(alice_client, alice_waba, meta):
    template = make_template(alice_waba, name="back", template_id="9")
    template.soft_delete()
    fake_meta_list(meta, [meta_template("9", "back")], [])
    assert alice_client.post(URL, {}, format="json").json()["data"]["added"] == 1
    assert WhatsAppTemplate.objects.get(pk=template.pk).deleted_at is None


@pytest.mark.django_db
def test_it_removes_nothing_when_the_listing_fails_midway(alice_client, alice_waba, mirror, meta):
    meta.get(
        TEMPLATES_URL,
        match=[matchers.query_param_matcher({"after": "CURSOR1"}, strict_match=False)],
        json=meta_error(190, "Session has expired", subcode=463),
        status=400,
    )
    meta.get(
        TEMPLATES_URL,
        json={"data": [meta_template("1", "same")], "paging": {"cursors": {"after": "CURSOR1"}, "next": "x"}},
    )
    response = alice_client.post(URL, {}, format="json")
    assert response.status_code == 401
    assert WhatsAppTemplate.objects.filter(waba=alice_waba).count() == 3


@pytest.mark.django_db
def test_it_requires_the_management_permission_to_sync(alice_client, alice, meta):
    make_whatsapp_account(alice, permissions=[])
    assert alice_client.post(URL, {}, format="json").status_code == 403
    assert len(meta.calls) == 0


@pytest.mark.django_db
def test_it_syncs_only_the_callers_wabas(bob_client, bob, alice_waba, mirror, meta):
    make_whatsapp_account(bob, waba_id="888")
    meta.get(graph_url("888/message_templates"), json={"data": [], "paging": {}})
    assert bob_client.post(URL, {}, format="json").json()["data"]["wabas"] == ["888"]
    assert WhatsAppTemplate.objects.filter(waba=alice_waba).count() == 3
    assert bob_client.post(URL, {"wabaId": WABA_ID}, format="json").status_code == 404


@pytest.mark.django_db
def test_the_command_syncs_with_progress(alice_waba, mirror, meta):
    fake_meta_list(meta, *meta_pages())
    out = StringIO()
    call_command("sync_templates", stdout=out)
    assert_reconciled(alice_waba, mirror)
    text = out.getvalue()
    assert f"[1/1] WABA {WABA_ID}" in text and "3 template(s)" in text
    assert "1 added, 1 updated, 1 unchanged, 1 removed" in text


@pytest.mark.django_db
def test_the_command_names_what_to_do_when_meta_refuses(alice_waba, meta):
    meta.get(TEMPLATES_URL, json=meta_error(190, "Session has expired", subcode=463), status=400)
    err = StringIO()
    with pytest.raises(CommandError, match="Re-run with --waba"):
        call_command("sync_templates", stdout=StringIO(), stderr=err)
    assert "reconnect the account" in err.getvalue()


@pytest.mark.django_db
def test_the_command_explains_when_nothing_matches():
    with pytest.raises(CommandError, match="Connect one"):
        call_command("sync_templates", stdout=StringIO())


def test_the_periodic_job_syncs_every_active_waba(worker, alice, bob, meta):
    from whatsapp.message_templates.actors import sync_all_templates

    _, alice_waba, _ = make_whatsapp_account(alice)
    make_template(alice_waba, name="gone", template_id="3")
    bob_account, _, _ = make_whatsapp_account(bob, waba_id="888")
    bob_account.status = "revoked"
    bob_account.save()
    meta.get(TEMPLATES_URL, json={"data": [meta_template("4", "brand_new")], "paging": {}})

    assert scheduler.JOBS[sync_all_templates.actor_name].seconds == 6 * 3600
    sync_all_templates.send()
    worker.drain()

    assert [t.name for t in WhatsAppTemplate.objects.all()] == ["brand_new"]
    assert all("888" not in call.request.url for call in meta.calls)  # revoked: never called


@pytest.mark.django_db
def test_an_unchanged_resync_reads_the_mirror_once(alice_waba, meta, django_assert_max_num_queries):
    from whatsapp.message_templates.services import templates_sync

    items = [meta_template(str(i), f"t{i}") for i in range(300)]
    for i in range(300):
        make_template(alice_waba, name=f"t{i}", template_id=str(i))
    meta.get(TEMPLATES_URL, json={"data": items, "paging": {}})
    with django_assert_max_num_queries(8):  # one read, the removal check, one bulk timestamp
        result = templates_sync(waba=alice_waba)
    assert (result.unchanged, result.added, result.updated, result.removed) == (300, 0, 0, 0)

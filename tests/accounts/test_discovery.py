"""Asset discovery: a Dramatiq actor that runs every platform's registered step."""

from accounts.actors import discover_assets
from accounts.models import MetaAccount
from facebook.models import FacebookPage
from instagram.models import InstagramAccount
from tests.accounts.conftest import PAGE_TOKEN, fake_assets, fake_oauth_connect, make_account, raw_column
from tests.conftest import graph_url, meta_error
from whatsapp.models import WhatsAppBusinessAccount, WhatsAppPhoneNumber


def counts() -> tuple[int, int, int, int]:
    return (
        WhatsAppBusinessAccount.objects.count(),
        WhatsAppPhoneNumber.objects.count(),
        FacebookPage.objects.count(),
        InstagramAccount.objects.count(),
    )


def test_it_discovers_assets_after_connecting(alice, alice_client, meta, worker):
    fake_oauth_connect(meta)
    fake_assets(meta)

    response = alice_client.post("/api/meta/auth/connect", {"code": "AQDcode123"}, format="json")
    assert response.status_code == 201
    worker.drain()

    account = MetaAccount.objects.get(connected_by=alice)
    waba = WhatsAppBusinessAccount.objects.get(account=account)
    assert (waba.waba_id, waba.name, waba.currency, waba.message_template_namespace) == (
        "2001",
        "Botopia Store",
        "USD",
        "abcd_1234",
    )
    phone = WhatsAppPhoneNumber.objects.get(waba=waba)
    assert phone.phone_number_id == "3001"
    assert phone.display_phone_number == "+1 555-010-0001"
    assert (phone.quality_rating, phone.messaging_limit_tier, phone.throughput_level) == (
        "GREEN",
        "TIER_1K",
        "STANDARD",
    )
    pages = {p.page_id: p for p in FacebookPage.objects.filter(account=account)}
    assert set(pages) == {"4001", "4002"}
    assert pages["4001"].access_token == PAGE_TOKEN
    assert pages["4001"].picture_url == "https://scontent.xx.fbcdn.net/p.jpg"
    assert pages["4001"].status == FacebookPage.Status.AVAILABLE
    assert PAGE_TOKEN not in raw_column("facebook_facebookpage", "access_token", pages["4001"].pk)
    ig = InstagramAccount.objects.get(account=account)
    assert (ig.ig_account_id, ig.page_id, ig.username, ig.followers_count) == (
        "5001",
        "4001",
        "botopia.cafe",
        1520,
    )
    account.refresh_from_db()
    assert account.last_discovered_at is not None

    status = alice_client.get("/api/meta/auth/status").json()["data"]
    assert status["platforms"] == {"whatsapp": True, "facebook": True, "instagram": True}


def test_it_creates_nothing_on_a_second_run(alice, meta, worker):
    account = make_account(alice)
    fake_assets(meta)
    discover_assets.send(str(account.pk))
    worker.drain()
    before = counts()
    ids = set(FacebookPage.objects.values_list("id", flat=True))
    FacebookPage.objects.filter(page_id="4001").update(status=FacebookPage.Status.CONNECTED)

    discover_assets.send(str(account.pk))
    worker.drain()

    assert before == (1, 1, 2, 1)
    assert counts() == before
    assert set(FacebookPage.objects.values_list("id", flat=True)) == ids
    # A page the user already connected stays connected.
    assert FacebookPage.objects.get(page_id="4001").status == FacebookPage.Status.CONNECTED


def test_it_soft_deletes_assets_meta_no_longer_returns_and_restores_them(alice, meta, worker):
    account = make_account(alice)
    fake_assets(meta, phones=["3001", "3002"])
    discover_assets.send(str(account.pk))
    worker.drain()
    assert counts() == (1, 2, 2, 1)

    meta.reset()
    fake_assets(meta, pages=["4002"], phones=["3001"])
    discover_assets.send(str(account.pk))
    worker.drain()

    assert counts() == (1, 1, 1, 0)
    gone = FacebookPage.all_objects.get(page_id="4001")
    assert gone.deleted_at is not None
    assert InstagramAccount.all_objects.get(ig_account_id="5001").deleted_at is not None
    assert WhatsAppPhoneNumber.all_objects.get(phone_number_id="3002").deleted_at is not None

    meta.reset()
    fake_assets(meta)
    discover_assets.send(str(account.pk))
    worker.drain()
    assert counts() == (1, 1, 2, 1)
    assert FacebookPage.objects.get(page_id="4001").pk == gone.pk


def test_it_retires_a_waba_the_token_no_longer_grants(alice, meta, worker):
    account = make_account(alice)
    fake_assets(meta)
    discover_assets.send(str(account.pk))
    worker.drain()

    MetaAccount.objects.filter(pk=account.pk).update(granular_scopes=[])
    discover_assets.send(str(account.pk))
    worker.drain()

    assert WhatsAppBusinessAccount.objects.count() == 0
    assert WhatsAppPhoneNumber.objects.count() == 0
    assert FacebookPage.objects.count() == 2  # pages come from /me/accounts, unchanged


def test_it_keeps_other_platforms_when_one_step_is_refused(alice, meta, worker):
    account = make_account(alice)
    fake_assets(meta)
    meta.replace(
        "GET", graph_url("me/accounts"), json=meta_error(200, "Requires pages_show_list"), status=403
    )

    discover_assets.send(str(account.pk))
    worker.drain()

    assert WhatsAppBusinessAccount.objects.count() == 1
    assert FacebookPage.objects.count() == 0
    assert sum(c.request.url.split("?")[0].endswith("me/accounts") for c in meta.calls) == 1


def test_it_retries_discovery_when_meta_is_briefly_down(alice, meta, worker, settings):
    settings.META_GRAPH_MAX_RETRIES = 0
    account = make_account(alice)
    fake_assets(meta)
    # First answer an outage, then the real page list (responses serves registrations in order).
    meta.replace(
        "GET", graph_url("me/accounts"), json=meta_error(2, "Service temporarily unavailable"), status=503
    )
    fake_assets(meta)

    discover_assets.send(str(account.pk))
    worker.drain()

    assert counts() == (1, 1, 2, 1)


def test_it_discovers_nothing_for_a_revoked_account(alice, meta, worker):
    account = make_account(alice, status=MetaAccount.Status.REVOKED)
    fake_assets(meta)
    discover_assets.send(str(account.pk))
    worker.drain()
    assert len(meta.calls) == 0
    assert counts() == (0, 0, 0, 0)


def test_it_keeps_discovery_to_the_accounts_own_rows(alice, bob, meta, worker):
    alice_account = make_account(alice)
    bob_account = make_account(bob)
    fake_assets(meta)
    discover_assets.send(str(bob_account.pk))
    worker.drain()
    meta.reset()
    fake_assets(meta, pages=["4002"])
    discover_assets.send(str(alice_account.pk))
    worker.drain()
    # Alice's narrower view retires nothing of Bob's.
    assert FacebookPage.objects.filter(account=bob_account).count() == 2
    assert FacebookPage.objects.filter(account=alice_account).count() == 1


def test_it_skips_assets_whose_ids_are_not_graph_ids(alice, meta, worker):
    account = make_account(
        alice,
        granular_scopes=[
            {"scope": "whatsapp_business_management", "target_ids": ["2001", "../me", "9" * 80]}
        ],
    )
    fake_assets(meta)
    meta.replace(
        "GET",
        graph_url("me/accounts"),
        json={
            "data": [
                {"id": "4001", "name": "Good page", "access_token": PAGE_TOKEN},
                {"id": {"nested": 1}, "name": "Bad id"},
                {"id": "x" * 100, "name": "Too long"},
                {"id": True, "name": "Boolean"},
                {"name": "No id"},
            ]
        },
    )
    discover_assets.send(str(account.pk))
    worker.drain()
    assert list(FacebookPage.objects.values_list("page_id", flat=True)) == ["4001"]
    assert list(WhatsAppBusinessAccount.objects.values_list("waba_id", flat=True)) == ["2001"]
    assert not any("../me" in c.request.url for c in meta.calls)

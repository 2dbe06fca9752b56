"""The sandbox's Graph answers, through the Django test client: Meta's shapes for success, and
Meta's error bodies where Meta refuses."""

import hashlib
import hmac
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from sandbox import demo
from sandbox.models import Message, Template
from tests.whatsapp.send_examples import ALL as SEND_EXAMPLES

pytestmark = pytest.mark.usefixtures("sandbox_on")
V = "/sandbox/graph/v26.0"


def app_params() -> dict:
    return {"client_id": settings.META_APP_ID, "client_secret": settings.META_APP_SECRET}


def error(response, code: int, subcode: int | None = None) -> dict:
    assert response.status_code >= 400, response.content
    assert response["X-Botopia-Sandbox"] == "true"
    body = response.json()["error"]
    assert body["code"] == code and body.get("error_subcode") == subcode, body
    assert body["fbtrace_id"] and body["type"] and body["message"]
    return body


@pytest.fixture
def token(client, db) -> str:
    short = client.get(f"{V}/oauth/access_token", {**app_params(), "code": "c1"}).json()["access_token"]
    answer = client.get(
        f"{V}/oauth/access_token",
        {**app_params(), "grant_type": "fb_exchange_token", "fb_exchange_token": short},
    ).json()
    assert answer["expires_in"] == 5_184_000
    return answer["access_token"]


def get(client, path: str, token: str, **params):
    return client.get(f"{V}/{path}", {"access_token": token, **params})


def post_json(client, path: str, token: str, body: dict):
    return client.post(f"{V}/{path}?access_token={token}", body, content_type="application/json")


# --- OAuth and tokens ---------------------------------------------------------------------


def test_it_exchanges_any_code_for_a_short_lived_token(client, db):
    answer = client.get(f"{V}/oauth/access_token", {**app_params(), "code": "whatever"})
    assert answer.status_code == 200
    assert answer.json()["token_type"] == "bearer" and answer.json()["expires_in"] == 5183


@pytest.mark.parametrize(("code", "subcode"), [("bad-one", 36008), ("used-twice", 36009)])
def test_it_refuses_the_documented_bad_codes(client, db, code, subcode):
    error(client.get(f"{V}/oauth/access_token", {**app_params(), "code": code}), 100, subcode)


def test_it_refuses_another_apps_secret(client, db):
    response = client.get(f"{V}/oauth/access_token", {**app_params(), "client_secret": "nope", "code": "c"})
    error(response, 1)


def test_debug_token_describes_the_token_and_its_granted_assets(client, token):
    app_token = f"{settings.META_APP_ID}|{settings.META_APP_SECRET}"
    data = get(client, "debug_token", app_token, input_token=token).json()["data"]
    assert data["is_valid"] is True and data["type"] == "USER" and data["app_id"] == settings.META_APP_ID
    targets = {g["scope"]: g["target_ids"] for g in data["granular_scopes"]}
    assert targets["whatsapp_business_messaging"] == [demo.WABA_ID]
    assert targets["pages_show_list"] == [demo.PAGE_ID]

    unknown = get(client, "debug_token", app_token, input_token="EAAGnope").json()["data"]
    assert unknown["is_valid"] is False and unknown["error"]["code"] == 190


def test_calls_need_a_valid_token_and_a_matching_proof(client, token):
    error(client.get(f"{V}/me"), 104)
    error(get(client, "me", "EAAGnot-issued"), 190)
    error(get(client, "me", token, appsecret_proof="0" * 64), 100)
    proof = hmac.new(settings.META_APP_SECRET.encode(), token.encode(), hashlib.sha256).hexdigest()
    assert get(client, "me", token, appsecret_proof=proof).json() == {
        "id": demo.USER_ID,
        "name": demo.USER_NAME,
    }


def test_revoking_the_app_kills_the_token(client, token):
    assert client.delete(f"{V}/me/permissions?access_token={token}").json() == {"success": True}
    error(get(client, "me", token), 190, 458)


def test_unknown_objects_and_edges_answer_metas_errors(client, token):
    error(get(client, "123456", token), 100, 33)
    error(get(client, f"{demo.WABA_ID}/nonsense", token), 2500)


# --- WhatsApp -----------------------------------------------------------------------------


def test_templates_list_starts_with_the_approved_demo_templates(client, token):
    data = get(client, f"{demo.WABA_ID}/message_templates", token, fields="name,status", limit=1).json()
    assert data["data"] == [{"id": data["data"][0]["id"], "name": "welcome", "status": "APPROVED"}]
    after = data["paging"]["cursors"]["after"]
    assert "access_token" not in data["paging"]["next"]  # tokens never echoed
    rest = get(client, f"{demo.WABA_ID}/message_templates", token, limit=1, after=after).json()
    assert [t["name"] for t in rest["data"]] == ["order_update"] and "next" not in rest["paging"]


def test_template_create_is_pending_and_validated_like_meta(client, token):
    body = {
        "name": "promo_one",
        "language": "en_US",
        "category": "MARKETING",
        "components": [{"type": "BODY", "text": "Twenty percent off."}],
    }
    answer = post_json(client, f"{demo.WABA_ID}/message_templates", token, body).json()
    assert answer["status"] == "PENDING" and answer["category"] == "MARKETING"
    assert Template.objects.get(template_id=answer["id"]).status == "PENDING"

    error(post_json(client, f"{demo.WABA_ID}/message_templates", token, body), 100, 2388024)
    bad = error(
        post_json(client, f"{demo.WABA_ID}/message_templates", token, {**body, "name": "Bad Name"}),
        100,
        2388043,
    )
    assert bad["error_user_msg"].startswith("name:")


def test_a_send_answers_a_wamid_and_is_remembered(client, token):
    phone = next(iter(demo.PHONE_NUMBERS))
    body = {"messaging_product": "whatsapp", "to": "+1 555 000 1234", "type": "text", "text": {"body": "Hi"}}
    answer = post_json(client, f"{phone}/messages", token, body).json()
    wamid = answer["messages"][0]["id"]
    assert wamid.startswith("wamid.") and answer["contacts"] == [
        {"input": "+1 555 000 1234", "wa_id": "15550001234"}
    ]
    assert Message.objects.get(wamid=wamid).to == "15550001234"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"messaging_product": None}, 100),
        ({"to": "call me"}, 131009),
        ({"template": {"name": "nope", "language": {"code": "en_US"}}}, 132001),
        ({"template": {"name": "order_update", "language": {"code": "en_US"}}}, 132000),  # 2 params missing
    ],
)
def test_sends_meta_refuses(client, token, change, code):
    phone = next(iter(demo.PHONE_NUMBERS))
    get(client, f"{demo.WABA_ID}/message_templates", token)  # the demo templates exist once listed
    body = {"messaging_product": "whatsapp", "to": "15550001234", "type": "template", **change}
    error(post_json(client, f"{phone}/messages", token, body), code)


@pytest.mark.parametrize("name", list(SEND_EXAMPLES))
def test_every_send_type_of_metas_reference_is_answered_and_followed_by_statuses(
    client, token, name, monkeypatch
):
    scheduled: list = []
    monkeypatch.setattr("sandbox.events.schedule", scheduled.extend)
    phone = next(iter(demo.PHONE_NUMBERS))
    body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "15550001234"}
    answer = post_json(client, f"{phone}/messages", token, {**body, **SEND_EXAMPLES[name]}).json()
    wamid = answer["messages"][0]["id"]
    assert Message.objects.get(wamid=wamid).type == SEND_EXAMPLES[name]["type"]
    statuses = [event["entry"][0]["changes"][0]["value"]["statuses"][0] for _, event in scheduled]
    assert [(s["id"], s["status"]) for s in statuses] == [
        (wamid, "sent"),
        (wamid, "delivered"),
        (wamid, "read"),
    ]


@pytest.mark.parametrize(
    "change",
    [
        {"type": "interactive", "interactive": {"type": "poll", "action": {}}},
        {"type": "interactive", "interactive": {"type": "cta_url", "action": {"name": "cta_url"}}},
        {"type": "location", "location": {"name": "nowhere"}},
        {"type": "contacts", "contacts": [{"phones": []}]},
        {"type": "sticker", "sticker": {"caption": "x"}},
        {"type": "text", "text": {"body": "hi"}, "context": {}},
    ],
)
def test_sends_of_new_types_meta_refuses(client, token, change):
    phone = next(iter(demo.PHONE_NUMBERS))
    body = {"messaging_product": "whatsapp", "to": "15550001234", **change}
    error(post_json(client, f"{phone}/messages", token, body), 100)


def test_the_read_call_takes_a_typing_indicator(client, token):
    phone = next(iter(demo.PHONE_NUMBERS))
    read = {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.X"}
    answer = post_json(client, f"{phone}/messages", token, {**read, "typing_indicator": {"type": "text"}})
    assert answer.json() == {"success": True}
    error(post_json(client, f"{phone}/messages", token, {**read, "typing_indicator": {"type": "audio"}}), 100)


# --- Facebook and Instagram ---------------------------------------------------------------


def test_posts_are_created_listed_and_scheduled_only_within_metas_window(client, token):
    page_token = get(client, "me/accounts", token).json()["data"][0]["access_token"]
    created = client.post(f"{V}/{demo.PAGE_ID}/feed", {"message": "Hello", "access_token": page_token}).json()
    assert created["id"].startswith(f"{demo.PAGE_ID}_")
    listed = get(client, f"{demo.PAGE_ID}/posts", page_token, fields="id,message").json()["data"]
    assert listed == [{"id": created["id"], "message": "Hello"}]

    too_soon = int((timezone.now() + timedelta(minutes=2)).timestamp())
    response = client.post(
        f"{V}/{demo.PAGE_ID}/feed",
        {
            "message": "Later",
            "published": "false",
            "scheduled_publish_time": too_soon,
            "access_token": page_token,
        },
    )
    error(response, 100)


def test_instagram_containers_publish_once_finished(client, token):
    ig = demo.IG_ID
    error(client.post(f"{V}/{ig}/media", {"image_url": "ftp://x", "access_token": token}), 9004, 2207052)
    container = client.post(
        f"{V}/{ig}/media", {"image_url": "https://x/a.jpg", "access_token": token}
    ).json()["id"]
    assert get(client, container, token, fields="status_code").json() == {
        "id": container,
        "status_code": "FINISHED",
    }

    media = client.post(f"{V}/{ig}/media_publish", {"creation_id": container, "access_token": token}).json()[
        "id"
    ]
    assert [m["id"] for m in get(client, f"{ig}/media", token).json()["data"]] == [media]
    error(client.post(f"{V}/{ig}/media_publish", {"creation_id": container, "access_token": token}), 100)


@pytest.mark.parametrize(
    ("callback", "code"),
    [
        ("/nothing-here", 2200),  # ours, but it does not answer the challenge
        ("http://10.0.0.5/hook", 100),  # another host: the sandbox is no relay
    ],
)
def test_an_app_subscription_needs_our_own_callback_answering_the_challenge(
    client, db, settings, callback, code
):
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:9"  # nothing listens there
    app_token = f"{settings.META_APP_ID}|{settings.META_APP_SECRET}"
    response = client.post(
        f"{V}/{settings.META_APP_ID}/subscriptions",
        {
            "object": "page",
            "callback_url": settings.PUBLIC_BASE_URL + callback if callback.startswith("/") else callback,
            "verify_token": "t",
            "fields": "feed",
        },
        HTTP_AUTHORIZATION=f"Bearer {app_token}",
    )
    error(response, code)


# --- marking ------------------------------------------------------------------------------


def test_admin_shows_the_sandbox_banner_only_in_sandbox_mode(admin_client, settings):
    assert b"sandbox-banner" in admin_client.get("/admin/").content
    settings.META_SANDBOX = False
    assert b"sandbox-banner" not in admin_client.get("/admin/").content


def test_our_own_responses_are_marked_in_sandbox_mode(client, settings):
    assert client.get("/healthz")["X-Botopia-Sandbox"] == "true"
    settings.META_SANDBOX = False
    assert "X-Botopia-Sandbox" not in client.get("/healthz")

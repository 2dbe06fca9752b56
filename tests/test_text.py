"""The one text rule (botopia_meta.text) at every boundary: NUL removed, unpaired surrogates
replaced by U+FFFD, in what Meta sends us (webhooks, Graph answers) and what clients send us
(bodies, queries). On PostgreSQL a NUL is a DataError that fails the whole transaction; a lone
surrogate cannot be encoded as UTF-8 and breaks every page showing it, on any database."""

import copy
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from botopia_meta import text
from tests.conftest import graph_url, load_payload
from tests.factories import BODY, PHONE_ID, WABA_ID, make_whatsapp_account
from tests.webhooks.conftest import deliver
from webhooks.models import WebhookEvent
from whatsapp.models import Contact, Message, WhatsAppTemplate

MESSAGES_URL = "/api/meta/whatsapp/messages"
WA_ID = "5215512345678"


@pytest.fixture
def number(alice):
    _, _, number = make_whatsapp_account(alice)
    return number


def post_raw(client, url: str, body: dict):
    """The body as JSON text with \\u escapes (json.dumps keeps "\\u0000" and "\\ud800" escaped,
    as any client library would send them)."""
    return client.generic("POST", url, json.dumps(body), content_type="application/json")


def inbound_change(*texts: str, name: str) -> dict:
    payload = copy.deepcopy(load_payload("messages__text"))
    value = payload["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = PHONE_ID
    value["contacts"][0]["profile"]["name"] = name
    template = value["messages"][0]
    value["messages"] = [
        {**template, "id": f"wamid.TEXT-RULE-{i}", "text": {"body": body}} for i, body in enumerate(texts)
    ]
    return payload


def test_it_cleans_nul_and_lone_surrogates_in_strings_keys_and_nested_json():
    assert text.clean_text("a\x00b\ud800c\udfffd") == "ab\ufffdc\ufffdd"
    assert text.clean_text("ñ 😀 plain") == "ñ 😀 plain"
    assert text.clean({"k\x00": ["x\ud800", {"y": "\x00"}], "n": 1}) == {"k": ["x\ufffd", {"y": ""}], "n": 1}
    assert text.loads(b'{"a": "\\ud83d\\ude00 \\ud83d"}') == {"a": "😀 \ufffd"}


def test_it_stores_every_message_of_a_change_whose_text_holds_nul_or_a_lone_surrogate(
    client, alice_client, number, worker
):
    payload = inbound_change("Hola\x00 mundo", "Roto \ud800 aquí", "Normal", name="Sof\x00ía \udc00")
    assert deliver(client, payload).status_code == 200
    worker.drain()

    event = WebhookEvent.objects.get()
    assert event.status == "processed", (event.status, event.item_results)
    bodies = {m.wamid: m.content["body"] for m in Message.objects.filter(phone_number=number)}
    assert bodies == {
        "wamid.TEXT-RULE-0": "Hola mundo",
        "wamid.TEXT-RULE-1": "Roto \ufffd aquí",
        "wamid.TEXT-RULE-2": "Normal",
    }
    assert Contact.objects.get(wa_id=WA_ID).name == "Sofía \ufffd"
    listed = alice_client.get(MESSAGES_URL)
    assert listed.status_code == 200 and listed.json()["data"]["pagination"]["total"] == 3


def test_it_shows_the_admin_page_of_an_event_holding_a_lone_surrogate(client, admin_client, number):
    assert deliver(client, inbound_change("\ud800 x", name="Ana")).status_code == 200
    event = WebhookEvent.objects.get()
    page = admin_client.get(f"/admin/webhooks/webhookevent/{event.pk}/change/")
    assert page.status_code == 200
    assert "\ufffd x" in page.content.decode()


@pytest.mark.parametrize(
    ("body", "stored"),
    [
        (
            {"type": "text", "text": {"body": "Hola\x00 \ud800!"}},
            {"body": "Hola \ufffd!", "preview_url": False},
        ),
        (
            {"type": "reaction", "reaction": {"message_id": "wamid.X\x00", "emoji": "\ud83d"}},
            {"message_id": "wamid.X", "emoji": "\ufffd"},
        ),
        (
            {
                "type": "interactive",
                "interactive": {
                    "type": "button",
                    "body": {"text": "Elige\x00"},
                    "action": {"buttons": [{"type": "reply", "reply": {"id": "a\x00", "title": "S\ud800"}}]},
                },
            },
            {
                "type": "button",
                "body": {"text": "Elige"},
                "action": {"buttons": [{"type": "reply", "reply": {"id": "a", "title": "S\ufffd"}}]},
            },
        ),
    ],
    ids=["text", "reaction", "interactive"],
)
def test_it_stores_a_send_whose_body_holds_nul_or_a_lone_surrogate(alice_client, number, body, stored):
    Contact.objects.create(
        phone_number=number, wa_id=WA_ID, last_inbound_at=timezone.now() - timedelta(hours=1)
    )
    response = post_raw(alice_client, MESSAGES_URL, {"to": WA_ID, **body})
    assert response.status_code == 202, response.content
    message = Message.objects.get(pk=response.json()["data"]["id"])
    assert {k: v for k, v in message.content.items() if k != "_context"} == stored
    assert alice_client.get(MESSAGES_URL).status_code == 200


def test_it_refuses_a_template_with_a_broken_character_before_calling_meta(alice_client, number, meta):
    body = {**BODY, "text": "Hi {{1}}, order {{2}} \ud800 is on its way."}
    new = {"name": "broken_text", "language": "en_US", "category": "UTILITY", "components": [body]}
    response = post_raw(alice_client, "/api/meta/whatsapp/templates", new)
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["details"]) == ["components[0].text"]
    assert not meta.calls and not WhatsAppTemplate.objects.exists()


def test_it_syncs_templates_whose_text_at_meta_holds_nul_or_a_lone_surrogate(alice_client, number, meta):
    meta.get(
        graph_url(f"{WABA_ID}/message_templates"),
        body=json.dumps(
            {
                "data": [
                    {
                        "id": "4001",
                        "name": "made_elsewhere",
                        "language": "es_MX",
                        "status": "APPROVED",
                        "category": "UTILITY",
                        "components": [{"type": "BODY", "text": "Hola\x00 {{1}} \ud800"}],
                    }
                ],
                "paging": {"cursors": {"before": "A", "after": "B"}},
            }
        ),
        content_type="application/json",
    )
    response = alice_client.post("/api/meta/whatsapp/templates/sync", {}, format="json")
    assert response.status_code == 200, response.content
    stored = WhatsAppTemplate.objects.get(template_id="4001")
    assert stored.components == [{"type": "BODY", "text": "Hola {{1}} \ufffd"}]
    assert alice_client.get("/api/meta/whatsapp/templates").status_code == 200


@pytest.mark.parametrize("url", [MESSAGES_URL, "/api/meta/whatsapp/templates", "/api/meta/notifications"])
def test_it_answers_a_query_value_holding_nul(alice_client, number, url):
    response = alice_client.get(f"{url}?contact=%00&search=a%00b&status=%00")
    assert response.status_code in (200, 400), response.content


@pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL never stored a lone surrogate")
def test_it_still_lists_messages_stored_with_a_lone_surrogate_before_the_rule(alice_client, number):
    Message.objects.create(
        direction="inbound",
        phone_number=number,
        contact_wa_id=WA_ID,
        type="text",
        content={"body": "old \ud800 row"},
        wamid="wamid.OLD",
        status="received",
    )
    response = alice_client.get(MESSAGES_URL)
    assert response.status_code == 200
    assert response.json()["data"]["messages"][0]["content"] == {"body": "old \ufffd row"}


# --- loads without the rebuild (issue 14: a webhook body is loaded at intake) ----------------

# Strings that exercise every way JSON text can carry what the rule removes, and every way a
# string can look like structure (brackets, quotes, backslashes, escaped pairs).
_PIECES = ["a", "é", "😀", "\x00", "\ud800", "\udfff", "[", "]", "{", "}", '"', "\\", "u", "0", "d8"]
_TEXT = st.lists(st.sampled_from(_PIECES), max_size=6).map("".join) | st.text(max_size=8)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=25,
)


def _outcome(load, raw):
    try:
        return "value", load(raw)
    except text.TooDeep:
        return "too deep", None


def _nest(value, depth: int, kinds: list[bool]):
    for level in range(depth):
        value = [value] if kinds[level % len(kinds)] else {"k": value}
    return value


def _as_sent(value, *, ascii_only: bool, form: str) -> bytes | str:
    raw = json.dumps(value, ensure_ascii=ascii_only)
    return raw if form == "str" else raw.encode(form, "surrogatepass")


@settings(max_examples=300, deadline=None)
@given(value=_JSON, ascii_only=st.booleans(), form=st.sampled_from(["utf-8", "str", "utf-16"]))
def test_it_loads_any_json_exactly_as_the_full_cleaning_pass(value, ascii_only, form):
    raw = _as_sent(value, ascii_only=ascii_only, form=form)
    assert _outcome(text.loads, raw) == _outcome(lambda r: text.clean(json.loads(r)), raw)


@settings(max_examples=150, deadline=None)
@given(
    leaf=_JSON,
    depth=st.integers(55, 70),
    kinds=st.lists(st.booleans(), min_size=1, max_size=3),
    ascii_only=st.booleans(),
    form=st.sampled_from(["utf-8", "str"]),
)
def test_it_refuses_json_nested_too_deep_exactly_as_the_full_cleaning_pass(
    leaf, depth, kinds, ascii_only, form
):
    raw = _as_sent(_nest(leaf, depth, kinds), ascii_only=ascii_only, form=form)
    assert _outcome(text.loads, raw) == _outcome(lambda r: text.clean(json.loads(r)), raw)


def test_it_skips_the_rebuild_for_json_whose_text_needs_no_cleaning(monkeypatch):
    rebuilt = []

    def clean(data, **options):
        rebuilt.append(data)
        return data

    monkeypatch.setattr(text, "clean", clean)
    body = json.dumps(load_payload("statuses__delivered")).encode()
    assert text.loads(body) == json.loads(body) and rebuilt == []
    with pytest.raises(text.TooDeep):
        text.loads(b"[" * 65 + b"]" * 65)
    assert rebuilt == []
    for needs_the_pass in (b'{"a": "\\u0000"}', b'{"a": "\\ud800"}', b'{"a": "\xed\xa0\x80"}', b'["[x"]'):
        text.loads(needs_the_pass)
    assert len(rebuilt) == 4

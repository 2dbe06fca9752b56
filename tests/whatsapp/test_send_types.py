"""Every send type and interactive kind of Meta's Cloud API messages reference, sent through
the API and the real send actor: the body from Meta's reference (with `messaging_product` and
`recipient_type`) goes out exactly as written; replies, Meta's template components, the typing
indicator; and a table of bad bodies, each refused naming its field before any Graph call."""

import copy
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from botopia_meta.api.camel import to_camel
from tests.factories import make_template, make_whatsapp_account
from tests.whatsapp.send_examples import ALL, INTERACTIVE
from tests.whatsapp.test_messages_api import SEND_URL, TO, URL, WA_ID, error_of, meta_accepted, sent_body
from whatsapp.models import Contact, Message

META = {"messaging_product": "whatsapp", "recipient_type": "individual"}


@pytest.fixture
def alice_number(alice):
    return make_whatsapp_account(alice)[2]


@pytest.fixture
def open_window(alice_number):
    return Contact.objects.create(
        phone_number=alice_number, wa_id=WA_ID, last_inbound_at=timezone.now() - timedelta(hours=1)
    )


def _send(client, body: dict):
    return client.post(URL, {"to": TO, **body}, format="json")


@pytest.mark.parametrize("name", list(ALL))
def test_metas_reference_body_goes_out_exactly_as_written(alice_client, open_window, meta, worker, name):
    body = {**META, **copy.deepcopy(ALL[name])}
    meta.post(SEND_URL, json=meta_accepted())
    response = _send(alice_client, body)
    assert response.status_code == 202, response.content
    data = response.json()["data"]
    worker.drain()
    expected = {**body, "to": WA_ID, "biz_opaque_callback_data": data["id"]}
    assert sent_body(meta) == expected
    message = Message.objects.get(pk=data["id"])
    assert message.status == "sent" and message.type == body["type"]


def test_the_interactive_examples_cover_every_kind():
    from whatsapp.messages.interactive import INTERACTIVE_KINDS

    assert set(INTERACTIVE) == set(INTERACTIVE_KINDS)


# --- replies --------------------------------------------------------------------------------


@pytest.fixture
def inbound(open_window):
    return Message.objects.create(
        direction="inbound",
        phone_number=open_window.phone_number,
        contact_wa_id=WA_ID,
        type="text",
        status="received",
        wamid="wamid.QUOTED",
    )


@pytest.mark.parametrize(
    "reply",
    [{"context": {"message_id": "wamid.QUOTED"}}, {"replyTo": "wamid.QUOTED"}],
    ids=["context", "replyTo"],
)
def test_a_reply_reaches_meta_with_its_quote(alice_client, inbound, meta, worker, reply):
    meta.post(SEND_URL, json=meta_accepted())
    response = _send(alice_client, {"type": "text", "text": {"body": "Sure!"}, **reply})
    assert response.status_code == 202, response.content
    worker.drain()
    assert sent_body(meta)["context"] == {"message_id": "wamid.QUOTED"}
    # The quote is not part of the message's shown content.
    assert "_context" not in response.json()["data"]["content"]


def test_a_reply_to_a_message_of_another_number_is_refused_naming_the_field(
    alice_client,
    inbound,
    meta,
    bob,
):
    _, _, bobs_number = make_whatsapp_account(bob, waba_id="777000111", phone_id="999000111")
    Message.objects.create(
        direction="inbound", phone_number=bobs_number, contact_wa_id=WA_ID, type="text", wamid="wamid.BOBS"
    )
    body = {"type": "text", "text": {"body": "hi"}, "context": {"message_id": "wamid.BOBS"}}
    error = error_of(_send(alice_client, body), 404, "NOT_FOUND")
    assert "context.messageId" in error["details"], error
    assert Message.objects.filter(direction="outbound").count() == 0 and not meta.calls


# --- Meta's template components -------------------------------------------------------------

RICH_TEMPLATE = [
    {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1h"]}},
    {
        "type": "BODY",
        "text": "Hi {{1}}, your order {{2}} ships.",
        "example": {"body_text": [["Ana", "A-17"]]},
    },
    {
        "type": "BUTTONS",
        "buttons": [
            {"type": "QUICK_REPLY", "text": "Stop"},
            {
                "type": "URL",
                "text": "Track",
                "url": "https://shop.example/track/{{1}}",
                "example": ["https://x/1"],
            },
            {"type": "COPY_CODE", "example": "SAVE20"},
        ],
    },
]
RICH_COMPONENTS = [
    {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://cdn.example.com/h.jpg"}}]},
    {
        "type": "body",
        "parameters": [
            {"type": "text", "text": "Ana"},
            {"type": "currency", "currency": {"fallback_value": "$10", "code": "USD", "amount_1000": 10000}},
        ],
    },
    {
        "type": "button",
        "sub_type": "quick_reply",
        "index": "0",
        "parameters": [{"type": "payload", "payload": "STOP"}],
    },
    {"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text", "text": "A-17"}]},
    {
        "type": "button",
        "sub_type": "copy_code",
        "index": 2,
        "parameters": [{"type": "coupon_code", "coupon_code": "SAVE20"}],
    },
]


@pytest.fixture
def rich_template(alice_number):
    return make_template(alice_number.waba, name="rich", language="en_US", components=RICH_TEMPLATE)


def test_a_template_in_metas_components_shape_goes_out_unchanged(alice_client, rich_template, meta, worker):
    meta.post(SEND_URL, json=meta_accepted())
    template = {
        "name": "rich",
        "language": {"code": "en_US", "policy": "deterministic"},
        "components": RICH_COMPONENTS,
    }
    response = _send(alice_client, {**META, "type": "template", "template": template})
    assert response.status_code == 202, response.content
    worker.drain()
    assert sent_body(meta)["template"] == {
        "name": "rich",
        "language": {"code": "en_US"},
        "components": RICH_COMPONENTS,
    }


def _without(index: int) -> list:
    return [c for i, c in enumerate(RICH_COMPONENTS) if i != index]


def _changed(position: int, **change) -> list:
    components = copy.deepcopy(RICH_COMPONENTS)
    components[position].update(change)
    return components


@pytest.mark.parametrize(
    ("components", "field"),
    [
        (_without(1), "template.components"),  # the body's placeholders not given
        (_without(3), "template.components"),  # the dynamic URL button not given
        (_changed(1, parameters=[{"type": "text", "text": "Ana"}]), "template.components[1].parameters"),
        (
            _changed(1, parameters=[{"type": "text", "text": "Ana"}, {"type": "image"}]),
            "template.components[1].parameters[1].type",
        ),
        (
            _changed(0, parameters=[{"type": "video", "video": {"id": "1"}}]),
            "template.components[0].parameters[0].type",
        ),
        (_changed(2, sub_type="url"), "template.components[2].sub_type"),
        (_changed(3, index="7"), "template.components[3].index"),
        (
            _changed(4, parameters=[{"type": "text", "text": "X"}]),
            "template.components[4].parameters[0].type",
        ),
        (
            _changed(3, parameters=[{"type": "text", "text": "a\nb"}]),
            "template.components[3].parameters[0].text",
        ),
        ([*RICH_COMPONENTS, {"type": "footer"}], "template.components[5].type"),
        ([*RICH_COMPONENTS, RICH_COMPONENTS[2]], "template.components[5].index"),
        (_changed(1, extra=1), "template.components[1].extra"),
    ],
)
def test_metas_components_are_checked_against_the_template(
    alice_client, rich_template, meta, components, field
):
    template = {"name": "rich", "language": "en_US", "components": components}
    error = error_of(_send(alice_client, {"type": "template", "template": template}), 400, "VALIDATION_ERROR")
    assert to_camel(field) in error["details"], error
    assert not Message.objects.exists() and not meta.calls


def test_named_template_components_must_name_the_placeholders(alice_client, alice_number, meta, worker):
    make_template(
        alice_number.waba,
        name="named",
        language="en_US",
        parameter_format="NAMED",
        components=[
            {
                "type": "BODY",
                "text": "Hi {{first_name}}!",
                "example": {"body_text_named_params": [{"param_name": "first_name", "example": "Ana"}]},
            }
        ],
    )
    good = [{"type": "body", "parameters": [{"type": "text", "parameter_name": "first_name", "text": "Ana"}]}]
    bad = [{"type": "body", "parameters": [{"type": "text", "parameter_name": "name", "text": "Ana"}]}]
    template = {"name": "named", "language": "en_US"}
    error = error_of(
        _send(alice_client, {"type": "template", "template": {**template, "components": bad}}),
        400,
        "VALIDATION_ERROR",
    )
    assert "template.components[0].parameters[0].parameterName" in error["details"], error
    meta.post(SEND_URL, json=meta_accepted())
    assert (
        _send(alice_client, {"type": "template", "template": {**template, "components": good}}).status_code
        == 202
    )
    worker.drain()
    assert sent_body(meta)["template"]["components"] == good


def test_an_authentication_template_takes_its_code_on_the_otp_button(
    alice_client, alice_number, meta, worker
):
    make_template(
        alice_number.waba,
        name="login_code",
        language="en_US",
        category="AUTHENTICATION",
        components=[
            {"type": "BODY", "text": "*{{1}}* is your verification code."},
            {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code"}]},
        ],
    )
    components = [
        {"type": "body", "parameters": [{"type": "text", "text": "123456"}]},
        {
            "type": "button",
            "sub_type": "url",
            "index": "0",
            "parameters": [{"type": "text", "text": "123456"}],
        },
    ]
    meta.post(SEND_URL, json=meta_accepted())
    template = {"name": "login_code", "language": {"code": "en_US"}, "components": components}
    assert _send(alice_client, {"type": "template", "template": template}).status_code == 202
    worker.drain()
    assert sent_body(meta)["template"]["components"] == components


# --- the typing indicator -------------------------------------------------------------------


@pytest.mark.parametrize("key", ["typingIndicator", "typing_indicator"])
def test_mark_read_sends_the_typing_indicator_with_the_read_call(alice_client, inbound, meta, key):
    meta.post(SEND_URL, json={"success": True})
    response = alice_client.post(f"{URL}/{inbound.pk}/read", {key: {"type": "text"}}, format="json")
    assert response.status_code == 200, response.content
    assert json.loads(meta.calls[0].request.body) == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.QUOTED",
        "typing_indicator": {"type": "text"},
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"typingIndicator": {"type": "audio"}}, "typingIndicator"),
        ({"typingIndicator": {"type": "text", "seconds": 5}}, "typing_indicator.seconds"),
        ({"typing": True}, "typing"),
    ],
)
def test_a_bad_typing_indicator_is_refused_before_meta(alice_client, inbound, meta, body, field):
    error = error_of(
        alice_client.post(f"{URL}/{inbound.pk}/read", body, format="json"), 400, "VALIDATION_ERROR"
    )
    assert to_camel(field) in error["details"], error
    assert not meta.calls
    inbound.refresh_from_db()
    assert inbound.read_at is None


# --- bad bodies, each naming its field ------------------------------------------------------


def _interactive(kind: str, **change) -> dict:
    value = copy.deepcopy(INTERACTIVE[kind])
    value.update(change)
    return {"type": "interactive", "interactive": value}


def _action(kind: str, **change) -> dict:
    value = copy.deepcopy(INTERACTIVE[kind])
    value["action"].update(change)
    return {"type": "interactive", "interactive": value}


def _params(kind: str, **change) -> dict:
    value = copy.deepcopy(INTERACTIVE[kind])
    value["action"]["parameters"].update(change)
    return {"type": "interactive", "interactive": value}


REPLY = {"type": "reply", "reply": {"id": "x", "title": "X"}}
LONG = "x" * 21

BAD_BODIES = [
    # top level
    ({"type": "text", "text": {"body": "hi"}, "messaging_product": "sms"}, "messagingProduct"),
    ({"type": "text", "text": {"body": "hi"}, "recipient_type": "group"}, "recipientType"),
    ({"type": "text", "text": {"body": "hi"}, "priority": "high"}, "priority"),
    ({"type": "text", "text": {"body": "hi"}, "image": {"id": "1"}}, "image"),
    ({"type": "text", "text": {"body": "hi"}, "biz_opaque_callback_data": "x"}, "bizOpaqueCallbackData"),
    ({"type": "text", "text": {"body": "hi"}, "context": {"id": "wamid.X"}}, "context.id"),
    ({"type": "text", "text": {"body": "hi"}, "context": {}}, "context.messageId"),
    (
        {"type": "text", "text": {"body": "hi"}, "context": {"message_id": "wamid.A"}, "replyTo": "wamid.B"},
        "replyTo",
    ),
    # text and media
    ({"type": "text", "text": {"body": "x" * 4097}}, "text.body"),
    ({"type": "text", "text": {"body": "hi", "preview_url": "yes"}}, "text.previewUrl"),
    ({"type": "text", "text": {"body": "hi", "font": "bold"}}, "text.font"),
    ({"type": "image", "image": {"id": "1", "link": "https://a.example/x.jpg"}}, "image"),
    ({"type": "image", "image": {"id": "1", "caption": "x" * 1025}}, "image.caption"),
    ({"type": "image", "image": {"id": "1", "filename": "a.jpg"}}, "image.filename"),
    ({"type": "sticker", "sticker": {"id": "1", "caption": "hi"}}, "sticker.caption"),
    ({"type": "sticker", "sticker": {"link": "http://a.example/s.webp"}}, "sticker.link"),
    ({"type": "video", "video": {"link": "https://127.0.0.1/v.mp4"}}, "video.link"),
    # location and contacts
    ({"type": "location", "location": {"longitude": 2.1}}, "location.latitude"),
    ({"type": "location", "location": {"latitude": 91, "longitude": 2.1}}, "location.latitude"),
    ({"type": "location", "location": {"latitude": "north", "longitude": 2.1}}, "location.latitude"),
    ({"type": "contacts", "contacts": []}, "contacts"),
    ({"type": "contacts", "contacts": {"name": {"formatted_name": "A"}}}, "contacts"),
    ({"type": "contacts", "contacts": [{"phones": [{"phone": "+1"}]}]}, "contacts[0].name"),
    ({"type": "contacts", "contacts": [{"name": {"formatted_name": "Ana"}}]}, "contacts[0].name"),
    ({"type": "contacts", "contacts": [{"name": {"first_name": "Ana"}}]}, "contacts[0].name.formattedName"),
    (
        {
            "type": "contacts",
            "contacts": [{"name": {"formatted_name": "A B", "first_name": "A"}, "birthday": "23/01/1999"}],
        },
        "contacts[0].birthday",
    ),
    (
        {
            "type": "contacts",
            "contacts": [
                {
                    "name": {"formatted_name": "A B", "first_name": "A"},
                    "phones": [{"phone": "1", "kind": "x"}],
                }
            ],
        },
        "contacts[0].phones[0].kind",
    ),
    # reaction
    ({"type": "reaction", "reaction": {"emoji": "x"}}, "reaction.messageId"),
    # interactive: every kind's rules
    (
        {"type": "interactive", "interactive": {"type": "poll", "body": {"text": "x"}, "action": {}}},
        "interactive.type",
    ),
    (_interactive("button", body={"text": "x" * 1025}), "interactive.body.text"),
    (_interactive("button", footer={"text": "x" * 61}), "interactive.footer.text"),
    (_interactive("button", header={"type": "text", "text": "x" * 61}), "interactive.header.text"),
    (_interactive("button", header={"type": "image"}), "interactive.header.image"),
    (_action("button", buttons=[REPLY, REPLY, REPLY, REPLY]), "interactive.action.buttons"),
    (
        _action(
            "button", buttons=[REPLY, REPLY, REPLY, {"type": "reply", "reply": {"id": "y", "title": LONG}}]
        ),
        "interactive.action.buttons",
    ),
    (
        _action("button", buttons=[REPLY, {"type": "reply", "reply": {"id": "y", "title": LONG}}]),
        "interactive.action.buttons[1].reply.title",
    ),
    (_action("button", buttons=[REPLY, REPLY]), "interactive.action.buttons[1].reply.id"),
    (
        _action("button", buttons=[{"type": "url", "reply": {"id": "y", "title": "Y"}}]),
        "interactive.action.buttons[0].type",
    ),
    (_interactive("list", header={"type": "image", "image": {"id": "1"}}), "interactive.header.type"),
    (_action("list", button=LONG), "interactive.action.button"),
    (
        _action("list", sections=[{"rows": [{"id": f"r{i}", "title": "R"} for i in range(11)]}]),
        "interactive.action.sections[0].rows",
    ),
    (
        _action(
            "list",
            sections=[
                {"title": "A", "rows": [{"id": "a", "title": "A"}]},
                {"rows": [{"id": "b", "title": "B"}]},
            ],
        ),
        "interactive.action.sections[1].title",
    ),
    (
        _action("list", sections=[{"rows": [{"id": "a", "title": "A", "description": "x" * 73}]}]),
        "interactive.action.sections[0].rows[0].description",
    ),
    (_params("cta_url", url="http://plain.example"), "interactive.action.parameters.url"),
    (_params("cta_url", display_text=LONG), "interactive.action.parameters.display_text"),
    (_action("cta_url", name="url"), "interactive.action.name"),
    (_params("flow", flow_name="signup"), "interactive.action.parameters.flow_id"),
    (_params("flow", flow_message_version="2"), "interactive.action.parameters.flow_message_version"),
    (_params("flow", flow_action="open"), "interactive.action.parameters.flow_action"),
    (
        _params("flow", flow_action_payload={"data": {}}),
        "interactive.action.parameters.flow_action_payload.screen",
    ),
    (_params("flow", mode="test"), "interactive.action.parameters.mode"),
    (_params("flow", flow_cta="x" * 21), "interactive.action.parameters.flow_cta"),
    (_params("flow", flow_action_payload=None), "interactive.action.parameters.flow_action_payload"),
    (_interactive("location_request_message", footer={"text": "x"}), "interactive.footer"),
    (_action("location_request_message", name="send_address"), "interactive.action.name"),
    (_interactive("product", header={"type": "text", "text": "x"}), "interactive.header"),
    (_action("product", product_retailer_id=None), "interactive.action.productRetailerId"),
    (_interactive("product_list", header=None), "interactive.header"),
    (
        _action(
            "product_list",
            sections=[{"title": "A", "product_items": [{"product_retailer_id": str(i)} for i in range(31)]}],
        ),
        "interactive.action.sections[0].productItems",
    ),
    (
        _action(
            "product_list",
            sections=[
                {"title": f"S{s}", "product_items": [{"product_retailer_id": f"{s}-{i}"} for i in range(16)]}
                for s in range(2)
            ],
        ),
        "interactive.action.sections",
    ),
    (_params("catalog_message", thumbnail="x"), "interactive.action.parameters.thumbnail"),
    (_params("order_details", currency="reais"), "interactive.action.parameters.currency"),
    (_params("order_details", type="services"), "interactive.action.parameters.type"),
    (
        _params("order_details", total_amount={"value": 1}),
        "interactive.action.parameters.total_amount.offset",
    ),
    (_params("order_status", order={"status": "lost"}), "interactive.action.parameters.order.status"),
    (_action("carousel", cards=INTERACTIVE["carousel"]["action"]["cards"][:1]), "interactive.action.cards"),
    (
        _action("carousel", cards=list(reversed(INTERACTIVE["carousel"]["action"]["cards"]))),
        "interactive.action.cards[0].cardIndex",
    ),
    (_params("voice_call", ttl_minutes=0), "interactive.action.parameters.ttl_minutes"),
    (_params("address_message", country="India"), "interactive.action.parameters.country"),
    # templates
    (
        {"type": "template", "template": {"name": "x", "language": "en_US", "namespace": "ns"}},
        "template.namespace",
    ),
]


@pytest.mark.parametrize(
    ("body", "field"), BAD_BODIES, ids=[f"{i}-{f}" for i, (_, f) in enumerate(BAD_BODIES)]
)
def test_a_bad_body_is_refused_naming_its_field(alice_client, open_window, meta, body, field):
    response = _send(alice_client, body)
    error = error_of(response, 400, "VALIDATION_ERROR")
    assert list(error["details"]) == [to_camel(field)], error
    assert not Message.objects.exists() and not meta.calls


def test_a_broadcasts_template_takes_no_parameters_of_its_own(alice_client, rich_template, meta):
    template = {"name": "rich", "language": "en_US", "components": RICH_COMPONENTS}
    body = {"template": template, "recipients": [{"to": TO}]}
    error = error_of(
        alice_client.post("/api/meta/whatsapp/broadcasts", body, format="json"), 400, "VALIDATION_ERROR"
    )
    assert list(error["details"]) == ["template.components"], error
    assert not meta.calls

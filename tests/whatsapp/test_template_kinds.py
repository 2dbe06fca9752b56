"""Template creation of every category and component Meta documents: multi-product (MPM),
catalog, single-product, carousel, limited-time offer, flows, calls, and authentication with
copy code, one tap and zero tap. Each is accepted as Meta's reference writes it and reaches
Meta unchanged; each broken rule is refused naming its field, before any Graph call."""

import copy
import json

import pytest

from tests.conftest import graph_url
from tests.factories import WABA_ID, make_whatsapp_account
from whatsapp.message_templates.rules import template_errors

BODY = {"type": "BODY", "text": "Hi {{1}}, see our picks.", "example": {"body_text": [["Ana"]]}}
APP = {"package_name": "com.example.luckyshrub", "signature_hash": "K8a/AINcGX7"}


def _card(index: int, fmt: str = "IMAGE", buttons: list | None = None) -> dict:
    return {
        "components": [
            {"type": "HEADER", "format": fmt, "example": {"header_handle": [f"4::card{index}"]}},
            {"type": "BODY", "text": f"Card {index}: rare succulents."},
            {
                "type": "BUTTONS",
                "buttons": buttons
                or [
                    {"type": "QUICK_REPLY", "text": "Send more like this"},
                    {"type": "URL", "text": "Buy now", "url": "https://www.luckyshrub.com/shop"},
                ],
            },
        ]
    }


def _auth(button: dict) -> dict:
    return {
        "name": "login_code",
        "language": "en_US",
        "category": "AUTHENTICATION",
        "components": [
            {"type": "BODY", "add_security_recommendation": True},
            {"type": "FOOTER", "code_expiration_minutes": 10},
            {"type": "BUTTONS", "buttons": [button]},
        ],
    }


def _marketing(*components: dict, name: str = "spring_offer") -> dict:
    return {"name": name, "language": "en_US", "category": "MARKETING", "components": list(components)}


KINDS = {
    "mpm": _marketing(
        {
            "type": "HEADER",
            "format": "TEXT",
            "text": "Forget something, {{1}}?",
            "example": {"header_text": ["Ana"]},
        },
        BODY,
        {"type": "BUTTONS", "buttons": [{"type": "MPM", "text": "View items"}]},
    ),
    "catalog": _marketing(
        BODY, {"type": "BUTTONS", "buttons": [{"type": "CATALOG", "text": "View catalog"}]}
    ),
    "spm": _marketing(
        {"type": "HEADER", "format": "PRODUCT"},
        BODY,
        {"type": "BUTTONS", "buttons": [{"type": "SPM", "text": "View"}]},
    ),
    "carousel": _marketing(BODY, {"type": "CAROUSEL", "cards": [_card(0), _card(1)]}),
    "limited_time_offer": _marketing(
        {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::offer"]}},
        {
            "type": "LIMITED_TIME_OFFER",
            "limited_time_offer": {"text": "Expiring offer!", "has_expiration": True},
        },
        BODY,
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "COPY_CODE", "example": "HOTS25"},
                {"type": "URL", "text": "Book now!", "url": "https://www.luckyshrub.com/offers"},
            ],
        },
    ),
    "flow": _marketing(
        BODY,
        {
            "type": "BUTTONS",
            "buttons": [
                {
                    "type": "FLOW",
                    "text": "Sign up",
                    "flow_id": "1627019861106475",
                    "navigate_screen": "WELCOME_SCREEN",
                    "flow_action": "NAVIGATE",
                }
            ],
        },
    ),
    "voice_call": _marketing(
        BODY, {"type": "BUTTONS", "buttons": [{"type": "VOICE_CALL", "text": "Call us"}]}
    ),
    "auth_copy_code": _auth({"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code"}),
    "auth_one_tap": _auth(
        {
            "type": "OTP",
            "otp_type": "ONE_TAP",
            "text": "Copy code",
            "autofill_text": "Autofill",
            "supported_apps": [APP],
        }
    ),
    "auth_one_tap_legacy": _auth({"type": "OTP", "otp_type": "ONE_TAP", **APP}),
    "auth_zero_tap": _auth(
        {"type": "OTP", "otp_type": "ZERO_TAP", "zero_tap_terms_accepted": True, "supported_apps": [APP]}
    ),
}


@pytest.mark.parametrize("name", list(KINDS))
def test_every_kind_meta_documents_is_accepted(name):
    assert template_errors(**KINDS[name]) == {}


@pytest.fixture
def alice_waba(alice):
    return make_whatsapp_account(alice)[1]


@pytest.mark.parametrize("name", ["carousel", "limited_time_offer", "mpm", "auth_zero_tap"])
def test_a_rich_template_reaches_meta_unchanged(alice_client, alice_waba, meta, name):
    meta.post(
        graph_url(f"{WABA_ID}/message_templates"),
        json={"id": "777000222", "status": "PENDING", "category": KINDS[name]["category"]},
    )
    response = alice_client.post("/api/meta/whatsapp/templates", KINDS[name], format="json")
    assert response.status_code == 201, response.content
    assert json.loads(meta.calls[0].request.body) == {**KINDS[name], "parameter_format": "POSITIONAL"}


def _edit(name: str, path: tuple, value) -> dict:
    body = copy.deepcopy(KINDS[name])
    target = body
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    elif isinstance(target, list) and path[-1] == len(target):
        target.append(value)
    else:
        target[path[-1]] = value
    return body


BAD = [
    ("mpm without a text header", _edit("mpm", ("components", 0, "format"), "IMAGE"), "components"),
    (
        "mpm with another button",
        _edit("mpm", ("components", 2, "buttons", 1), {"type": "QUICK_REPLY", "text": "No"}),
        "components[2].buttons",
    ),
    (
        "two catalog buttons",
        _edit("catalog", ("components", 1, "buttons", 1), {"type": "CATALOG", "text": "Again"}),
        "components[1].buttons",
    ),
    (
        "catalog label too long",
        _edit("catalog", ("components", 1, "buttons", 0, "text"), "x" * 26),
        "components[1].buttons[0].text",
    ),
    ("spm without a product header", _edit("spm", ("components", 0, "format"), "TEXT"), "components"),
    (
        "carousel of one card",
        _edit("carousel", ("components", 1, "cards"), [_card(0)]),
        "components[1].cards",
    ),
    (
        "carousel of eleven cards",
        _edit("carousel", ("components", 1, "cards"), [_card(i) for i in range(11)]),
        "components[1].cards",
    ),
    (
        "carousel card without header",
        _edit("carousel", ("components", 1, "cards", 0, "components", 0), {"type": "BODY", "text": "x"}),
        "components[1].cards[0].components",
    ),
    (
        "carousel card with a document",
        _edit("carousel", ("components", 1, "cards", 1, "components", 0, "format"), "DOCUMENT"),
        "components[1].cards[1].components[0].format",
    ),
    (
        "carousel card body too long",
        _edit("carousel", ("components", 1, "cards", 0, "components", 1, "text"), "x" * 161),
        "components[1].cards[0].components[1].text",
    ),
    (
        "carousel cards unlike",
        _edit(
            "carousel",
            ("components", 1, "cards", 1),
            _card(1, buttons=[{"type": "QUICK_REPLY", "text": "Only"}]),
        ),
        "components[1].cards",
    ),
    (
        "carousel card with three buttons",
        _edit(
            "carousel",
            ("components", 1, "cards", 0, "components", 2, "buttons", 2),
            {"type": "QUICK_REPLY", "text": "More"},
        ),
        "components[1].cards[0].components[2].buttons",
    ),
    (
        "carousel card with a copy code",
        _edit(
            "carousel",
            ("components", 1, "cards", 0, "components", 2, "buttons", 0),
            {"type": "COPY_CODE", "example": "X"},
        ),
        "components[1].cards[0].components[2].buttons[0].type",
    ),
    (
        "carousel with a top-level footer",
        _edit("carousel", ("components", 2), {"type": "FOOTER", "text": "x"}),
        "components[2].type",
    ),
    ("authentication carousel", _edit("carousel", ("category",), "AUTHENTICATION"), "category"),
    (
        "offer headline too long",
        _edit("limited_time_offer", ("components", 1, "limited_time_offer", "text"), "x" * 17),
        "components[1].limited_time_offer.text",
    ),
    (
        "offer without its object",
        _edit("limited_time_offer", ("components", 1, "limited_time_offer"), KeyError),
        "components[1].limited_time_offer",
    ),
    ("utility offer", _edit("limited_time_offer", ("category",), "UTILITY"), "category"),
    (
        "offer with a footer",
        _edit("limited_time_offer", ("components", 4), {"type": "FOOTER", "text": "x"}),
        "components[4].type",
    ),
    (
        "flow without a flow",
        _edit("flow", ("components", 1, "buttons", 0, "flow_id"), KeyError),
        "components[1].buttons[0].flow_id",
    ),
    (
        "flow action",
        _edit("flow", ("components", 1, "buttons", 0, "flow_action"), "OPEN"),
        "components[1].buttons[0].flow_action",
    ),
    (
        "two call buttons",
        _edit("voice_call", ("components", 1, "buttons", 1), {"type": "VOICE_CALL", "text": "Again"}),
        "components[1].buttons",
    ),
    (
        "otp type",
        _edit("auth_copy_code", ("components", 2, "buttons", 0, "otp_type"), "SMS"),
        "components[2].buttons[0].otp_type",
    ),
    (
        "authentication without otp",
        _edit("auth_copy_code", ("components", 2), {"type": "BUTTONS", "buttons": []}),
        "components",
    ),
    (
        "code expiry",
        _edit("auth_copy_code", ("components", 1, "code_expiration_minutes"), 91),
        "components[1].code_expiration_minutes",
    ),
    (
        "security flag",
        _edit("auth_copy_code", ("components", 0, "add_security_recommendation"), "yes"),
        "components[0].add_security_recommendation",
    ),
    (
        "one tap without apps",
        _edit("auth_one_tap", ("components", 2, "buttons", 0, "supported_apps"), KeyError),
        "components[2].buttons[0].supported_apps",
    ),
    (
        "one tap bad package",
        _edit(
            "auth_one_tap", ("components", 2, "buttons", 0, "supported_apps", 0, "package_name"), "luckyshrub"
        ),
        "components[2].buttons[0].supported_apps[0].package_name",
    ),
    (
        "one tap bad hash",
        _edit(
            "auth_one_tap", ("components", 2, "buttons", 0, "supported_apps", 0, "signature_hash"), "short"
        ),
        "components[2].buttons[0].supported_apps[0].signature_hash",
    ),
    (
        "one tap autofill too long",
        _edit("auth_one_tap", ("components", 2, "buttons", 0, "autofill_text"), "x" * 26),
        "components[2].buttons[0].autofill_text",
    ),
    (
        "zero tap without the terms",
        _edit("auth_zero_tap", ("components", 2, "buttons", 0, "zero_tap_terms_accepted"), False),
        "components[2].buttons[0].zero_tap_terms_accepted",
    ),
]


@pytest.mark.parametrize(("case", "body", "field"), BAD, ids=[case for case, _, _ in BAD])
def test_each_broken_rule_names_its_field(case, body, field):
    errors = template_errors(**body)
    assert field in errors, errors


def test_a_broken_rich_template_is_refused_before_meta(alice_client, alice_waba, meta):
    body = BAD[5][1]  # a carousel of one card
    response = alice_client.post("/api/meta/whatsapp/templates", body, format="json")
    assert response.status_code == 400, response.content
    assert "components[1].cards" in response.json()["error"]["details"]
    assert not meta.calls

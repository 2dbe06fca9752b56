"""Meta's template rules, table-tested: each bad request names the exact field that breaks."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from whatsapp.message_templates.rules import normalized, placeholders, template_errors

BODY = {
    "type": "BODY",
    "text": "Hi {{1}}, order {{2}} ships today.",
    "example": {"body_text": [["Ana", "A-17"]]},
}


def request(**overrides) -> dict:
    base = {"name": "order_update", "language": "en_US", "category": "UTILITY", "components": [BODY]}
    base.update(overrides)
    return base


def with_components(*components) -> dict:
    return request(components=list(components))


VALID = [
    request(),
    request(category="marketing", language="pt_BR"),
    with_components({"type": "BODY", "text": "No variables at all."}),
    with_components(
        {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}", "example": {"header_text": ["A-17"]}},
        BODY,
        {"type": "FOOTER", "text": "Reply STOP to opt out"},
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "QUICK_REPLY", "text": "Track"},
                {
                    "type": "URL",
                    "text": "Open",
                    "url": "https://x.example/o/{{1}}",
                    "example": ["https://x.example/o/1"],
                },
                {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+15550001111"},
            ],
        },
    ),
    with_components(
        {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1hZ2U="]}}, BODY
    ),
    with_components({"type": "HEADER", "format": "LOCATION"}, BODY),
    request(
        parameter_format="NAMED",
        components=[
            {
                "type": "BODY",
                "text": "Hi {{first_name}}, order {{order_id}} ships.",
                "example": {
                    "body_text_named_params": [
                        {"param_name": "first_name", "example": "Ana"},
                        {"param_name": "order_id", "example": "A-17"},
                    ]
                },
            }
        ],
    ),
    request(
        category="AUTHENTICATION",
        components=[
            {"type": "BODY", "add_security_recommendation": True},
            {"type": "FOOTER", "code_expiration_minutes": 10},
            {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE"}]},
        ],
    ),
]


@pytest.mark.parametrize("body", VALID)
def test_it_accepts_templates_meta_accepts(body):
    assert template_errors(**body) == {}


def _button(**button) -> dict:
    return {"type": "BUTTONS", "buttons": [button]}


BAD = [
    ("name required", request(name=""), "name"),
    ("name uppercase", request(name="Order_Update"), "name"),
    ("name with space", request(name="order update"), "name"),
    ("name too long", request(name="a" * 513), "name"),
    ("language", request(language="english"), "language"),
    ("category", request(category="PROMO"), "category"),
    ("parameter format", request(parameter_format="MIXED"), "parameter_format"),
    ("no components", request(components=[]), "components"),
    ("components not a list", request(components={"type": "BODY"}), "components"),
    ("no body", with_components({"type": "FOOTER", "text": "bye"}), "components"),
    ("component not an object", with_components(BODY, "FOOTER"), "components[1]"),
    ("component type", with_components(BODY, {"type": "SIDEBAR"}), "components[1].type"),
    ("two bodies", with_components(BODY, BODY), "components[1].type"),
    ("body without text", with_components({"type": "BODY"}), "components[0].text"),
    ("body too long", with_components({"type": "BODY", "text": "x" * 1025}), "components[0].text"),
    (
        "numbering gap",
        with_components(
            {"type": "BODY", "text": "Hi {{1}} and {{3}}.", "example": {"body_text": [["a", "b"]]}}
        ),
        "components[0].text",
    ),
    (
        "numbering from 2",
        with_components({"type": "BODY", "text": "Hi {{2}} there.", "example": {"body_text": [["a"]]}}),
        "components[0].text",
    ),
    (
        "adjacent placeholders",
        with_components(
            {"type": "BODY", "text": "Hi {{1}} {{2}} there.", "example": {"body_text": [["a", "b"]]}}
        ),
        "components[0].text",
    ),
    (
        "placeholder at the start",
        with_components({"type": "BODY", "text": "{{1}} is ready.", "example": {"body_text": [["a"]]}}),
        "components[0].text",
    ),
    (
        "placeholder at the end",
        with_components({"type": "BODY", "text": "Ready for {{1}}", "example": {"body_text": [["a"]]}}),
        "components[0].text",
    ),
    (
        "placeholder with spaces",
        with_components({"type": "BODY", "text": "Hi {{ 1 }} there.", "example": {"body_text": [["a"]]}}),
        "components[0].text",
    ),
    (
        "named placeholder in a positional template",
        with_components({"type": "BODY", "text": "Hi {{name}} there.", "example": {"body_text": [["a"]]}}),
        "components[0].text",
    ),
    (
        "positional placeholder in a named template",
        request(
            parameter_format="NAMED",
            components=[{"type": "BODY", "text": "Hi {{1}} there.", "example": {"body_text": [["a"]]}}],
        ),
        "components[0].text",
    ),
    (
        "body example missing",
        with_components({"type": "BODY", "text": "Hi {{1}} there."}),
        "components[0].example",
    ),
    (
        "body example count",
        with_components({"type": "BODY", "text": "Hi {{1}}, {{2}} ok.", "example": {"body_text": [["a"]]}}),
        "components[0].example",
    ),
    (
        "body example blank",
        with_components({"type": "BODY", "text": "Hi {{1}} there.", "example": {"body_text": [[" "]]}}),
        "components[0].example",
    ),
    (
        "named example missing a name",
        request(
            parameter_format="NAMED",
            components=[
                {
                    "type": "BODY",
                    "text": "Hi {{first_name}}, order {{order_id}} ok.",
                    "example": {"body_text_named_params": [{"param_name": "first_name", "example": "Ana"}]},
                }
            ],
        ),
        "components[0].example",
    ),
    (
        "unbalanced braces",
        with_components(
            {"type": "BODY", "text": "Hi {{1}, ok {{2}} there.", "example": {"body_text": [["a"]]}}
        ),
        "components[0].text",
    ),
    (
        "otp button outside authentication",
        with_components(BODY, _button(type="OTP", otp_type="COPY_CODE")),
        "components[1].buttons[0].type",
    ),
    (
        "authentication with a header",
        request(
            category="AUTHENTICATION", components=[{"type": "HEADER", "format": "TEXT", "text": "Code"}, BODY]
        ),
        "components[0].type",
    ),
    ("header format", with_components({"type": "HEADER", "format": "GIF"}, BODY), "components[0].format"),
    (
        "text header without text",
        with_components({"type": "HEADER", "format": "TEXT"}, BODY),
        "components[0].text",
    ),
    (
        "header too long",
        with_components({"type": "HEADER", "format": "TEXT", "text": "h" * 61}, BODY),
        "components[0].text",
    ),
    (
        "header with two placeholders",
        with_components(
            {
                "type": "HEADER",
                "format": "TEXT",
                "text": "A {{1}} b {{2}}",
                "example": {"header_text": ["x"]},
            },
            BODY,
        ),
        "components[0].text",
    ),
    (
        "header example missing",
        with_components({"type": "HEADER", "format": "TEXT", "text": "Order {{1}}"}, BODY),
        "components[0].example",
    ),
    (
        "media header without sample",
        with_components({"type": "HEADER", "format": "IMAGE"}, BODY),
        "components[0].example",
    ),
    (
        "media header with text",
        with_components(
            {"type": "HEADER", "format": "VIDEO", "text": "x", "example": {"header_handle": ["h"]}}, BODY
        ),
        "components[0].text",
    ),
    (
        "footer with placeholder",
        with_components(BODY, {"type": "FOOTER", "text": "Bye {{1}}"}),
        "components[1].text",
    ),
    ("footer too long", with_components(BODY, {"type": "FOOTER", "text": "f" * 61}), "components[1].text"),
    ("no buttons", with_components(BODY, {"type": "BUTTONS", "buttons": []}), "components[1].buttons"),
    (
        "eleven buttons",
        with_components(BODY, {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "ok"}] * 11}),
        "components[1].buttons",
    ),
    (
        "three URL buttons",
        with_components(
            BODY,
            {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Go", "url": "https://x.example"}] * 3},
        ),
        "components[1].buttons",
    ),
    (
        "two phone buttons",
        with_components(
            BODY,
            {
                "type": "BUTTONS",
                "buttons": [{"type": "PHONE_NUMBER", "text": "Call", "phone_number": "+15550001"}] * 2,
            },
        ),
        "components[1].buttons",
    ),
    ("button kind", with_components(BODY, _button(type="LINK", text="x")), "components[1].buttons[0].type"),
    ("button label", with_components(BODY, _button(type="QUICK_REPLY")), "components[1].buttons[0].text"),
    (
        "button label too long",
        with_components(BODY, _button(type="QUICK_REPLY", text="x" * 26)),
        "components[1].buttons[0].text",
    ),
    (
        "url button url",
        with_components(BODY, _button(type="URL", text="Go", url="ftp://x")),
        "components[1].buttons[0].url",
    ),
    (
        "url placeholder not at end",
        with_components(BODY, _button(type="URL", text="Go", url="https://x.example/{{1}}/a", example=["x"])),
        "components[1].buttons[0].url",
    ),
    (
        "url placeholder without example",
        with_components(BODY, _button(type="URL", text="Go", url="https://x.example/{{1}}")),
        "components[1].buttons[0].example",
    ),
    (
        "phone button number",
        with_components(BODY, _button(type="PHONE_NUMBER", text="Call", phone_number="call me")),
        "components[1].buttons[0].phone_number",
    ),
    (
        "copy code example",
        with_components(BODY, _button(type="COPY_CODE")),
        "components[1].buttons[0].example",
    ),
    (
        "otp type",
        with_components(BODY, _button(type="OTP", otp_type="SMS")),
        "components[1].buttons[0].otp_type",
    ),
    (
        "flow without flow",
        with_components(BODY, _button(type="FLOW", text="Book")),
        "components[1].buttons[0].flow_id",
    ),
    (
        "authentication with a quick reply",
        request(category="AUTHENTICATION", components=[BODY, _button(type="QUICK_REPLY", text="ok")]),
        "components[1].buttons[0].type",
    ),
]


@pytest.mark.parametrize(("case", "body", "field"), BAD, ids=[case for case, _, _ in BAD])
def test_it_names_the_field_that_breaks_a_rule(case, body, field):
    errors = template_errors(**body)
    assert field in errors, errors
    assert all(isinstance(message, str) and message for message in errors[field])


def test_it_reports_every_broken_rule_at_once():
    errors = template_errors(
        name="Bad Name",
        language="xx-YY",
        category="UTILITY",
        components=[{"type": "HEADER", "format": "IMAGE"}, {"type": "BODY", "text": "Hi {{1}} there."}],
    )
    assert set(errors) == {"name", "language", "components[0].example", "components[1].example"}


def test_it_says_which_placeholder_is_missing():
    errors = template_errors(
        **with_components(
            {"type": "BODY", "text": "a {{1}} b {{3}} c", "example": {"body_text": [["x", "y"]]}}
        )
    )
    assert "{{2}}" in errors["components[0].text"][0]


def test_it_lists_placeholders_in_order():
    assert placeholders("Hi {{1}}, {{ 2 }} and {{name}}") == ["1", "2", "name"]


def test_it_normalizes_to_metas_upper_case_names():
    payload = normalized(
        name="x",
        language="en",
        category="utility",
        components=[
            {"type": "body", "text": "t"},
            {"type": "buttons", "buttons": [{"type": "quick_reply", "text": "a"}]},
        ],
        parameter_format=None,
    )
    assert payload["category"] == "UTILITY"
    assert payload["parameter_format"] == "POSITIONAL"
    assert [c["type"] for c in payload["components"]] == ["BODY", "BUTTONS"]
    assert payload["components"][1]["buttons"][0]["type"] == "QUICK_REPLY"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
component_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["HEADER", "BODY", "FOOTER", "BUTTONS", "body", "x"])},
    optional={
        "format": st.sampled_from(["TEXT", "IMAGE", "LOCATION", "??"]) | json_values,
        "text": st.text(alphabet="ab {}12_", max_size=40) | json_values,
        "example": json_values,
        "buttons": st.lists(
            st.dictionaries(st.sampled_from(["type", "text", "url", "example"]), json_values)
        ),
    },
)


@given(
    name=json_values,
    language=json_values,
    category=json_values,
    parameter_format=json_values,
    components=st.lists(component_like | json_values, max_size=5) | json_values,
)
@settings(max_examples=150, deadline=None)
def test_it_never_crashes_on_any_json(name, language, category, parameter_format, components):
    errors = template_errors(
        name=name,
        language=language,
        category=category,
        components=components,
        parameter_format=parameter_format,
    )
    assert isinstance(errors, dict)
    assert all(isinstance(k, str) and v and all(isinstance(m, str) for m in v) for k, v in errors.items())

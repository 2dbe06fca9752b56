"""Template substitution: a table of templates, parameters and the exact outcome."""

import pytest

from whatsapp.messages.substitution import SubstitutionError, build_components

BODY = {"type": "BODY", "text": "Hi {{1}}, order {{2}} ({{1}})."}
NAMED_BODY = {"type": "BODY", "text": "Hi {{first_name}}, order {{order_id}}."}
TEXT_HEADER = {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}"}
IMAGE_HEADER = {"type": "HEADER", "format": "IMAGE"}
DOC_HEADER = {"type": "HEADER", "format": "DOCUMENT"}
BUTTONS = {
    "type": "BUTTONS",
    "buttons": [
        {"type": "QUICK_REPLY", "text": "Stop"},
        {"type": "URL", "text": "Track", "url": "https://shop.example/t/{{1}}"},
        {"type": "COPY_CODE", "example": "SAVE10"},
    ],
}


def t(components, parameters, fmt="POSITIONAL"):
    return build_components(components=components, parameter_format=fmt, parameters=parameters)


def test_positional_body_counts_each_placeholder_once():
    assert t([BODY], {"body": ["Ana", "A-17"]}) == [
        {"type": "body", "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "A-17"}]}
    ]


def test_named_body_keeps_the_names():
    assert t([NAMED_BODY], {"body": {"order_id": "A-17", "first_name": "Ana"}}, "NAMED") == [
        {
            "type": "body",
            "parameters": [
                {"type": "text", "parameter_name": "first_name", "text": "Ana"},
                {"type": "text", "parameter_name": "order_id", "text": "A-17"},
            ],
        }
    ]


def test_media_header_text_header_and_buttons():
    out = t(
        [IMAGE_HEADER, BODY, BUTTONS],
        {
            "header": {"image": {"link": "https://cdn.example/a.jpg"}},
            "body": ["Ana", "A-17"],
            "buttons": [None, "A-17", "SAVE10"],
        },
    )
    assert out[0] == {
        "type": "header",
        "parameters": [{"type": "image", "image": {"link": "https://cdn.example/a.jpg"}}],
    }
    assert out[2] == {
        "type": "button",
        "sub_type": "url",
        "index": "1",
        "parameters": [{"type": "text", "text": "A-17"}],
    }
    assert out[3] == {
        "type": "button",
        "sub_type": "copy_code",
        "index": "2",
        "parameters": [{"type": "coupon_code", "coupon_code": "SAVE10"}],
    }
    assert t([TEXT_HEADER], {"header": ["A-17"]}) == [
        {"type": "header", "parameters": [{"type": "text", "text": "A-17"}]}
    ]
    assert t([DOC_HEADER], {"header": {"document": {"id": "77", "filename": "f.pdf"}}})[0]["parameters"][
        0
    ] == {"type": "document", "document": {"id": "77", "filename": "f.pdf"}}


def test_a_template_without_placeholders_needs_nothing():
    assert t([{"type": "BODY", "text": "Hello"}], None) == []


ERRORS = [
    ([BODY], {"body": ["Ana"]}, "POSITIONAL", "body", "Expected 2"),
    ([BODY], {"body": ["a", "b", "c"]}, "POSITIONAL", "body", "Expected 2"),
    ([BODY], {}, "POSITIONAL", "body", "Missing"),
    ([BODY], {"body": "Ana"}, "POSITIONAL", "body", "list"),
    ([BODY], {"body": ["Ana", ""]}, "POSITIONAL", "body[1]", "empty"),
    ([BODY], {"body": ["Ana", "line\nbreak"]}, "POSITIONAL", "body[1]", "newlines"),
    ([BODY], {"body": ["Ana", {"x": 1}]}, "POSITIONAL", "body[1]", "string"),
    ([NAMED_BODY], {"body": {"first_name": "Ana"}}, "NAMED", "body", "order_id"),
    ([NAMED_BODY], {"body": {"first_name": "A", "order_id": "1", "x": "2"}}, "NAMED", "body", "Unexpected"),
    ([IMAGE_HEADER, BODY], {"body": ["a", "b"]}, "POSITIONAL", "header", "media is missing"),
    ([IMAGE_HEADER], {"header": {"image": {}}}, "POSITIONAL", "header", "IMAGE"),
    (
        [IMAGE_HEADER],
        {"header": {"image": {"link": "http://x/a.jpg"}}},
        "POSITIONAL",
        "header.image.link",
        "https",
    ),
    ([BODY], {"body": ["a", "b"], "header": ["x"]}, "POSITIONAL", "header", "no placeholder"),
    ([BODY], {"body": ["a", "b"], "footer": ["x"]}, "POSITIONAL", "parameters", "footer"),
    ([BUTTONS], {"buttons": ["x", "A-17", "C"]}, "POSITIONAL", "buttons[0]", "no parameter"),
    ([BUTTONS], {"buttons": [None, "A-17"]}, "POSITIONAL", "buttons", "3 value"),
    ([BUTTONS], {}, "POSITIONAL", "buttons", "3 value"),
    ([BODY], ["a", "b"], "POSITIONAL", "parameters", "object"),
]


@pytest.mark.parametrize(("components", "parameters", "fmt", "field", "words"), ERRORS)
def test_each_mistake_names_its_field(components, parameters, fmt, field, words):
    with pytest.raises(SubstitutionError) as caught:
        t(components, parameters, fmt)
    assert caught.value.field == field
    assert words in caught.value.message

"""The OpenAPI contract is typed: every property has a type, every operation a summary, a tag
by platform and its error codes; path parameters are camelCase; the docs and the schema answer
the error envelope's 401 without a token."""

import re

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests.conftest import graph_url
from tests.factories import PHONE_ID, make_whatsapp_account

TYPED = {"type", "$ref", "oneOf", "anyOf", "allOf", "enum"}
PLATFORM_TAGS = {
    "Auth",
    "Meta connection",
    "WhatsApp",
    "Facebook",
    "Instagram",
    "Inbox",
    "Notifications",
    "Webhooks",
    "Analytics",
    "Organizations",
}


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _untyped(node: object, where: str, found: list[str]) -> list[str]:
    """Properties (and array items, map values) that say nothing of their shape: no type, or a
    bare object / array of anything."""

    def check(value: object, at: str) -> None:
        if not isinstance(value, dict):
            return
        if not (set(value) & TYPED):
            found.append(f"{at}: {value}")
        elif value.get("type") == "object" and "properties" not in value:
            extra = value.get("additionalProperties")
            if extra in (None, True, {}) and "oneOf" not in value:
                found.append(f"{at}: an object of anything")
            elif isinstance(extra, dict):
                check(extra, f"{at}.*")
        elif value.get("type") == "array":
            check(value.get("items"), f"{at}[]")

    if isinstance(node, dict):
        for name, prop in (
            (node.get("properties") or {}).items() if isinstance(node.get("properties"), dict) else []
        ):
            check(prop, f"{where}.{name}")
        for key, value in node.items():
            _untyped(value, f"{where}.{key}" if key != "properties" else where, found)
    elif isinstance(node, list):
        for value in node:
            _untyped(value, where, found)
    return found


def _operations(schema: dict) -> list[tuple[str, str, dict]]:
    return [
        (method.upper(), path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "responses" in operation
    ]


def test_it_types_every_property(schema):
    assert _untyped(schema["components"], "components", []) == []
    assert _untyped(schema["paths"], "paths", []) == []


def test_it_finds_an_untyped_property():
    assert _untyped(
        {"properties": {"a": {}, "b": {"type": "object", "additionalProperties": {}}}}, "x", []
    ) == [
        "x.a: {}",
        "x.b: an object of anything",
    ]


def test_it_gives_every_operation_a_summary_a_platform_tag_and_its_error_codes(schema):
    operations = _operations(schema)
    assert len(operations) >= 58
    for method, path, operation in operations:
        assert operation.get("summary"), f"{method} {path} has no summary"
        assert operation["tags"] and set(operation["tags"]) <= PLATFORM_TAGS, (
            method,
            path,
            operation["tags"],
        )
        codes = operation["x-error-codes"]
        assert "INTERNAL_ERROR" in codes
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                listed = response["content"]["application/json"]["examples"]
                assert set(listed) <= set(codes) and listed, (method, path, status)
    tags = {tag["name"] for tag in schema["tags"]}
    assert tags == PLATFORM_TAGS


def test_it_lists_the_codes_particular_to_an_operation(schema):
    send = schema["paths"]["/api/meta/whatsapp/messages"]["post"]
    assert "OUTSIDE_SERVICE_WINDOW" in send["responses"]["409"]["description"]
    assert {"VALIDATION_ERROR", "AUTHENTICATION_REQUIRED", "RATE_LIMITED"} <= set(send["x-error-codes"])
    edit = schema["paths"]["/api/meta/whatsapp/templates/{templateId}"]["put"]
    assert "TEMPLATE_EDIT_REFUSED" in edit["x-error-codes"] and "NOT_FOUND" in edit["x-error-codes"]
    assert "META_TOKEN_EXPIRED" in edit["responses"]["401"]["description"]
    # Every organization-scoped operation: the role check and the organization's resolution.
    assert {"PERMISSION_DENIED", "NO_ORGANIZATION", "NOT_FOUND"} <= set(send["x-error-codes"])
    token = schema["paths"]["/api/auth/token"]["post"]
    assert "PERMISSION_DENIED" not in token["x-error-codes"]
    assert "INVALID_CREDENTIALS" in token["x-error-codes"]
    assert "AUTHENTICATION_REQUIRED" not in token["x-error-codes"]


def test_it_names_path_parameters_in_camel_case_on_unchanged_urls(schema, alice, alice_client):
    for _, path, operation in _operations(schema):
        for name in re.findall(r"\{(\w+)\}", path):
            assert "_" not in name, path
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        assert declared == set(re.findall(r"\{(\w+)\}", path)), path
    assert "/api/meta/facebook/posts/{postId}/cancel" in schema["paths"]
    make_whatsapp_account(alice)
    assert (
        alice_client.get("/api/meta/whatsapp/templates/00000000-0000-4000-8000-000000000000").status_code
        == 404
    )


def test_it_has_one_send_variant_per_message_type_and_one_per_template_component(schema):
    components = schema["components"]["schemas"]
    send = components["MessageSendRequest"]
    assert set(send["discriminator"]["mapping"]) == {
        "text",
        "template",
        "image",
        "document",
        "audio",
        "video",
        "interactive",
        "reaction",
        "sticker",
        "location",
        "contacts",
    }
    assert components["ContactsMessageSendRequest"]["properties"]["contacts"]["items"] == {
        "$ref": "#/components/schemas/ContactCard"
    }
    assert "cta_url" in components["InteractiveContent"]["properties"]["type"]["enum"]
    assert "context" in components["TextMessageSendRequest"]["properties"]
    text = components["TextMessageSendRequest"]
    assert text["required"] == ["to", "type", "text"] and text["properties"]["type"]["enum"] == ["text"]
    variants = {ref["$ref"].rsplit("/", 1)[1] for ref in components["TemplateComponent"]["anyOf"]}
    assert {"TemplateHeaderComponent", "TemplateBodyComponent", "TemplateFooterComponent"} <= variants
    # Meta's own names stay as Meta spells them inside its structures.
    assert "header_text" in components["TemplateHeaderComponent"]["properties"]["example"]["properties"]


@pytest.mark.parametrize("url", ["/api/schema/", "/api/docs/"])
def test_the_docs_and_schema_answer_the_envelopes_401(db, client, url):
    response = client.get(url)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AUTHENTICATION_REQUIRED"
    assert response.json()["success"] is False


def test_a_typed_send_body_is_accepted_as_documented(alice, alice_client, meta, worker):
    from django.utils import timezone

    _, _, number = make_whatsapp_account(alice)
    number.contacts.create(wa_id="573001112233", last_inbound_at=timezone.now())
    meta.post(graph_url(f"{PHONE_ID}/messages"), json={"messages": [{"id": "wamid.TYPED"}]})
    body = {
        "to": "+57 300 111 2233",
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Pick one"},
            "action": {"buttons": [{"type": "reply", "reply": {"id": "yes", "title": "Yes"}}]},
        },
    }
    assert alice_client.post("/api/meta/whatsapp/messages", body, format="json").status_code == 202


def test_every_list_over_our_tables_documents_cursor_pagination(schema):
    pagination = schema["components"]["schemas"]["Pagination"]["properties"]
    assert {"total", "totalEstimated", "limit", "offset", "nextOffset", "nextCursor"} <= set(pagination)
    assert pagination["offset"]["nullable"] and pagination["nextCursor"]["nullable"]
    listed = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            data = (
                operation.get("responses", {})
                .get("200", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema", {})
                .get("properties", {})
                .get("data", {})
                .get("$ref", "")
            )
            component = schema["components"]["schemas"].get(data.rsplit("/", 1)[-1], {}) if data else {}
            if component.get("properties", {}).get("pagination") != {
                "$ref": "#/components/schemas/Pagination"
            }:
                continue
            query = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "query"}
            assert {"limit", "offset", "cursor"} <= set(query), f"{method.upper()} {path}"
            assert query["offset"]["schema"]["maximum"] == 10_000, f"{method.upper()} {path}"
            listed.append(path)
    assert "/api/meta/whatsapp/messages" in listed and "/api/meta/comments" in listed

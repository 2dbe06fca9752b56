"""Schema fuzzing: schemathesis drives every operation of the OpenAPI schema the API serves at
/api/schema/, in-process through the WSGI app, as Alice, who has everything connected.

Each request must get no 5xx (a 502/503 is accepted only when it reflects the fake Graph API
refusing the call, and its body says so), errors in the API's envelope, and a response that
conforms to the schema: status code, content type, headers and body.

Half the generated cases carry Alice's real ids (path, query and body), so the fuzzing
reaches past the ownership lookups into the code that acts. The number of examples per
operation is bounded (FUZZ_EXAMPLES, default 30) and generation is derandomized, so CI runs the
same cases every time; raise FUZZ_EXAMPLES locally for a deeper run."""

import json
import os
import re
import socket
from datetime import timedelta
from urllib.parse import quote

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from orgs.models import Invitation, Membership, Organization
from tests.factories import BODY
from tests.fake_graph import FakeGraph
from tests.world import build_world

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))
METHODS = ("get", "put", "post", "patch", "delete")


def _operations() -> list[tuple[str, str]]:
    """Every (method, path) of the schema, known at collection time (no database needed).
    The test itself fuzzes the schema served at /api/schema/, and checks it has the same set."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted((method.upper(), path) for path, item in schema["paths"].items() for method in item)


OPERATIONS = _operations()


class _App:
    """The WSGI app, minus what Django's test client also leaves out: closing the database
    connection at each request's end, which would break the test's transaction."""

    def __init__(self):
        self.handler = WSGIHandler()

    def __call__(self, environ, start_response):
        return self.handler(environ, start_response)


@pytest.fixture
def no_connection_closing():
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz(alice, meta, no_connection_closing):
    world = build_world(alice, base=1)
    fake = FakeGraph(
        waba=world.waba.waba_id,
        phones=[world.phone.phone_number_id],
        pages=[world.page.page_id],
        ig=world.ig_account.ig_account_id,
    )
    fake.install(meta)
    token = Token.objects.create(user=alice).key
    auth = {"Authorization": f"Token {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/", _App(), headers=auth)
    return world, fake, schema, auth


INVITATION_TOKEN = "fuzz-invitation-token-0123456789abcdefghijklm"


def _org_rows(world) -> dict[str, str]:
    """In Alice's organization, a colleague and a pending invitation; elsewhere, an invitation
    for Alice (her email, INVITATION_TOKEN), so the members and invitations endpoints can succeed."""
    user = world.account.connected_by
    org_id = world.account.organization_id
    if not user.email:
        user.email = f"{user.username}@example.com"
        user.save(update_fields=["email"])
    colleague, _ = get_user_model().objects.get_or_create(username="fuzz-colleague")
    Membership.objects.get_or_create(user=colleague, organization_id=org_id, defaults={"role": "agent"})
    expires = timezone.now() + timedelta(days=7)
    pending, _ = Invitation.objects.get_or_create(
        organization_id=org_id,
        email="invitee@example.com",
        defaults={
            "role": "agent",
            "token_hash": Invitation.hash_token("fuzz-pending"),
            "expires_at": expires,
        },
    )
    if not Invitation.objects.filter(token_hash=Invitation.hash_token(INVITATION_TOKEN)).exists():
        Invitation.objects.create(
            organization=Organization.objects.create(name="Fuzz elsewhere"),
            email=user.email,
            role="viewer",
            token_hash=Invitation.hash_token(INVITATION_TOKEN),
            expires_at=expires,
        )
    return {"orgId": str(org_id), "colleagueId": str(colleague.pk), "invitationId": str(pending.pk)}


def _real_ids(world, path: str) -> dict[str, str]:
    """Alice's ids, by the parameter (or body field) name the API uses for them."""
    comment = world.ig_comment if "hide" in path else world.fb_comment
    conversation = world.ig_conversation if "read" in path else world.fb_conversation
    ids = {
        "templateId": str(world.template.pk),
        "messageId": str(world.inbound.pk),
        "waId": world.contact.wa_id,
        "commentId": str(comment.pk),
        "conversationId": str(conversation.pk),
        "postId": str(world.post.pk),
        "publishId": str(world.publish.pk),
        "notificationId": str(world.notification.pk),
        "accountId": str(world.account.pk),
        "wabaId": world.waba.waba_id,
        "phoneNumberId": world.phone.phone_number_id,
        "pageId": world.page.page_id,
        "igAccountId": world.ig_account.ig_account_id,
        "assetId": world.waba.waba_id,
        "broadcastId": str(world.broadcast.pk),
        "mediaId": str(world.media.pk),
        "to": world.contact.wa_id,
        "userId": str(world.account.connected_by_id),
        "token": INVITATION_TOKEN,
    }
    if "/api/orgs" in path or "/api/invitations" in path:
        rows = _org_rows(world)
        ids.update(orgId=rows["orgId"], invitationId=rows["invitationId"])
    if "/instagram/" in path:
        ids["accountId"] = world.ig_account.ig_account_id
    return ids


def _with_real_ids(case, ids: dict[str, str]) -> None:
    if case.path_parameters:
        for name in case.path_parameters:
            if name in ids:
                case.path_parameters[name] = ids[name]
    if isinstance(case.query, dict):
        # a real client only has the cursor a previous page gave it (a generated one is a 400)
        case.query.pop("cursor", None)
        for name in case.query:
            if name in ids:
                case.query[name] = ids[name]
    if isinstance(case.body, dict):
        for name in case.body:
            if name in ids:
                case.body[name] = ids[name]


def _check_envelope(response, refused_by_fake: bool) -> None:
    if response.status_code < 400:
        return
    body = response.json()
    assert body.get("success") is False, body
    error = body.get("error")
    assert isinstance(error, dict), body
    assert set(error) == {"code", "message", "details"}, body
    assert isinstance(error["code"], str) and error["code"].isupper(), body
    assert isinstance(error["message"], str) and error["message"], body
    assert isinstance(error["details"], dict), body
    if response.status_code in (502, 503):
        # Only the fake Graph API saying no may surface as a Meta error.
        assert refused_by_fake and error["code"].startswith("META_"), body


CHECKS = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def test_the_served_schema_has_every_operation(fuzz):
    _, _, schema, _ = fuzz
    served = sorted(
        (method.upper(), path) for path, item in schema.raw_schema["paths"].items() for method in item
    )
    assert served == OPERATIONS


def _valid_requests(world) -> dict[tuple[str, str], dict]:
    """One well-formed request for the operations whose rules (one of two fields, a real
    template, a public https URL...) random data almost never satisfies, so that their
    success path is exercised and checked against the schema too."""
    wa, phone = world.contact.wa_id, world.phone.phone_number_id
    template = {"name": "order_update", "language": "en_US"}
    components = [BODY]
    return {
        ("POST", "/api/auth/token"): {"body": {"username": "alice", "password": "alice-password-123"}},
        ("POST", "/api/meta/auth/connect"): {"body": {"code": "AQDcode123"}},
        ("POST", "/api/meta/whatsapp/messages"): {
            "body": {"to": wa, "type": "text", "text": {"body": "hola"}, "phoneNumberId": phone},
            "headers": {"Idempotency-Key": "fuzz-1"},
        },
        ("POST", "/api/meta/whatsapp/broadcasts"): {
            "body": {
                "template": template,
                "phoneNumberId": phone,
                "recipients": [{"to": "+573001110001", "parameters": {"body": ["A-1"]}}],
            }
        },
        ("POST", "/api/meta/whatsapp/templates"): {
            "body": {
                "name": "fuzz_notice",
                "language": "en_US",
                "category": "UTILITY",
                "components": components,
                "wabaId": world.waba.waba_id,
            }
        },
        ("PUT", "/api/meta/whatsapp/templates/{templateId}"): {
            "path_parameters": {"templateId": str(world.template.pk)},
            "body": {"components": components},
        },
        ("PUT", "/api/meta/analytics/settings"): {
            "body": {"accountId": str(world.account.pk), "timezone": "America/Bogota"}
        },
        ("POST", "/api/meta/facebook/posts"): {"body": {"pageId": world.page.page_id, "message": "Hola"}},
        ("POST", "/api/meta/instagram/media"): {
            "body": {
                "accountId": world.ig_account.ig_account_id,
                "mediaType": "IMAGE",
                "mediaUrl": "https://cdn.example.com/a.jpg",
            }
        },
        ("POST", "/api/meta/webhook/configure"): {
            "body": {"verifyToken": "fuzz-verify-token-123", "fields": {"messages": True}}
        },
        ("GET", "/api/meta/conversations/{conversationId}/messages"): {
            "path_parameters": {"conversationId": str(world.fb_conversation.pk)},
            "query": {"limit": 1},
        },
        ("POST", "/api/meta/conversations/{conversationId}/messages"): {
            "path_parameters": {"conversationId": str(world.fb_conversation.pk)},
            "body": {"text": "hola"},
        },
        ("POST", "/api/meta/comments/{commentId}/reply"): {
            "path_parameters": {"commentId": str(world.fb_comment.pk)},
            "body": {"message": "gracias"},
        },
        ("PATCH", "/api/meta/whatsapp/account/profile"): {
            "body": {"phoneNumberId": phone, "about": "Open 9-5"}
        },
        ("POST", "/api/meta/facebook/posts/{postId}/cancel"): {
            "path_parameters": {"postId": str(world.post.pk)}
        },
        ("POST", "/api/meta/whatsapp/media"): {
            "body": {"file": b"\x89PNG\r\n\x1a\n" + bytes(64), "type": "image"},
            "media_type": "multipart/form-data",
        },
        ("POST", "/api/meta/instagram/publishes/{publishId}/cancel"): {
            "path_parameters": {"publishId": str(world.publish.pk)}
        },
        **_valid_org_requests(world),
    }


def _valid_org_requests(world) -> dict[tuple[str, str], dict]:
    if not hasattr(world, "_org_rows"):
        world._org_rows = _org_rows(world)
    org, colleague = {"orgId": world._org_rows["orgId"]}, world._org_rows["colleagueId"]
    return {
        ("PATCH", "/api/orgs/{orgId}/members/{userId}"): {
            "path_parameters": {**org, "userId": colleague},
            "body": {"role": "viewer"},
        },
        ("DELETE", "/api/orgs/{orgId}/members/{userId}"): {"path_parameters": {**org, "userId": colleague}},
        ("POST", "/api/orgs/{orgId}/invitations"): {
            "path_parameters": org,
            "body": {"email": "new-hire@example.com", "role": "agent"},
        },
        ("POST", "/api/invitations/{token}/accept"): {"path_parameters": {"token": INVITATION_TOKEN}},
        ("DELETE", "/api/orgs/{orgId}/invitations/{invitationId}"): {
            "path_parameters": {**org, "invitationId": world._org_rows["invitationId"]}
        },
        ("PATCH", "/api/orgs/{orgId}"): {"path_parameters": org, "body": {"name": "Alice & Co"}},
        ("POST", "/api/orgs/{orgId}/default"): {"path_parameters": org},
        ("GET", "/api/orgs/{orgId}/members"): {"path_parameters": org},
        ("GET", "/api/orgs/{orgId}/invitations"): {"path_parameters": org},
        # its `to` filter is a day, not the WhatsApp `to` the generated cases get
        ("GET", "/api/orgs/{orgId}/audit"): {"path_parameters": org, "query": {"limit": 10}},
    }


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch):
    """Media URLs are resolved to refuse private hosts: resolve one public name, no network."""
    from botopia_meta import safe_urls

    def resolve(host, port, *args, **kwargs):
        if host == "cdn.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]
        raise socket.gaierror("unknown host")

    monkeypatch.setattr(safe_urls, "_resolve", resolve)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_fuzz_operation(fuzz, method, path):
    world, fake, schema, auth = fuzz
    operation = schema[path][method]
    ids = _real_ids(world, path)
    statuses: list[int] = []

    def check(case) -> None:
        refusals = fake.refusals
        response = case.call(headers={**auth, **(case.headers or {})})
        statuses.append(response.status_code)
        problems = []
        try:
            not_a_server_error_ok = response.status_code < 500 or (
                response.status_code in (502, 503) and fake.refusals > refusals
            )
            assert not_a_server_error_ok, f"{response.status_code}: {response.text[:500]}"
            _check_envelope(response, fake.refusals > refusals)
            case.validate_response(response, checks=CHECKS)
        except AssertionError as exc:
            problems.append(str(exc))
        except Exception as exc:  # schemathesis reports failed checks as its own exception group
            problems.append(f"{type(exc).__name__}: {exc}")
        assert not problems, (
            f"{case.method} {case.formatted_path} query={case.query} body={case.body!r}\n"
            f"-> {response.status_code} {response.text[:800]}\n" + "\n".join(problems)
        )

    valid = _valid_requests(world).get((method, path))
    if valid is not None:
        check(operation.Case(**valid))
        assert statuses[-1] < 300, f"the valid request was refused: {statuses[-1]}"

    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
    )

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases, real=st.booleans())
    def run(case, real):
        if real and case.meta.generation.mode == GenerationMode.POSITIVE:
            _with_real_ids(case, ids)
        check(case)

    run()
    # The fuzzing reached the code that answers, not only the validation and the lookups.
    assert any(status < 300 for status in statuses), statuses


@pytest.mark.parametrize(
    "url", ["/api/meta/instagram/media?accountId=15001", "/api/meta/facebook/posts?pageId=14001"]
)
def test_cursors_of_any_characters_page_through_meta(fuzz, alice_client, url):
    """Found by the fuzzing: a cursor with control characters went raw into the cache key (a
    CacheKeyWarning, an error under memcached and in this suite) and answered 500."""
    cursor = quote("ÑZG\x06\xad<Ý\x8e$ x" + "y" * 300)
    response = alice_client.get(f"{url}&before={cursor}")
    assert response.status_code == 200, response.content


# --- hostile text and nesting, in every operation ---------------------------------------------
# What the generated cases rarely hold: NUL and unpaired surrogates (valid JSON escapes, and
# percent-encoded in queries) in every string a request carries, and JSON nested past the depth
# limit. Each operation, reached with Alice's real ids, must answer without a 5xx: text is
# stored cleaned (botopia_meta.text) and deep bodies are 400 MALFORMED_JSON.

POISON = "\x00\ud800"
POISON_QUERY = "%00%ED%A0%80"  # NUL, and the bytes of a lone surrogate


def _poisoned(value, ids: dict[str, str], *, keep_ids: bool, key: str = ""):
    if isinstance(value, str):
        return value if keep_ids and (key in ids or key in ("type", "name", "language")) else value + POISON
    if isinstance(value, dict):
        return {k: _poisoned(v, ids, keep_ids=keep_ids, key=k) for k, v in value.items()}
    if isinstance(value, list):
        return [_poisoned(v, ids, keep_ids=keep_ids, key=key) for v in value]
    return value


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_hostile_text_and_nesting(fuzz, method, path):
    world, fake, schema, auth = fuzz
    client = Client(HTTP_AUTHORIZATION=auth["Authorization"])
    operation = schema.raw_schema["paths"][path][method.lower()]
    ids = _real_ids(world, path)
    valid = _valid_requests(world).get((method, path), {})
    url = path
    for name in re.findall(r"\{(\w+)\}", path):
        url = url.replace(
            f"{{{name}}}", quote(valid.get("path_parameters", {}).get(name) or ids.get(name, "x"))
        )
    query = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]

    def call(
        body: str | None = None, query_string: str = "", key: str = "hostile"
    ) -> tuple[int, dict | None]:
        refusals = fake.refusals
        response = client.generic(
            method,
            f"{url}?{query_string}" if query_string else url,
            body or "",
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=key,
        )
        refused = fake.refusals > refusals
        assert response.status_code < 500 or (response.status_code in (502, 503) and refused), (
            f"{method} {url}?{query_string} body={(body or '')[:300]!r}\n"
            f"-> {response.status_code} {response.content[:500]!r}"
        )
        _check_envelope(response, refused)
        return response.status_code, response.json() if response.content else None

    if query:
        call(query_string="&".join(f"{name}={quote(ids.get(name, 'a'))}{POISON_QUERY}" for name in query))
        call(query_string="&".join(f"{name}={POISON_QUERY}" for name in query))
    if "requestBody" not in operation:
        return
    body = valid.get("body", {})
    if "application/json" not in operation["requestBody"]["content"]:
        _hostile_form(client, url, body, ids, fake)
        return
    for index, keep_ids in enumerate((True, False)):
        call(json.dumps(_poisoned(body, ids, keep_ids=keep_ids)), key=f"hostile-{index}")
    for deep in (json.dumps({**body, "deep": json.loads(_nested(100))}), _nested(10_000)):
        status, answer = call(deep, key="deep")
        assert (status, answer["error"]["code"]) == (400, "MALFORMED_JSON"), answer


def _hostile_form(client, url: str, body: dict, ids: dict[str, str], fake) -> None:
    """A multipart upload: NUL in every form field, in the file's name and type, and in an
    unknown field (a lone surrogate cannot travel in a form); no 5xx, the envelope on errors."""
    statuses = []
    for keep_ids, extra in ((True, {}), (False, {}), (True, {"extra\x00": "\x00"})):
        form = {
            key: SimpleUploadedFile("a\x00b.png", value, content_type="image/png\x00")
            if isinstance(value, bytes)
            else _poisoned(value, ids, keep_ids=keep_ids, key=key).replace("\ud800", "")
            for key, value in body.items()
        }
        refusals = fake.refusals
        response = client.post(url, {**form, **extra})
        refused = fake.refusals > refusals
        ok = response.status_code < 500 or (response.status_code in (502, 503) and refused)
        assert ok, response.content
        _check_envelope(response, refused)
        statuses.append(response.status_code)
    assert statuses[0] < 300, statuses  # the kept type and a cleaned name still upload

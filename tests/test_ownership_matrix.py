"""Ownership matrix: for every /api/ endpoint taking an id (in the path, the query or the
body), Bob, who has everything connected in his own organization, sends an id of Alice's
organization. The answer must be a 404 in the envelope, and nothing may change: no row written,
no call to Meta, nothing queued. It runs twice: Bob as a member of another organization (his
own), and Bob as a removed member of Alice's (an admin there until just now), naming it in
X-Organization-Id.

The list of endpoints comes from the URLconf: an /api/ route (or a method of one) that is
neither in MATRIX nor in NO_ID fails `test_every_api_endpoint_is_in_the_matrix`, and an id-like
parameter of the OpenAPI schema that no case covers fails `test_every_id_parameter_is_covered`."""

import json
from collections.abc import Callable
from datetime import timedelta

import dramatiq
import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from botopia_meta.api.schema_contract import path_parameter_name
from orgs.models import Invitation, Membership
from tests.factories import BODY, add_member
from tests.world import World, build_world

# Routes (as the URLconf spells them) and methods that take no id of a user's data.
NO_ID: dict[str, set[str]] = {
    "api/schema/": {"GET"},
    "api/docs/": {"GET"},
    "api/auth/token": {"POST"},  # username and password
    "api/meta/auth/connect": {"POST"},  # an OAuth code or a token, never an id of ours
    "api/meta/facebook/pages": {"GET"},
    "api/meta/instagram/accounts": {"GET"},
    "api/meta/notifications": {"GET"},  # filters: unread, limit, offset
    # Meta's deliveries: authenticated by the app secret's signature, not by a user.
    "api/meta/webhook/events": {"GET", "POST"},
    "api/orgs": {"GET", "POST"},  # the caller's own organizations; a name
    # The token is the credential (someone else's is refused for its email: tests/orgs).
    "api/invitations/<id:token>/accept": {"POST"},
}

# A case: (what it sends, request builder from Alice's world) -> (path, query, body, headers).
Request = tuple[str | tuple, dict, dict | None, dict]  # path id(s), query, body, headers
Case = tuple[str, Callable[[World], Request]]


def _get(path: str, **query) -> Request:
    return path, query, None, {}


def _send(path: str, body: dict, **headers) -> Request:
    return path, {}, body, headers


def _org(world: World) -> str:
    return str(world.account.organization_id)


def _invitation(world: World) -> str:
    """A pending invitation of the world's organization (made on first use)."""
    invitation, _ = Invitation.objects.get_or_create(
        organization_id=world.account.organization_id,
        email="invitee@example.com",
        defaults={
            "role": "agent",
            "token_hash": Invitation.hash_token(f"matrix-{world.account.organization_id}"),
            "expires_at": timezone.now() + timedelta(days=7),
        },
    )
    return str(invitation.pk)


def _member(world: World) -> str:
    """A viewer of the world's organization (made on first use): a member any manager may change."""
    user, _ = get_user_model().objects.get_or_create(
        username=f"matrix-member-{world.account.organization_id}"
    )
    Membership.objects.get_or_create(
        user=user, organization_id=world.account.organization_id, defaults={"role": "viewer"}
    )
    return str(user.pk)


W = "api/meta/whatsapp"
BOB_CONTACT = "573007000001"  # tests.world's contact for base 7
MATRIX: dict[tuple[str, str], list[Case]] = {
    # accounts
    ("GET", "api/meta/auth/status"): [("accountId", lambda a: _get("", accountId=a.account.pk))],
    ("POST", "api/meta/auth/refresh-token"): [
        ("accountId", lambda a: _send("", {"accountId": a.account.pk}))
    ],
    ("POST", "api/meta/auth/disconnect"): [("accountId", lambda a: _send("", {"accountId": a.account.pk}))],
    # whatsapp account
    ("GET", f"{W}/account"): [
        ("accountId", lambda a: _get("", accountId=a.account.pk)),
        ("phoneNumberId", lambda a: _get("", phoneNumberId=a.phone.phone_number_id)),
    ],
    ("POST", f"{W}/account/refresh"): [
        ("accountId", lambda a: _send("", {"accountId": a.account.pk})),
        ("wabaId", lambda a: _send("", {"wabaId": a.waba.waba_id})),
        ("phoneNumberId", lambda a: _send("", {"phoneNumberId": a.phone.phone_number_id})),
    ],
    ("PATCH", f"{W}/account/profile"): [
        ("phoneNumberId", lambda a: _send("", {"phoneNumberId": a.phone.phone_number_id, "about": "Hi"}))
    ],
    ("GET", f"{W}/phone-numbers"): [("wabaId", lambda a: _get("", wabaId=a.waba.waba_id))],
    # templates
    ("GET", f"{W}/templates"): [("wabaId", lambda a: _get("", wabaId=a.waba.waba_id))],
    ("POST", f"{W}/templates"): [
        (
            "wabaId",
            lambda a: _send(
                "",
                {
                    "name": "stolen",
                    "language": "en_US",
                    "category": "UTILITY",
                    "components": [BODY],
                    "wabaId": a.waba.waba_id,
                },
            ),
        )
    ],
    ("POST", f"{W}/templates/sync"): [("wabaId", lambda a: _send("", {"wabaId": a.waba.waba_id}))],
    ("GET", f"{W}/templates/<id:template_id>"): [("template_id", lambda a: _get(a.template.pk))],
    ("PUT", f"{W}/templates/<id:template_id>"): [
        ("template_id", lambda a: _send(a.template.pk, {"components": [BODY]}))
    ],
    ("DELETE", f"{W}/templates/<id:template_id>"): [("template_id", lambda a: _get(a.template.pk))],
    # messages, contacts, broadcasts
    ("GET", f"{W}/messages"): [
        ("phoneNumberId", lambda a: _get("", phoneNumberId=a.phone.phone_number_id)),
        ("broadcastId", lambda a: _get("", broadcastId=a.broadcast.pk)),
    ],
    ("POST", f"{W}/messages"): [
        (
            "phoneNumberId",
            lambda a: _send(
                "",
                {
                    "to": "+573001110001",
                    "type": "text",
                    "text": {"body": "hi"},
                    "phoneNumberId": a.phone.phone_number_id,
                },
                HTTP_IDEMPOTENCY_KEY="matrix-1",
            ),
        ),
        (
            "replyTo",
            lambda a: _send(
                "", {"to": BOB_CONTACT, "type": "text", "text": {"body": "hi"}, "replyTo": a.inbound.wamid}
            ),
        ),
        (
            "context",  # Meta's way of quoting: Alice's message is not Bob's to quote
            lambda a: _send(
                "",
                {
                    "to": BOB_CONTACT,
                    "type": "text",
                    "text": {"body": "hi"},
                    "context": {"message_id": a.inbound.wamid},
                },
            ),
        ),
    ],
    ("GET", f"{W}/messages/<id:message_id>"): [("message_id", lambda a: _get(a.inbound.pk))],
    ("POST", f"{W}/messages/<id:message_id>/read"): [("message_id", lambda a: _send(a.inbound.pk, {}))],
    # media: the upload names its number in the query (checked before the multipart body is read)
    ("POST", f"{W}/media"): [
        ("phoneNumberId", lambda a: ("", {"phoneNumberId": a.phone.phone_number_id}, {}, {}))
    ],
    ("GET", f"{W}/media/<id:media_id>"): [("media_id", lambda a: _get(a.media.pk))],
    ("GET", f"{W}/contacts/<id:wa_id>"): [
        ("wa_id", lambda a: _get(a.contact.wa_id)),
        # Bob's own contact, looked up under Alice's number.
        ("phoneNumberId", lambda a: _get(BOB_CONTACT, phoneNumberId=a.phone.phone_number_id)),
    ],
    ("POST", f"{W}/broadcasts"): [
        (
            "phoneNumberId",
            lambda a: _send(
                "",
                {
                    "template": {"name": a.template.name, "language": a.template.language},
                    "recipients": [{"to": "+573001110001", "parameters": {"body": ["A-1"]}}],
                    "phoneNumberId": a.phone.phone_number_id,
                },
            ),
        )
    ],
    ("GET", f"{W}/broadcasts/<id:broadcast_id>"): [("broadcast_id", lambda a: _get(a.broadcast.pk))],
    ("POST", f"{W}/broadcasts/<id:broadcast_id>/cancel"): [
        ("broadcast_id", lambda a: _send(a.broadcast.pk, {}))
    ],
    # facebook
    ("POST", "api/meta/facebook/pages/sync"): [
        ("accountId", lambda a: _send("", {"accountId": a.account.pk}))
    ],
    ("POST", "api/meta/facebook/pages/<id:page_id>/connect"): [
        ("page_id", lambda a: _send(a.page.page_id, {}))
    ],
    ("POST", "api/meta/facebook/pages/<id:page_id>/disconnect"): [
        ("page_id", lambda a: _send(a.page.page_id, {}))
    ],
    ("GET", "api/meta/facebook/posts"): [("pageId", lambda a: _get("", pageId=a.page.page_id))],
    ("POST", "api/meta/facebook/posts"): [
        ("pageId", lambda a: _send("", {"pageId": a.page.page_id, "message": "Hola"}))
    ],
    ("GET", "api/meta/facebook/posts/scheduled"): [("pageId", lambda a: _get("", pageId=a.page.page_id))],
    ("POST", "api/meta/facebook/posts/<uuid:post_pk>/cancel"): [("post_pk", lambda a: _send(a.post.pk, {}))],
    # instagram
    ("POST", "api/meta/instagram/accounts/<id:account_id>/connect"): [
        ("account_id", lambda a: _send(a.ig_account.ig_account_id, {}))
    ],
    ("POST", "api/meta/instagram/accounts/<id:account_id>/disconnect"): [
        ("account_id", lambda a: _send(a.ig_account.ig_account_id, {}))
    ],
    ("GET", "api/meta/instagram/media"): [
        ("accountId", lambda a: _get("", accountId=a.ig_account.ig_account_id))
    ],
    ("POST", "api/meta/instagram/media"): [
        (
            "accountId",
            lambda a: _send(
                "",
                {
                    "accountId": a.ig_account.ig_account_id,
                    "mediaType": "IMAGE",
                    "mediaUrl": "https://cdn.example.com/a.jpg",
                },
            ),
        )
    ],
    ("GET", "api/meta/instagram/publishes"): [
        ("accountId", lambda a: _get("", accountId=a.ig_account.ig_account_id))
    ],
    ("GET", "api/meta/instagram/publishes/<uuid:publish_pk>"): [("publish_pk", lambda a: _get(a.publish.pk))],
    ("POST", "api/meta/instagram/publishes/<uuid:publish_pk>/cancel"): [
        ("publish_pk", lambda a: _send(a.publish.pk, {}))
    ],
    # inbox
    ("GET", "api/meta/comments"): [
        ("pageId", lambda a: _get("", pageId=a.page.page_id)),
        ("igAccountId", lambda a: _get("", igAccountId=a.ig_account.ig_account_id)),
    ],
    ("DELETE", "api/meta/comments/<id:comment_id>"): [
        ("comment_id (facebook)", lambda a: _get(a.fb_comment.pk)),
        ("comment_id (instagram)", lambda a: _get(a.ig_comment.pk)),
    ],
    **{
        ("POST", f"api/meta/comments/<id:comment_id>/{action}"): [
            ("comment_id (facebook)", lambda a, body=body: _send(a.fb_comment.pk, body)),
            ("comment_id (instagram)", lambda a, body=body: _send(a.ig_comment.pk, body)),
        ]
        for action, body in (("reply", {"message": "mine now"}), ("hide", {}), ("unhide", {}))
    },
    ("GET", "api/meta/conversations"): [
        ("pageId", lambda a: _get("", pageId=a.page.page_id)),
        ("igAccountId", lambda a: _get("", igAccountId=a.ig_account.ig_account_id)),
        ("phoneNumberId", lambda a: _get("", phoneNumberId=a.phone.phone_number_id)),
    ],
    ("GET", "api/meta/conversations/<id:conversation_id>/messages"): [
        ("conversation_id (facebook)", lambda a: _get(a.fb_conversation.pk)),
        ("conversation_id (instagram)", lambda a: _get(a.ig_conversation.pk)),
        ("conversation_id (whatsapp)", lambda a: _get(a.contact.pk)),
    ],
    ("POST", "api/meta/conversations/<id:conversation_id>/messages"): [
        ("conversation_id (facebook)", lambda a: _send(a.fb_conversation.pk, {"text": "hi"})),
        ("conversation_id (instagram)", lambda a: _send(a.ig_conversation.pk, {"text": "hi"})),
        ("conversation_id (whatsapp)", lambda a: _send(a.contact.pk, {"text": "hi"})),
    ],
    ("POST", "api/meta/conversations/<id:conversation_id>/read"): [
        ("conversation_id (facebook)", lambda a: _send(a.fb_conversation.pk, {})),
        ("conversation_id (instagram)", lambda a: _send(a.ig_conversation.pk, {})),
        ("conversation_id (whatsapp)", lambda a: _send(a.contact.pk, {})),
    ],
    # webhooks and notifications
    ("GET", "api/meta/webhook"): [("accountId", lambda a: _get("", accountId=a.account.pk))],
    ("POST", "api/meta/webhook/configure"): [
        (
            "accountId",
            lambda a: _send(
                "",
                {
                    "accountId": a.account.pk,
                    "verifyToken": "matrix-verify-token",
                    "fields": {"messages": True},
                },
            ),
        )
    ],
    ("POST", "api/meta/notifications/<id:notification_id>/read"): [
        ("notification_id", lambda a: _send(a.notification.pk, {}))
    ],
    # analytics
    ("GET", "api/meta/whatsapp/metrics"): [
        ("accountId", lambda a: _get("", accountId=a.account.pk)),
        ("phoneNumberId", lambda a: _get("", phoneNumberId=a.phone.phone_number_id)),
        ("broadcastId", lambda a: _get("", broadcastId=a.broadcast.pk)),
    ],
    ("GET", "api/meta/analytics/overview"): [("accountId", lambda a: _get("", accountId=a.account.pk))],
    ("GET", "api/meta/analytics/insights"): [
        ("accountId", lambda a: _get("", accountId=a.account.pk)),
        ("assetId", lambda a: _get("", assetId=a.page.page_id, platform="facebook")),
    ],
    ("GET", "api/meta/analytics/settings"): [("accountId", lambda a: _get("", accountId=a.account.pk))],
    ("PUT", "api/meta/analytics/settings"): [
        ("accountId", lambda a: _send("", {"accountId": a.account.pk, "timezone": "America/Bogota"}))
    ],
    ("GET", "api/meta/analytics/reports"): [("accountId", lambda a: _get("", accountId=a.account.pk))],
    # organizations (several ids in a path: a tuple, in order)
    ("PATCH", "api/orgs/<id:org_id>"): [("org_id", lambda a: _send(_org(a), {"name": "Stolen"}))],
    ("DELETE", "api/orgs/<id:org_id>"): [("org_id", lambda a: _send(_org(a), {}))],
    ("POST", "api/orgs/<id:org_id>/default"): [("org_id", lambda a: _send(_org(a), {}))],
    ("GET", "api/orgs/<id:org_id>/members"): [("org_id", lambda a: _get(_org(a)))],
    ("PATCH", "api/orgs/<id:org_id>/members/<id:user_id>"): [
        (name, lambda a: _send((_org(a), _member(a)), {"role": "viewer"})) for name in ("org_id", "user_id")
    ],
    ("DELETE", "api/orgs/<id:org_id>/members/<id:user_id>"): [
        (name, lambda a: _send((_org(a), _member(a)), {})) for name in ("org_id", "user_id")
    ],
    ("GET", "api/orgs/<id:org_id>/invitations"): [("org_id", lambda a: _get(_org(a)))],
    ("POST", "api/orgs/<id:org_id>/invitations"): [
        ("org_id", lambda a: _send(_org(a), {"email": "bob@example.com", "role": "agent"}))
    ],
    ("DELETE", "api/orgs/<id:org_id>/invitations/<id:invitation_id>"): [
        (name, lambda a: _send((_org(a), _invitation(a)), {})) for name in ("org_id", "invitation_id")
    ],
    ("GET", "api/orgs/<id:org_id>/audit"): [("org_id", lambda a: _get(_org(a)))],
}

# Query and body fields of the schema that name something, though not something a user owns.
NOT_OWNED_IDS = {
    "contact",  # a customer's phone number: the same person may write to several businesses
    "to",
    "templateName",  # a name, scoped to the caller's own WABAs
    # Meta's id of a post, as a filter of the caller's own comments: posts are not rows the
    # caller owns (comments arrive for posts made anywhere), so there is nothing to look up.
    "postId",
}
PROJECT_APPS = {"orgs", "accounts", "whatsapp", "facebook", "instagram", "webhooks", "analytics"}


def _walk(patterns, prefix: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def api_endpoints() -> set[tuple[str, str]]:
    """(method, route) of every /api/ endpoint the URLconf serves."""
    endpoints = set()
    for route, callback in _walk(get_resolver().url_patterns):
        if not route.startswith("api/"):
            continue
        view = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
        if view is None:  # a plain function view: it must be listed in NO_ID, all methods
            methods = NO_ID.get(route, {"?"})
        else:
            methods = {
                m.upper() for m in view.http_method_names if m not in ("options", "head") and hasattr(view, m)
            }
        endpoints |= {(method, route) for method in methods}
    return endpoints


def test_every_api_endpoint_is_in_the_matrix():
    endpoints = api_endpoints()
    listed = set(MATRIX) | {(method, route) for route, methods in NO_ID.items() for method in methods}
    assert endpoints - listed == set(), "endpoints missing from the ownership matrix (or NO_ID)"
    assert listed - endpoints == set(), "matrix entries for endpoints that no longer exist"


def _schema_id_parameters() -> set[tuple[str, str, str]]:
    """(method, schema path, name) of each id-like path, query or body parameter."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    found = set()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            names = [p["name"] for p in operation.get("parameters", []) if p["in"] in ("path", "query")]
            content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            ref = content.get("schema", {}).get("$ref", "")
            names += list(components.get(ref.split("/")[-1], {}).get("properties", {}))
            for name in names:
                if (
                    name.endswith(("Id", "_id", "_pk")) or name in ("replyTo",)
                ) and name not in NOT_OWNED_IDS:
                    found.add((method.upper(), path, name))
    return found


def _schema_path(route: str) -> str:
    """The route as the schema names it: camelCase path parameters (`post_pk` → `postId`)."""
    import re

    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "{" + path_parameter_name(m.group(1)) + "}", route)


def test_every_id_parameter_is_covered():
    covered = {
        (method, _schema_path(route), path_parameter_name(label.split(" ")[0]))
        for (method, route), cases in MATRIX.items()
        for label, _ in cases
    }
    missing = _schema_id_parameters() - covered
    assert missing == set(), "id parameters no ownership case sends"


def _snapshot() -> dict[str, list]:
    state = {}
    for model in apps.get_models():
        if model._meta.app_label in PROJECT_APPS:
            rows = model._base_manager.order_by("pk").values()
            state[model._meta.label] = json.loads(json.dumps(list(rows), default=str))
    return state


def _queued() -> int:
    """Messages waiting in the (stub) broker, delay queues included."""
    return sum(queue.qsize() for queue in dramatiq.get_broker().queues.values())


CASES = [
    pytest.param(method, route, label, build, id=f"{method} {route} [{label}]")
    for (method, route), cases in sorted(MATRIX.items())
    for label, build in cases
]


@pytest.fixture
def worlds(alice, bob):
    return build_world(alice, base=1), build_world(bob, base=7)


@pytest.fixture(params=["member of another organization", "removed member"])
def intruder_headers(request, worlds, bob) -> dict:
    alice_world, _ = worlds
    if request.param == "removed member":
        add_member(alice_world.org, bob, "admin", default=True)
        Membership.objects.filter(user=bob, organization=alice_world.org).delete()
        return {"HTTP_X_ORGANIZATION_ID": str(alice_world.org.pk)}
    return {}


@pytest.mark.parametrize(("method", "route", "label", "build"), CASES)
def test_bob_cannot_reach_alices_data(
    worlds, bob_client, intruder_headers, meta, method, route, label, build
):
    alice_world, _ = worlds
    path_id, query, body, headers = build(alice_world)
    headers = {**headers, **intruder_headers}
    path = "/" + route
    if path_id != "":
        import re

        ids = iter(path_id if isinstance(path_id, tuple) else ())
        path = re.sub(r"<(?:\w+:)?\w+>", lambda _: str(next(ids, path_id)), path)
    assert "<" not in path, path
    before = _snapshot()

    call = getattr(bob_client, method.lower())
    if query and method != "GET":
        from urllib.parse import urlencode

        path += "?" + urlencode({k: str(v) for k, v in query.items()})
    if method == "GET":
        response = call(path, {k: str(v) for k, v in query.items()}, **headers)
    else:
        data = json.loads(json.dumps(body, default=str)) if body is not None else None
        response = call(path, data, format="json", **headers)

    assert response.status_code == 404, (response.status_code, response.content[:500])
    error = response.json()["error"]
    assert error["code"] == "NOT_FOUND", error
    assert _snapshot() == before, "Bob's request changed data"
    assert len(meta.calls) == 0, [c.request.url for c in meta.calls]
    assert _queued() == 0, "Bob's request queued work"

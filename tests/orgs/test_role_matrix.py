"""Every /api/ endpoint declares its permission (orgs.permissions.ENDPOINTS), and every role gets
exactly what the role table says: a refused call is 403 PERMISSION_DENIED naming the permission
and the role, before any Graph call, write or queued job; an allowed one is never a 403."""

import json
import logging
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from orgs.models import Role
from orgs.permissions import ENDPOINTS, PERMISSIONS, ROLE_PERMISSIONS, OrganizationPermission
from tests.conftest import _client_for
from tests.factories import add_member, make_user
from tests.fake_graph import FakeGraph
from tests.test_ownership_matrix import MATRIX, _queued, _snapshot
from tests.world import World, build_world

# The roles as issue 18 words them, written out here rather than read from orgs.permissions, so
# that a change to the role table is a change to this test too.
AGENT = {
    # read accounts, numbers, templates, conversations, messages, comments (and the posts they
    # are on), notifications and who their teammates are...
    "accounts.read",
    "assets.read",
    "templates.read",
    "conversations.read",
    "messages.read",
    "comments.read",
    "posts.read",
    "notifications.read",
    "members.read",
    # ...send messages and replies, mark read, react, hide comments.
    "messages.send",
    "conversations.reply",
    "comments.hide",
}
EVERYTHING = set(PERMISSIONS)
EXPECTED = {
    Role.OWNER: EVERYTHING,
    Role.ADMIN: EVERYTHING - {"org.delete"},
    Role.AGENT: AGENT,
    Role.VIEWER: {p for p in EVERYTHING if p.endswith(".read")} - {"audit.read"},  # audit: admins
}


def test_the_role_table_is_the_one_the_issue_describes():
    assert {role: set(held) for role, held in ROLE_PERMISSIONS.items()} == EXPECTED
    for never in ("broadcasts.create", "templates.manage", "accounts.connect", "webhooks.configure"):
        assert never not in EXPECTED[Role.AGENT]
    assert "analytics.read" in EXPECTED[Role.VIEWER]


# /api/ routes outside the organization check, and why. Anything else must be declared.
OUTSIDE = {
    "schema": "the OpenAPI schema: drf-spectacular's own permission (authenticated)",
    "docs": "the API docs page: drf-spectacular's own permission (authenticated)",
    "auth-token": "logging in: no user yet",
    "webhook-events": "Meta's deliveries, signed with the app secret: no user",
}
# Rows for the members API (orgs.urls), served once that lands; no URL to walk before.
MEMBERS_API = {
    "orgs",
    "org",
    "org-default",
    "org-members",
    "org-member",
    "org-invitations",
    "org-invitation",
    "invitation-accept",
    "org-audit",
}


def _patterns() -> list[tuple[str, URLPattern]]:
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), pattern

    return list(walk(get_resolver().url_patterns))


def _routes() -> list[tuple[str, str, type | None]]:
    """(url name, route, view class or None for a plain function) of every /api/ pattern."""
    return [
        (p.name, route, getattr(p.callback, "view_class", None) or getattr(p.callback, "cls", None))
        for route, p in _patterns()
        if route.startswith("api/")
    ]


def _methods(view) -> set[str]:
    return {m.upper() for m in view.http_method_names if m not in ("options", "head") and hasattr(view, m)}


def test_every_api_endpoint_declares_a_permission():
    undeclared, unchecked = [], []
    for name, route, view in _routes():
        if name in OUTSIDE:
            continue
        assert view is not None, f"{route}: a plain function view under /api/ skips the role check"
        if not any(isinstance(p, OrganizationPermission) for p in view().get_permissions()):
            unchecked.append(route)
        undeclared += [f"{m} {route} ({name})" for m in _methods(view) if m not in ENDPOINTS.get(name, {})]
    assert undeclared == [], "add these to orgs.permissions.ENDPOINTS"
    assert unchecked == [], "views that replaced the default permission classes (no role check)"


def test_the_table_names_only_real_endpoints_and_known_permissions():
    served = {(name, m) for name, _, view in _routes() if view is not None for m in _methods(view)}
    stale = [
        (name, m)
        for name, methods in ENDPOINTS.items()
        for m in methods
        if name not in MEMBERS_API and (name, m) not in served
    ]
    assert stale == [], "rows for endpoints the URLconf does not serve"
    every = set().union(*ROLE_PERMISSIONS.values())
    unknown = {p for methods in ENDPOINTS.values() for p in methods.values() if p is not None} - every
    assert unknown == set()


def test_an_undeclared_endpoint_is_refused_and_logged(alice, alice_client, monkeypatch, caplog, meta):
    monkeypatch.setitem(ENDPOINTS, "whatsapp-templates", {"GET": "templates.read"})  # POST forgotten
    with caplog.at_level(logging.ERROR, logger="orgs.permissions"):
        response = alice_client.post("/api/meta/whatsapp/templates", {"name": "x"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "PERMISSION_DENIED"
    assert "No permission declared for POST whatsapp-templates" in caplog.text
    assert len(meta.calls) == 0


# One request per endpoint and method, built from the organization's own world: the ownership
# matrix's first case (the caller's own ids), or these for the endpoints taking no id.
OWN_REQUESTS = {
    ("POST", "api/meta/auth/connect"): lambda w: ("", {}, {"code": "AQDcode-from-login"}, {}),
    ("GET", "api/meta/facebook/pages"): lambda w: ("", {}, None, {}),
    ("GET", "api/meta/instagram/accounts"): lambda w: ("", {}, None, {}),
    ("GET", "api/meta/notifications"): lambda w: ("", {}, None, {}),
}


def _route_names() -> dict[str, str]:
    return {route: pattern.name for route, pattern in _patterns()}


def _cases():
    names = _route_names()
    builders = {key: cases[0][1] for key, cases in MATRIX.items()} | OWN_REQUESTS
    for (method, route), build in sorted(builders.items()):
        permission = ENDPOINTS[names[route]][method]
        if permission is not None:
            yield pytest.param(method, route, permission, build, id=f"{method} {route}")


def _call(client, method: str, route: str, build, world: World, org_id):
    path_id, query, body, headers = build(world)
    path = "/" + route
    if path_id != "":
        ids = iter(path_id if isinstance(path_id, tuple) else ())
        path = re.sub(r"<(?:\w+:)?\w+>", lambda _: str(next(ids, path_id)), path)
    headers = {**headers, "HTTP_X_ORGANIZATION_ID": str(org_id)}
    call = getattr(client, method.lower())
    if method == "GET":
        return call(path, {k: str(v) for k, v in query.items()}, **headers)
    data = json.loads(json.dumps(body, default=str)) if body is not None else None
    return call(path, data, format="json", **headers)


# Endpoints whose declared permission is the least any caller needs, and whose view asks one more
# for some calls: any member may leave (DELETE their own membership); removing someone else
# needs members.manage. The matrix's request removes someone else.
VIEW_REFINES = {("DELETE", "api/orgs/<id:org_id>/members/<id:user_id>"): "members.manage"}


@pytest.mark.parametrize(("method", "route", "permission", "build"), list(_cases()))
def test_every_role_against_every_endpoint(db, meta, method, route, permission, build):
    owner = make_user("owner")
    world = build_world(owner, base=1)
    clients = {Role.OWNER: _client_for(owner)}
    for role in (Role.ADMIN, Role.AGENT, Role.VIEWER):
        member = make_user(f"{role}-member")  # with a personal organization of their own, their default
        add_member(world.org, member, role)
        clients[role] = _client_for(member)
    graph = FakeGraph(
        waba=world.waba.waba_id,
        phones=[world.phone.phone_number_id],
        pages=[world.page.page_id],
        ig=world.ig_account.ig_account_id,
    )
    graph.install(meta)

    build(world)  # rows a builder makes on first use (a member, an invitation) exist before any snapshot
    refused = [role for role in clients if permission not in EXPECTED[role]]
    allowed = [role for role in (Role.VIEWER, Role.AGENT, Role.ADMIN, Role.OWNER) if role not in refused]
    assert Role.OWNER in allowed
    for role in refused:
        before = _snapshot()
        response = _call(clients[role], method, route, build, world, world.org.pk)
        assert response.status_code == 403, (role, response.status_code, response.content[:300])
        error = response.json()["error"]
        assert error["code"] == "PERMISSION_DENIED", error
        assert error["details"] == {"permission": permission, "role": role}
        assert _snapshot() == before, f"a refused {role} changed data"
        assert len(meta.calls) == 0, [c.request.url for c in meta.calls]
        assert _queued() == 0, f"a refused {role} queued work"
    refined = VIEW_REFINES.get((method, route))
    for role in allowed:
        response = _call(clients[role], method, route, build, world, world.org.pk)
        if refined is not None and refined not in EXPECTED[role]:
            assert response.status_code == 403, (role, response.status_code, response.content[:300])
            assert response.json()["error"]["details"] == {"permission": refined, "role": role}
            continue
        assert response.status_code != 403, (role, response.status_code, response.content[:300])

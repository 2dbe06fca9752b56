"""The accounts app's calls to Meta: OAuth code and token exchange, debug_token, /me, the
granted permissions and revoking the app. Built on botopia_meta.graph; callers get typed
results and typed errors (GraphError subclasses)."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from botopia_meta.graph import GraphClient


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    expires_at: datetime | None  # None: Meta gave no expiry (the token does not expire)


@dataclass(frozen=True)
class TokenInfo:
    """What debug_token says about a token."""

    is_valid: bool
    app_id: str
    type: str  # USER, SYSTEM_USER, PAGE, APP
    user_id: str
    expires_at: datetime | None  # None: never expires (Meta's 0)
    scopes: list[str] = field(default_factory=list)
    granular_scopes: list[dict] = field(default_factory=list)
    error: dict = field(default_factory=dict)  # for an invalid token: Meta's {code, subcode, message}


def _app_client() -> GraphClient:
    return GraphClient(app_token=True, target="app")


def _grant(data: dict) -> TokenGrant:
    expires_in = data.get("expires_in")
    expires_at = None
    if isinstance(expires_in, int | float) and expires_in > 0:
        expires_at = timezone.now() + timedelta(seconds=int(expires_in))
    return TokenGrant(access_token=str(data["access_token"]), expires_at=expires_at)


@sensitive_variables()
def exchange_code(*, code: str, redirect_uri: str | None) -> TokenGrant:
    """Trade an OAuth (or Embedded Signup) code for a token. A code works once: one attempt."""
    params = {"client_id": settings.META_APP_ID, "client_secret": settings.META_APP_SECRET, "code": code}
    if redirect_uri:
        # Embedded Signup codes are exchanged without redirect_uri.
        params["redirect_uri"] = redirect_uri
    return _grant(_app_client().get("oauth/access_token", params, retries=0).json_object)


@sensitive_variables()
def exchange_long_lived(token: str) -> TokenGrant:
    """fb_exchange_token: a (short- or long-lived) user token → a fresh ~60-day token."""
    params = {
        "grant_type": "fb_exchange_token",
        "client_id": settings.META_APP_ID,
        "client_secret": settings.META_APP_SECRET,
        "fb_exchange_token": token,
    }
    return _grant(_app_client().get("oauth/access_token", params).json_object)


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, int | float) or value <= 0:
        return None
    return datetime.fromtimestamp(int(value), tz=UTC)


@sensitive_variables()
def debug_token(token: str) -> TokenInfo:
    data = _app_client().get("debug_token", {"input_token": token}).json_object.get("data") or {}
    error = data.get("error")
    return TokenInfo(
        is_valid=data.get("is_valid") is True,
        app_id=str(data.get("app_id") or ""),
        type=str(data.get("type") or ""),
        user_id=str(data.get("user_id") or ""),
        expires_at=_timestamp(data.get("expires_at")),
        scopes=[str(s) for s in data.get("scopes") or []],
        granular_scopes=[g for g in data.get("granular_scopes") or [] if isinstance(g, dict)],
        error=error if isinstance(error, dict) else {},
    )


@sensitive_variables()
def me(token: str) -> dict:
    """{"id", "name"} of the token's (system) user. No owner: the account may not exist yet."""
    return GraphClient(token, target="connect").get("me", {"fields": "id,name"}).json_object


@sensitive_variables()
def granted_permissions(token: str) -> list[str]:
    data = GraphClient(token, target="connect").get("me/permissions").json_object
    return [
        str(item["permission"])
        for item in data.get("data") or []
        if isinstance(item, dict) and item.get("status") == "granted" and item.get("permission")
    ]


def revoke_permissions(client: GraphClient) -> None:
    """DELETE /me/permissions: removes the app from the user's (or system user's) apps."""
    client.delete("me/permissions")

"""Meta's answers for connecting and discovery, shaped exactly as Meta shapes them."""

import time
from functools import partial

import pytest
from django.conf import settings
from django.db import connection
from responses import matchers

from accounts.models import MetaAccount
from tests import factories
from tests.conftest import graph_url

SHORT_TOKEN = "EAAGshortLivedUserToken0001abc"
LONG_TOKEN = "EAAGlongLivedUserToken00000xyz"
NEW_LONG_TOKEN = "EAAGrefreshedLongLivedToken777"
SYSTEM_TOKEN = "EAAGsystemUserPermanentToken42"
PAGE_TOKEN = "EAAGpageTokenForPage4001zzzq"
GRANTED = ["whatsapp_business_management", "whatsapp_business_messaging", "pages_show_list"]
GRANULAR = [
    {"scope": "whatsapp_business_management", "target_ids": ["2001"]},
    {"scope": "whatsapp_business_messaging", "target_ids": ["2001"]},
    {"scope": "pages_show_list", "target_ids": ["4001", "4002"]},
]


def has(**params):
    return [matchers.query_param_matcher(params, strict_match=False)]


def debug_token_body(
    *,
    token_type: str = "USER",
    app_id: str | None = None,
    is_valid: bool = True,
    expires_at: int | None = None,
    scopes: list[str] | None = None,
    granular: list[dict] | None = None,
    user_id: str = "10001",
    error: dict | None = None,
) -> dict:
    data = {
        "app_id": app_id or settings.META_APP_ID,
        "type": token_type,
        "application": "Botopia",
        "data_access_expires_at": int(time.time()) + 90 * 86400,
        "expires_at": int(time.time()) + 60 * 86400 if expires_at is None else expires_at,
        "is_valid": is_valid,
        "issued_at": int(time.time()) - 60,
        "scopes": GRANTED if scopes is None else scopes,
        "granular_scopes": GRANULAR if granular is None else granular,
        "user_id": user_id,
    }
    if error:
        data["error"] = error
    return {"data": data}


def fake_debug_token(meta, token: str, **kwargs) -> None:
    meta.get(graph_url("debug_token"), json=debug_token_body(**kwargs), match=has(input_token=token))


def fake_code_exchange(meta, *, code: str = "AQDcode123", token: str = SHORT_TOKEN) -> None:
    body = {"access_token": token, "token_type": "bearer", "expires_in": 5183}
    meta.get(graph_url("oauth/access_token"), json=body, match=has(code=code))


def fake_long_lived(meta, *, from_token: str = SHORT_TOKEN, token: str = LONG_TOKEN) -> None:
    body = {"access_token": token, "token_type": "bearer", "expires_in": 5184000}
    meta.get(
        graph_url("oauth/access_token"),
        json=body,
        match=has(grant_type="fb_exchange_token", fb_exchange_token=from_token),
    )


def fake_me(meta, *, user_id: str = "10001", name: str = "Ana Pérez") -> None:
    meta.get(graph_url("me"), json={"id": user_id, "name": name})


def fake_permissions(meta) -> None:
    body = {
        "data": [
            *({"permission": p, "status": "granted"} for p in GRANTED),
            {"permission": "pages_manage_posts", "status": "declined"},
        ]
    }
    meta.get(graph_url("me/permissions"), json=body)


def fake_oauth_connect(meta, *, code: str = "AQDcode123", user_id: str = "10001") -> None:
    fake_code_exchange(meta, code=code)
    fake_long_lived(meta)
    fake_debug_token(meta, LONG_TOKEN, user_id=user_id)
    fake_me(meta, user_id=user_id)
    fake_permissions(meta)


def meta_phone_number(phone_id: str) -> dict:
    """A number as GET /{waba-id}/phone_numbers lists it."""
    return {
        "id": phone_id,
        "display_phone_number": "+1 555-010-0001",
        "verified_name": "Botopia Store",
        "quality_rating": "GREEN",
        "messaging_limit_tier": "TIER_1K",
        "throughput": {"level": "STANDARD"},
        "code_verification_status": "VERIFIED",
        "name_status": "APPROVED",
        "status": "CONNECTED",
        "platform_type": "CLOUD_API",
    }


def meta_business_profile(phone_id: str) -> dict:
    """GET /{phone-number-id}/whatsapp_business_profile as Meta answers it."""
    return {
        "data": [
            {
                "about": f"Fresh bread daily ({phone_id})",
                "address": "Calle 10 #5-20, Bogotá",
                "description": "Botopia Store, since 2019",
                "email": "hola@botopia.example",
                "profile_picture_url": "https://pps.whatsapp.net/v/t61/profile.jpg",
                "websites": ["https://botopia.example/"],
                "vertical": "RETAIL",
                "messaging_product": "whatsapp",
            }
        ]
    }


def fake_assets(meta, *, pages: list[str] = ("4001", "4002"), phones: list[str] = ("3001",)) -> None:
    """WABA 2001 with its numbers and their business profiles; pages (4001 linked to IG 5001);
    IG 5001."""
    meta.get(
        graph_url("2001"),
        json={
            "id": "2001",
            "name": "Botopia Store",
            "currency": "USD",
            "timezone_id": "1",
            "message_template_namespace": "abcd_1234",
        },
    )
    meta.get(
        graph_url("2001/phone_numbers"),
        json={
            "data": [meta_phone_number(phone) for phone in phones],
            "paging": {"cursors": {"before": "QVFIUa", "after": "QVFIUb"}},
        },
    )
    for phone in phones:
        meta.get(graph_url(f"{phone}/whatsapp_business_profile"), json=meta_business_profile(phone))
    all_pages = {
        "4001": {
            "id": "4001",
            "name": "Botopia Café",
            "category": "Coffee shop",
            "access_token": PAGE_TOKEN,
            "tasks": ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"],
            "picture": {
                "data": {
                    "height": 50,
                    "is_silhouette": False,
                    "url": "https://scontent.xx.fbcdn.net/p.jpg",
                    "width": 50,
                }
            },
            "instagram_business_account": {"id": "5001"},
        },
        "4002": {
            "id": "4002",
            "name": "Botopia Bakery",
            "category": "Bakery",
            "access_token": "EAAGpageTokenForPage4002yyyy",
            "tasks": ["ANALYZE"],
            "picture": {"data": {"url": "https://scontent.xx.fbcdn.net/q.jpg"}},
        },
    }
    meta.get(
        graph_url("me/accounts"),
        json={
            "data": [all_pages[p] for p in pages],
            "paging": {"cursors": {"before": "MAZDZD", "after": "MjQZD"}},
        },
    )
    meta.get(
        graph_url("5001"),
        json={
            "id": "5001",
            "username": "botopia.cafe",
            "name": "Botopia Café",
            "profile_picture_url": "https://scontent.cdninstagram.com/v.jpg",
            "followers_count": 1520,
            "media_count": 87,
        },
    )


# The account the fakes above speak for: debug_token answers for its token, with its grants.
make_account = partial(
    factories.make_account,
    meta_user_name="Ana Pérez",
    access_token=LONG_TOKEN,
    permissions=GRANTED,
    granular_scopes=GRANULAR,
)


def raw_column(table: str, column: str, pk) -> str:
    with connection.cursor() as cursor:
        for key in (pk.hex, pk):  # SQLite stores the uuid as hex text, PostgreSQL natively
            cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [key])
            row = cursor.fetchone()
            if row is not None:
                return row[0]
    raise AssertionError("row not found")


@pytest.fixture
def alice_account(alice) -> MetaAccount:
    return make_account(alice)

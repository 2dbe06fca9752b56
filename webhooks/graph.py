"""Meta calls of the webhooks app: subscribing our callback, per object and per asset."""

from django.conf import settings

from botopia_meta.graph import GraphClient


def app_subscription_create(
    *, object_type: str, callback_url: str, verify_token: str, fields: list[str]
) -> dict:
    """`POST /{app-id}/subscriptions` with the app token. Meta calls our handshake (GET with
    this verify token) before answering, so the token must already be stored."""
    client = GraphClient(app_token=True, target="app")
    return client.post(
        f"{settings.META_APP_ID}/subscriptions",
        data={
            "object": object_type,
            "callback_url": callback_url,
            "verify_token": verify_token,
            "fields": ",".join(fields),
            "include_values": "true",
        },
    ).json_object


def waba_subscribe(client: GraphClient, *, waba_id: str) -> dict:
    """`POST /{waba-id}/subscribed_apps`: without it no event of this WABA reaches the app."""
    return client.post(f"{waba_id}/subscribed_apps").json_object


def page_subscribe(client: GraphClient, *, page_id: str, fields: list[str]) -> dict:
    """`POST /{page-id}/subscribed_apps?subscribed_fields=...` with the page token."""
    return client.post(
        f"{page_id}/subscribed_apps", params={"subscribed_fields": ",".join(fields)}
    ).json_object

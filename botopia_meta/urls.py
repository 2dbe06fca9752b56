from django.contrib import admin
from django.urls import include, path, register_converter

from botopia_meta.api.auth import TokenView
from botopia_meta.api.converters import IdConverter
from botopia_meta.api.schema import DocsView, SchemaView
from botopia_meta.health import healthz, readyz
from botopia_meta.metrics import metrics_view
from webhooks.receiver import webhook_events

register_converter(IdConverter, "id")  # before the apps' URLconfs are included

handler404 = "botopia_meta.api.errors.api_handler404"
handler500 = "botopia_meta.api.errors.api_handler500"

urlpatterns = [
    # Meta's deliveries first: Django tries the patterns in order, and the busiest URL of the
    # service, reached last, paid ~0.1 ms of failed matches (and their Resolver404s) per delivery.
    path("api/meta/webhook/events", webhook_events, name="webhook-events"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),  # Prometheus; needs METRICS_TOKEN
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", DocsView.as_view(url_name="schema"), name="docs"),
    path("api/auth/token", TokenView.as_view(), name="auth-token"),
    path("api/", include("orgs.urls")),
    path("api/meta/", include("accounts.urls")),
    path("api/meta/whatsapp/", include("whatsapp.urls")),
    path("api/meta/facebook/", include("facebook.urls")),
    path("api/meta/instagram/", include("instagram.urls")),
    path("api/meta/", include("botopia_meta.inbox.urls")),
    path("api/meta/", include("webhooks.urls")),
    path("api/meta/", include("analytics.urls")),
    # The Meta sandbox: answers 404 unless settings.META_SANDBOX (DEBUG only) is on.
    path("sandbox/graph/", include("sandbox.urls")),
]

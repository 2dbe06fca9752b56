import contextlib
import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from accounts.models import Notification
from botopia_meta import text
from webhooks.models import WebhookConfig, WebhookEvent


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ["received_at", "object", "fields", "status", "item_count", "attempts", "status_reason"]
    list_filter = ["status", "object", "fields"]
    search_fields = ["=id", "=dedupe_key"]
    date_hierarchy = "received_at"
    actions = ["reprocess"]
    exclude = ["raw_body"]
    readonly_fields = [
        "id",
        "received_at",
        "object",
        "fields",
        "status",
        "status_reason",
        "item_count",
        "attempts",
        "processed_at",
        "claimed_at",
        "swept_at",
        "dedupe_key",
        "pretty_items",
        "pretty_body",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: WebhookEvent | None = None) -> bool:
        return False

    @admin.display(description="Raw body")
    def pretty_body(self, event: WebhookEvent) -> str:
        body = event.body_text
        # Cleaned like every stored text (a "\ud800" in Meta's JSON would not encode).
        with contextlib.suppress(text.MalformedJson):
            body = json.dumps(text.loads(body), indent=2, ensure_ascii=False)
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', body)

    @admin.display(description="Item outcomes")
    def pretty_items(self, event: WebhookEvent) -> str:
        return format_html(
            '<pre style="white-space: pre-wrap">{}</pre>', json.dumps(event.item_results, indent=2)
        )

    @admin.action(description="Re-process the selected events")
    def reprocess(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        from webhooks.actors import process_webhook_event

        ids = list(queryset.values_list("pk", flat=True))
        sent = 0
        try:
            for event_id in ids:
                process_webhook_event.send(str(event_id), force=True)
                sent += 1
        except Exception:
            self.message_user(
                request,
                f"The queue is unreachable ({sent} of {len(ids)} queued). Retry later, or run "
                "`python manage.py replay_webhook_events --id <id>` on a server.",
                messages.ERROR,
            )
            return
        self.message_user(request, f"{sent} event(s) queued for re-processing.", messages.SUCCESS)


@admin.register(WebhookConfig)
class WebhookConfigAdmin(admin.ModelAdmin):
    list_display = ["account", "status", "target_url", "configured_at", "token_preview", "deleted_at"]
    list_filter = ["status"]
    exclude = ["verify_token", "forward_secret"]
    readonly_fields = ["token_preview", "results", "configured_at", "target_url", "forward_url"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookConfig]:
        return WebhookConfig.all_objects.select_related("account")

    @admin.display(description="Verify token")
    def token_preview(self, config: WebhookConfig) -> str | None:
        return config.verify_token_preview


if not admin.site.is_registered(Notification):

    @admin.register(Notification)
    class NotificationAdmin(admin.ModelAdmin):
        list_display = ["created_at", "account", "kind", "severity", "title", "read"]
        list_filter = ["severity", "kind", "read"]
        search_fields = ["title", "body", "=related_id"]
        raw_id_fields = ["account"]

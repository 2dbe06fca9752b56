"""Staff view of inbound media: what was downloaded, what failed and why. Read-only; the file
itself is served only to its owner (GET /api/meta/whatsapp/media/<id>)."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from botopia_meta.admin import MirrorAdmin
from whatsapp.models import WhatsAppMedia


@admin.register(WhatsAppMedia)
class WhatsAppMediaAdmin(MirrorAdmin):
    list_display = ["__str__", "status", "mime_type", "size", "phone_number", "message_link", "created_at"]
    list_filter = ["status", "kind"]
    search_fields = ["media_id", "message__wamid", "phone_number__phone_number_id"]
    readonly_fields = ["message_link", "file", "error", "attempts", "enqueued_at", "stored_at"]
    exclude = ["message"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("phone_number", "message")

    @admin.display(description="Message")
    def message_link(self, media: WhatsAppMedia) -> str:
        if media.message_id is None:
            return "-"
        url = reverse("admin:whatsapp_message_change", args=[media.message_id])
        return format_html('<a href="{}">{}</a>', url, media.message)

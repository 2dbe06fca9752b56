"""Admin for messages, contacts and broadcasts (no secrets live on these rows)."""

from django.contrib import admin

from whatsapp.models import Broadcast, Contact, Message


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["id", "direction", "type", "status", "contact_wa_id", "wamid", "error_code", "created_at"]
    list_filter = ["direction", "status", "type", "error_code"]
    search_fields = ["=wamid", "=id", "contact_wa_id", "template_name"]
    list_select_related = ["phone_number"]
    raw_id_fields = ["phone_number", "template", "broadcast"]
    date_hierarchy = "created_at"


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["wa_id", "name", "phone_number", "last_inbound_at"]
    search_fields = ["wa_id", "name"]
    raw_id_fields = ["phone_number"]


@admin.register(Broadcast)
class BroadcastAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "template_name",
        "template_language",
        "status",
        "total",
        "created_at",
        "cancelled_at",
    ]
    list_filter = ["status"]
    search_fields = ["=id", "template_name"]
    raw_id_fields = ["phone_number", "template"]

"""Admin for messages, status events, contacts and broadcasts (no secrets live on these rows).

Messages and status events are records of what was sent and what Meta reported: read-only.
A message's page shows its content readable per type (whatsapp/messages/readable.py) above
the raw JSON, and links the webhook events that mention its wamid, and those link back."""

import re
from datetime import timedelta

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from botopia_meta.admin import BigTableAdmin, MirrorAdmin, recent_filter, recent_since, values_filter
from whatsapp.messages.payloads import SEND_TYPES
from whatsapp.messages.readable import Part, content_parts, content_text
from whatsapp.models import Broadcast, Contact, Message, MessageStatusEvent

PHONE_CHARS = re.compile(r"^[\d\s+().\-]+$")
MAX_LINKED_EVENTS = 20


def phone_digits(term: str) -> str | None:
    """ "+1 555 123 4000", "(555) 123-4000" → digits, when the term looks like a phone number."""
    term = term.strip()
    if not PHONE_CHARS.match(term):
        return None
    digits = re.sub(r"\D", "", term)
    return digits if len(digits) >= 5 else None


def part_html(part: Part) -> str:
    """One labelled line, escaped; a downloaded media file links to our own endpoint."""
    if part.url:
        return format_html('<strong>{}</strong>: <a href="{}">{}</a>', part.label, part.url, part.text)
    return format_html("<strong>{}</strong>: {}", part.label, part.text)


def seconds(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else "—"


class FailedWhenFilter(admin.SimpleListFilter):
    title = "failed"
    parameter_name = "failed"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("today", "Today (UTC)"), ("24h", "Last 24 hours"), ("7d", "Last 7 days")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        since = recent_since(self.value()) if self.value() != "30d" else None  # the choices above
        if since is None:
            return queryset
        return queryset.filter(status=Message.Status.FAILED, failed_at__gte=since)


class PhoneSearchMixin(admin.ModelAdmin):
    """Search a phone number in any format: spaces, dashes, brackets and "+" are ignored."""

    phone_fields: tuple[str, ...] = ()

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        digits = phone_digits(search_term)
        if digits is None:
            return super().get_search_results(request, queryset, search_term)
        from django.db.models import Q

        condition = Q()
        for field in self.phone_fields:
            condition |= Q(**{f"{field}__contains": digits})
        return queryset.filter(condition), False


# Types we send and the usual inbound ones (Meta's names).
MESSAGE_TYPES = [*SEND_TYPES, "sticker", "location", "contacts", "button", "unsupported"]
# Meta's most frequent send errors (meta-graph-notes.md): rate limit, undeliverable, outside
# the 24-hour window, template parameter and pacing errors, ...
ERROR_CODES = [
    "130429",
    "131026",
    "131047",
    "131049",
    "131050",
    "131051",
    "131053",
    "132000",
    "132001",
    "133010",
]


class ErrorCodeFilter(admin.SimpleListFilter):
    """A failed message's error code, read through the small index of failed messages."""

    title = "error code"
    parameter_name = "error_code"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(code, code) for code in ERROR_CODES]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if not (self.value() or "").isdigit():
            return queryset
        return queryset.filter(status=Message.Status.FAILED, error_code=int(self.value() or 0))


@admin.register(Message)
class MessageAdmin(PhoneSearchMixin, BigTableAdmin, MirrorAdmin):
    list_display = [
        "created",
        "direction",
        "recipient",
        "from_number",
        "type",
        "says",
        "status",
        "error_code",
        "error_title_short",
        "wamid",
    ]
    # choices and fixed values only (no DISTINCT over the table), newest first off the
    # created_at index; a date range by the indexed created_at instead of a date hierarchy
    list_filter = [
        FailedWhenFilter,
        recent_filter("created_at", "created"),
        "direction",
        "status",
        values_filter("type", MESSAGE_TYPES),
        ErrorCodeFilter,
    ]
    ordering = ("-created_at", "-id")
    search_fields = ["=wamid", "=id", "contact_wa_id", "template_name"]
    phone_fields = ("contact_wa_id",)
    search_help_text = (
        "A phone number in any format (+1 555 123 4000), a wamid, a message id or a template name."
    )
    list_select_related = ["phone_number"]
    readonly_fields = ["readable_content", "webhook_events"]

    def get_fields(self, request: HttpRequest, obj: Message | None = None) -> tuple[str, ...]:
        fields = [f.name for f in Message._meta.fields if f.name != "id"]
        at = fields.index("content")
        return ("id", *fields[:at], "readable_content", *fields[at:], "webhook_events")

    @admin.display(description="Says")
    def says(self, message: Message) -> str:
        text = content_text(message.type, message.content)
        return f"{text[:60]}…" if len(text) > 60 else text or "—"

    @admin.display(description="Content, readable")
    def readable_content(self, message: Message) -> str:
        parts = content_parts(message.type, message.content)
        if not parts:
            return "— (nothing readable for this type: see the raw content)"
        return format_html_join(mark_safe("<br>"), "{}", ((part_html(part),) for part in parts))

    @admin.display(description="Created", ordering="created_at")
    def created(self, message: Message) -> str:
        return seconds(message.created_at)

    @admin.display(description="Recipient", ordering="contact_wa_id")
    def recipient(self, message: Message) -> str:
        return f"+{message.contact_wa_id}" if message.contact_wa_id.isdigit() else message.contact_wa_id

    @admin.display(description="Number")
    def from_number(self, message: Message) -> str:
        return str(message.phone_number) if message.phone_number else "—"

    @admin.display(description="Error", ordering="error_title")
    def error_title_short(self, message: Message) -> str:
        title = message.error_title or ""
        return f"{title[:80]}…" if len(title) > 80 else title or "—"

    @admin.display(description="Webhook events")
    def webhook_events(self, message: Message) -> str:
        from webhooks.admin import events_mentioning

        if not message.wamid:
            return "— (no wamid: Meta never accepted this message)"
        events = events_mentioning(message.wamid, since=message.created_at - timedelta(hours=1))
        if not events:
            return "None stored (they are kept WEBHOOK_EVENT_RETENTION_DAYS)."
        return format_html_join(
            mark_safe("<br>"),
            '<a href="{}">{}</a>',
            (
                (reverse("admin:webhooks_webhookevent_change", args=[event.pk]), str(event))
                for event in events[:MAX_LINKED_EVENTS]
            ),
        )


@admin.register(MessageStatusEvent)
class MessageStatusEventAdmin(BigTableAdmin, MirrorAdmin):
    list_display = ["wamid", "status", "meta_time", "applied", "message_link"]
    list_filter = [
        values_filter("status", ["sent", "delivered", "read", "failed"]),
        recent_filter("created_at", "applied"),
    ]
    search_fields = ["=wamid"]
    ordering = ("-created_at", "-id")

    @admin.display(description="At Meta", ordering="at")
    def meta_time(self, event: MessageStatusEvent) -> str:
        return seconds(event.at)

    @admin.display(description="Applied", ordering="created_at")
    def applied(self, event: MessageStatusEvent) -> str:
        return seconds(event.created_at)

    @admin.display(description="Message")
    def message_link(self, event: MessageStatusEvent) -> str:
        url = reverse("admin:whatsapp_message_changelist")
        return format_html('<a href="{}?q={}">find</a>', url, event.wamid)


@admin.register(Contact)
class ContactAdmin(PhoneSearchMixin, MirrorAdmin):
    list_display = ["wa_id", "name", "phone_number", "last_inbound_at"]
    search_fields = ["wa_id", "name"]
    phone_fields = ("wa_id",)
    list_select_related = ["phone_number"]


@admin.register(Broadcast)
class BroadcastAdmin(MirrorAdmin):
    """Created through the API; cancelled through it too (POST /broadcasts/{id}/cancel)."""

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
    list_select_related = ["phone_number"]

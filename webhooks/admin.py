import contextlib
import json
from collections import Counter
from datetime import datetime

from django.contrib import admin, messages
from django.db.models import Func, QuerySet, TextField
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from botopia_meta import registry, text
from botopia_meta.admin import BigTableAdmin, MirrorAdmin, recent_filter, values_filter
from webhooks.models import WebhookConfig, WebhookEvent

TIMES = "\u00d7"


class BodyText(Func):
    """The stored body as text, for a substring search."""

    output_field = TextField()
    template = "CAST(%(expressions)s AS TEXT)"  # SQLite and others

    def as_postgresql(self, compiler, connection, **extra):
        # encode(..., 'escape') never fails on bytes that are not UTF-8 (convert_from would);
        # the ids searched for are ASCII.
        return self.as_sql(compiler, connection, template="encode(%(expressions)s, 'escape')", **extra)


def events_mentioning(needle: str, *, since: datetime | None = None) -> list[WebhookEvent]:
    """Events whose body contains `needle` (a wamid, a comment or message id). A scan of the
    stored bodies (kept WEBHOOK_EVENT_RETENTION_DAYS), bounded by `since` when known."""
    queryset = WebhookEvent.objects.defer("raw_body").annotate(body=BodyText("raw_body"))
    if since is not None:
        queryset = queryset.filter(received_at__gte=since)
    return list(queryset.filter(body__contains=needle).order_by("received_at")[:100])


def summarise_body(body: object) -> str:
    """What a delivery carries, in a few words: "3 statuses: delivered x2, read" (with a times sign)."""
    if not isinstance(body, dict):
        return "not JSON"
    statuses: Counter = Counter()
    inbound: Counter = Counter()
    other: Counter = Counter()
    for entry in body.get("entry") or []:
        if not isinstance(entry, dict):
            continue
        for change in entry.get("changes") or []:
            if not isinstance(change, dict):
                continue
            value = change.get("value")
            if not isinstance(value, dict):
                value = {}
            if change.get("field") == "messages" and ("statuses" in value or "messages" in value):
                statuses.update(
                    str(s.get("status")) for s in value.get("statuses") or [] if isinstance(s, dict)
                )
                inbound.update(str(m.get("type")) for m in value.get("messages") or [] if isinstance(m, dict))
            else:
                detail = value.get("event") or value.get("verb") or value.get("item") or ""
                other[f"{change.get('field')}{f' {detail}' if detail else ''}"] += 1
        for item in entry.get("messaging") or []:
            if isinstance(item, dict):
                kind = next(
                    (k for k in ("message", "postback", "reaction", "read", "delivery") if k in item), "event"
                )
                other[f"messaging {kind}"] += 1

    def part(counter: Counter, one: str, many: str) -> str:
        total = sum(counter.values())
        detail = ", ".join(f"{name} {TIMES}{n}" if n > 1 else name for name, n in counter.most_common())
        return f"{total} {one if total == 1 else many}: {detail}"

    parts = []
    if statuses:
        parts.append(part(statuses, "status", "statuses"))
    if inbound:
        parts.append(part(inbound, "inbound message", "inbound messages"))
    if other:
        parts.append(", ".join(f"{name} {TIMES}{n}" if n > 1 else name for name, n in other.most_common()))
    return "; ".join(parts) or "empty"


def _body(event: WebhookEvent) -> object:
    # The one text rule: a body stored `rejected` for nesting too deep must not break the page.
    with contextlib.suppress(text.MalformedJson):
        return text.loads(event.body_text)
    return None


def wamids_in(body: object) -> list[str]:
    found: dict[str, None] = {}
    for entry in (body or {}).get("entry") or [] if isinstance(body, dict) else []:
        for change in entry.get("changes") or [] if isinstance(entry, dict) else []:
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict):
                continue
            for item in [*(value.get("statuses") or []), *(value.get("messages") or [])]:
                if isinstance(item, dict) and str(item.get("id", "")).startswith("wamid."):
                    found[item["id"]] = None
    return list(found)


@admin.register(WebhookEvent)
class WebhookEventAdmin(BigTableAdmin, MirrorAdmin):
    list_display = ["received", "object", "summary", "status", "item_count", "attempts", "status_reason"]
    # the objects and fields we handle (the registry), not a DISTINCT over every stored event
    list_filter = [
        "status",
        recent_filter("received_at", "received"),
        values_filter("object", lambda: sorted({obj for obj, _ in registry.WEBHOOK_HANDLERS})),
        values_filter("fields", lambda: sorted({field for _, field in registry.WEBHOOK_HANDLERS})),
    ]
    ordering = ("-received_at", "-id")
    search_fields = ["=id", "=dedupe_key"]
    search_help_text = "A wamid (or any id in the body: comment, mid), an event id or its sha256."
    actions = ["reprocess"]
    fields = (  # a tuple: shared with readonly_fields, and what both settings accept
        "id",
        "received_at",
        "object",
        "fields",
        "summary",
        "status",
        "status_reason",
        "item_count",
        "attempts",
        "processed_at",
        "claimed_at",
        "swept_at",
        "dedupe_key",
        "messages",
        "pretty_items",
        "pretty_body",
    )
    readonly_fields = fields
    change_form_template = "admin/webhooks/webhookevent/change_form.html"
    show_full_result_count = False

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        term = search_term.strip()
        if len(term) >= 8 and not term.count(" "):
            # An id from inside the body (wamid.…, a comment id, a mid): search the bodies.
            by_body = queryset.annotate(body=BodyText("raw_body")).filter(body__contains=term)
            by_key, _ = super().get_search_results(request, queryset, search_term)
            with contextlib.suppress(ValueError, Exception):
                if by_key.exists():
                    return by_key, False
            return by_body, False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description="Received", ordering="received_at")
    def received(self, event: WebhookEvent) -> str:
        return timezone.localtime(event.received_at).strftime("%Y-%m-%d %H:%M:%S")

    @admin.display(description="Content")
    def summary(self, event: WebhookEvent) -> str:
        return summarise_body(_body(event))

    @admin.display(description="WhatsApp messages")
    def messages(self, event: WebhookEvent) -> str:
        from whatsapp.models import Message

        wamids = wamids_in(_body(event))
        if not wamids:
            return "—"
        found = dict(Message.objects.filter(wamid__in=wamids).values_list("wamid", "pk"))
        return format_html_join(
            mark_safe("<br>"),
            "{}",
            (
                (
                    format_html(
                        '<a href="{}">{}</a>', reverse("admin:whatsapp_message_change", args=[found[w]]), w
                    )
                    if w in found
                    else format_html("{} (no message stored)", w),
                )
                for w in wamids
            ),
        )

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

    def get_urls(self) -> list:
        reprocess = path(
            "<path:object_id>/reprocess/",
            self.admin_site.admin_view(self.reprocess_view),
            name="webhooks_webhookevent_reprocess",
        )
        return [reprocess, *super().get_urls()]

    def render_change_form(self, request: HttpRequest, context: dict, *args, **kwargs) -> HttpResponse:
        if context.get("original") is not None:
            context["reprocess_url"] = reverse(
                "admin:webhooks_webhookevent_reprocess", args=[context["original"].pk]
            )
        return super().render_change_form(request, context, *args, **kwargs)

    def reprocess_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method != "POST":
            raise Http404
        event = self.get_object(request, object_id)
        if event is None:
            raise Http404
        self.reprocess(request, WebhookEvent.objects.filter(pk=event.pk))
        return HttpResponseRedirect(reverse("admin:webhooks_webhookevent_change", args=[event.pk]))

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
class WebhookConfigAdmin(MirrorAdmin):
    """Configured through the API (PUT /webhooks/config), which subscribes at Meta."""

    list_display = ["account", "status", "target_url", "configured_at", "token_preview", "deleted_at"]
    list_filter = ["status"]
    exclude = ["verify_token", "forward_secret"]
    readonly_fields = ["token_preview", "results", "configured_at", "target_url", "forward_url"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookConfig]:
        return WebhookConfig.all_objects.select_related("account")

    @admin.display(description="Verify token")
    def token_preview(self, config: WebhookConfig) -> str | None:
        return config.verify_token_preview

"""Staff views of WABAs, numbers and templates. No token is shown anywhere: the account's
token lives on MetaAccount and only its masked preview appears here."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from botopia_meta.admin import MirrorAdmin, MirrorInline
from botopia_meta.exceptions import ApiError
from botopia_meta.fields import mask_secret
from botopia_meta.graph import GraphError
from botopia_meta.tasks import enqueue_on_commit
from whatsapp.models import WhatsAppBusinessAccount, WhatsAppPhoneNumber, WhatsAppTemplate


class PhoneNumberInline(MirrorInline):
    model = WhatsAppPhoneNumber
    fields = (  # a tuple: shared with readonly_fields, and what both settings accept
        "phone_number_id",
        "display_phone_number",
        "verified_name",
        "quality_rating",
        "messaging_limit_tier",
    )
    readonly_fields = fields


def _sync_wabas(request: HttpRequest, waba_pks: set) -> None:
    from whatsapp.message_templates.actors import sync_waba_templates

    for pk in waba_pks:
        enqueue_on_commit(sync_waba_templates, str(pk))


@admin.register(WhatsAppBusinessAccount)
class WhatsAppBusinessAccountAdmin(MirrorAdmin):
    list_display = [
        "__str__",
        "waba_id",
        "account_owner",
        "status",
        "account_review_status",
        "subscribed",
        "deleted_at",
    ]
    list_filter = ["status", "account_review_status", "subscribed"]
    search_fields = ["waba_id", "name", "account__organization__name"]
    readonly_fields = ["token_preview", "capabilities", "last_refreshed_at", "created_at", "updated_at"]
    exclude = ["account"]
    inlines = [PhoneNumberInline]
    actions = ["refresh_from_meta", "sync_templates_from_meta"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return WhatsAppBusinessAccount.all_objects.select_related("account__organization")

    @admin.display(description="Organization")
    def account_owner(self, waba: WhatsAppBusinessAccount) -> str:
        return str(waba.account.organization)

    @admin.display(description="Token")
    def token_preview(self, waba: WhatsAppBusinessAccount) -> str:
        return mask_secret(waba.account.access_token) or "—"

    @admin.action(description="Refresh from Meta (name, review and ban state, numbers)")
    def refresh_from_meta(self, request: HttpRequest, queryset: QuerySet) -> None:
        from whatsapp.account.actors import refresh_waba

        pks = list(queryset.filter(deleted_at__isnull=True).values_list("pk", flat=True))
        for pk in pks:
            enqueue_on_commit(refresh_waba, str(pk))
        self.message_user(request, f"Refresh queued for {len(pks)} WABA(s).", messages.SUCCESS)

    @admin.action(description="Sync templates from Meta")
    def sync_templates_from_meta(self, request: HttpRequest, queryset: QuerySet) -> None:
        pks = set(queryset.values_list("pk", flat=True))
        _sync_wabas(request, pks)
        self.message_user(request, f"Template sync queued for {len(pks)} WABA(s).", messages.SUCCESS)


@admin.register(WhatsAppPhoneNumber)
class WhatsAppPhoneNumberAdmin(MirrorAdmin):
    list_display = [
        "__str__",
        "phone_number_id",
        "verified_name",
        "quality_rating",
        "messaging_limit_tier",
        "throughput_level",
        "max_send_rate",
        "status",
    ]
    list_filter = ["quality_rating", "messaging_limit_tier", "throughput_level", "status"]
    search_fields = ["phone_number_id", "display_phone_number", "verified_name", "waba__waba_id"]
    readonly_fields = ["waba", "business_profile", "created_at", "updated_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return WhatsAppPhoneNumber.all_objects.select_related("waba")


@admin.register(WhatsAppTemplate)
class WhatsAppTemplateAdmin(MirrorAdmin):
    """Edited only at Meta, through the API (POST/PATCH/DELETE /templates): a change made here
    would touch our copy alone and be overwritten by the next sync."""

    list_display = [
        "name",
        "language",
        "category",
        "status",
        "quality_score",
        "rejected_reason",
        "waba",
        "updated_at",
        "deleted_at",
    ]
    list_filter = ["status", "category", "language", "quality_score"]
    search_fields = ["name", "template_id", "waba__waba_id"]
    readonly_fields = ["waba", "template_id", "last_synced_at", "created_at", "updated_at"]
    actions = ["sync_from_meta", "delete_at_meta"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return WhatsAppTemplate.all_objects.select_related("waba")

    @admin.action(description="Sync from Meta (the selected templates' WABAs)")
    def sync_from_meta(self, request: HttpRequest, queryset: QuerySet) -> None:
        pks = set(queryset.values_list("waba_id", flat=True))
        _sync_wabas(request, pks)
        self.message_user(request, f"Template sync queued for {len(pks)} WABA(s).", messages.SUCCESS)

    @admin.action(description="Delete at Meta (this language of each selected template)")
    def delete_at_meta(self, request: HttpRequest, queryset: QuerySet) -> None:
        from whatsapp.message_templates.services import template_delete

        deleted, failed = 0, []
        for template in queryset.filter(deleted_at__isnull=True).select_related("waba__account"):
            try:
                template_delete(template=template)
                deleted += 1
            except (ApiError, GraphError) as exc:
                failed.append(f"{template} ({getattr(exc, 'message', '') or type(exc).__name__})")
        if deleted:
            self.message_user(request, f"Deleted {deleted} template(s) at Meta.", messages.SUCCESS)
        if failed:
            self.message_user(request, f"Not deleted: {'; '.join(failed)}", messages.ERROR)


from whatsapp.messages import admin as messages_admin  # noqa: E402, F401

from datetime import timedelta

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.exceptions import MetaTokenExpired
from accounts.models import MetaAccount, Notification, NotificationRead
from accounts.services import account_token_refresh
from botopia_meta.admin import BigTableAdmin, MirrorAdmin, MirrorInline, recent_filter
from botopia_meta.exceptions import ApiError
from botopia_meta.graph import GraphError


class AttentionFilter(admin.SimpleListFilter):
    title = "attention"
    parameter_name = "attention"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("relogin", "Needs re-login"), ("expiring", "Token expires within 7 days")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        if self.value() == "relogin":
            return queryset.filter(deleted_at__isnull=True).filter(
                Q(needs_reauth=True) | ~Q(status=MetaAccount.Status.ACTIVE)
            )
        if self.value() == "expiring":
            return queryset.filter(
                deleted_at__isnull=True,
                status=MetaAccount.Status.ACTIVE,
                needs_reauth=False,
                token_expiry__gt=now,
                token_expiry__lte=now + timedelta(days=7),
            )
        return queryset


@admin.register(MetaAccount)
class MetaAccountAdmin(MirrorAdmin):
    """Connections are made and ended by the business through the API (OAuth); staff refresh
    tokens and re-discover assets, both of which ask Meta."""

    list_display = (
        "organization",
        "connected_by",
        "meta_user_name",
        "meta_user_id",
        "token_type",
        "status",
        "token_expiry",
        "needs_reauth",
        "connected_at",
    )
    list_filter = (AttentionFilter, "status", "token_type", "needs_reauth")
    search_fields = ("organization__name", "connected_by__username", "meta_user_name", "meta_user_id")
    # Tokens are never shown: only their masked previews.
    exclude = ("access_token", "refresh_token")
    readonly_fields = (
        "token_preview",
        "meta_app_id",
        "meta_user_id",
        "permissions",
        "granular_scopes",
        "last_validated_at",
        "last_discovered_at",
        "connected_at",
    )
    actions = ("refresh_tokens", "rediscover_assets")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return MetaAccount.all_objects.select_related("organization", "connected_by")

    @admin.display(description="Token")
    def token_preview(self, obj: MetaAccount) -> str:
        return obj.token_preview or "—"

    @admin.action(description="Refresh token")
    def refresh_tokens(self, request: HttpRequest, queryset: QuerySet) -> None:
        refreshed, failed = 0, []
        for account in queryset:
            try:
                account_token_refresh(account=account)
                refreshed += 1
            except (ApiError, GraphError) as exc:
                reason = "needs re-login" if isinstance(exc, MetaTokenExpired) else type(exc).__name__
                failed.append(f"{account} ({reason})")
        if refreshed:
            self.message_user(request, f"Refreshed {refreshed} token(s).", messages.SUCCESS)
        if failed:
            self.message_user(request, f"Not refreshed: {', '.join(failed)}.", messages.WARNING)

    @admin.action(description="Re-discover assets")
    def rediscover_assets(self, request: HttpRequest, queryset: QuerySet) -> None:
        from accounts.actors import discover_assets

        active = [account for account in queryset if account.is_active]
        for account in active:
            discover_assets.send(str(account.pk))
        self.message_user(request, f"Queued asset discovery for {len(active)} active account(s).")


class NotificationReadInline(MirrorInline):
    """Who read it: read state is per member."""

    model = NotificationRead
    fields = ("user", "read_at")
    show_change_link = False


@admin.register(Notification)
class NotificationAdmin(BigTableAdmin):
    list_display = ("title", "account", "kind", "severity", "created_at")  # who read it: its page
    # no "kind" filter: Django would list its DISTINCT values, a scan of every notification
    list_filter = ("severity", recent_filter("created_at", "created"))
    inlines = (NotificationReadInline,)
    search_fields = ("title", "account__meta_user_name", "=kind")
    ordering = ("-created_at", "-id")
    raw_id_fields = ("account",)

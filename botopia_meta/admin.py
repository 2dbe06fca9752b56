"""The staff console's shared pieces: read-only mirrors, API tokens shown as prefixes, the
overview on the index page (botopia_meta/templatetags/staff_overview.py)."""

from collections.abc import Callable
from datetime import datetime, timedelta

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from rest_framework.authtoken.admin import TokenAdmin as DrfTokenAdmin
from rest_framework.authtoken.models import TokenProxy

from botopia_meta.api.pagination import count_rows

admin.site.site_header = "Botopia Meta: staff console"
admin.site.site_title = "Botopia Meta staff"
admin.site.index_title = "Overview"
admin.site.index_template = "admin/botopia_index.html"

KEY_PREFIX_LENGTH = 6


def key_prefix(key: str | None) -> str:
    return f"{key[:KEY_PREFIX_LENGTH]}…" if key else "—"


class ReadOnly:
    """Look, never add, change or delete by hand (admins and inlines alike)."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class MirrorAdmin(ReadOnly, admin.ModelAdmin):
    """Our copy of something that lives at Meta (or a record of what Meta sent). Staff look,
    and change Meta only through actions that call Meta; a hand edit would change our copy
    alone, and the next sync would overwrite it."""


class EstimatingPaginator(Paginator):
    """Counts like the API's lists: exact up to COUNT_CAP rows, the planner's estimate beyond
    (botopia_meta.api.pagination.count_rows), so a changelist of millions never scans them all."""

    @cached_property
    def count(self) -> int:
        if isinstance(self.object_list, QuerySet):
            return count_rows(self.object_list).value
        return super().count


def recent_since(choice: str | None) -> datetime | None:
    """The start of a "recent" filter choice (today, 24h, 7d, 30d); None for no or another choice."""
    now = timezone.now()
    return {
        "today": now.replace(hour=0, minute=0, second=0, microsecond=0),
        "24h": now - timedelta(hours=24),
        "7d": now - timedelta(days=7),
        "30d": now - timedelta(days=30),
    }.get(choice or "")


def recent_filter(field: str, title: str = "when") -> type[admin.SimpleListFilter]:
    """A list filter on an indexed time column by range (today, 24 hours, 7 and 30 days): what
    a date hierarchy offers, without its DISTINCT over every row of the month shown."""

    class RecentFilter(admin.SimpleListFilter):
        parameter_name = f"{field}_recent"

        def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
            return [
                ("today", "Today (UTC)"),
                ("24h", "Last 24 hours"),
                ("7d", "Last 7 days"),
                ("30d", "Last 30 days"),
            ]

        def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
            since = recent_since(self.value())
            return queryset if since is None else queryset.filter(**{f"{field}__gte": since})

    RecentFilter.title = title
    return RecentFilter


def values_filter(
    field: str, values: list[str] | Callable[[], list[str]], title: str | None = None
) -> type[admin.SimpleListFilter]:
    """A list filter offering known values (a list, or a function giving them): Django's default
    for a field without choices asks the table for its DISTINCT values, a scan of every row."""

    class ValuesFilter(admin.SimpleListFilter):
        parameter_name = field

        def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
            return [(value, value) for value in (values() if callable(values) else values)]

        def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
            return queryset.filter(**{field: self.value()}) if self.value() else queryset

    ValuesFilter.title = title or field.replace("_", " ")
    return ValuesFilter


class BigTableAdmin(admin.ModelAdmin):
    """For tables that grow by millions (messages, status events, webhook events, notifications):
    no full count, an estimating paginator; subclasses filter through indexed columns only
    (choices, `values_filter`, `recent_filter`) and order by an indexed column."""

    show_full_result_count = False
    paginator = EstimatingPaginator


class MirrorInline(ReadOnly, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True


admin.site.unregister(TokenProxy)


@admin.register(TokenProxy)
class TokenAdmin(DrfTokenAdmin):
    """API tokens by their first characters only. A user gets the full key once, from
    POST /api/auth/token (or `manage.py drf_create_token`); staff revoke it here."""

    list_display = ("key_start", "user", "created")
    fields = ("key_start", "user", "created")
    readonly_fields = ("key_start", "user", "created")
    change_form_template = "admin/botopia_token_change_form.html"

    @admin.display(description="Key")
    def key_start(self, token: TokenProxy) -> str:
        return key_prefix(token.key)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # Django's delete pages name the object by its key: revoke below instead

    def get_urls(self) -> list:
        revoke = path(
            "<path:object_id>/revoke/",
            self.admin_site.admin_view(self.revoke_view),
            name="authtoken_tokenproxy_revoke",
        )
        return [revoke, *super().get_urls()]

    def render_change_form(self, request: HttpRequest, context: dict, *args, **kwargs) -> HttpResponse:
        token = context.get("original")
        if token is not None:  # the title and breadcrumbs would print str(token): the key
            context["original"] = f"Token of {token.user}"
            context["title"] = f"API token of {token.user}"
            context["subtitle"] = context["original"]
            context["revoke_url"] = reverse("admin:authtoken_tokenproxy_revoke", args=[token.user_id])
        return super().render_change_form(request, context, *args, **kwargs)

    def history_view(self, request: HttpRequest, object_id: str, extra_context: dict | None = None):
        raise Http404  # the history page is titled with the key

    def revoke_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method != "POST" or not request.user.has_perm("authtoken.delete_token"):
            raise Http404
        token = self.get_object(request, object_id)
        if token is None:
            raise Http404
        user = token.user
        token.delete()
        self.message_user(request, f"{user}'s API token is revoked.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:authtoken_tokenproxy_changelist"))


# The "Dramatiq tasks" page needs django_dramatiq's AdminMiddleware, which writes a row per
# job; failed jobs are counted from the broker's dead-letter queues on the overview instead.
try:
    from django_dramatiq.models import Task

    if admin.site.is_registered(Task):
        admin.site.unregister(Task)
except ImportError:  # pragma: no cover
    pass

"""Organizations with their members (staff may change a role), invitations (never their token;
revoked from the list), and the audit log (read-only)."""

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from botopia_meta.admin import MirrorAdmin, ReadOnly, recent_filter, values_filter
from orgs.audit import ACTIONS, Action, record
from orgs.models import AuditEntry, Invitation, Membership, Organization, Role
from orgs.services import invitation_revoke_by_staff


class MembershipFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        roles = [
            form.cleaned_data.get("role")
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if self.instance.pk and Role.OWNER not in roles:
            raise forms.ValidationError("An organization needs an owner: keep at least one.")


class MembershipInline(admin.TabularInline):
    model = Membership
    formset = MembershipFormSet
    fields = ("user", "role", "is_default", "created_at")
    readonly_fields = ("user", "is_default", "created_at")
    extra = 0
    can_delete = False  # removing a member is theirs to do (or an owner's), through the API

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "member_count", "created_at", "deleted_at")
    list_filter = (("deleted_at", admin.EmptyFieldListFilter),)
    search_fields = ("name", "memberships__user__username", "memberships__user__email")
    fields = ("name", "created_at", "deleted_at")
    readonly_fields = ("created_at", "deleted_at")
    inlines = (MembershipInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Organization]:
        return Organization.all_objects.annotate(member_count=Count("memberships"))

    @admin.display(description="Members", ordering="member_count")
    def member_count(self, organization: Organization) -> int:
        return organization.member_count  # type: ignore[attr-defined]  # annotated above

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # organizations are made by their owners (POST /api/orgs)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # deleting disconnects Meta accounts: the owner does it (DELETE /api/orgs/:id)

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        # A role staff change is in the organization's audit log like a member's.
        before = dict(Membership.objects.filter(organization=form.instance).values_list("pk", "role"))
        super().save_formset(request, form, formset, change)
        for membership in formset.queryset.select_related("user"):
            old = before.get(membership.pk)
            if old is not None and old != membership.role:
                record(
                    request.user,
                    Action.MEMBER_ROLE_CHANGE,
                    membership.user,
                    organization=form.instance,
                    old_role=old,
                    new_role=membership.role,
                    by_staff=True,
                )


class InvitationStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(s, s.title()) for s in ("pending", "accepted", "revoked", "expired")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        open_ = queryset.filter(accepted_at__isnull=True, revoked_at__isnull=True)
        return {
            "pending": open_.filter(expires_at__gt=now),
            "accepted": queryset.filter(accepted_at__isnull=False),
            "revoked": queryset.filter(revoked_at__isnull=False),
            "expired": open_.filter(expires_at__lte=now),
        }.get(self.value() or "", queryset)


@admin.register(Invitation)
class InvitationAdmin(ReadOnly, admin.ModelAdmin):
    """Never the token or its hash: staff see who was invited where, and may revoke."""

    list_display = ("email", "organization", "role", "status", "invited_by", "created_at", "expires_at")
    list_filter = (InvitationStatusFilter, "role")
    search_fields = ("email", "organization__name")
    fields = (
        "organization",
        "email",
        "role",
        "status",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "accepted_by",
        "revoked_at",
    )
    readonly_fields = fields
    list_select_related = ("organization", "invited_by")
    actions = ("revoke",)

    @admin.display(description="Status")
    def status(self, invitation: Invitation) -> str:
        if invitation.accepted_at:
            return "accepted"
        if invitation.revoked_at:
            return "revoked"
        return "expired" if invitation.expires_at <= timezone.now() else "pending"

    @admin.action(description="Revoke the selected pending invitations", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> None:
        count = sum(
            invitation_revoke_by_staff(staff=request.user, invitation=invitation)  # type: ignore[arg-type]
            for invitation in queryset.select_related("organization")
        )
        self.message_user(request, f"Revoked {count} invitation(s).")

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("orgs.change_invitation")


@admin.register(AuditEntry)
class AuditEntryAdmin(MirrorAdmin):
    """What members changed: a record, never edited."""

    list_display = ("created_at", "organization", "actor_label", "action", "target_type", "target_label")
    # known values and time ranges: no DISTINCT over every audit row
    list_filter = (values_filter("action", sorted(ACTIONS)), recent_filter("created_at", "created"))
    search_fields = ("organization__name", "actor_label", "target_label", "=target_id")
    list_select_related = ("organization",)
    readonly_fields = (
        "created_at",
        "organization",
        "actor",
        "actor_label",
        "action",
        "target_type",
        "target_id",
        "target_label",
        "details",
    )

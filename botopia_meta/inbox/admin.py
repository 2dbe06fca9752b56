"""Admin pieces shared by the Facebook and Instagram comment / conversation admins."""

from django.contrib import admin


class CommentAdminBase(admin.ModelAdmin):
    """Soft-deleted comments stay visible here. Subclasses set the asset FK (raw_id_fields /
    list_select_related) and their columns."""

    list_filter = ["hidden"]

    def get_queryset(self, request):
        return self.model.all_objects.select_related(*self.list_select_related)


class ConversationMessageInlineBase(admin.TabularInline):
    fields = ["sent_at", "direction", "status", "text", "mid"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-sent_at"]


class ConversationAdminBase(admin.ModelAdmin):
    search_fields = ["contact_id", "contact_name"]

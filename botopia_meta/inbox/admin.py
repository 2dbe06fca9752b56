"""Admin pieces shared by the Facebook and Instagram comment / conversation admins."""

from typing import ClassVar

from botopia_meta.admin import MirrorAdmin, MirrorInline


class CommentAdminBase(MirrorAdmin):
    """Soft-deleted comments stay visible here. Subclasses set the asset FK (raw_id_fields /
    list_select_related) and their columns."""

    list_filter = ["hidden"]
    list_select_related: ClassVar[list[str] | tuple[str, ...]]  # the asset FK, set by each subclass

    def get_queryset(self, request):
        return self.model.all_objects.select_related(*self.list_select_related)


class ConversationMessageInlineBase(MirrorInline):
    fields = readonly_fields = ("sent_at", "direction", "status", "text", "mid")
    show_change_link = False
    ordering = ["-sent_at"]


class ConversationAdminBase(MirrorAdmin):
    search_fields = ["contact_id", "contact_name"]

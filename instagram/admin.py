from django.contrib import admin

from botopia_meta.admin import MirrorAdmin
from botopia_meta.inbox.admin import CommentAdminBase, ConversationAdminBase, ConversationMessageInlineBase
from instagram.models import Comment, Conversation, ConversationMessage, InstagramAccount, MediaPublish


@admin.register(InstagramAccount)
class InstagramAccountAdmin(MirrorAdmin):
    list_display = ["username", "ig_account_id", "page_id", "account", "status", "created_at", "deleted_at"]
    list_filter = ["status"]
    search_fields = ["username", "ig_account_id", "account__organization__name"]
    list_select_related = ["account__organization"]

    def get_queryset(self, request):
        return InstagramAccount.all_objects.all()


# Without a migration: the label the admin shows ("Media publishs" otherwise).
MediaPublish._meta.verbose_name_plural = "media publishes"


@admin.register(MediaPublish)
class MediaPublishAdmin(MirrorAdmin):
    list_display = [
        "id",
        "ig_account",
        "media_type",
        "status",
        "scheduled_publish_time",
        "media_id",
        "created_at",
    ]
    list_filter = ["status", "media_type"]
    search_fields = ["media_id", "container_id", "caption"]
    list_select_related = ["ig_account"]


@admin.register(Comment)
class CommentAdmin(CommentAdminBase):
    list_display = [
        "comment_id",
        "ig_account",
        "author_name",
        "created_time",
        "is_mention",
        "hidden",
        "replied_at",
    ]
    list_filter = ["hidden", "is_mention"]
    search_fields = ["comment_id", "media_id", "author_name", "message"]
    list_select_related = ["ig_account"]


class ConversationMessageInline(ConversationMessageInlineBase):
    model = ConversationMessage


@admin.register(Conversation)
class ConversationAdmin(ConversationAdminBase):
    list_display = ["contact_id", "contact_name", "ig_account", "last_message_at", "unread_count"]
    search_fields = [*ConversationAdminBase.search_fields, "ig_account__username"]
    list_select_related = ["ig_account"]
    inlines = [ConversationMessageInline]

from django.contrib import admin

from botopia_meta.admin import MirrorAdmin
from botopia_meta.fields import mask_secret
from botopia_meta.inbox.admin import CommentAdminBase, ConversationAdminBase, ConversationMessageInlineBase
from facebook.models import Comment, Conversation, ConversationMessage, FacebookPage, Post


@admin.register(FacebookPage)
class FacebookPageAdmin(MirrorAdmin):
    list_display = ["name", "page_id", "account", "status", "token_preview", "created_at", "deleted_at"]
    list_filter = ["status"]
    search_fields = ["name", "page_id", "account__organization__name"]
    exclude = ["access_token"]  # never shown: the preview below is enough to tell tokens apart
    readonly_fields = ["token_preview", "page_id", "account", "tasks", "created_at", "updated_at"]
    list_select_related = ["account__organization"]

    def get_queryset(self, request):
        return FacebookPage.all_objects.all()

    @admin.display(description="page token")
    def token_preview(self, obj: FacebookPage) -> str:
        return mask_secret(obj.access_token) or "—"


@admin.register(Post)
class PostAdmin(MirrorAdmin):
    list_display = ["post_id", "page", "status", "scheduled_publish_time", "created_at"]
    list_filter = ["status"]
    search_fields = ["post_id", "message", "page__name"]
    list_select_related = ["page"]


@admin.register(Comment)
class CommentAdmin(CommentAdminBase):
    list_display = ["comment_id", "page", "author_name", "created_time", "hidden", "replied_at", "deleted_at"]
    search_fields = ["comment_id", "post_id", "author_name", "message"]
    list_select_related = ["page"]


class ConversationMessageInline(ConversationMessageInlineBase):
    model = ConversationMessage


@admin.register(Conversation)
class ConversationAdmin(ConversationAdminBase):
    list_display = ["contact_id", "contact_name", "page", "last_message_at", "unread_count"]
    search_fields = [*ConversationAdminBase.search_fields, "page__name"]
    list_select_related = ["page"]
    inlines = [ConversationMessageInline]

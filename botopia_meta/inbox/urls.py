"""Cross-platform inbox paths, included under api/meta/ (comments and conversations)."""

from django.urls import path

from botopia_meta.inbox import views

urlpatterns = [
    path("comments", views.CommentListView.as_view(), name="inbox-comments"),
    path("comments/<id:comment_id>", views.CommentDetailView.as_view(), name="inbox-comment"),
    path("comments/<id:comment_id>/reply", views.CommentReplyView.as_view(), name="inbox-comment-reply"),
    path("comments/<id:comment_id>/hide", views.CommentHideView.as_view(), name="inbox-comment-hide"),
    path("comments/<id:comment_id>/unhide", views.CommentUnhideView.as_view(), name="inbox-comment-unhide"),
    path("conversations", views.ConversationListView.as_view(), name="inbox-conversations"),
    path(
        "conversations/<id:conversation_id>/messages",
        views.ConversationMessagesView.as_view(),
        name="inbox-conversation-messages",
    ),
    path(
        "conversations/<id:conversation_id>/read",
        views.ConversationReadView.as_view(),
        name="inbox-conversation-read",
    ),
]

from django.urls import path

from facebook import views

urlpatterns = [
    path("pages", views.PageListView.as_view(), name="facebook-pages"),
    path("pages/sync", views.PageSyncView.as_view(), name="facebook-pages-sync"),
    path("pages/<id:page_id>/connect", views.PageConnectView.as_view(), name="facebook-page-connect"),
    path(
        "pages/<id:page_id>/disconnect", views.PageDisconnectView.as_view(), name="facebook-page-disconnect"
    ),
    path("posts", views.PostListCreateView.as_view(), name="facebook-posts"),
    path("posts/scheduled", views.ScheduledPostListView.as_view(), name="facebook-posts-scheduled"),
    path("posts/<uuid:post_pk>/cancel", views.ScheduledPostCancelView.as_view(), name="facebook-post-cancel"),
]

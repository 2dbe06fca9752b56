from django.urls import path

from instagram import views

urlpatterns = [
    path("accounts", views.AccountListView.as_view(), name="instagram-accounts"),
    path(
        "accounts/<id:account_id>/connect",
        views.AccountConnectView.as_view(),
        name="instagram-account-connect",
    ),
    path(
        "accounts/<id:account_id>/disconnect",
        views.AccountDisconnectView.as_view(),
        name="instagram-account-disconnect",
    ),
    path("media", views.MediaView.as_view(), name="instagram-media"),
    path("publishes", views.PublishListView.as_view(), name="instagram-publishes"),
    path("publishes/<uuid:publish_pk>", views.PublishDetailView.as_view(), name="instagram-publish"),
    path(
        "publishes/<uuid:publish_pk>/cancel",
        views.PublishCancelView.as_view(),
        name="instagram-publish-cancel",
    ),
]

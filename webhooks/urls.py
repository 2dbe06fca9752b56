from django.urls import path

from webhooks import views

urlpatterns = [
    path("webhook", views.WebhookConfigView.as_view(), name="webhook-config"),
    path("webhook/configure", views.WebhookConfigureView.as_view(), name="webhook-configure"),
    path("notifications", views.NotificationListView.as_view(), name="notification-list"),
    path(
        "notifications/<id:notification_id>/read",
        views.NotificationReadView.as_view(),
        name="notification-read",
    ),
]

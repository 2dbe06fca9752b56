from django.urls import path

from webhooks import receiver, views

urlpatterns = [
    path("webhook/events", receiver.webhook_events, name="webhook-events"),
    path("webhook", views.WebhookConfigView.as_view(), name="webhook-config"),
    path("webhook/configure", views.WebhookConfigureView.as_view(), name="webhook-configure"),
    path("notifications", views.NotificationListView.as_view(), name="notification-list"),
    path(
        "notifications/<id:notification_id>/read",
        views.NotificationReadView.as_view(),
        name="notification-read",
    ),
]

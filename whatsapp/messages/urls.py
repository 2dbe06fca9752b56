from django.urls import path

from whatsapp.messages.views import (
    BroadcastCancelView,
    BroadcastCreateView,
    BroadcastDetailView,
    ContactView,
    MessageDetailView,
    MessageListView,
    MessageReadView,
)

urlpatterns = [
    path("messages", MessageListView.as_view(), name="whatsapp-messages"),
    path("messages/<id:message_id>", MessageDetailView.as_view(), name="whatsapp-message"),
    path("messages/<id:message_id>/read", MessageReadView.as_view(), name="whatsapp-message-read"),
    path("contacts/<id:wa_id>", ContactView.as_view(), name="whatsapp-contact"),
    path("broadcasts", BroadcastCreateView.as_view(), name="whatsapp-broadcasts"),
    path("broadcasts/<id:broadcast_id>", BroadcastDetailView.as_view(), name="whatsapp-broadcast"),
    path(
        "broadcasts/<id:broadcast_id>/cancel",
        BroadcastCancelView.as_view(),
        name="whatsapp-broadcast-cancel",
    ),
]

from django.urls import path

from accounts import views

urlpatterns = [
    path("auth/connect", views.ConnectView.as_view(), name="meta-auth-connect"),
    path("auth/status", views.StatusView.as_view(), name="meta-auth-status"),
    path("auth/refresh-token", views.RefreshTokenView.as_view(), name="meta-auth-refresh-token"),
    path("auth/disconnect", views.DisconnectView.as_view(), name="meta-auth-disconnect"),
]

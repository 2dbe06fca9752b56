from django.urls import path

from analytics import views

urlpatterns = [
    path("whatsapp/metrics", views.MetricsView.as_view(), name="whatsapp-metrics"),
    path("analytics/overview", views.OverviewView.as_view(), name="analytics-overview"),
    path("analytics/insights", views.InsightsView.as_view(), name="analytics-insights"),
    path("analytics/settings", views.SettingsView.as_view(), name="analytics-settings"),
    path("analytics/reports", views.ReportView.as_view(), name="analytics-reports"),
]

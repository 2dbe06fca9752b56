from django.urls import path

from whatsapp.views_account import AccountRefreshView, AccountView, BusinessProfileView, PhoneNumberListView
from whatsapp.views_templates import TemplateDetailView, TemplateListView, TemplateSyncView

urlpatterns = [
    path("account", AccountView.as_view(), name="whatsapp-account"),
    path("account/refresh", AccountRefreshView.as_view(), name="whatsapp-account-refresh"),
    path("account/profile", BusinessProfileView.as_view(), name="whatsapp-business-profile"),
    path("phone-numbers", PhoneNumberListView.as_view(), name="whatsapp-phone-numbers"),
    path("templates", TemplateListView.as_view(), name="whatsapp-templates"),
    path("templates/sync", TemplateSyncView.as_view(), name="whatsapp-templates-sync"),
    path("templates/<id:template_id>", TemplateDetailView.as_view(), name="whatsapp-template"),
]

from django.urls import path

from whatsapp.message_templates.views import TemplateDetailView, TemplateListView, TemplateSyncView

urlpatterns = [
    path("templates", TemplateListView.as_view(), name="whatsapp-templates"),
    path("templates/sync", TemplateSyncView.as_view(), name="whatsapp-templates-sync"),
    path("templates/<id:template_id>", TemplateDetailView.as_view(), name="whatsapp-template"),
]

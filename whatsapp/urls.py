from whatsapp.urls_templates import urlpatterns as _t

urlpatterns = [*_t]

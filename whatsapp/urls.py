from whatsapp.urls_messages import urlpatterns as _m
from whatsapp.urls_templates import urlpatterns as _t

urlpatterns = [*_t, *_m]

from whatsapp.account.urls import urlpatterns as account_urls
from whatsapp.media.urls import urlpatterns as media_urls
from whatsapp.message_templates.urls import urlpatterns as templates_urls
from whatsapp.messages.urls import urlpatterns as messages_urls

# Each domain sub-package owns its routes under /api/meta/whatsapp/.
urlpatterns = [*account_urls, *templates_urls, *messages_urls, *media_urls]

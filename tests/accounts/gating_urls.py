"""The real URLconf plus a probe endpoint gated the way platform endpoints are: it declares
the Meta permissions it needs, then calls Meta."""

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import active_account
from accounts.tokens import graph_for
from botopia_meta.urls import handler404, handler500  # noqa: F401
from botopia_meta.urls import urlpatterns as real_urlpatterns


class SendProbeView(APIView):
    def post(self, request):
        account = active_account(
            org=request.org,
            account_id=request.data.get("account_id"),
            permissions=["whatsapp_business_messaging", "pages_manage_posts", "instagram_content_publish"],
        )
        graph_for(account).get("me")
        return Response({"account_id": account.pk})


urlpatterns = [path("api/test/gated", SendProbeView.as_view(), name="test-gated"), *real_urlpatterns]

"""The real URLconf plus probes named like the members API's routes, so the organization in the
URL (`org_id`) can be checked before that API lands: they answer which organization and role
the request resolved to."""

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from botopia_meta.urls import handler404, handler500  # noqa: F401
from botopia_meta.urls import urlpatterns as real_urlpatterns


class OrgProbeView(APIView):
    def get(self, request, org_id):
        return Response({"org": str(request.org.pk), "role": request.membership.role})

    post = get


urlpatterns = [
    path("api/test/orgs/<str:org_id>/members", OrgProbeView.as_view(), name="org-members"),
    path("api/test/orgs/<str:org_id>/invitations", OrgProbeView.as_view(), name="org-invitations"),
    *real_urlpatterns,
]

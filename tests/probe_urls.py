"""The real URLconf plus a few probe endpoints that raise each kind of error, so the
envelope can be checked for every code through the real middleware, handler and renderer."""

from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.urls import path
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from botopia_meta.api.throttling import AnonymousRateLimit
from botopia_meta.api.views import paginated_response
from botopia_meta.graph import GraphClient
from botopia_meta.urls import handler404, handler500  # noqa: F401
from botopia_meta.urls import urlpatterns as real_urlpatterns


class ProbeView(APIView):
    """The default permissions but the organization check: probes touch no organization's data,
    so they are outside orgs.permissions.ENDPOINTS (which fails closed on undeclared views)."""

    permission_classes = [AnonymousRateLimit, IsAuthenticated]


class EchoView(ProbeView):
    def get(self, request):
        return Response({"seen_query_keys": sorted(request.query_params)})

    def post(self, request):
        return Response({"seen_keys": sorted(request.data), "components": request.data.get("components")})


class StaffOnlyView(APIView):
    permission_classes = [IsAdminUser]

    def get(self, request):
        return Response({})


class MetaProxyView(ProbeView):
    def get(self, request):
        return Response(GraphClient("EAAGuser-token-abcdef123456").get("me").data)


class BoomView(ProbeView):
    def get(self, request):
        raise RuntimeError("secret internals that must not leak")


class UserSerializer(serializers.Serializer):
    user_name = serializers.CharField(source="username")


class UserListView(ProbeView):
    def get(self, request):
        queryset = get_user_model().objects.order_by("username")
        return paginated_response(request, queryset, key="users", serializer_class=UserSerializer)


def plain_boom(request):
    raise RuntimeError("boom")


def plain_ok(request):
    return HttpResponse("ok")


urlpatterns = [
    path("api/test/echo", EchoView.as_view()),
    path("api/test/staff-only", StaffOnlyView.as_view()),
    path("api/test/meta", MetaProxyView.as_view()),
    path("api/test/boom", BoomView.as_view()),
    path("api/test/users", UserListView.as_view()),
    path("api/test/plain-boom", plain_boom),
    *real_urlpatterns,
]

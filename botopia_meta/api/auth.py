from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from botopia_meta.api.views import validated
from botopia_meta.exceptions import ApiError


class InvalidCredentials(ApiError):
    status_code = 400
    code = "INVALID_CREDENTIALS"
    default_message = "Unable to log in with these credentials."


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False)


class TokenView(APIView):
    """Trade a Botopia username and password for an API token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_scope = "login"

    @extend_schema(
        request=TokenRequestSerializer,
        responses=inline_serializer("TokenResponse", {"token": serializers.CharField()}),
    )
    def post(self, request):
        data = validated(TokenRequestSerializer, request.data)
        user = authenticate(request, username=data["username"], password=data["password"])
        if user is None:  # Same answer for an unknown user and a wrong password.
            if getattr(request, "login_blocked_for", None):  # too many failures (auth_limits)
                raise Throttled(wait=request.login_blocked_for)
            raise InvalidCredentials()
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})

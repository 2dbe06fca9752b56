from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.serializers import (
    AccountIdSerializer,
    ConnectResponseSerializer,
    ConnectSerializer,
    DisconnectResponseSerializer,
    RefreshResponseSerializer,
    StatusQuerySerializer,
    StatusSerializer,
)
from botopia_meta.api.views import AuthedRequest, validated
from orgs.audit import Action, record


class ConnectView(APIView):
    """Connect a Meta account with an OAuth code or a system-user token; assets are then
    discovered in the background."""

    @extend_schema(
        request=ConnectSerializer,
        responses={200: ConnectResponseSerializer, 201: ConnectResponseSerializer},
    )
    def post(self, request: AuthedRequest) -> Response:
        data = validated(ConnectSerializer, request.data)
        account, created = services.account_connect(
            org=request.org,
            user=request.user,
            code=data.get("code"),
            redirect_uri=data.get("redirect_uri") or None,
            access_token=data.get("access_token"),
        )
        record(request, Action.ACCOUNT_CONNECT, account, created=created)
        body = {"account_id": account.pk, "status": "connected", "permissions": account.permissions}
        return Response(ConnectResponseSerializer(body).data, status=201 if created else 200)


class StatusView(APIView):
    @extend_schema(parameters=[StatusQuerySerializer], responses=StatusSerializer)
    def get(self, request: AuthedRequest) -> Response:
        query = validated(StatusQuerySerializer, request.query_params)
        status = selectors.account_status(org=request.org, account_id=query.get("account_id"))
        return Response(StatusSerializer(status).data)


class RefreshTokenView(APIView):
    @extend_schema(request=AccountIdSerializer, responses=RefreshResponseSerializer)
    def post(self, request: AuthedRequest) -> Response:
        data = validated(AccountIdSerializer, request.data)
        account = selectors.account_get(org=request.org, account_id=data["account_id"])
        account = services.account_token_refresh(account=account)
        return Response(RefreshResponseSerializer({"expires_at": account.token_expiry}).data)


class DisconnectView(APIView):
    @extend_schema(request=AccountIdSerializer, responses=DisconnectResponseSerializer)
    def post(self, request: AuthedRequest) -> Response:
        data = validated(AccountIdSerializer, request.data)
        account = selectors.account_get(org=request.org, account_id=data["account_id"])
        account = services.account_disconnect(account=account)
        record(request, Action.ACCOUNT_DISCONNECT, account)
        return Response(
            DisconnectResponseSerializer({"account_id": account.pk, "status": account.status}).data
        )

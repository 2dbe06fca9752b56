from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import require_permissions
from botopia_meta.api.views import AuthedRequest, paginated_response, validated
from botopia_meta.exceptions import NotFound
from instagram import selectors, services
from instagram.models import MediaPublish
from instagram.serializers import (
    InstagramAccountListSerializer,
    InstagramAccountSerializer,
    InstagramAccountStatusSerializer,
    InstagramMediaListSerializer,
    InstagramMediaQuerySerializer,
    InstagramPublishCreateSerializer,
    InstagramPublishListSerializer,
    InstagramPublishSerializer,
)
from orgs.audit import Action, record


class AccountListView(APIView):
    @extend_schema(operation_id="instagram_accounts_list", responses=InstagramAccountListSerializer)
    def get(self, request: AuthedRequest) -> Response:
        accounts = selectors.ig_account_list(org=request.org)
        return Response({"accounts": InstagramAccountSerializer(accounts, many=True).data})


class AccountConnectView(APIView):
    @extend_schema(
        operation_id="instagram_account_connect", request=None, responses=InstagramAccountStatusSerializer
    )
    def post(self, request: AuthedRequest, account_id: str) -> Response:
        ig = selectors.ig_account_get(org=request.org, account_id=account_id)
        require_permissions(ig.account, "instagram_basic", "pages_manage_metadata")
        ig = services.ig_account_connect(ig=ig)
        record(request, Action.INSTAGRAM_ACCOUNT_CONNECT, ig)
        return Response(InstagramAccountStatusSerializer(ig).data)


class AccountDisconnectView(APIView):
    @extend_schema(
        operation_id="instagram_account_disconnect", request=None, responses=InstagramAccountStatusSerializer
    )
    def post(self, request: AuthedRequest, account_id: str) -> Response:
        ig = selectors.ig_account_get(org=request.org, account_id=account_id)
        ig = services.ig_account_disconnect(ig=ig)
        record(request, Action.INSTAGRAM_ACCOUNT_DISCONNECT, ig)
        return Response(InstagramAccountStatusSerializer(ig).data)


class MediaView(APIView):
    @extend_schema(
        operation_id="instagram_media_list",
        parameters=[InstagramMediaQuerySerializer],
        responses=InstagramMediaListSerializer,
    )
    def get(self, request: AuthedRequest) -> Response:
        query = validated(InstagramMediaQuerySerializer, request.query_params)
        if query.get("account_id"):
            ig = selectors.ig_account_get(org=request.org, account_id=query["account_id"])
        else:
            ig = selectors.ig_account_default(org=request.org)
        require_permissions(ig.account, "instagram_basic")
        media, cursors = services.media_list(
            ig=ig, limit=query["limit"], before=query.get("before"), after=query.get("after")
        )
        return Response({"media": media, "pagination": cursors})

    @extend_schema(
        operation_id="instagram_media_publish",
        request=InstagramPublishCreateSerializer,
        responses={202: InstagramPublishSerializer},
    )
    def post(self, request: AuthedRequest) -> Response:
        data = validated(InstagramPublishCreateSerializer, request.data)
        ig = selectors.ig_account_get(org=request.org, account_id=data["account_id"])
        require_permissions(ig.account, "instagram_basic", "instagram_content_publish")
        publish = services.publish_create(
            ig=ig,
            media_type=data["media_type"],
            media_urls=data["urls"],
            caption=data["caption"],
            scheduled_publish_time=data["scheduled_publish_time"],
        )
        return Response(InstagramPublishSerializer(publish).data, status=status.HTTP_202_ACCEPTED)


class PublishListView(APIView):
    @extend_schema(
        operation_id="instagram_publishes_list",
        parameters=[
            OpenApiParameter("status", str, required=False),
            OpenApiParameter("account_id", str, required=False),
        ],
        responses=InstagramPublishListSerializer,
    )
    def get(self, request: AuthedRequest) -> Response:
        publishes = selectors.publish_list(org=request.org)
        if request.query_params.get("status"):
            publishes = publishes.filter(status=request.query_params["status"])
        if request.query_params.get("account_id"):
            ig = selectors.ig_account_get(org=request.org, account_id=request.query_params["account_id"])
            publishes = publishes.filter(ig_account=ig)
        return paginated_response(
            request,
            publishes.order_by("-created_at"),
            key="publishes",
            serializer_class=InstagramPublishSerializer,
        )


def _publish_get(request: AuthedRequest, publish_pk) -> MediaPublish:
    publish = selectors.publish_list(org=request.org).filter(pk=publish_pk).first()
    if publish is None:
        raise NotFound("No such publish.")
    return publish


class PublishDetailView(APIView):
    @extend_schema(operation_id="instagram_publish_get", responses=InstagramPublishSerializer)
    def get(self, request: AuthedRequest, publish_pk) -> Response:
        return Response(InstagramPublishSerializer(_publish_get(request, publish_pk)).data)


class PublishCancelView(APIView):
    @extend_schema(
        operation_id="instagram_publish_cancel", request=None, responses=InstagramPublishSerializer
    )
    def post(self, request: AuthedRequest, publish_pk) -> Response:
        publish = services.publish_cancel(publish=_publish_get(request, publish_pk))
        return Response(InstagramPublishSerializer(publish).data)

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import active_account, require_permissions
from botopia_meta.api.views import AuthedRequest, paginated_response, validated
from botopia_meta.safe_urls import require_meta_fetched_url
from facebook import selectors, services
from facebook.serializers import (
    FacebookPageListSerializer,
    FacebookPageSerializer,
    FacebookPageStatusSerializer,
    FacebookPageSyncSerializer,
    FacebookPostCreatedSerializer,
    FacebookPostCreateSerializer,
    FacebookPostListSerializer,
    FacebookPostQuerySerializer,
    FacebookScheduledPostListSerializer,
    FacebookScheduledPostQuerySerializer,
    FacebookScheduledPostSerializer,
)
from orgs.audit import Action, record


class PageListView(APIView):
    @extend_schema(operation_id="facebook_pages_list", responses=FacebookPageListSerializer)
    def get(self, request: AuthedRequest) -> Response:
        pages = selectors.page_list(org=request.org)
        return Response({"pages": FacebookPageSerializer(pages, many=True).data})


class PageSyncView(APIView):
    @extend_schema(
        operation_id="facebook_pages_sync",
        request=FacebookPageSyncSerializer,
        responses=FacebookPageListSerializer,
    )
    def post(self, request: AuthedRequest) -> Response:
        data = validated(FacebookPageSyncSerializer, request.data)
        account = active_account(
            org=request.org, account_id=data.get("account_id"), permissions=["pages_show_list"]
        )
        services.page_sync(account=account)
        pages = selectors.page_list(org=request.org).filter(account=account)
        return Response({"pages": FacebookPageSerializer(pages, many=True).data})


class PageConnectView(APIView):
    @extend_schema(operation_id="facebook_page_connect", request=None, responses=FacebookPageStatusSerializer)
    def post(self, request: AuthedRequest, page_id: str) -> Response:
        page = selectors.page_get(org=request.org, page_id=page_id)
        require_permissions(page.account, "pages_manage_metadata")
        page = services.page_connect(page=page)
        record(request, Action.PAGE_CONNECT, page)
        return Response(FacebookPageStatusSerializer(page).data)


class PageDisconnectView(APIView):
    @extend_schema(
        operation_id="facebook_page_disconnect", request=None, responses=FacebookPageStatusSerializer
    )
    def post(self, request: AuthedRequest, page_id: str) -> Response:
        page = selectors.page_get(org=request.org, page_id=page_id)
        page = services.page_disconnect(page=page)
        record(request, Action.PAGE_DISCONNECT, page)
        return Response(FacebookPageStatusSerializer(page).data)


class PostListCreateView(APIView):
    @extend_schema(
        operation_id="facebook_posts_list",
        parameters=[FacebookPostQuerySerializer],
        responses=FacebookPostListSerializer,
    )
    def get(self, request: AuthedRequest) -> Response:
        query = validated(FacebookPostQuerySerializer, request.query_params)
        if query.get("page_id"):
            page = selectors.page_get(org=request.org, page_id=query["page_id"])
        else:
            page = selectors.page_default(org=request.org)
        require_permissions(page.account, "pages_read_engagement")
        posts, cursors = services.post_list(
            page=page, limit=query["limit"], before=query.get("before"), after=query.get("after")
        )
        return Response({"posts": posts, "pagination": cursors})

    @extend_schema(
        operation_id="facebook_posts_create",
        request=FacebookPostCreateSerializer,
        responses={201: FacebookPostCreatedSerializer},
    )
    def post(self, request: AuthedRequest) -> Response:
        data = validated(FacebookPostCreateSerializer, request.data)
        for field in ("link", "photo_url"):  # fetched by Meta only
            if data[field]:
                data[field] = require_meta_fetched_url(data[field], field=field)
        page = selectors.page_get(org=request.org, page_id=data["page_id"])
        require_permissions(page.account, "pages_manage_posts")
        post = services.post_create(
            page=page,
            message=data["message"],
            link=data["link"],
            photo_url=data["photo_url"],
            published=data["published"],
            scheduled_publish_time=data["scheduled_publish_time"],
        )
        return Response(FacebookPostCreatedSerializer(post).data, status=status.HTTP_201_CREATED)


class ScheduledPostListView(APIView):
    @extend_schema(
        operation_id="facebook_scheduled_posts_list",
        parameters=[FacebookScheduledPostQuerySerializer],
        responses=FacebookScheduledPostListSerializer,
    )
    def get(self, request: AuthedRequest) -> Response:
        query = validated(FacebookScheduledPostQuerySerializer, request.query_params)
        return paginated_response(
            request,
            selectors.scheduled_post_list(org=request.org, page_id=query.get("page_id")),
            key="posts",
            serializer_class=FacebookScheduledPostSerializer,
        )


class ScheduledPostCancelView(APIView):
    @extend_schema(
        operation_id="facebook_scheduled_post_cancel", request=None, responses=FacebookScheduledPostSerializer
    )
    def post(self, request: AuthedRequest, post_pk: str) -> Response:
        post = selectors.post_get(org=request.org, post_pk=post_pk)
        require_permissions(post.page.account, "pages_manage_posts")
        return Response(FacebookScheduledPostSerializer(services.post_cancel(post=post)).data)

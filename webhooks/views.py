from urllib.parse import urlsplit, urlunsplit

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import active_account
from botopia_meta.api.views import AuthedRequest, paginated_response, validated
from orgs.audit import Action, record
from webhooks import selectors, services
from webhooks.serializers import (
    AccountQuerySerializer,
    NotificationListSerializer,
    NotificationQuerySerializer,
    NotificationSerializer,
    WebhookConfigSerializer,
    WebhookConfigureInputSerializer,
    WebhookConfigureResultSerializer,
)

_ACCOUNT_PARAM = OpenApiParameter(
    "accountId", str, description="A Meta account id (default: the latest active)"
)


def _without_secrets(url: str) -> str:
    """A forward URL as the audit log keeps it: no query, fragment or credentials (a forward
    URL may carry a secret there; the log never holds one)."""
    if not url:
        return ""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class WebhookConfigView(APIView):
    @extend_schema(
        parameters=[_ACCOUNT_PARAM], responses=WebhookConfigSerializer, summary="Webhook configuration"
    )
    def get(self, request: AuthedRequest) -> Response:
        query = validated(AccountQuerySerializer, request.query_params)
        account = active_account(org=request.org, account_id=query.get("account_id"))
        config = selectors.webhook_config_get(account=account)
        return Response(WebhookConfigSerializer(config).data)


class WebhookConfigureView(APIView):
    @extend_schema(
        request=WebhookConfigureInputSerializer,
        responses=WebhookConfigureResultSerializer,
        summary="Store the verify token and fields, and subscribe at Meta",
    )
    def post(self, request: AuthedRequest) -> Response:
        data = validated(WebhookConfigureInputSerializer, request.data)
        account = active_account(org=request.org, account_id=data.get("account_id"))
        config, new_secret = services.webhook_configure(
            account=account,
            verify_token=data["verify_token"],
            fields=data["fields"],
            forward_url=data.get("forward_url"),
        )
        record(
            request,
            Action.WEBHOOK_CONFIGURE,
            config,
            fields=config.fields,
            forward_url=_without_secrets(config.forward_url),
        )
        return Response(
            WebhookConfigureResultSerializer(
                {
                    "id": config.id,
                    "status": config.status,
                    "fields": config.fields,
                    "results": config.results,
                    "forward_url": config.forward_url,
                    "forward_secret": new_secret,
                }
            ).data
        )


class NotificationListView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("unread", bool, description="true: only unread; false: only read"),
            OpenApiParameter("limit", int),
            OpenApiParameter("offset", int),
        ],
        responses=NotificationListSerializer,
        summary="Notifications of the caller's accounts, newest first",
    )
    def get(self, request: AuthedRequest) -> Response:
        query = validated(NotificationQuerySerializer, request.query_params)
        notifications = selectors.notification_list(
            org=request.org, user=request.user, unread=query.get("unread")
        )
        return paginated_response(
            request, notifications, key="notifications", serializer_class=NotificationSerializer
        )


class NotificationReadView(APIView):
    @extend_schema(request=None, responses=NotificationSerializer, summary="Mark a notification read")
    def post(self, request: AuthedRequest, notification_id: str) -> Response:
        notification = selectors.notification_get(
            org=request.org, user=request.user, notification_id=notification_id
        )
        notification = services.notification_mark_read(notification=notification, user=request.user)
        return Response(NotificationSerializer(notification).data)

"""Messages: send (queued, 202), list, get, mark an inbound one read; a contact's window."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import active_account
from botopia_meta.api.parsers import LargeJSONParser
from botopia_meta.api.views import AuthedRequest, paginated_response, validated
from botopia_meta.exceptions import NotFound
from botopia_meta.text import clean_text
from orgs.audit import Action, record
from whatsapp.account.selectors import require_own_ids, sending_number
from whatsapp.messages import selectors, services
from whatsapp.messages.payloads import reply_wamid
from whatsapp.messages.serializers import (
    BroadcastCreateSerializer,
    BroadcastSerializer,
    ContactSerializer,
    MessageListSerializer,
    MessageQuerySerializer,
    MessageReadSerializer,
    MessageSendSerializer,
    MessageSerializer,
)

MESSAGING = "whatsapp_business_messaging"
IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key", location=OpenApiParameter.HEADER, required=False, description="Retry-safe key"
)


class MessageListView(APIView):
    @extend_schema(
        operation_id="whatsapp_messages_list",
        parameters=[MessageQuerySerializer],
        responses={200: MessageListSerializer},
    )
    def get(self, request: AuthedRequest) -> Response:
        query = validated(MessageQuerySerializer, request.query_params)
        require_own_ids(org=request.org, phone_number_id=query.get("phone_number_id"))
        if query.get("broadcast_id"):
            selectors.broadcast_get(org=request.org, broadcast_id=query["broadcast_id"])
        messages = selectors.message_list(
            org=request.org,
            direction=query.get("direction"),
            status=query.get("status"),
            contact=query.get("contact"),
            phone_number_id=query.get("phone_number_id"),
            broadcast_id=query.get("broadcast_id"),
            start=query.get("start_date"),
            end=query.get("end_date"),
        )
        return paginated_response(request, messages, key="messages", serializer_class=MessageSerializer)

    @extend_schema(
        operation_id="whatsapp_messages_send",
        request=MessageSendSerializer,
        parameters=[IDEMPOTENCY],
        responses={202: MessageSerializer},
        summary="Validate and queue a message; a worker sends it within the number's rate.",
    )
    def post(self, request: AuthedRequest) -> Response:
        body = validated(MessageSendSerializer, request.data)
        number = sending_number(org=request.org, phone_number_id=body.get("phone_number_id"))
        key = clean_text(request.headers.get("Idempotency-Key") or "").strip()[:255] or None
        message, _ = services.message_create(
            user_id=request.user.id,
            number=number,
            to=body["to"],
            type=body["type"],
            body=body,
            idempotency_key=key,
            context_wamid=reply_wamid(body),
        )
        return Response(MessageSerializer(message).data, status=202)


class MessageDetailView(APIView):
    @extend_schema(operation_id="whatsapp_messages_get", responses={200: MessageSerializer})
    def get(self, request: AuthedRequest, message_id: str) -> Response:
        return Response(MessageSerializer(selectors.message_get(org=request.org, message_id=message_id)).data)


class MessageReadView(APIView):
    @extend_schema(
        operation_id="whatsapp_messages_mark_read",
        request=MessageReadSerializer,
        responses={200: MessageSerializer},
        summary="Mark a received message as read at Meta (blue ticks), optionally with a typing indicator.",
    )
    def post(self, request: AuthedRequest, message_id: str) -> Response:
        body = validated(MessageReadSerializer, request.data or {})
        message = selectors.message_get(org=request.org, message_id=message_id)
        if message.phone_number is None:  # never: message_get reaches messages through their number
            raise NotFound("No such message.")
        active_account(
            org=request.org, account_id=message.phone_number.waba.account_id, permissions=[MESSAGING]
        )
        indicator = body.get("typing_indicator")
        marked = services.message_mark_read(
            message=message, typing_indicator=dict(indicator) if indicator else None
        )
        return Response(MessageSerializer(marked).data)


class ContactView(APIView):
    @extend_schema(
        operation_id="whatsapp_contacts_get",
        parameters=[OpenApiParameter("phoneNumberId", str, required=False)],
        responses={200: ContactSerializer},
        summary="A contact and its 24-hour customer-service window.",
    )
    def get(self, request: AuthedRequest, wa_id: str) -> Response:
        contact = selectors.contact_get(
            org=request.org, wa_id=wa_id, phone_number_id=request.query_params.get("phone_number_id")
        )
        return Response(ContactSerializer(contact).data)


class BroadcastCreateView(APIView):
    parser_classes = [LargeJSONParser]

    @extend_schema(
        operation_id="whatsapp_broadcasts_create",
        request=BroadcastCreateSerializer,
        responses={202: BroadcastSerializer},
        summary="One approved template to many recipients; invalid recipients are listed, not sent.",
    )
    def post(self, request: AuthedRequest) -> Response:
        body = validated(BroadcastCreateSerializer, request.data)
        number = sending_number(org=request.org, phone_number_id=body.get("phone_number_id"))
        broadcast = services.broadcast_create(
            user_id=request.user.id, number=number, template=body["template"], recipients=body["recipients"]
        )
        record(
            request,
            Action.BROADCAST_CREATE,
            broadcast,
            template=broadcast.template_name,
            total=broadcast.total,
        )
        return Response(BroadcastSerializer(broadcast).data, status=202)


class BroadcastDetailView(APIView):
    @extend_schema(operation_id="whatsapp_broadcasts_get", responses={200: BroadcastSerializer})
    def get(self, request: AuthedRequest, broadcast_id: str) -> Response:
        return Response(
            BroadcastSerializer(selectors.broadcast_get(org=request.org, broadcast_id=broadcast_id)).data
        )


class BroadcastCancelView(APIView):
    @extend_schema(
        operation_id="whatsapp_broadcasts_cancel",
        request=None,
        responses={200: BroadcastSerializer},
        summary="Stop the messages not sent yet.",
    )
    def post(self, request: AuthedRequest, broadcast_id: str) -> Response:
        broadcast = selectors.broadcast_get(org=request.org, broadcast_id=broadcast_id)
        broadcast = services.broadcast_cancel(broadcast=broadcast)
        record(request, Action.BROADCAST_CANCEL, broadcast, template=broadcast.template_name)
        return Response(BroadcastSerializer(broadcast).data)

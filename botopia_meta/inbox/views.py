"""The cross-platform inbox: /api/meta/comments and /api/meta/conversations.

They merge every platform registered in botopia_meta.registry.INBOX_SOURCES (facebook,
instagram, later whatsapp) without importing the other platform apps. Merged pagination asks
each source for its newest `offset + limit` rows, so its cost grows with the offset, not with
the size of the inbox."""

from datetime import UTC, datetime, time, timedelta

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from botopia_meta.api.ids import uuid_or_404
from botopia_meta.api.pagination import MAX_OFFSET
from botopia_meta.api.serializers import QueryDateField
from botopia_meta.api.views import validated
from botopia_meta.exceptions import NotFound
from botopia_meta.inbox.selectors import require_own_assets
from botopia_meta.registry import INBOX_SOURCES
from botopia_meta.safe_urls import require_public_https_url


def _platform_field():
    return serializers.ChoiceField(choices=["facebook", "instagram", "whatsapp"], required=False)


class InboxPaginationSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()
    next_offset = serializers.IntegerField(allow_null=True)


class InboxCommentQuerySerializer(serializers.Serializer):
    platform = _platform_field()
    page_id = serializers.RegexField(r"^\d{1,32}$", required=False)
    ig_account_id = serializers.RegexField(r"^\d{1,32}$", required=False)
    post_id = serializers.RegexField(r"^[\d_]{1,80}$", required=False)
    unreplied = serializers.BooleanField(required=False, default=False)
    start_date = QueryDateField(required=False)
    end_date = QueryDateField(required=False)
    limit = serializers.IntegerField(min_value=1, max_value=100, default=25)
    offset = serializers.IntegerField(min_value=0, default=0, max_value=MAX_OFFSET)

    def validate(self, attrs: dict) -> dict:
        if attrs.get("start_date") and attrs.get("end_date") and attrs["start_date"] > attrs["end_date"]:
            raise serializers.ValidationError({"end_date": ["Must not be before startDate."]})
        return attrs


class InboxCommentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    platform = serializers.CharField()
    page_id = serializers.CharField(allow_null=True)
    ig_account_id = serializers.CharField(allow_null=True)
    post_id = serializers.CharField()
    comment_id = serializers.CharField()
    parent_id = serializers.CharField()
    author_id = serializers.CharField()
    author_name = serializers.CharField()
    text = serializers.CharField()
    created_time = serializers.DateTimeField()
    hidden = serializers.BooleanField()
    reply_text = serializers.CharField(allow_null=True)
    replied_at = serializers.DateTimeField(allow_null=True)


class InboxCommentListSerializer(serializers.Serializer):
    comments = InboxCommentSerializer(many=True)
    pagination = InboxPaginationSerializer()


class InboxCommentReplySerializer(serializers.Serializer):
    message = serializers.CharField(max_length=8000, trim_whitespace=True)


class InboxConversationQuerySerializer(serializers.Serializer):
    platform = _platform_field()
    page_id = serializers.RegexField(r"^\d{1,32}$", required=False)
    ig_account_id = serializers.RegexField(r"^\d{1,32}$", required=False)
    unread = serializers.BooleanField(required=False, allow_null=True, default=None)
    contact = serializers.CharField(required=False, max_length=255)
    limit = serializers.IntegerField(min_value=1, max_value=100, default=25)
    offset = serializers.IntegerField(min_value=0, default=0, max_value=MAX_OFFSET)


class InboxConversationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    platform = serializers.CharField()
    page_id = serializers.CharField(allow_null=True)
    ig_account_id = serializers.CharField(allow_null=True)
    contact_id = serializers.CharField()
    contact_name = serializers.CharField(allow_null=True)
    last_message_at = serializers.DateTimeField(allow_null=True)
    last_message_text = serializers.CharField(allow_null=True)
    unread_count = serializers.IntegerField()
    can_reply = serializers.BooleanField()
    window_expires_at = serializers.DateTimeField(allow_null=True)


class InboxConversationListSerializer(serializers.Serializer):
    conversations = InboxConversationSerializer(many=True)
    pagination = InboxPaginationSerializer()


class InboxMessageSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    conversation_id = serializers.UUIDField()
    mid = serializers.CharField(allow_null=True)
    direction = serializers.ChoiceField(choices=["inbound", "outbound"])
    text = serializers.CharField()
    image_url = serializers.CharField(allow_null=True)
    attachments = serializers.ListField(child=serializers.DictField())
    status = serializers.CharField()
    sent_at = serializers.DateTimeField()
    error = serializers.DictField(allow_null=True)


class InboxPageQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=100, default=25)
    offset = serializers.IntegerField(min_value=0, default=0, max_value=MAX_OFFSET)


class InboxMessageListSerializer(serializers.Serializer):
    messages = InboxMessageSerializer(many=True)
    pagination = InboxPaginationSerializer()


class InboxMessageSendSerializer(serializers.Serializer):
    text = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    image_url = serializers.CharField(required=False, allow_blank=True, max_length=2048, default="")

    def validate(self, attrs: dict) -> dict:
        if bool(attrs["text"].strip()) == bool(attrs["image_url"]):
            raise serializers.ValidationError({"text": ["Give either text or imageUrl."]})
        return attrs


def _sources(platform: str | None) -> list:
    return [source for name, source in INBOX_SOURCES.items() if platform in (None, name)]


def _pagination(total: int, limit: int, offset: int) -> dict:
    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if offset + limit < total else None,
    }


def _merged(method: str, sort_key: str, user, filters: dict, limit: int, offset: int) -> tuple[list, dict]:
    total, rows = 0, []
    for source in _sources(filters.get("platform")):
        count, items = getattr(source, method)(user=user, filters=filters, upto=offset + limit)
        total += count
        rows.extend(items)
    epoch = datetime.min.replace(tzinfo=UTC)
    rows.sort(key=lambda row: (row[sort_key] or epoch, str(row["id"])), reverse=True)
    return rows[offset : offset + limit], _pagination(total, limit, offset)


def _first_answer(method: str, **kwargs):
    for source in INBOX_SOURCES.values():
        answer = getattr(source, method)(**kwargs)
        if answer is not None:
            return answer
    raise NotFound("Not found.")


def _day_start(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


class CommentListView(APIView):
    @extend_schema(
        operation_id="inbox_comments_list",
        parameters=[InboxCommentQuerySerializer],
        responses=InboxCommentListSerializer,
    )
    def get(self, request: Request) -> Response:
        query = validated(InboxCommentQuerySerializer, request.query_params)
        filters = {
            key: query.get(key) for key in ("platform", "page_id", "ig_account_id", "post_id", "unreplied")
        }
        require_own_assets(
            user=request.user, page_id=filters["page_id"], ig_account_id=filters["ig_account_id"]
        )
        if query.get("start_date"):
            filters["start"] = _day_start(query["start_date"])
        if query.get("end_date"):
            filters["end"] = _day_start(query["end_date"] + timedelta(days=1))
        if filters["page_id"] and filters["ig_account_id"]:
            return Response({"comments": [], "pagination": _pagination(0, query["limit"], query["offset"])})
        rows, pagination = _merged(
            "comment_list", "created_time", request.user, filters, query["limit"], query["offset"]
        )
        return Response({"comments": rows, "pagination": pagination})


class CommentReplyView(APIView):
    @extend_schema(
        operation_id="inbox_comment_reply",
        request=InboxCommentReplySerializer,
        responses=InboxCommentSerializer,
    )
    def post(self, request: Request, comment_id: str) -> Response:
        data = validated(InboxCommentReplySerializer, request.data)
        row = _first_answer(
            "comment_act",
            user=request.user,
            comment_id=uuid_or_404(comment_id),
            action="reply",
            message=data["message"],
        )
        return Response(row)


class CommentHideView(APIView):
    action_name = "hide"

    @extend_schema(operation_id="inbox_comment_hide", request=None, responses=InboxCommentSerializer)
    def post(self, request: Request, comment_id: str) -> Response:
        row = _first_answer(
            "comment_act", user=request.user, comment_id=uuid_or_404(comment_id), action=self.action_name
        )
        return Response(row)


class CommentUnhideView(CommentHideView):
    action_name = "unhide"

    @extend_schema(operation_id="inbox_comment_unhide", request=None, responses=InboxCommentSerializer)
    def post(self, request: Request, comment_id: str) -> Response:
        return super().post(request, comment_id)


class CommentDetailView(APIView):
    @extend_schema(operation_id="inbox_comment_delete", request=None, responses={200: InboxCommentSerializer})
    def delete(self, request: Request, comment_id: str) -> Response:
        row = _first_answer(
            "comment_act", user=request.user, comment_id=uuid_or_404(comment_id), action="delete"
        )
        return Response(row)


class ConversationListView(APIView):
    @extend_schema(
        operation_id="inbox_conversations_list",
        parameters=[InboxConversationQuerySerializer],
        responses=InboxConversationListSerializer,
    )
    def get(self, request: Request) -> Response:
        query = validated(InboxConversationQuerySerializer, request.query_params)
        filters = {
            key: query.get(key) for key in ("platform", "page_id", "ig_account_id", "unread", "contact")
        }
        require_own_assets(
            user=request.user, page_id=filters["page_id"], ig_account_id=filters["ig_account_id"]
        )
        if filters["page_id"] and filters["ig_account_id"]:
            return Response(
                {"conversations": [], "pagination": _pagination(0, query["limit"], query["offset"])}
            )
        rows, pagination = _merged(
            "conversation_list", "last_message_at", request.user, filters, query["limit"], query["offset"]
        )
        return Response({"conversations": rows, "pagination": pagination})


class ConversationMessagesView(APIView):
    @extend_schema(
        operation_id="inbox_conversation_messages_list",
        parameters=[InboxPageQuerySerializer],
        responses=InboxMessageListSerializer,
    )
    def get(self, request: Request, conversation_id: str) -> Response:
        query = validated(InboxPageQuerySerializer, request.query_params)
        limit, offset = query["limit"], query["offset"]
        total, rows = _first_answer(
            "conversation_messages",
            user=request.user,
            conversation_id=uuid_or_404(conversation_id),
            limit=limit,
            offset=offset,
        )
        return Response({"messages": rows, "pagination": _pagination(total, limit, offset)})

    @extend_schema(
        operation_id="inbox_conversation_message_send",
        request=InboxMessageSendSerializer,
        responses={202: InboxMessageSerializer},
    )
    def post(self, request: Request, conversation_id: str) -> Response:
        data = validated(InboxMessageSendSerializer, request.data)
        if data["image_url"]:
            require_public_https_url(data["image_url"], field="image_url")
        row = _first_answer(
            "conversation_send",
            user=request.user,
            conversation_id=uuid_or_404(conversation_id),
            text=data["text"].strip(),
            image_url=data["image_url"],
        )
        return Response(row, status=status.HTTP_202_ACCEPTED)


class ConversationReadView(APIView):
    @extend_schema(
        operation_id="inbox_conversation_read", request=None, responses=InboxConversationSerializer
    )
    def post(self, request: Request, conversation_id: str) -> Response:
        row = _first_answer(
            "conversation_read", user=request.user, conversation_id=uuid_or_404(conversation_id)
        )
        return Response(row)

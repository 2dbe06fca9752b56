"""The cross-platform inbox: /api/meta/comments and /api/meta/conversations.

They merge every platform registered in botopia_meta.registry.INBOX_SOURCES (facebook,
instagram, later whatsapp) without importing the other platform apps. Merged pagination asks
each source for its newest `offset + limit` rows, so its cost grows with the offset, not with
the size of the inbox."""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from botopia_meta.api.ids import uuid_or_404
from botopia_meta.api.pagination import page_info
from botopia_meta.api.serializers import PageQuerySerializer
from botopia_meta.api.views import AuthedRequest, validated
from botopia_meta.exceptions import NotFound
from botopia_meta.inbox.selectors import require_own_assets
from botopia_meta.inbox.serializers import (
    InboxCommentListSerializer,
    InboxCommentQuerySerializer,
    InboxCommentReplySerializer,
    InboxCommentSerializer,
    InboxConversationListSerializer,
    InboxConversationQuerySerializer,
    InboxConversationSerializer,
    InboxMessageListSerializer,
    InboxMessageSendSerializer,
    InboxMessageSerializer,
)
from botopia_meta.registry import INBOX_SOURCES
from botopia_meta.safe_urls import require_meta_fetched_url


def _sources(platform: str | None) -> list[Any]:
    return [source for name, source in INBOX_SOURCES.items() if platform in (None, name)]


def _merged_list(
    request: AuthedRequest,
    query: dict[str, Any],
    filters: dict[str, Any],
    *,
    key: str,
    method: str,
    sort_key: str,
) -> Response:
    """One page of every registered source's rows, newest first. A page and an Instagram
    account named together match nothing (a row belongs to one platform)."""
    require_own_assets(org=request.org, page_id=filters["page_id"], ig_account_id=filters["ig_account_id"])
    limit, offset = query["limit"], query["offset"]
    total, rows = 0, []
    if not (filters["page_id"] and filters["ig_account_id"]):
        for source in _sources(filters.get("platform")):
            count, items = getattr(source, method)(org=request.org, filters=filters, upto=offset + limit)
            total += count
            rows.extend(items)
    epoch = datetime.min.replace(tzinfo=UTC)
    rows.sort(key=lambda row: (row[sort_key] or epoch, str(row["id"])), reverse=True)
    return Response({key: rows[offset : offset + limit], "pagination": page_info(total, limit, offset)})


def _first_answer(method: str, **kwargs: Any) -> Any:
    for source in INBOX_SOURCES.values():
        answer = getattr(source, method)(**kwargs)
        if answer is not None:
            return answer
    raise NotFound("Not found.")


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


class CommentListView(APIView):
    @extend_schema(
        operation_id="inbox_comments_list",
        parameters=[InboxCommentQuerySerializer],
        responses=InboxCommentListSerializer,
    )
    def get(self, request: AuthedRequest) -> Response:
        query = validated(InboxCommentQuerySerializer, request.query_params)
        filters = {
            key: query.get(key) for key in ("platform", "page_id", "ig_account_id", "post_id", "unreplied")
        }
        if query.get("start_date"):
            filters["start"] = _day_start(query["start_date"])
        if query.get("end_date"):
            filters["end"] = _day_start(query["end_date"] + timedelta(days=1))
        return _merged_list(
            request, query, filters, key="comments", method="comment_list", sort_key="created_time"
        )


class CommentReplyView(APIView):
    @extend_schema(
        operation_id="inbox_comment_reply",
        request=InboxCommentReplySerializer,
        responses=InboxCommentSerializer,
    )
    def post(self, request: AuthedRequest, comment_id: str) -> Response:
        data = validated(InboxCommentReplySerializer, request.data)
        row = _first_answer(
            "comment_act",
            org=request.org,
            comment_id=uuid_or_404(comment_id),
            action="reply",
            message=data["message"],
        )
        return Response(row)


class CommentHideView(APIView):
    action_name = "hide"

    @extend_schema(operation_id="inbox_comment_hide", request=None, responses=InboxCommentSerializer)
    def post(self, request: AuthedRequest, comment_id: str) -> Response:
        row = _first_answer(
            "comment_act", org=request.org, comment_id=uuid_or_404(comment_id), action=self.action_name
        )
        return Response(row)


class CommentUnhideView(CommentHideView):
    action_name = "unhide"

    @extend_schema(operation_id="inbox_comment_unhide", request=None, responses=InboxCommentSerializer)
    def post(self, request: AuthedRequest, comment_id: str) -> Response:
        return super().post(request, comment_id)


class CommentDetailView(APIView):
    @extend_schema(operation_id="inbox_comment_delete", request=None, responses={200: InboxCommentSerializer})
    def delete(self, request: AuthedRequest, comment_id: str) -> Response:
        row = _first_answer(
            "comment_act", org=request.org, comment_id=uuid_or_404(comment_id), action="delete"
        )
        return Response(row)


class ConversationListView(APIView):
    @extend_schema(
        operation_id="inbox_conversations_list",
        parameters=[InboxConversationQuerySerializer],
        responses=InboxConversationListSerializer,
    )
    def get(self, request: AuthedRequest) -> Response:
        query = validated(InboxConversationQuerySerializer, request.query_params)
        filters = {
            key: query.get(key) for key in ("platform", "page_id", "ig_account_id", "unread", "contact")
        }
        return _merged_list(
            request,
            query,
            filters,
            key="conversations",
            method="conversation_list",
            sort_key="last_message_at",
        )


class ConversationMessagesView(APIView):
    @extend_schema(
        operation_id="inbox_conversation_messages_list",
        parameters=[PageQuerySerializer],
        responses=InboxMessageListSerializer,
    )
    def get(self, request: AuthedRequest, conversation_id: str) -> Response:
        query = validated(PageQuerySerializer, request.query_params)
        limit, offset = query["limit"], query["offset"]
        total, rows = _first_answer(
            "conversation_messages",
            org=request.org,
            conversation_id=uuid_or_404(conversation_id),
            limit=limit,
            offset=offset,
        )
        return Response({"messages": rows, "pagination": page_info(total, limit, offset)})

    @extend_schema(
        operation_id="inbox_conversation_message_send",
        request=InboxMessageSendSerializer,
        responses={202: InboxMessageSerializer},
    )
    def post(self, request: AuthedRequest, conversation_id: str) -> Response:
        data = validated(InboxMessageSendSerializer, request.data)
        if data["image_url"]:
            data["image_url"] = require_meta_fetched_url(data["image_url"], field="image_url")
        row = _first_answer(
            "conversation_send",
            org=request.org,
            conversation_id=uuid_or_404(conversation_id),
            text=data["text"].strip(),
            image_url=data["image_url"],
        )
        return Response(row, status=status.HTTP_202_ACCEPTED)


class ConversationReadView(APIView):
    @extend_schema(
        operation_id="inbox_conversation_read", request=None, responses=InboxConversationSerializer
    )
    def post(self, request: AuthedRequest, conversation_id: str) -> Response:
        row = _first_answer(
            "conversation_read", org=request.org, conversation_id=uuid_or_404(conversation_id)
        )
        return Response(row)

"""The cross-platform inbox: /api/meta/comments and /api/meta/conversations.

They merge every platform registered in botopia_meta.registry.INBOX_SOURCES (facebook,
instagram, whatsapp) without importing the other platform apps. Merged pagination asks
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
from botopia_meta.api.pagination import (
    PageQuerySerializer,
    Total,
    cursor_for,
    page_info,
    read_cursor,
    sort_key,
)
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
from botopia_meta.inbox.source import COMMENT_ORDER, CONVERSATION_ORDER, MESSAGE_ORDER
from botopia_meta.registry import INBOX_SOURCES
from botopia_meta.safe_urls import require_meta_fetched_url

ASSET_FILTERS = ("page_id", "ig_account_id", "phone_number_id")


def _sources(platform: str | None) -> list[Any]:
    return [source for name, source in INBOX_SOURCES.items() if platform in (None, name)]


def _merged_list(
    request: AuthedRequest,
    query: dict[str, Any],
    filters: dict[str, Any],
    *,
    key: str,
    method: str,
    ordering: tuple[str, ...],
) -> Response:
    """One page of every registered source's rows, newest first by `ordering`: by cursor
    (each source reads `limit + 1` rows after it) or by offset. Two assets named together (a
    page and an Instagram account, say) match nothing (a row belongs to one platform)."""
    require_own_assets(
        org=request.org,
        page_id=filters["page_id"],
        ig_account_id=filters["ig_account_id"],
        phone_number_id=filters.get("phone_number_id"),
    )
    limit, offset = query["limit"], query["offset"]
    before = read_cursor(query["cursor"], request.path, ordering) if query.get("cursor") else None
    upto = limit + 1 if before else offset + limit + 1
    total, rows = Total(0), []
    if sum(bool(filters.get(key)) for key in ASSET_FILTERS) <= 1:
        for source in _sources(filters.get("platform")):
            paging = {"before": before} if before else {}
            count, items = getattr(source, method)(org=request.org, filters=filters, upto=upto, **paging)
            total += count
            rows.extend(items)
    epoch = datetime.min.replace(tzinfo=UTC)
    first = ordering[0].lstrip("-")
    rows.sort(key=lambda row: (row[first] or epoch, str(row["id"])), reverse=True)
    page = rows[:limit] if before else rows[offset : offset + limit]
    more = len(rows) > (limit if before else offset + limit)
    pagination = _page_info(request, total, query, ordering, page, more, paged_by_cursor=bool(before))
    return Response({key: page, "pagination": pagination})


def _page_info(
    request: AuthedRequest,
    total: Total,
    query: dict[str, Any],
    ordering: tuple[str, ...],
    page: list[dict],
    more: bool,
    *,
    paged_by_cursor: bool,
) -> dict[str, Any]:
    """The `pagination` of a page of row dicts, its nextCursor from the last row's sort key."""
    last = sort_key(page[-1], ordering) if page and more else None
    next_cursor = cursor_for(request.path, ordering, last) if last else None
    offset = None if paged_by_cursor else query["offset"]
    return page_info(total, query["limit"], offset, more=more, next_cursor=next_cursor)


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
            request,
            query,
            filters,
            key="comments",
            method="comment_list",
            ordering=COMMENT_ORDER,
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
            key: query.get(key)
            for key in ("platform", "page_id", "ig_account_id", "phone_number_id", "unread", "contact")
        }
        return _merged_list(
            request,
            query,
            filters,
            key="conversations",
            method="conversation_list",
            ordering=CONVERSATION_ORDER,
        )


class ConversationMessagesView(APIView):
    @extend_schema(
        operation_id="inbox_conversation_messages_list",
        parameters=[PageQuerySerializer],
        responses=InboxMessageListSerializer,
    )
    def get(self, request: AuthedRequest, conversation_id: str) -> Response:
        query = validated(PageQuerySerializer, request.query_params)
        before = read_cursor(query["cursor"], request.path, MESSAGE_ORDER) if query.get("cursor") else None
        total, rows = _first_answer(
            "conversation_messages",
            org=request.org,
            conversation_id=uuid_or_404(conversation_id),
            limit=query["limit"] + 1,
            offset=query["offset"],
            **({"before": before} if before else {}),
        )
        page, more = rows[: query["limit"]], len(rows) > query["limit"]
        pagination = _page_info(
            request, total, query, MESSAGE_ORDER, page, more, paged_by_cursor=bool(before)
        )
        return Response({"messages": page, "pagination": pagination})

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
            sender_id=request.user.pk,
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

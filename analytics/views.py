"""Thin views: parse the query, pick the caller's account, call one selector, answer."""

from datetime import date

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import MetaAccount
from analytics import reports, selectors, services
from analytics.recording import account_timezone
from analytics.serializers import (
    InsightListSerializer,
    InsightSerializer,
    InsightsQuery,
    MetricsQuery,
    MetricsSerializer,
    OverviewSerializer,
    RangeQuery,
    RecentNotificationSerializer,
    ReportQuery,
    ReportSerializer,
    SettingsInput,
    SettingsQuery,
    SettingsSerializer,
    resolve_range,
)
from botopia_meta.api.renderers import EnvelopeJSONRenderer
from botopia_meta.api.views import AuthedRequest, paginated_response, validated
from orgs.audit import Action, record

DEFAULT_METRICS = ["sent", "delivered", "read", "failed", "received", "replied"]


def _account_and_range(
    request: AuthedRequest, query: dict, granularity: str = "day"
) -> tuple[MetaAccount, date, date]:
    account = selectors.analytics_account(org=request.org, account_id=query.get("account_id"))
    start, end = resolve_range(
        account_timezone(account.pk), query.get("start_date"), query.get("end_date"), granularity=granularity
    )
    return account, start, end


class MetricsView(APIView):
    @extend_schema(
        operation_id="whatsapp_metrics",
        parameters=[MetricsQuery],
        responses={200: MetricsSerializer},
        description="WhatsApp counts per day or hour (zero-filled, account time zone) with totals and rates.",
    )
    def get(self, request: AuthedRequest) -> Response:
        query = validated(MetricsQuery, request.query_params)
        granularity = query["granularity"]
        account, start, end = _account_and_range(request, query, granularity)
        selectors.require_account_assets(
            account=account,
            phone_number_id=query.get("phone_number_id"),
            broadcast_id=query.get("broadcast_id"),
        )
        return Response(
            selectors.metric_series(
                account=account,
                start=start,
                end=end,
                granularity=granularity,
                metrics=query.get("metrics") or DEFAULT_METRICS,
                asset_id=query.get("phone_number_id"),
                template=query.get("template_name"),
                broadcast=query.get("broadcast_id"),
            )
        )


class OverviewView(APIView):
    @extend_schema(
        operation_id="analytics_overview",
        parameters=[RangeQuery],
        responses={200: OverviewSerializer},
        description="The Overview screen: per-platform numbers vs the previous period, health, activity.",
    )
    def get(self, request: AuthedRequest) -> Response:
        query = validated(RangeQuery, request.query_params)
        account, start, end = _account_and_range(request, query)
        data = selectors.overview(account=account, start=start, end=end, reader=request.user)
        data["notifications"] = RecentNotificationSerializer(data["notifications"], many=True).data
        return Response(data)


class InsightsView(APIView):
    @extend_schema(
        operation_id="analytics_insights",
        parameters=[InsightsQuery],
        responses={200: InsightListSerializer},
        description="Meta's own analytics as pulled by the periodic actors (paginated with limit/offset).",
    )
    def get(self, request: AuthedRequest) -> Response:
        query = validated(InsightsQuery, request.query_params)
        account, start, end = _account_and_range(request, query)
        selectors.require_account_assets(account=account, asset_id=query.get("asset_id"))
        queryset = selectors.insight_list(
            account=account,
            start=start,
            end=end,
            platform=query.get("platform"),
            asset_id=query.get("asset_id"),
            metric=query.get("metric"),
            period=query.get("period"),
        )
        return paginated_response(request, queryset, key="insights", serializer_class=InsightSerializer)


class ReportView(APIView):
    # `format` is this endpoint's own parameter (csv|json), not DRF's renderer override:
    # errors are always the JSON envelope and CSV is streamed outside the renderer.
    def perform_content_negotiation(self, request: Request, force: bool = False):
        renderer = EnvelopeJSONRenderer()
        return renderer, renderer.media_type

    @extend_schema(
        operation_id="analytics_report",
        parameters=[ReportQuery],
        responses={
            200: ReportSerializer,
            (200, "text/csv"): OpenApiResponse(
                response=OpenApiTypes.STR, description="The same report as CSV, streamed."
            ),
        },
        description="Per day and platform, and per template, as JSON or streamed CSV.",
    )
    def get(self, request: AuthedRequest):
        query = validated(ReportQuery, request.query_params)
        account, start, end = _account_and_range(request, query)
        if query["format"] == "csv":
            response = StreamingHttpResponse(
                reports.report_csv(account=account, start=start, end=end),
                content_type="text/csv; charset=utf-8",
            )
            response["Content-Disposition"] = f'attachment; filename="botopia-report-{start}-{end}.csv"'
            return response
        return Response(reports.report_data(account=account, start=start, end=end))


class SettingsView(APIView):
    """The account's analytics time zone: where daily buckets start (default UTC)."""

    @extend_schema(
        operation_id="analytics_settings", parameters=[SettingsQuery], responses={200: SettingsSerializer}
    )
    def get(self, request: AuthedRequest) -> Response:
        query = validated(SettingsQuery, request.query_params)
        account = selectors.analytics_account(org=request.org, account_id=query.get("account_id"))
        return Response({"account_id": account.pk, "timezone": str(account_timezone(account.pk))})

    @extend_schema(
        operation_id="analytics_settings_update",
        request=SettingsInput,
        responses={200: SettingsSerializer},
        description="Changing the time zone re-cuts past days from the hourly aggregates.",
    )
    def put(self, request: AuthedRequest) -> Response:
        data = validated(SettingsInput, request.data)
        account = selectors.analytics_account(org=request.org, account_id=data.get("account_id"))
        row = services.analytics_settings_update(account=account, timezone_name=data["timezone"])
        record(request, Action.ANALYTICS_SETTINGS_UPDATE, row, timezone=row.timezone)
        return Response({"account_id": account.pk, "timezone": row.timezone})

"""Query parsing for the analytics endpoints and the shapes they answer (for the schema)."""

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from analytics.models import Platform
from analytics.selectors import MAX_HOURLY_RANGE_DAYS, MAX_RANGE_DAYS, WHATSAPP_METRICS, default_range
from botopia_meta.api.serializers import PaginationSerializer, QueryDateField
from botopia_meta.exceptions import ValidationFailed


@extend_schema_field(OpenApiTypes.STR)
class CommaListField(serializers.Field):
    def __init__(self, *, choices: tuple[str, ...], **kwargs):
        self.choices = choices
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> list[str]:
        names = [part.strip() for part in str(data).split(",") if part.strip()]
        if not names:
            raise serializers.ValidationError("Name at least one metric.")
        unknown = [name for name in names if name not in self.choices]
        if unknown:
            raise serializers.ValidationError(
                f"Unknown metric(s): {', '.join(unknown)}. Known: {', '.join(self.choices)}."
            )
        return list(dict.fromkeys(names))

    def to_representation(self, value):
        return ",".join(value)


class RangeQuery(serializers.Serializer):
    account_id = serializers.UUIDField(required=False, help_text="Defaults to the latest connected account.")
    start_date = QueryDateField(required=False, help_text="Inclusive; defaults to 30 days ago.")
    end_date = QueryDateField(required=False, help_text="Inclusive; defaults to today (account time zone).")


class MetricsQuery(RangeQuery):
    granularity = serializers.ChoiceField(choices=["day", "hour"], default="day")
    metrics = CommaListField(
        choices=WHATSAPP_METRICS, required=False, help_text=f"Comma list of: {', '.join(WHATSAPP_METRICS)}."
    )
    phone_number_id = serializers.CharField(required=False, max_length=64)
    template_name = serializers.CharField(required=False, max_length=512)
    broadcast_id = serializers.CharField(required=False, max_length=64)


class InsightsQuery(RangeQuery):
    platform = serializers.ChoiceField(choices=Platform.values, required=False)
    asset_id = serializers.CharField(required=False, max_length=64)
    metric = serializers.CharField(required=False, max_length=128)
    period = serializers.ChoiceField(choices=["day"], required=False)


class ReportQuery(RangeQuery):
    format = serializers.ChoiceField(choices=["csv", "json"], default="json")


def resolve_range(
    tz: ZoneInfo, start: date | None, end: date | None, *, granularity: str = "day"
) -> tuple[date, date]:
    """Fill defaults (the last 30 days, local) and enforce the limits. Raises 400 naming them."""
    if start is None:
        if end is None:
            start, end = default_range(tz)
        else:
            start = end - timedelta(days=29)
    elif end is None:
        end = min(start + timedelta(days=29), default_range(tz)[1])
        end = max(end, start)
    if end < start:
        raise ValidationFailed(
            "endDate is before startDate.", details={"end_date": ["Must be on or after startDate."]}
        )
    days = (end - start).days + 1
    if days > MAX_RANGE_DAYS:
        raise ValidationFailed(
            f"The range spans {days} days; the limit is {MAX_RANGE_DAYS}.",
            details={"end_date": [f"The range may span at most {MAX_RANGE_DAYS} days."]},
        )
    if granularity == "hour" and days > MAX_HOURLY_RANGE_DAYS:
        raise ValidationFailed(
            f"Hourly data spans at most {MAX_HOURLY_RANGE_DAYS} days; this range spans {days}.",
            details={"granularity": [f"Hourly granularity allows at most {MAX_HOURLY_RANGE_DAYS} days."]},
        )
    return start, end


# --- answers (documentation of the shapes; the views build plain dicts) -----------------------


class PointSerializer(serializers.Serializer):
    timestamp = serializers.DateTimeField()
    value = serializers.IntegerField()


class MetricsTotalsSerializer(serializers.Serializer):
    sent = serializers.IntegerField(required=False)
    delivered = serializers.IntegerField(required=False)
    read = serializers.IntegerField(required=False)
    failed = serializers.IntegerField(required=False)
    received = serializers.IntegerField(required=False)
    replied = serializers.IntegerField(required=False)
    delivery_rate = serializers.FloatField(allow_null=True, help_text="delivered / sent; null when 0 sent.")
    read_rate = serializers.FloatField(allow_null=True, help_text="read / sent; null when 0 sent.")
    response_rate = serializers.FloatField(
        allow_null=True, help_text="replied / received; null when 0 received."
    )


class MetricsSerializer(serializers.Serializer):
    metrics = serializers.DictField(child=PointSerializer(many=True))
    totals = MetricsTotalsSerializer()


class StatSerializer(serializers.Serializer):
    value = serializers.FloatField(allow_null=True)
    previous = serializers.FloatField(allow_null=True)
    change = serializers.FloatField(
        allow_null=True, help_text="(value - previous) / previous; null when previous is 0."
    )


class WhatsAppOverviewSerializer(serializers.Serializer):
    approved_templates = StatSerializer()
    messages_sent = StatSerializer()
    messages_received = StatSerializer()
    delivery_rate = StatSerializer()
    read_rate = StatSerializer()
    response_rate = StatSerializer()


class SocialOverviewSerializer(serializers.Serializer):
    posts_published = StatSerializer()
    comments_received = StatSerializer()
    comments_replied = StatSerializer()
    comment_response_rate = StatSerializer()
    messages_received = StatSerializer()


class PlatformsOverviewSerializer(serializers.Serializer):
    whatsapp = WhatsAppOverviewSerializer()
    facebook = SocialOverviewSerializer()
    instagram = SocialOverviewSerializer()


class PeriodSerializer(serializers.Serializer):
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    previous_start_date = serializers.DateField()
    previous_end_date = serializers.DateField()
    timezone = serializers.CharField()


class PhoneHealthSerializer(serializers.Serializer):
    phone_number_id = serializers.CharField()
    display_phone_number = serializers.CharField()
    waba_id = serializers.CharField()
    quality_rating = serializers.CharField()
    messaging_limit_tier = serializers.CharField()
    status = serializers.CharField()


class HealthSerializer(serializers.Serializer):
    status = serializers.CharField()
    needs_reauth = serializers.BooleanField()
    token_expires_at = serializers.DateTimeField(allow_null=True)
    token_expiring_soon = serializers.BooleanField()
    phone_numbers = PhoneHealthSerializer(many=True)


class RecentNotificationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    severity = serializers.CharField()
    title = serializers.CharField()
    body = serializers.CharField()
    read = serializers.BooleanField(help_text="Whether the caller read it.")
    created_at = serializers.DateTimeField()


class OverviewSerializer(serializers.Serializer):
    period = PeriodSerializer()
    platforms = PlatformsOverviewSerializer()
    health = HealthSerializer()
    notifications = RecentNotificationSerializer(many=True)


class InsightSerializer(serializers.Serializer):
    platform = serializers.CharField()
    asset_id = serializers.CharField()
    metric = serializers.CharField()
    dimensions = serializers.SerializerMethodField()
    period = serializers.CharField()
    date = serializers.DateField()
    value = serializers.FloatField()

    def get_dimensions(self, obj) -> dict[str, str]:
        from analytics.recording import parse_dimension_key

        return parse_dimension_key(obj.dim_key)


class InsightListSerializer(serializers.Serializer):
    insights = InsightSerializer(many=True)
    pagination = PaginationSerializer()


class ReportDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    platform = serializers.CharField()
    sent = serializers.IntegerField()
    delivered = serializers.IntegerField()
    read = serializers.IntegerField()
    failed = serializers.IntegerField()
    received = serializers.IntegerField()
    replied = serializers.IntegerField()
    posts_published = serializers.IntegerField()
    comments_received = serializers.IntegerField()
    comments_replied = serializers.IntegerField()
    dms_received = serializers.IntegerField()
    delivery_rate = serializers.FloatField(allow_null=True)
    read_rate = serializers.FloatField(allow_null=True)
    response_rate = serializers.FloatField(allow_null=True)


class ReportTemplateSerializer(serializers.Serializer):
    template = serializers.CharField()
    sent = serializers.IntegerField()
    delivered = serializers.IntegerField()
    read = serializers.IntegerField()
    failed = serializers.IntegerField()
    delivery_rate = serializers.FloatField(allow_null=True)
    read_rate = serializers.FloatField(allow_null=True)


class ReportSerializer(serializers.Serializer):
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    timezone = serializers.CharField()
    days = ReportDaySerializer(many=True)
    templates = ReportTemplateSerializer(many=True)


class SettingsQuery(serializers.Serializer):
    account_id = serializers.UUIDField(required=False, help_text="Defaults to the latest connected account.")


class SettingsInput(serializers.Serializer):
    account_id = serializers.UUIDField(required=False, help_text="Defaults to the latest connected account.")
    timezone = serializers.CharField(max_length=64, help_text="IANA time zone, e.g. America/Bogota.")


class SettingsSerializer(serializers.Serializer):
    account_id = serializers.UUIDField()
    timezone = serializers.CharField()

"""Serializers for the API's shared shapes (used in OpenAPI schemas)."""

from rest_framework import serializers

from botopia_meta.api.pagination import COUNT_CAP, DEFAULT_LIMIT, MAX_LIMIT, PageQuerySerializer

__all__ = ["PageQuerySerializer"]  # lives with the pagination it validates for


class PaginationSerializer(serializers.Serializer):
    """Pagination over our own tables (botopia_meta.api.pagination)."""

    total = serializers.IntegerField(
        help_text=f"Rows matching the filters: exact up to {COUNT_CAP}, else an estimate (totalEstimated)."
    )
    total_estimated = serializers.BooleanField(
        help_text=f"True when more than {COUNT_CAP} rows match and `total` is an estimate."
    )
    limit = serializers.IntegerField()
    offset = serializers.IntegerField(allow_null=True, help_text="Null on a page read by cursor.")
    next_offset = serializers.IntegerField(allow_null=True)
    next_cursor = serializers.CharField(
        allow_null=True, help_text="Pass as `cursor` for the next page; null on the last page."
    )


class CursorQuerySerializer(serializers.Serializer):
    """`limit` and Meta's `before` / `after` cursors in a query, for a list read live from Meta."""

    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT)
    before = serializers.CharField(required=False, max_length=512)
    after = serializers.CharField(required=False, max_length=512)

    def validate(self, attrs: dict) -> dict:
        if attrs.get("before") and attrs.get("after"):
            raise serializers.ValidationError({"before": ["Give before or after, not both."]})
        return attrs


class CursorPaginationSerializer(serializers.Serializer):
    """Pagination over Meta's own cursors."""

    before = serializers.CharField(allow_null=True)
    after = serializers.CharField(allow_null=True)


class QueryDateField(serializers.DateField):
    """A date in a query: bounded, so a far-off year is a 400, not an overflow further on."""

    MIN, MAX = "2000-01-01", "2100-12-31"

    def to_internal_value(self, value):
        parsed = super().to_internal_value(value)
        if not (self.MIN <= parsed.isoformat() <= self.MAX):
            raise serializers.ValidationError(f"Must be between {self.MIN} and {self.MAX}.")
        return parsed

"""Serializers for the API's shared shapes (used in OpenAPI schemas)."""

from rest_framework import serializers


class PaginationSerializer(serializers.Serializer):
    """limit/offset pagination over our own tables."""

    total = serializers.IntegerField()
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()
    next_offset = serializers.IntegerField(allow_null=True)


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

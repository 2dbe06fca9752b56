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

from rest_framework import serializers

from botopia_meta.api.serializers import PaginationSerializer
from whatsapp.models import WhatsAppTemplate


class TemplateSerializer(serializers.ModelSerializer):
    waba_id = serializers.CharField(source="waba.waba_id")
    components = serializers.JSONField()

    class Meta:
        model = WhatsAppTemplate
        fields = [
            "id",
            "template_id",
            "waba_id",
            "name",
            "language",
            "category",
            "status",
            "parameter_format",
            "components",
            "quality_score",
            "rejected_reason",
            "last_synced_at",
            "created_at",
            "updated_at",
        ]


class TemplateListSerializer(serializers.Serializer):
    templates = TemplateSerializer(many=True)
    pagination = PaginationSerializer()


class TemplateDeletedSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    deleted = serializers.BooleanField()


class TemplateQuerySerializer(serializers.Serializer):
    status = serializers.CharField(
        required=False,
        help_text="approved, in_review, rejected, paused, disabled, or Meta's names; comma list.",
    )
    category = serializers.CharField(required=False, help_text="MARKETING, UTILITY or AUTHENTICATION.")
    search = serializers.CharField(
        required=False, max_length=100, help_text="Part of the name, or Meta's id."
    )
    language = serializers.CharField(required=False, max_length=16)
    waba_id = serializers.CharField(required=False, max_length=64)
    limit = serializers.IntegerField(required=False)
    offset = serializers.IntegerField(required=False)


class TemplateEditSerializer(serializers.Serializer):
    """Only the shape: Meta's rules are checked by whatsapp.message_templates.rules, which names the
    exact component and field that breaks one. An edit keeps the template's WABA."""

    name = serializers.CharField(required=False, allow_blank=True, max_length=1024)
    language = serializers.CharField(required=False, allow_blank=True, max_length=32)
    category = serializers.CharField(required=False, allow_blank=True, max_length=32)
    parameter_format = serializers.CharField(required=False, allow_blank=True, max_length=32)
    components = serializers.JSONField(required=False)


class TemplateWriteSerializer(TemplateEditSerializer):
    waba_id = serializers.CharField(
        required=False, max_length=64, help_text="Defaults to the account's first WABA."
    )


class TemplateSyncRequestSerializer(serializers.Serializer):
    waba_id = serializers.CharField(required=False, max_length=64)


class TemplateSyncResultSerializer(serializers.Serializer):
    added = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    removed = serializers.IntegerField()
    wabas = serializers.ListField(child=serializers.CharField())

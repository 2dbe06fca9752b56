import re

from rest_framework import serializers

from accounts.models import Notification
from botopia_meta.fields import mask_secret
from botopia_meta.safe_urls import unsafe_url_reason
from webhooks.models import WebhookConfig
from webhooks.services import KNOWN_FIELDS

_TOKEN = re.compile(r"[\x21-\x7e]+")


class NotificationSerializer(serializers.ModelSerializer):
    account_id = serializers.UUIDField(read_only=True)
    read = serializers.BooleanField(read_only=True, help_text="Whether the caller read it.")

    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "severity",
            "title",
            "body",
            "read",
            "created_at",
            "account_id",
            "related_type",
            "related_id",
        ]


class NotificationListSerializer(serializers.Serializer):
    notifications = NotificationSerializer(many=True)
    pagination = serializers.DictField()


class NotificationQuerySerializer(serializers.Serializer):
    unread = serializers.BooleanField(required=False, allow_null=True, default=None)


class AccountQuerySerializer(serializers.Serializer):
    account_id = serializers.UUIDField(required=False)


class SubscriptionResultSerializer(serializers.Serializer):
    target = serializers.CharField()
    ok = serializers.BooleanField()
    error = serializers.DictField(required=False)


class WebhookConfigSerializer(serializers.ModelSerializer):
    verify_token = serializers.SerializerMethodField()
    account_id = serializers.UUIDField(read_only=True)
    results = SubscriptionResultSerializer(many=True, read_only=True)
    forward_secret_preview = serializers.SerializerMethodField()

    class Meta:
        model = WebhookConfig
        fields = [
            "id",
            "verify_token",
            "target_url",
            "fields",
            "status",
            "created_at",
            "updated_at",
            "account_id",
            "configured_at",
            "results",
            "forward_url",
            "forward_secret_preview",
        ]

    def get_verify_token(self, config: WebhookConfig) -> str | None:
        return mask_secret(config.verify_token)

    def get_forward_secret_preview(self, config: WebhookConfig) -> str | None:
        return mask_secret(config.forward_secret)


class WebhookConfigureInputSerializer(serializers.Serializer):
    verify_token = serializers.CharField(min_length=8, max_length=128, trim_whitespace=False)
    # DRF's SerializerMetaclass moves declared fields out of the class body, so this does not
    # replace Serializer.fields at runtime; the stubs can't express that.
    fields = serializers.DictField(child=serializers.BooleanField(), allow_empty=False)  # type: ignore[assignment]
    account_id = serializers.UUIDField(required=False)
    forward_url = serializers.CharField(required=False, allow_blank=True, max_length=1024)

    def validate_forward_url(self, value: str) -> str:
        problem = unsafe_url_reason(value) if value else None
        if problem:
            raise serializers.ValidationError(problem)
        return value

    def validate_verify_token(self, value: str) -> str:
        if not _TOKEN.fullmatch(value):
            raise serializers.ValidationError("Use printable ASCII characters without spaces.")
        return value

    def validate_fields(self, value: dict[str, bool]) -> dict[str, bool]:
        unknown = sorted(name for name in value if name not in KNOWN_FIELDS)
        if unknown:
            raise serializers.ValidationError(f"Unknown webhook field(s): {', '.join(unknown)}.")
        if not any(value.values()):
            raise serializers.ValidationError("Turn at least one field on.")
        return value


class WebhookConfigureResultSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    fields = serializers.DictField(child=serializers.BooleanField())  # type: ignore[assignment]  # as above
    results = SubscriptionResultSerializer(many=True)
    forward_url = serializers.CharField()
    forward_secret = serializers.CharField(
        allow_null=True, help_text="The forward signing secret: given once, when first created."
    )

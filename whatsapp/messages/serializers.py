from datetime import datetime
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from botopia_meta.api.serializers import PaginationSerializer
from whatsapp.messages import selectors, services
from whatsapp.messages.payloads import META_FIELDS, SEND_TYPES, check_top_level, reply_wamid
from whatsapp.messages.shapes import invalid
from whatsapp.models import Broadcast, Contact, Message


class MessageContextSerializer(serializers.Serializer):
    message_id = serializers.CharField(
        max_length=255, help_text="The wamid quoted: a message of this number."
    )


class MessageSendSerializer(serializers.Serializer):
    """Meta's send body (a body from Meta's Cloud API reference works unchanged) plus our
    `phoneNumberId`. Unknown top-level fields are refused by payloads.check_top_level."""

    to = serializers.CharField(max_length=32)
    type = serializers.ChoiceField(choices=SEND_TYPES)
    phone_number_id = serializers.CharField(required=False, max_length=64)
    messaging_product = serializers.ChoiceField(
        choices=[META_FIELDS["messaging_product"]], required=False, help_text="Meta's; optional."
    )
    recipient_type = serializers.ChoiceField(
        choices=[META_FIELDS["recipient_type"]], required=False, help_text="Meta's; optional."
    )
    reply_to = serializers.CharField(
        required=False, max_length=255, help_text="wamid to quote (alias of context.message_id)"
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        # One optional object per message type, named after it (`text`, `image`, ...): its
        # rules live in whatsapp/messages/payloads.py, which owns the list of types.
        fields = super().get_fields()
        for kind in SEND_TYPES:
            fields[kind] = serializers.JSONField(required=False)
        # Meta's `context` (a reply), added here: a declared `context` would hide the
        # serializer's own `.context`.
        fields["context"] = MessageContextSerializer(
            required=False, help_text="A reply: the message it quotes."
        )
        return fields

    def to_internal_value(self, data: Any) -> dict:
        check_top_level(data)
        if isinstance(data, dict) and data.get("context") is not None:
            reply_wamid(data)  # Meta's context, checked naming its field (context.message_id)
        return super().to_internal_value(data)


class TypingIndicatorSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["text"])


class MessageReadSerializer(serializers.Serializer):
    """`typingIndicator` (Meta's own `typing_indicator` works too): shown with the read receipt."""

    typing_indicator = TypingIndicatorSerializer(
        required=False, help_text='{"type": "text"}: the customer sees "typing…" until the answer.'
    )

    def to_internal_value(self, data: Any) -> dict:
        for key in data if isinstance(data, dict) else ():
            if key not in self.fields:
                raise invalid(key, "Unknown field. Mark-read takes: typingIndicator.")
        indicator = data.get("typing_indicator") if isinstance(data, dict) else None
        for key in indicator if isinstance(indicator, dict) else ():
            if key != "type":
                raise invalid(f"typing_indicator.{key}", "Unknown field. A typing indicator takes: type.")
        return super().to_internal_value(data)


class MessageErrorSerializer(serializers.Serializer):
    code = serializers.IntegerField(allow_null=True)
    title = serializers.CharField()


class MessageSerializer(serializers.ModelSerializer):
    from_ = serializers.SerializerMethodField()
    to = serializers.SerializerMethodField()
    content = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    phone_number_id = serializers.CharField(source="phone_number.phone_number_id", default=None)

    class Meta:
        model = Message
        fields = [
            "id",
            "wamid",
            "direction",
            "from_",
            "to",
            "type",
            "content",
            "status",
            "status_updated_at",
            "error",
            "phone_number_id",
            "template_name",
            "broadcast_id",
            "sent_at",
            "delivered_at",
            "read_at",
            "failed_at",
            "created_at",
        ]

    def _own(self, obj: Message) -> str | None:
        return obj.phone_number.display_phone_number if obj.phone_number else None

    def get_from_(self, obj: Message) -> str | None:
        return obj.contact_wa_id if obj.direction == Message.Direction.INBOUND else self._own(obj)

    def get_to(self, obj: Message) -> str | None:
        return self._own(obj) if obj.direction == Message.Direction.INBOUND else obj.contact_wa_id

    def get_content(self, obj: Message) -> dict:
        return {k: v for k, v in (obj.content or {}).items() if k != "_context"}

    @staticmethod
    @extend_schema_field(MessageErrorSerializer(allow_null=True))
    def get_error(obj: Message) -> dict | None:
        if obj.error_code is None and not obj.error_title:
            return None
        return {"code": obj.error_code, "title": obj.error_title}

    def to_representation(self, instance: Message) -> dict:
        data = super().to_representation(instance)
        data["from"] = data.pop("from_")
        return data


class MessageListSerializer(serializers.Serializer):
    messages = MessageSerializer(many=True)
    pagination = PaginationSerializer()


class MessageQuerySerializer(serializers.Serializer):
    direction = serializers.ChoiceField(choices=Message.Direction.choices, required=False)
    status = serializers.ChoiceField(choices=Message.Status.choices, required=False)
    contact = serializers.CharField(required=False, max_length=32)
    phone_number_id = serializers.CharField(required=False, max_length=64)
    broadcast_id = serializers.UUIDField(required=False)
    start_date = serializers.DateTimeField(required=False)
    end_date = serializers.DateTimeField(required=False)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100)
    offset = serializers.IntegerField(required=False, min_value=0)


class ContactSerializer(serializers.ModelSerializer):
    phone_number_id = serializers.CharField(source="phone_number.phone_number_id")
    window_open = serializers.SerializerMethodField()
    window_expires_at = serializers.SerializerMethodField()

    class Meta:
        model = Contact
        fields = ["wa_id", "name", "phone_number_id", "last_inbound_at", "window_open", "window_expires_at"]

    def get_window_open(self, obj: Contact) -> bool:
        return services.window_open(obj)

    def get_window_expires_at(self, obj: Contact) -> datetime | None:
        return obj.last_inbound_at + services.WINDOW if obj.last_inbound_at else None


class BroadcastCreateSerializer(serializers.Serializer):
    # Recipients are validated one by one in the service, so that bad ones are listed, not fatal.
    template = serializers.JSONField()
    recipients = serializers.ListField(child=serializers.JSONField(), allow_empty=False, max_length=100_000)
    phone_number_id = serializers.CharField(required=False, max_length=64)


class BroadcastInvalidSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    to = serializers.CharField(allow_null=True)
    error = serializers.CharField()


class BroadcastProgressSerializer(serializers.Serializer):
    queued = serializers.IntegerField()
    sending = serializers.IntegerField()
    sent = serializers.IntegerField()
    delivered = serializers.IntegerField()
    read = serializers.IntegerField()
    failed = serializers.IntegerField()
    unknown = serializers.IntegerField()
    cancelled = serializers.IntegerField()


class BroadcastSerializer(serializers.ModelSerializer):
    phone_number_id = serializers.CharField(source="phone_number.phone_number_id")
    invalid = BroadcastInvalidSerializer(many=True)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Broadcast
        fields = [
            "id",
            "status",
            "phone_number_id",
            "template_name",
            "template_language",
            "total",
            "invalid",
            "progress",
            "cancelled_at",
            "created_at",
        ]

    @extend_schema_field(BroadcastProgressSerializer)
    def get_progress(self, obj: Broadcast) -> dict:
        return selectors.broadcast_progress(obj)

    def to_representation(self, instance: Broadcast) -> dict:
        data = super().to_representation(instance)
        data["status"] = selectors.broadcast_status(instance, data["progress"])
        return data

"""Shapes of the cross-platform inbox API (/api/meta/comments, /api/meta/conversations)."""

from rest_framework import serializers

from botopia_meta.api.serializers import PageQuerySerializer, PaginationSerializer, QueryDateField


def _platform_field() -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=["facebook", "instagram", "whatsapp"], required=False)


class InboxCommentQuerySerializer(PageQuerySerializer):
    platform = _platform_field()
    page_id = serializers.RegexField(r"^\d{1,32}$", required=False)
    ig_account_id = serializers.RegexField(r"^\d{1,32}$", required=False)
    post_id = serializers.RegexField(r"^[\d_]{1,80}$", required=False)
    unreplied = serializers.BooleanField(required=False, default=False)
    start_date = QueryDateField(required=False)
    end_date = QueryDateField(required=False)

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        if attrs.get("start_date") and attrs.get("end_date") and attrs["start_date"] > attrs["end_date"]:
            raise serializers.ValidationError({"end_date": ["Must not be before startDate."]})
        return attrs


class InboxCommentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    platform = serializers.CharField()
    page_id = serializers.CharField(allow_null=True)
    ig_account_id = serializers.CharField(allow_null=True)
    post_id = serializers.CharField()
    comment_id = serializers.CharField()
    parent_id = serializers.CharField()
    author_id = serializers.CharField()
    author_name = serializers.CharField()
    text = serializers.CharField()
    created_time = serializers.DateTimeField()
    hidden = serializers.BooleanField()
    reply_text = serializers.CharField(allow_null=True)
    replied_at = serializers.DateTimeField(allow_null=True)


class InboxCommentListSerializer(serializers.Serializer):
    comments = InboxCommentSerializer(many=True)
    pagination = PaginationSerializer()


class InboxCommentReplySerializer(serializers.Serializer):
    message = serializers.CharField(max_length=8000, trim_whitespace=True)


class InboxConversationQuerySerializer(PageQuerySerializer):
    platform = _platform_field()
    page_id = serializers.RegexField(r"^\d{1,32}$", required=False)
    ig_account_id = serializers.RegexField(r"^\d{1,32}$", required=False)
    phone_number_id = serializers.RegexField(r"^\d{1,64}$", required=False)
    unread = serializers.BooleanField(required=False, allow_null=True, default=None)
    contact = serializers.CharField(required=False, max_length=255)


class InboxConversationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    platform = serializers.CharField()
    page_id = serializers.CharField(allow_null=True)
    ig_account_id = serializers.CharField(allow_null=True)
    phone_number_id = serializers.CharField(allow_null=True, help_text="WhatsApp: the business number")
    contact_id = serializers.CharField(help_text="WhatsApp: the customer's wa_id")
    contact_name = serializers.CharField(allow_null=True)
    last_message_at = serializers.DateTimeField(allow_null=True)
    last_message_text = serializers.CharField(allow_null=True)
    unread_count = serializers.IntegerField()
    can_reply = serializers.BooleanField()
    window_expires_at = serializers.DateTimeField(allow_null=True)


class InboxConversationListSerializer(serializers.Serializer):
    conversations = InboxConversationSerializer(many=True)
    pagination = PaginationSerializer()


class InboxMessageSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    conversation_id = serializers.UUIDField()
    mid = serializers.CharField(allow_null=True)
    direction = serializers.ChoiceField(choices=["inbound", "outbound"])
    text = serializers.CharField()
    image_url = serializers.CharField(allow_null=True)
    attachments = serializers.ListField(child=serializers.DictField())
    status = serializers.CharField()
    sent_at = serializers.DateTimeField()
    error = serializers.DictField(allow_null=True)


class InboxMessageListSerializer(serializers.Serializer):
    messages = InboxMessageSerializer(many=True)
    pagination = PaginationSerializer()


class InboxMessageSendSerializer(serializers.Serializer):
    text = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    image_url = serializers.CharField(required=False, allow_blank=True, max_length=2048, default="")

    def validate(self, attrs: dict) -> dict:
        if bool(attrs["text"].strip()) == bool(attrs["image_url"]):
            raise serializers.ValidationError({"text": ["Give either text or imageUrl."]})
        return attrs

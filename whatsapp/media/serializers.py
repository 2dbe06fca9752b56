"""Input and output shapes of the media endpoints."""

from rest_framework import serializers


class MediaUploadSerializer(serializers.Serializer):
    """The multipart form, Meta's own shape accepted: `file`, `type` (a kind or, as Meta
    takes it, a mime type) and `messaging_product`, plus our `phoneNumberId`."""

    file = serializers.FileField(allow_empty_file=True, use_url=False)
    type = serializers.CharField(
        required=False,
        max_length=255,
        help_text="image, video, audio, document or sticker (or, as Meta takes it, a mime type); "
        "inferred from the file's type when left out",
    )
    messaging_product = serializers.ChoiceField(choices=["whatsapp"], required=False)
    phone_number_id = serializers.CharField(required=False, max_length=64)

    def to_internal_value(self, data):
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class MediaUploadedSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Meta's media id: what a send's `image.id` (etc.) references")
    mime_type = serializers.CharField()
    size = serializers.IntegerField()
    kind = serializers.CharField()

from rest_framework import serializers

from botopia_meta.api.serializers import CursorPaginationSerializer, CursorQuerySerializer
from instagram.models import InstagramAccount, MediaPublish


class InstagramAccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = InstagramAccount
        fields = ["id", "ig_account_id", "username", "profile_picture", "status", "created_at"]


class InstagramAccountListSerializer(serializers.Serializer):
    accounts = InstagramAccountSerializer(many=True)


class InstagramAccountStatusSerializer(serializers.ModelSerializer):
    class Meta:
        model = InstagramAccount
        fields = ["id", "ig_account_id", "status"]


class InstagramMediaQuerySerializer(CursorQuerySerializer):
    account_id = serializers.CharField(max_length=64, required=False)


class InstagramMediaSerializer(serializers.Serializer):
    id = serializers.CharField()
    media_type = serializers.CharField()
    media_url = serializers.CharField()
    permalink = serializers.CharField()
    caption = serializers.CharField()
    timestamp = serializers.CharField()
    likes = serializers.IntegerField()
    comments = serializers.IntegerField()


class InstagramMediaListSerializer(serializers.Serializer):
    media = InstagramMediaSerializer(many=True)
    pagination = CursorPaginationSerializer()


class InstagramPublishCreateSerializer(serializers.Serializer):
    account_id = serializers.CharField(max_length=64)
    media_type = serializers.ChoiceField(choices=MediaPublish.MediaType.values)
    media_url = serializers.CharField(required=False, max_length=2048)
    media_urls = serializers.ListField(
        child=serializers.CharField(max_length=2048), required=False, max_length=10
    )
    caption = serializers.CharField(required=False, allow_blank=True, max_length=2200, default="")
    scheduled_publish_time = serializers.DateTimeField(required=False, allow_null=True, default=None)

    def validate(self, attrs: dict) -> dict:
        if attrs.get("media_url") and attrs.get("media_urls"):
            raise serializers.ValidationError({"media_url": ["Give mediaUrl or mediaUrls, not both."]})
        urls = attrs.get("media_urls") or ([attrs["media_url"]] if attrs.get("media_url") else [])
        if not urls:
            raise serializers.ValidationError({"media_url": ["Required."]})
        attrs["urls"] = urls
        return attrs


class InstagramPublishSerializer(serializers.ModelSerializer):
    ig_account_id = serializers.CharField(source="ig_account.ig_account_id")

    class Meta:
        model = MediaPublish
        fields = [
            "id",
            "ig_account_id",
            "media_type",
            "media_urls",
            "caption",
            "status",
            "scheduled_publish_time",
            "media_id",
            "permalink",
            "published_at",
            "error",
            "created_at",
        ]


class InstagramPublishListSerializer(serializers.Serializer):
    publishes = InstagramPublishSerializer(many=True)
    pagination = serializers.DictField()

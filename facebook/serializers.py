from rest_framework import serializers

from botopia_meta.api.pagination import MAX_LIMIT, MAX_OFFSET
from botopia_meta.api.serializers import CursorPaginationSerializer, CursorQuerySerializer
from facebook.models import FacebookPage, Post

MAX_TEXT = 63_206  # Facebook's limit on a post's text


class FacebookPageSerializer(serializers.ModelSerializer):
    class Meta:
        model = FacebookPage
        fields = ["id", "page_id", "name", "category", "picture_url", "status", "created_at"]


class FacebookPageListSerializer(serializers.Serializer):
    pages = FacebookPageSerializer(many=True)


class FacebookPageStatusSerializer(serializers.ModelSerializer):
    class Meta:
        model = FacebookPage
        fields = ["id", "page_id", "status"]


class FacebookPageSyncSerializer(serializers.Serializer):
    account_id = serializers.UUIDField(required=False)


class FacebookPostQuerySerializer(CursorQuerySerializer):
    page_id = serializers.RegexField(r"^\d{1,32}$", max_length=32, required=False)


class FacebookScheduledPostQuerySerializer(serializers.Serializer):
    # limit/offset are read and checked by the pagination itself.
    page_id = serializers.RegexField(r"^\d{1,32}$", max_length=32, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, required=False)
    offset = serializers.IntegerField(min_value=0, max_value=MAX_OFFSET, required=False)


class FacebookPostSerializer(serializers.Serializer):
    id = serializers.CharField()
    message = serializers.CharField()
    created_time = serializers.CharField()
    type = serializers.CharField()
    permalink_url = serializers.CharField()
    picture = serializers.CharField()
    likes = serializers.IntegerField()
    comments = serializers.IntegerField()


class FacebookPostListSerializer(serializers.Serializer):
    posts = FacebookPostSerializer(many=True)
    pagination = CursorPaginationSerializer()


class FacebookPostCreateSerializer(serializers.Serializer):
    page_id = serializers.RegexField(r"^\d{1,32}$", max_length=32)
    message = serializers.CharField(required=False, allow_blank=True, max_length=MAX_TEXT, default="")
    link = serializers.URLField(required=False, allow_blank=True, max_length=2048, default="")
    photo_url = serializers.CharField(required=False, allow_blank=True, max_length=2048, default="")
    published = serializers.BooleanField(required=False, default=True)
    scheduled_publish_time = serializers.DateTimeField(required=False, allow_null=True, default=None)


class FacebookPostCreatedSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="post_id")
    post_row_id = serializers.UUIDField(source="pk")

    class Meta:
        model = Post
        fields = ["id", "permalink_url", "status", "scheduled_publish_time", "post_row_id"]


class FacebookScheduledPostSerializer(serializers.ModelSerializer):
    page_id = serializers.CharField(source="page.page_id")

    class Meta:
        model = Post
        fields = [
            "id",
            "post_id",
            "page_id",
            "message",
            "link",
            "photo_url",
            "status",
            "scheduled_publish_time",
            "permalink_url",
            "created_at",
        ]


class FacebookScheduledPostListSerializer(serializers.Serializer):
    posts = FacebookScheduledPostSerializer(many=True)
    pagination = serializers.DictField()

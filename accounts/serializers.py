from rest_framework import serializers

# Meta's codes and tokens are printable ASCII without spaces; anything else is not one.
_META_SECRET = r"^[\x21-\x7e]+$"


class StrictUUIDField(serializers.UUIDField):
    """A UUID as a string only: DRF would also turn the number 12 into a UUID."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class ConnectSerializer(serializers.Serializer):
    code = serializers.RegexField(_META_SECRET, max_length=2048, required=False)
    redirect_uri = serializers.URLField(max_length=2048, required=False, allow_blank=True)
    access_token = serializers.RegexField(_META_SECRET, max_length=4096, required=False, write_only=True)

    def validate(self, attrs: dict) -> dict:
        if attrs.get("code") and attrs.get("access_token"):
            raise serializers.ValidationError(
                {"access_token": ["Send either code or accessToken, not both."]}
            )
        if not attrs.get("code") and not attrs.get("access_token"):
            raise serializers.ValidationError(
                {"code": ["Send code (from Meta's login dialog) or accessToken (a system-user token)."]}
            )
        if attrs.get("redirect_uri") and not attrs.get("code"):
            raise serializers.ValidationError({"redirect_uri": ["Only used with code."]})
        return attrs


class ConnectResponseSerializer(serializers.Serializer):
    account_id = serializers.UUIDField()
    status = serializers.CharField()
    permissions = serializers.ListField(child=serializers.CharField())


class AccountIdSerializer(serializers.Serializer):
    account_id = StrictUUIDField()


class StatusQuerySerializer(serializers.Serializer):
    account_id = StrictUUIDField(required=False)


class PlatformsSerializer(serializers.Serializer):
    whatsapp = serializers.BooleanField()
    facebook = serializers.BooleanField()
    instagram = serializers.BooleanField()


class StatusSerializer(serializers.Serializer):
    connected = serializers.BooleanField()
    account_id = serializers.UUIDField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    permissions = serializers.ListField(child=serializers.CharField())
    platforms = PlatformsSerializer()
    needs_reauth = serializers.BooleanField()
    token_preview = serializers.CharField(allow_null=True)


class RefreshResponseSerializer(serializers.Serializer):
    expires_at = serializers.DateTimeField(allow_null=True, help_text="null: the token never expires.")


class DisconnectResponseSerializer(serializers.Serializer):
    account_id = serializers.UUIDField()
    status = serializers.CharField()

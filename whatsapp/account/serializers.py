from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from botopia_meta.api.serializers import PaginationSerializer
from whatsapp.models import WhatsAppBusinessAccount, WhatsAppPhoneNumber

VERTICALS = (
    "UNDEFINED",
    "OTHER",
    "AUTO",
    "BEAUTY",
    "APPAREL",
    "EDU",
    "ENTERTAIN",
    "EVENT_PLAN",
    "FINANCE",
    "GROCERY",
    "GOVT",
    "HOTEL",
    "HEALTH",
    "NONPROFIT",
    "PROF_SERVICES",
    "RETAIL",
    "TRAVEL",
    "RESTAURANT",
    "NOT_A_BIZ",
)


class BusinessProfileSerializer(serializers.Serializer):
    about = serializers.CharField(allow_blank=True, allow_null=True)
    address = serializers.CharField(allow_blank=True, allow_null=True)
    description = serializers.CharField(allow_blank=True, allow_null=True)
    email = serializers.CharField(allow_blank=True, allow_null=True)
    websites = serializers.ListField(child=serializers.CharField())
    profile_picture_url = serializers.CharField(allow_blank=True, allow_null=True)
    vertical = serializers.CharField(allow_blank=True, allow_null=True)


def business_profile_data(profile: dict) -> dict:
    return {
        "about": profile.get("about"),
        "address": profile.get("address"),
        "description": profile.get("description"),
        "email": profile.get("email"),
        "websites": list(profile.get("websites") or []),
        "profile_picture_url": profile.get("profile_picture_url"),
        "vertical": profile.get("vertical"),
    }


class AccountSerializer(serializers.Serializer):
    """The contract's account shape: the WABA seen through one of its numbers."""

    id = serializers.UUIDField()
    waba_id = serializers.CharField()
    waba_name = serializers.CharField()
    phone_number_id = serializers.CharField(allow_null=True)
    phone_number = serializers.CharField(allow_null=True)
    display_name = serializers.CharField(allow_null=True)
    status = serializers.CharField()
    business_profile = BusinessProfileSerializer()
    quality_rating = serializers.CharField(allow_null=True)
    messaging_limit_tier = serializers.CharField(allow_null=True)
    throughput_level = serializers.CharField(allow_null=True)
    name_status = serializers.CharField(allow_null=True)
    account_review_status = serializers.CharField()
    last_refreshed_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


def account_data(waba: WhatsAppBusinessAccount, number: WhatsAppPhoneNumber | None) -> dict:
    return {
        "id": waba.id,
        "waba_id": waba.waba_id,
        "waba_name": waba.name,
        "phone_number_id": number.phone_number_id if number else None,
        "phone_number": number.display_phone_number if number else None,
        "display_name": (number.verified_name if number else None) or waba.name or None,
        "status": number.status if number else waba.status,
        "business_profile": business_profile_data(number.business_profile if number else {}),
        "quality_rating": number.quality_rating if number else None,
        "messaging_limit_tier": (number.messaging_limit_tier or None) if number else None,
        "throughput_level": (number.throughput_level or None) if number else None,
        "name_status": (number.name_status or None) if number else None,
        "account_review_status": waba.account_review_status,
        "last_refreshed_at": waba.last_refreshed_at,
        "created_at": waba.created_at,
    }


class PhoneNumberSerializer(serializers.ModelSerializer):
    waba_id = serializers.CharField(source="waba.waba_id")
    business_profile = serializers.SerializerMethodField()

    class Meta:
        model = WhatsAppPhoneNumber
        fields = [
            "id",
            "phone_number_id",
            "waba_id",
            "display_phone_number",
            "verified_name",
            "quality_rating",
            "messaging_limit_tier",
            "throughput_level",
            "code_verification_status",
            "name_status",
            "status",
            "max_send_rate",
            "business_profile",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(BusinessProfileSerializer)
    def get_business_profile(self, number: WhatsAppPhoneNumber) -> dict:
        return business_profile_data(number.business_profile)


class PhoneNumberListSerializer(serializers.Serializer):
    phone_numbers = PhoneNumberSerializer(many=True)
    pagination = PaginationSerializer()


class AccountQuerySerializer(serializers.Serializer):
    account_id = serializers.UUIDField(
        required=False, help_text="Our id of the Meta account; default: the latest."
    )
    phone_number_id = serializers.CharField(required=False, max_length=64)


class PhoneNumberQuerySerializer(serializers.Serializer):
    waba_id = serializers.CharField(required=False, max_length=64)
    limit = serializers.IntegerField(required=False)
    offset = serializers.IntegerField(required=False)


class AccountRefreshSerializer(serializers.Serializer):
    account_id = serializers.UUIDField(required=False)
    waba_id = serializers.CharField(required=False, max_length=64)
    phone_number_id = serializers.CharField(required=False, max_length=64)


class BusinessProfileUpdateSerializer(serializers.Serializer):
    """Meta's limits on each profile field."""

    phone_number_id = serializers.CharField(required=False, max_length=64)
    about = serializers.CharField(required=False, min_length=1, max_length=139)
    address = serializers.CharField(required=False, allow_blank=True, max_length=256)
    description = serializers.CharField(required=False, allow_blank=True, max_length=512)
    email = serializers.EmailField(required=False, allow_blank=True, max_length=128)
    websites = serializers.ListField(
        child=serializers.URLField(max_length=256), required=False, max_length=2, allow_empty=True
    )
    vertical = serializers.ChoiceField(choices=VERTICALS, required=False)
    profile_picture_handle = serializers.CharField(required=False, max_length=1024)

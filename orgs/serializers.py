from rest_framework import serializers

from botopia_meta.api.serializers import PageQuerySerializer, PaginationSerializer, QueryDateField
from orgs.audit import ACTIONS
from orgs.models import Role


class OrganizationSerializer(serializers.Serializer):
    """One of the caller's organizations, from their membership."""

    id = serializers.UUIDField(source="organization.id")
    name = serializers.CharField(source="organization.name")
    role = serializers.CharField()
    is_default = serializers.BooleanField()


class OrganizationListSerializer(serializers.Serializer):
    organizations = OrganizationSerializer(many=True)


class OrganizationWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)


class MemberSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="user.id", help_text="The member's user id.")
    username = serializers.CharField(source="user.username")
    email = serializers.CharField(source="user.email")
    name = serializers.CharField(source="user.get_full_name")
    role = serializers.CharField()
    joined_at = serializers.DateTimeField(source="created_at")


class MemberListSerializer(serializers.Serializer):
    members = MemberSerializer(many=True)


class RoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class InvitationWriteSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=Role.choices)


class InvitationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    role = serializers.CharField()
    expires_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    invited_by = serializers.CharField(source="invited_by.username", default=None, allow_null=True)


class InvitationListSerializer(serializers.Serializer):
    invitations = InvitationSerializer(many=True)


class InvitationCreatedSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="invitation.id")
    email = serializers.EmailField(source="invitation.email")
    role = serializers.CharField(source="invitation.role")
    expires_at = serializers.DateTimeField(source="invitation.expires_at")
    accept_url = serializers.CharField(help_text="Holds the invitation's token: shown once, share it.")
    emailed = serializers.BooleanField(help_text="Whether it was also emailed (email is configured).")


class AuditQuerySerializer(PageQuerySerializer):
    actor = serializers.IntegerField(required=False, min_value=1, help_text="A user id.")
    action = serializers.ChoiceField(choices=sorted(ACTIONS), required=False)

    def get_fields(self) -> dict:
        # `from` and `to` are Python keywords: declared here, not as class attributes.
        fields = super().get_fields()
        fields["from"] = QueryDateField(required=False, help_text="First day, inclusive (UTC).")
        fields["to"] = QueryDateField(required=False, help_text="Last day, inclusive (UTC).")
        return fields

    def validate(self, attrs: dict) -> dict:
        if attrs.get("from") and attrs.get("to") and attrs["from"] > attrs["to"]:
            raise serializers.ValidationError({"from": ["Must not be after `to`."]})
        return attrs


class AuditEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    action = serializers.CharField()
    actor_id = serializers.IntegerField(allow_null=True)
    actor = serializers.CharField(source="actor_label", help_text="The actor's username then.")
    target_type = serializers.CharField()
    target_id = serializers.CharField()
    target_label = serializers.CharField()
    details = serializers.DictField()
    created_at = serializers.DateTimeField()


class AuditListSerializer(serializers.Serializer):
    entries = AuditEntrySerializer(many=True)
    pagination = PaginationSerializer()

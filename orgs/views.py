"""Organizations, members, invitations and the audit log (/api/orgs, /api/invitations).

Each org-scoped view starts from `request.membership`: the caller's membership of the URL's
organization (`org_id`), resolved by orgs.context and checked against the permission
orgs.permissions.ENDPOINTS declares (a non-member, a removed one included, got 404)."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from botopia_meta.api.views import AuthedRequest, paginated_response, validated
from botopia_meta.exceptions import RolePermissionDenied
from orgs import selectors, services
from orgs.models import Membership
from orgs.permissions import role_allows
from orgs.serializers import (
    AuditEntrySerializer,
    AuditListSerializer,
    AuditQuerySerializer,
    InvitationCreatedSerializer,
    InvitationListSerializer,
    InvitationSerializer,
    InvitationWriteSerializer,
    MemberListSerializer,
    MemberSerializer,
    OrganizationListSerializer,
    OrganizationSerializer,
    OrganizationWriteSerializer,
    RoleSerializer,
)


def _membership(request: AuthedRequest, permission: str | None = None) -> Membership:
    """The caller's membership of the URL's organization, resolved and checked against
    orgs.permissions.ENDPOINTS before the view ran (a non-member got 404); `permission`: one
    more this call needs (a member leaving needs none, removing someone else members.manage)."""
    membership = request.membership
    if permission is not None and not role_allows(membership.role, permission):
        raise RolePermissionDenied(permission, membership.role)
    return membership


def _deleted(name: str, flag: str):
    return inline_serializer(name, {"id": serializers.CharField(), flag: serializers.BooleanField()})


class OrganizationListView(APIView):
    @extend_schema(
        operation_id="orgs_list",
        responses=OrganizationListSerializer,
        summary="The caller's organizations, their role in each and which is their default",
    )
    def get(self, request: AuthedRequest) -> Response:
        memberships = selectors.memberships_of(user=request.user)
        return Response(OrganizationListSerializer({"organizations": memberships}).data)

    @extend_schema(
        operation_id="orgs_create",
        request=OrganizationWriteSerializer,
        responses={201: OrganizationSerializer},
        summary="Create an organization; the caller is its owner (and it is their default if they had none).",
    )
    def post(self, request: AuthedRequest) -> Response:
        data = validated(OrganizationWriteSerializer, request.data)
        membership = services.organization_create(user=request.user, name=data["name"])
        return Response(OrganizationSerializer(membership).data, status=201)


class OrganizationDetailView(APIView):
    @extend_schema(
        operation_id="orgs_rename",
        request=OrganizationWriteSerializer,
        responses=OrganizationSerializer,
        summary="Rename the organization (owners and admins)",
    )
    def patch(self, request: AuthedRequest, org_id: str) -> Response:
        membership = _membership(request)
        data = validated(OrganizationWriteSerializer, request.data)
        services.organization_rename(actor=membership, name=data["name"])
        return Response(OrganizationSerializer(membership).data)

    @extend_schema(
        operation_id="orgs_delete",
        responses={200: _deleted("OrganizationDeleted", "deleted")},
        summary="Delete the organization (owners): its Meta accounts are disconnected.",
    )
    def delete(self, request: AuthedRequest, org_id: str) -> Response:
        membership = _membership(request)
        services.organization_delete(actor=membership)
        return Response({"id": str(membership.organization_id), "deleted": True})


class OrganizationDefaultView(APIView):
    @extend_schema(
        operation_id="orgs_make_default",
        request=None,
        responses=OrganizationSerializer,
        summary="Make this the organization requests act on without X-Organization-Id.",
    )
    def post(self, request: AuthedRequest, org_id: str) -> Response:
        membership = _membership(request)
        return Response(OrganizationSerializer(services.membership_make_default(membership=membership)).data)


class MemberListView(APIView):
    @extend_schema(
        operation_id="orgs_members_list",
        responses=MemberListSerializer,
        summary="The members and their roles",
    )
    def get(self, request: AuthedRequest, org_id: str) -> Response:
        membership = _membership(request)
        members = selectors.member_list(organization=membership.organization)
        return paginated_response(request, members, key="members", serializer_class=MemberSerializer)


class MemberDetailView(APIView):
    @extend_schema(
        operation_id="orgs_members_update",
        request=RoleSerializer,
        responses=MemberSerializer,
        summary="Change a member's role (only owners touch owners; the last owner stays)",
    )
    def patch(self, request: AuthedRequest, org_id: str, user_id: str) -> Response:
        actor = _membership(request)
        member = selectors.member_get(organization=actor.organization, user_id=user_id)
        data = validated(RoleSerializer, request.data)
        member = services.member_role_change(actor=actor, member=member, role=data["role"])
        return Response(MemberSerializer(member).data)

    @extend_schema(
        operation_id="orgs_members_remove",
        responses={200: _deleted("MemberRemoved", "removed")},
        summary="Remove a member; any member may remove themself (leave).",
    )
    def delete(self, request: AuthedRequest, org_id: str, user_id: str) -> Response:
        leaving = user_id == str(request.user.pk)
        actor = _membership(request, None if leaving else "members.manage")
        member = selectors.member_get(organization=actor.organization, user_id=user_id)
        services.member_remove(actor=actor, member=member)
        return Response({"id": str(member.user_id), "removed": True})


class InvitationListView(APIView):
    @extend_schema(
        operation_id="orgs_invitations_list",
        responses=InvitationListSerializer,
        summary="Pending invitations, newest first",
    )
    def get(self, request: AuthedRequest, org_id: str) -> Response:
        membership = _membership(request)
        invitations = selectors.invitations_pending(organization=membership.organization).select_related(
            "invited_by"
        )
        return paginated_response(
            request, invitations, key="invitations", serializer_class=InvitationSerializer
        )

    @extend_schema(
        operation_id="orgs_invitations_create",
        request=InvitationWriteSerializer,
        responses={201: InvitationCreatedSerializer},
        summary="Invite by email; the accept URL is answered (and emailed when email is configured).",
    )
    def post(self, request: AuthedRequest, org_id: str) -> Response:
        membership = _membership(request)
        data = validated(InvitationWriteSerializer, request.data)
        sent = services.invitation_create(actor=membership, email=data["email"], role=data["role"])
        return Response(InvitationCreatedSerializer(sent).data, status=201)


class InvitationDetailView(APIView):
    @extend_schema(
        operation_id="orgs_invitations_revoke",
        responses={200: _deleted("InvitationRevoked", "revoked")},
        summary="Revoke a pending invitation: its link stops working",
    )
    def delete(self, request: AuthedRequest, org_id: str, invitation_id: str) -> Response:
        membership = _membership(request)
        invitation = selectors.invitation_get(
            organization=membership.organization, invitation_id=invitation_id
        )
        services.invitation_revoke(actor=membership, invitation=invitation)
        return Response({"id": str(invitation.pk), "revoked": True})


class InvitationAcceptView(APIView):
    # Guessing tokens is bounded by the strict rate (API_RATE_LIMIT_LOGIN per user).
    throttle_scope = "invitation"

    @extend_schema(
        operation_id="invitations_accept",
        request=None,
        responses={201: OrganizationSerializer},
        summary="Join an organization with the invitation's role (the caller's email must match).",
    )
    def post(self, request: AuthedRequest, token: str) -> Response:
        membership = services.invitation_accept(user=request.user, token=token)
        return Response(OrganizationSerializer(membership).data, status=201)


class AuditListView(APIView):
    @extend_schema(
        operation_id="orgs_audit_list",
        parameters=[AuditQuerySerializer],
        responses=AuditListSerializer,
        summary="Changes members made, newest first (owners and admins).",
    )
    def get(self, request: AuthedRequest, org_id: str) -> Response:
        membership = _membership(request)
        query = validated(AuditQuerySerializer, request.query_params)
        entries = selectors.audit_list(
            organization=membership.organization,
            actor_id=query.get("actor"),
            action=query.get("action"),
            date_from=query.get("from"),
            date_to=query.get("to"),
        )
        return paginated_response(request, entries, key="entries", serializer_class=AuditEntrySerializer)

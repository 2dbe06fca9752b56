"""Helpers shared by the apps' DRF views."""

from typing import TYPE_CHECKING

from django.contrib.auth.models import User
from django.db.models import QuerySet
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer

from botopia_meta.api.pagination import EnvelopePagination

if TYPE_CHECKING:
    from orgs.models import Membership, Organization


class AuthedRequest(Request):
    """A request past authentication: every /api/ view but the token endpoint requires a user
    (IsAuthenticated is the default permission), so `request.user` is a User, never anonymous.

    `org` and `membership` are the organization the request acts on and the caller's membership
    of it, set by orgs.permissions.OrganizationPermission for every endpoint whose permission
    (orgs.permissions.ENDPOINTS) needs an organization.

    Only an annotation for the type checker: DRF still builds a plain Request.
    """

    user: User  # narrows Request.user (User | AnonymousUser); no attribute is created
    org: "Organization"
    membership: "Membership"


def paginated_response(
    request: Request, queryset: QuerySet, *, key: str, serializer_class: type[Serializer], context=None
) -> Response:
    """{<key>: [...], "pagination": {"total", "totalEstimated", "limit", "offset", "nextOffset",
    "nextCursor"}} over our own table, by `cursor` or `offset` (botopia_meta.api.pagination)."""
    page, pagination = EnvelopePagination().paginate(queryset, request)
    items = serializer_class(page, many=True, context=context or {"request": request}).data
    return Response({key: items, "pagination": pagination})


def validated(serializer_class: type[Serializer], data, **kwargs) -> dict:
    """Run a serializer on input; a failure raises ValidationError (400 VALIDATION_ERROR)."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data

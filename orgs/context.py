"""Which organization a request acts on, and as which member.

In order: the `org_id` of the URL (the members API, /api/orgs/<org_id>/…), else the
`X-Organization-Id` header, else the caller's default membership (is_default; without one,
the earliest joined). A malformed id, an organization the caller is not a member of (a removed
member included) or a deleted one is 404 NOT_FOUND, as for any foreign object; a caller who is
a member of none gets 409 NO_ORGANIZATION.

`orgs.permissions.OrganizationPermission` calls `resolve` for every /api/ view that needs an
organization and sets `request.org` and `request.membership`.
"""

from django.contrib.auth.models import User

from botopia_meta.api.ids import uuid_or_404
from botopia_meta.exceptions import NoOrganization, NotFound
from orgs.models import Membership
from orgs.selectors import memberships_of

HEADER = "X-Organization-Id"


def membership_for(*, user: User, org_id: object) -> Membership:
    """The caller's membership of organization `org_id`: 404 when malformed, foreign or deleted."""
    pk = uuid_or_404(str(org_id), "organization")
    membership = memberships_of(user=user).filter(organization_id=pk).first()
    if membership is None:
        raise NotFound("No such organization.")
    return membership


def default_membership(*, user: User) -> Membership:
    """The membership a request without a header acts on: 409 NO_ORGANIZATION when none."""
    membership = memberships_of(user=user).order_by("-is_default", "created_at", "pk").first()
    if membership is None:
        raise NoOrganization()
    return membership


def resolve(*, user: User, url_org_id: object | None, header: str | None) -> Membership:
    if url_org_id is not None:
        return membership_for(user=user, org_id=url_org_id)
    if header is not None:
        return membership_for(user=user, org_id=header.strip())
    return default_membership(user=user)

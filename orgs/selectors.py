"""Reads of organizations, members, invitations and the audit log. Which organization a request
acts on, and whether the caller is a member, is decided by orgs.context (404 otherwise)."""

from datetime import UTC, date, datetime, time, timedelta

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils import timezone

from botopia_meta.api.ids import uuid_or_404
from botopia_meta.exceptions import NotFound
from orgs.models import AuditEntry, Invitation, Membership, Organization


def memberships_of(*, user: User) -> QuerySet[Membership]:
    """The caller's memberships in organizations that still exist, the first joined first."""
    return (
        Membership.objects.filter(user=user, organization__deleted_at__isnull=True)
        .select_related("organization")
        .order_by("created_at", "pk")
    )


def member_list(*, organization: Organization) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .order_by("created_at", "pk")
    )


def member_get(*, organization: Organization, user_id: str) -> Membership:
    """A member of the organization by user id; anyone else (or a malformed id) is 404."""
    try:
        return member_list(organization=organization).get(user_id=int(user_id))
    except (ValueError, Membership.DoesNotExist):
        raise NotFound("No such member.") from None


def invitations_pending(*, organization: Organization, now: datetime | None = None) -> QuerySet[Invitation]:
    """Invitations not accepted, revoked or expired, newest first."""
    return Invitation.objects.filter(
        organization=organization,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=now or timezone.now(),
    ).order_by("-created_at", "-pk")


def invitation_get(*, organization: Organization, invitation_id: str) -> Invitation:
    """A pending invitation of the organization; anything else is 404."""
    invitation = (
        invitations_pending(organization=organization)
        .filter(pk=uuid_or_404(invitation_id, "invitation"))
        .first()
    )
    if invitation is None:
        raise NotFound("No such invitation.")
    return invitation


def invitation_by_token(*, token: str) -> Invitation:
    """The invitation a token opens, whatever its state (the service says why it can't be
    used); an unknown token is 404. Only the token's hash is stored and looked up."""
    invitation = (
        Invitation.objects.select_related("organization")
        .filter(token_hash=Invitation.hash_token(token), organization__deleted_at__isnull=True)
        .first()
    )
    if invitation is None:
        raise NotFound("No such invitation.")
    return invitation


def audit_list(
    *,
    organization: Organization,
    actor_id: int | None = None,
    action: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[AuditEntry]:
    """The organization's audit entries, newest first; dates are whole UTC days, both included."""
    entries = AuditEntry.objects.filter(organization=organization)
    if actor_id is not None:
        entries = entries.filter(actor_id=actor_id)
    if action:
        entries = entries.filter(action=action)
    if date_from is not None:
        entries = entries.filter(created_at__gte=datetime.combine(date_from, time.min, tzinfo=UTC))
    if date_to is not None:
        entries = entries.filter(
            created_at__lt=datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=UTC)
        )
    return entries.select_related("actor").order_by("-created_at", "-id")

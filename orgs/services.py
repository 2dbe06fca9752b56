"""Changes to organizations, members and invitations. Each writes its audit entry in the same
transaction as the change (orgs.audit).

Role rules beyond the per-endpoint permission (orgs.permissions):
- an organization always keeps an owner: the last one can't be removed, demoted or leave;
- only an owner makes, changes, removes or invites owners (an admin gets 403);
- nobody raises their own role.
"""

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from botopia_meta.exceptions import NotFound, RolePermissionDenied
from orgs import selectors
from orgs.audit import Action, record
from orgs.exceptions import (
    AlreadyMember,
    InvitationEmailMismatch,
    InvitationExpired,
    InvitationUsed,
    LastOwner,
)
from orgs.models import Invitation, Membership, Organization, Role
from orgs.permissions import role_allows

logger = logging.getLogger(__name__)

INVITATION_LIFETIME = timedelta(days=7)
# Higher may do more; nobody moves themself up this ladder.
RANK = {Role.VIEWER: 0, Role.AGENT: 1, Role.ADMIN: 2, Role.OWNER: 3}
DUMMY_EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"


def _locked(actor: Membership, member: Membership) -> tuple[Membership, Membership, int]:
    """Inside the caller's transaction: every membership of the organization locked (in id
    order, so concurrent changes queue rather than deadlock), and the actor's and the member's
    rows as they are now, with the number of owners. Role rules run on these, never on rows
    read before the transaction: two owners demoting each other, or an admin removing a member
    just made owner, must not leave the organization without one. A row gone since is a 404."""
    rows = {
        row.pk: row
        for row in Membership.objects.select_for_update()
        .filter(organization_id=member.organization_id)
        .order_by("pk")
    }
    now_actor, now_member = rows.get(actor.pk), rows.get(member.pk)
    if now_actor is None or now_member is None:
        raise NotFound("No such member.")
    for now, then in ((now_actor, actor), (now_member, member)):
        now.organization, now.user = then.organization, then.user
    return now_actor, now_member, sum(row.role == Role.OWNER for row in rows.values())


def _require_manager(actor: Membership) -> None:
    """The actor may still manage members (their role may have changed since the request began)."""
    if not role_allows(actor.role, "members.manage"):
        raise RolePermissionDenied("members.manage", actor.role)


def _revoke_ungrantable(member: Membership, *, role: str | None) -> None:
    """Pending invitations `member` sent that they could no longer send with `role` (None: they
    left) stop working: an invitation never outlives its inviter's authority."""
    now = timezone.now()
    pending = selectors.invitations_pending(organization=member.organization, now=now).filter(
        invited_by_id=member.user_id
    )
    if role == Role.ADMIN:
        pending = pending.filter(role=Role.OWNER)
    elif role == Role.OWNER:
        return
    pending.update(revoked_at=now, updated_at=now)


def _require_owner_for(actor: Membership, *, role: str, what: str) -> None:
    if role == Role.OWNER and actor.role != Role.OWNER:
        raise RolePermissionDenied("members.manage_owners", actor.role, f"Only an owner can {what} an owner.")


def _next_default(user_id: int) -> None:
    """Give the user a default organization again (the first joined) when they have none."""
    memberships = Membership.objects.filter(user_id=user_id, organization__deleted_at__isnull=True)
    if memberships.filter(is_default=True).exists():
        return
    first = memberships.order_by("created_at", "pk").first()
    if first is not None:
        Membership.objects.filter(pk=first.pk).update(is_default=True)


def organization_create(*, user: User, name: str) -> Membership:
    """A new organization with the caller as its owner; their default if they had none."""
    with transaction.atomic():
        organization = Organization.objects.create(name=name)
        has_default = selectors.memberships_of(user=user).filter(is_default=True).exists()
        membership = Membership.objects.create(
            user=user, organization=organization, role=Role.OWNER, is_default=not has_default
        )
        record(user, Action.ORGANIZATION_CREATE, organization, organization=organization, name=name)
    return membership


def organization_rename(*, actor: Membership, name: str) -> Organization:
    organization = actor.organization
    old = organization.name
    if name == old:
        return organization
    with transaction.atomic():
        organization.name = name
        organization.save(update_fields=["name", "updated_at"])
        record(
            actor.user, Action.ORGANIZATION_RENAME, organization, organization=organization, old=old, new=name
        )
    return organization


def organization_delete(*, actor: Membership) -> None:
    """Soft-delete the organization: its Meta accounts are disconnected first (revoked at Meta
    and their tokens forgotten, exactly as POST /api/meta/auth/disconnect does), then every
    member whose default it was gets their next organization as default."""
    from accounts.models import MetaAccount
    from accounts.services import account_disconnect

    organization = actor.organization
    # One account at a time, outside the transaction: each is a call to Meta, and one that
    # fails leaves the others disconnected and the organization in place to try again.
    for account in MetaAccount.objects.filter(organization=organization):
        account_disconnect(account=account)
    with transaction.atomic():
        record(actor.user, Action.ORGANIZATION_DELETE, organization, organization=organization)
        organization.soft_delete()
        defaults = list(
            Membership.objects.filter(organization=organization, is_default=True).values_list(
                "user_id", flat=True
            )
        )
        Membership.objects.filter(organization=organization, is_default=True).update(is_default=False)
        for user_id in defaults:
            _next_default(user_id)


def membership_make_default(*, membership: Membership) -> Membership:
    with transaction.atomic():
        list(Membership.objects.select_for_update().filter(user_id=membership.user_id).values_list("pk"))
        Membership.objects.filter(user_id=membership.user_id, is_default=True).exclude(
            pk=membership.pk
        ).update(is_default=False)
        Membership.objects.filter(pk=membership.pk).update(is_default=True)
    membership.is_default = True
    return membership


def member_role_change(*, actor: Membership, member: Membership, role: str) -> Membership:
    with transaction.atomic():
        actor, member, owners = _locked(actor, member)
        if role == member.role:
            return member
        if member.user_id == actor.user_id and RANK[Role(role)] > RANK[Role(member.role)]:
            raise RolePermissionDenied("members.manage", actor.role, "Nobody can raise their own role.")
        _require_manager(actor)
        _require_owner_for(actor, role=member.role, what="change")
        _require_owner_for(actor, role=role, what="make someone")
        if member.role == Role.OWNER and owners <= 1:
            raise LastOwner()
        old = member.role
        member.role = role
        member.save(update_fields=["role", "updated_at"])
        _revoke_ungrantable(member, role=role)
        record(
            actor.user,
            Action.MEMBER_ROLE_CHANGE,
            member.user,
            organization=member.organization,
            old_role=old,
            new_role=role,
        )
    return member


def member_remove(*, actor: Membership, member: Membership) -> None:
    """Remove a member, or leave (a member removing themself, whatever their role). Their next
    request on the organization is a 404."""
    leaving = member.user_id == actor.user_id
    with transaction.atomic():
        actor, member, owners = _locked(actor, member)
        if not leaving:
            _require_manager(actor)
            _require_owner_for(actor, role=member.role, what="remove")
        if member.role == Role.OWNER and owners <= 1:
            raise LastOwner("The last owner can't leave or be removed: make another member owner first.")
        _revoke_ungrantable(member, role=None)
        record(
            actor.user,
            Action.MEMBER_LEAVE if leaving else Action.MEMBER_REMOVE,
            member.user,
            organization=member.organization,
            role=member.role,
        )
        member.delete()
        if member.is_default:
            _next_default(member.user_id)


@dataclass
class SentInvitation:
    invitation: Invitation
    accept_url: str  # holds the token: shown once, to the inviter
    emailed: bool


def emails_configured() -> bool:
    return settings.EMAIL_BACKEND != DUMMY_EMAIL_BACKEND


def _accept_url(token: str) -> str:
    return f"{settings.FRONTEND_URL}/invitations/{token}"


def _email_invitation(invitation: Invitation, accept_url: str, inviter: User) -> bool:
    """Best effort: a mail server that fails doesn't undo the invitation, whose URL the inviter
    has anyway."""
    if not emails_configured():
        return False
    organization = invitation.organization.name
    inviter_name = inviter.get_full_name() or inviter.get_username()
    try:
        send_mail(
            subject=f"{inviter_name} invited you to {organization} on Botopia",
            message=(
                f"You are invited to join {organization} on Botopia as {invitation.role}.\n\n"
                f"Accept within 7 days: {accept_url}\n"
            ),
            from_email=None,
            recipient_list=[invitation.email],
        )
    except Exception:  # an SMTP error, a timeout, a refused address: all mean "not emailed"
        logger.warning("Invitation %s could not be emailed", invitation.pk, exc_info=True)
        return False
    return True


def invitation_create(*, actor: Membership, email: str, role: str) -> SentInvitation:
    """Invite `email` with `role`. A pending invitation to the same address is replaced (its
    link stops working); an address that already belongs to a member is 409 ALREADY_MEMBER."""
    organization = actor.organization
    _require_owner_for(actor, role=role, what="invite")
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise AlreadyMember()
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        replaced = selectors.invitations_pending(organization=organization, now=now).filter(
            email__iexact=email
        )
        if actor.role != Role.OWNER and replaced.filter(role=Role.OWNER).exists():
            # replacing it would revoke an owner's invitation, which only an owner may do
            raise RolePermissionDenied(
                "members.manage_owners", actor.role, "Only an owner can replace an invitation of an owner."
            )
        replaced.update(revoked_at=now, updated_at=now)
        invitation = Invitation.objects.create(
            organization=organization,
            email=email,
            role=role,
            token_hash=Invitation.hash_token(token),
            invited_by=actor.user,
            expires_at=now + INVITATION_LIFETIME,
        )
        record(
            actor.user, Action.INVITATION_SEND, invitation, organization=organization, email=email, role=role
        )
    accept_url = _accept_url(token)
    return SentInvitation(invitation, accept_url, _email_invitation(invitation, accept_url, actor.user))


def invitation_revoke(*, actor: Membership, invitation: Invitation) -> None:
    _require_owner_for(actor, role=invitation.role, what="revoke an invitation of")
    _revoke(invitation, by=actor.user)


def invitation_revoke_by_staff(*, staff: User, invitation: Invitation) -> bool:
    """From the staff console; False when it was no longer pending."""
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        return False
    _revoke(invitation, by=staff, by_staff=True)
    return True


def _revoke(invitation: Invitation, *, by: User, **details: bool) -> None:
    with transaction.atomic():
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at", "updated_at"])
        record(
            by,
            Action.INVITATION_REVOKE,
            invitation,
            organization=invitation.organization,
            email=invitation.email,
            role=invitation.role,
            **details,
        )


def invitation_accept(*, user: User, token: str) -> Membership:
    """Join the invitation's organization with its role (the caller's default organization if
    they had none). Single use: the invitation row is locked, so two clicks make one member."""
    found = selectors.invitation_by_token(token=token)
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().select_related("organization").get(pk=found.pk)
        if invitation.revoked_at is not None:
            raise NotFound("No such invitation.")
        if invitation.accepted_at is not None:
            raise InvitationUsed()
        if invitation.expires_at <= timezone.now():
            raise InvitationExpired()
        if not user.email or user.email.casefold() != invitation.email.casefold():
            raise InvitationEmailMismatch()
        organization = invitation.organization
        if Membership.objects.filter(organization=organization, user=user).exists():
            raise AlreadyMember("You are already a member of this organization.")
        has_default = selectors.memberships_of(user=user).filter(is_default=True).exists()
        membership = Membership.objects.create(
            user=user, organization=organization, role=invitation.role, is_default=not has_default
        )
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by", "updated_at"])
        record(user, Action.INVITATION_ACCEPT, invitation, organization=organization, role=invitation.role)
    return membership

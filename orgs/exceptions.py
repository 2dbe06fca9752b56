"""Errors of managing organizations, members and invitations; the API's handler envelopes them."""

from botopia_meta.exceptions import ApiError, Conflict


class RoleForbidden(ApiError):
    """The caller's role may not do this to this member (an admin touching an owner, anyone
    raising their own role). Same code as a refused permission: the frontend shows one message."""

    status_code = 403
    code = "PERMISSION_DENIED"
    default_message = "Your role does not allow this."

    def __init__(self, message: str, *, permission: str, role: str, **details: str):
        super().__init__(message, details={"permission": permission, "role": role, **details})


class LastOwner(Conflict):
    code = "LAST_OWNER"
    default_message = "An organization needs an owner: make another member owner first."


class AlreadyMember(Conflict):
    code = "ALREADY_MEMBER"
    default_message = "This person is already a member of the organization."


class InvitationExpired(ApiError):
    status_code = 410
    code = "INVITATION_EXPIRED"
    default_message = "This invitation has expired: ask for a new one."


class InvitationEmailMismatch(ApiError):
    status_code = 403
    code = "INVITATION_EMAIL_MISMATCH"
    default_message = "This invitation was sent to another email address: log in with that account."


class InvitationUsed(Conflict):
    code = "INVITATION_USED"
    default_message = "This invitation was already accepted."

"""Errors of managing organizations, members and invitations; the API's handler envelopes them."""

from botopia_meta.exceptions import ApiError, Conflict


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

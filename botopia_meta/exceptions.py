"""Domain exceptions. Services raise these; the API's exception handler turns each into the
contract's error envelope (see botopia_meta/api/errors.py)."""

from typing import Any


class ApiError(Exception):
    status_code = 400
    code = "BAD_REQUEST"
    default_message = "The request could not be processed."

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None):
        self.message = message or self.default_message
        self.details = details or {}
        super().__init__(self.message)


class ValidationFailed(ApiError):
    """A request that is well-formed but breaks a rule. `details` names the field(s)."""

    status_code = 400
    code = "VALIDATION_ERROR"
    default_message = "The request is invalid."


class PayloadTooLarge(ApiError):
    status_code = 413
    code = "PAYLOAD_TOO_LARGE"
    default_message = "The request body is too large."


class NotFound(ApiError):
    status_code = 404
    code = "NOT_FOUND"
    default_message = "Not found."


class Conflict(ApiError):
    status_code = 409
    code = "CONFLICT"
    default_message = "The request conflicts with the current state."


class AccountNotConnected(Conflict):
    code = "ACCOUNT_NOT_CONNECTED"
    default_message = "No Meta account is connected. Connect one first (POST /api/meta/auth/connect)."


class OutsideServiceWindow(Conflict):
    code = "OUTSIDE_SERVICE_WINDOW"
    default_message = (
        "The contact has not written in the last 24 hours: only an approved template can be sent."
    )


class MissingMetaPermission(ApiError):
    status_code = 403
    code = "MISSING_META_PERMISSION"
    default_message = "The connected Meta account lacks a permission this action needs."

    def __init__(self, missing: list[str], message: str | None = None):
        super().__init__(
            message or f"The connected Meta account lacks: {', '.join(missing)}. Reconnect and grant it.",
            details={"missing": missing},
        )


class NoOrganization(Conflict):
    code = "NO_ORGANIZATION"
    default_message = "You are not a member of any organization: create one or accept an invitation."


class RolePermissionDenied(ApiError):
    """The caller's role in the organization does not allow this action."""

    status_code = 403
    code = "PERMISSION_DENIED"
    default_message = "Your role in this organization does not allow this action."

    def __init__(self, permission: str, role: str | None, message: str | None = None):
        super().__init__(
            message or f"Your role ({role or 'none'}) does not allow {permission}.",
            details={"permission": permission, "role": role},
        )

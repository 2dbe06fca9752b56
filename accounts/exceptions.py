"""Errors of connecting and keeping a Meta account; the API's handler envelopes them."""

from botopia_meta.exceptions import ApiError


class MetaAuthFailed(ApiError):
    """Meta refused the code or token offered at connect time; nothing was stored."""

    status_code = 400
    code = "META_AUTH_FAILED"
    default_message = "Meta did not accept this login: try connecting again."


class MetaTokenExpired(ApiError):
    """Meta no longer accepts the account's token; the account is marked for re-login."""

    status_code = 401
    code = "META_TOKEN_EXPIRED"
    default_message = "Meta no longer accepts this account's token: reconnect it."

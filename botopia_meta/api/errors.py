"""One exception handler, so that every error under /api/ is the contract's envelope:
{"success": false, "error": {"code", "message", "details"}}."""

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from redis.exceptions import RedisError
from rest_framework import exceptions as drf
from rest_framework.response import Response

from botopia_meta import graph
from botopia_meta.exceptions import ApiError, PayloadTooLarge

logger = logging.getLogger(__name__)


def envelope(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"success": False, "error": {"code": code, "message": message, "details": details or {}}}


def error_response(status: int, code: str, message: str, details: dict | None = None) -> JsonResponse:
    """The envelope for plain Django views (webhook receiver, 404/500 handlers)."""
    return JsonResponse(envelope(code, message, details), status=status)


def _graph_error(exc: graph.GraphError) -> tuple[int, str, str, dict, float | None]:
    details = exc.details()
    if isinstance(exc, graph.GraphTokenExpired):
        return (
            401,
            "META_TOKEN_EXPIRED",
            "Meta no longer accepts this account's token: reconnect it.",
            details,
            None,
        )
    if isinstance(exc, graph.GraphPermissionError):
        return 403, "MISSING_META_PERMISSION", "Meta refused: the account lacks a permission.", details, None
    if isinstance(exc, graph.GraphRateLimited | graph.GraphUnavailable):
        return (
            503,
            "META_UNAVAILABLE",
            "Meta is unavailable or throttling us; try again shortly.",
            details,
            (exc.retry_after),
        )
    return 502, "META_API_ERROR", exc.user_title or "Meta rejected the request.", details, None


_DRF_CODES: list[tuple[type[Exception], str]] = [
    (drf.ParseError, "MALFORMED_JSON"),
    (drf.NotAuthenticated, "AUTHENTICATION_REQUIRED"),
    (drf.AuthenticationFailed, "AUTHENTICATION_REQUIRED"),
    (drf.PermissionDenied, "PERMISSION_DENIED"),
    (drf.NotFound, "NOT_FOUND"),
    (drf.MethodNotAllowed, "METHOD_NOT_ALLOWED"),
    (drf.NotAcceptable, "NOT_ACCEPTABLE"),
    (drf.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE"),
    (drf.Throttled, "RATE_LIMITED"),
    (drf.ValidationError, "VALIDATION_ERROR"),
]


def exception_handler(exc: Exception, context: dict) -> Response:
    headers: dict[str, str] = {}
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge(f"The request body exceeds {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.")

    if isinstance(exc, ApiError):
        status, code, message, details = exc.status_code, exc.code, exc.message, exc.details
    elif isinstance(exc, graph.GraphError):
        status, code, message, details, retry_after = _graph_error(exc)
        if retry_after:
            headers["Retry-After"] = str(max(1, round(retry_after)))
        logger.warning("Meta error surfaced to client: %s code=%s", code, exc.code)
    elif isinstance(exc, drf.APIException):
        status = exc.status_code
        code = next((name for cls, name in _DRF_CODES if isinstance(exc, cls)), "ERROR")
        if isinstance(exc, drf.ValidationError):
            message = "The request is invalid."
            details = exc.detail if isinstance(exc.detail, dict) else {"nonFieldErrors": exc.detail}
        else:
            message = str(exc.detail)
            details = {}
        wait = getattr(exc, "wait", None)  # Throttled's; its stubs leave it out
        if isinstance(exc, drf.Throttled) and wait is not None:
            headers["Retry-After"] = str(max(1, round(wait)))
            details = {"retryAfter": max(1, round(wait))}
        if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
            headers["WWW-Authenticate"] = 'Token realm="api"'
            status = 401
    elif isinstance(exc, RedisError | OperationalError | InterfaceError):
        # Redis or PostgreSQL unreachable: nothing the client did wrong, and worth a retry.
        logger.exception("Dependency unavailable in %s", context.get("view").__class__.__name__)
        status, code, details = 503, "SERVICE_UNAVAILABLE", {}
        message = "A service we depend on is briefly unavailable; retry shortly."
        headers["Retry-After"] = "5"
    else:
        logger.exception("Unhandled error in %s", context.get("view").__class__.__name__)
        status, code, message, details = 500, "INTERNAL_ERROR", "Something went wrong on our side.", {}
    return Response(envelope(code, message, details), status=status, headers=headers)


def api_handler404(request: HttpRequest, exception: Exception | None = None):
    if request.path.startswith("/api/"):
        return error_response(404, "NOT_FOUND", "No such endpoint.")
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def api_handler500(request: HttpRequest):
    if request.path.startswith("/api/"):
        return error_response(500, "INTERNAL_ERROR", "Something went wrong on our side.")
    from django.views.defaults import server_error

    return server_error(request)

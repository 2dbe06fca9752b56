"""Meta's webhook endpoint: a plain Django view, because the signature must be checked on the
raw bytes before anything parses them, and because it must answer Meta within seconds.

GET is Meta's subscription handshake; POST is a delivery. A delivery is stored in one INSERT
and its id enqueued after commit; the answer never waits for processing."""

import hashlib
import hmac
import logging
import re

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from botopia_meta.api.errors import error_response
from webhooks import selectors, services

logger = logging.getLogger(__name__)

_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
# Meta's challenge is a number; anything printable and short is echoed, nothing else.
_CHALLENGE = re.compile(r"[\x21-\x7e]{1,256}")
_STORED = b'{"success": true, "data": {}}'


@csrf_exempt
def webhook_events(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _handshake(request)
    if request.method == "POST":
        return _delivery(request)
    response = error_response(405, "METHOD_NOT_ALLOWED", f"Method {request.method} is not allowed here.")
    response["Allow"] = "GET, POST"
    return response


def _handshake(request: HttpRequest) -> HttpResponse:
    mode = request.GET.get("hub.mode")
    token = request.GET.get("hub.verify_token")
    challenge = request.GET.get("hub.challenge")
    missing = {
        name: ["This parameter is required."]
        for name, value in (("hub.mode", mode), ("hub.verify_token", token), ("hub.challenge", challenge))
        if not value
    }
    if not (mode and token and challenge):  # i.e. `missing`, spelled so the three narrow to str
        return error_response(400, "VALIDATION_ERROR", "The handshake parameters are missing.", missing)
    if mode != "subscribe":
        return error_response(
            400, "VALIDATION_ERROR", "Unsupported hub.mode.", {"hub.mode": ["Must be 'subscribe'."]}
        )
    if not _CHALLENGE.fullmatch(challenge):
        return error_response(
            400, "VALIDATION_ERROR", "Malformed hub.challenge.", {"hub.challenge": ["Unexpected characters."]}
        )
    if not selectors.verify_token_matches(token=token):
        logger.warning("Webhook handshake refused: unknown verify token")
        return error_response(403, "INVALID_VERIFY_TOKEN", "The verify token does not match.")
    response = HttpResponse(challenge, content_type="text/plain; charset=utf-8")
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _read_body(request: HttpRequest, cap: int) -> bytes | None:
    """The raw body, at most `cap` bytes; None when it is larger."""
    if request.META.get("CONTENT_LENGTH"):
        # Django bounds its stream by CONTENT_LENGTH (checked against the cap by the caller).
        body = request.read(cap + 1)
    elif "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
        # No length: Django's stream would read nothing, so read the server's (de-chunked)
        # input directly, never more than one byte past the cap.
        body = request.META["wsgi.input"].read(cap + 1)
    else:
        body = b""
    return None if len(body) > cap else body


def signature_valid(body: bytes, header: str) -> bool:
    match = _SIGNATURE.fullmatch(header)
    if not match:
        return False
    given = match.group(1).lower().encode()
    valid = False
    for secret in settings.META_APP_SECRETS:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode()
        # No early exit: the time taken does not tell which secret (if any) matched.
        valid |= hmac.compare_digest(expected, given)
    return valid


def _delivery(request: HttpRequest) -> HttpResponse:
    cap = settings.WEBHOOK_MAX_BODY_BYTES
    raw_length = request.META.get("CONTENT_LENGTH") or ""
    if raw_length:
        try:
            length = int(raw_length)
        except ValueError:
            return error_response(400, "BAD_REQUEST", "Malformed Content-Length.")
        if length > cap:
            return error_response(413, "PAYLOAD_TOO_LARGE", f"The body exceeds {cap} bytes.")
    header = request.META.get("HTTP_X_HUB_SIGNATURE_256", "")
    if not header:
        logger.warning("Webhook refused: no X-Hub-Signature-256 header")
        return error_response(401, "SIGNATURE_REQUIRED", "The X-Hub-Signature-256 header is missing.")
    try:
        body = _read_body(request, cap)
    except OSError:  # the client went away mid-body (UnreadablePostError is an OSError)
        return error_response(400, "BAD_REQUEST", "The body could not be read.")
    if body is None:
        return error_response(413, "PAYLOAD_TOO_LARGE", f"The body exceeds {cap} bytes.")
    if not signature_valid(body, header):
        logger.warning("Webhook refused: invalid signature (%d bytes)", len(body))
        return error_response(403, "INVALID_SIGNATURE", "The X-Hub-Signature-256 signature does not match.")
    try:
        services.webhook_event_record(raw_body=body)
    except DatabaseError:
        logger.exception("Webhook not stored: database error; Meta will retry")
        return error_response(503, "STORAGE_UNAVAILABLE", "The event could not be stored; retry later.")
    return HttpResponse(_STORED, content_type="application/json")

"""Guessing credentials costs something: failed logins are counted per IP and per username,
failed API-token authentications per IP, and past the limit every attempt is refused (even
with the right password) until the window passes.

Only failures are counted, in the shared cache (Redis in production) with django-ratelimit's
fixed windows. When Redis is down nothing is counted and nothing is refused (the API's general
rate limit fails open the same way): an outage must not lock every user out.

A per-username limit lets a stranger lock a known username out for one window; that is the
price of stopping a slow, distributed guess at one account, and the window is short."""

import logging

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django_ratelimit.core import get_usage
from redis.exceptions import RedisError
from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, Throttled

logger = logging.getLogger(__name__)

# One text for every bad API credential: which part was wrong (unknown token, inactive user,
# malformed header) is nobody's business.
BAD_CREDENTIALS = "Invalid credentials."


def _ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _usage(request: HttpRequest, group: str, value: str, rate: str, increment: bool) -> dict | None:
    try:
        return get_usage(
            request, group=group, key=lambda _group, _request: value, rate=rate, increment=increment
        )
    except (RedisError, OSError):
        logger.warning("Rate-limit cache unavailable; authentication failure not counted")
        return None


def _counters(request: HttpRequest, username: str | None) -> list[tuple[str, str, str]]:
    counters = [("auth-fail:ip", _ip(request), settings.AUTH_FAILURE_LIMIT_IP)]
    if username is not None:
        # Case-folded: "Alice" and "alice" are one target for a guesser.
        counters.append(("auth-fail:username", username.casefold(), settings.AUTH_FAILURE_LIMIT_USERNAME))
    return counters


def blocked_for(request: HttpRequest, *, username: str | None = None) -> int | None:
    """Seconds until the IP (and username) may try again, or None when not blocked."""
    waits = []
    for group, value, rate in _counters(request, username):
        usage = _usage(request, group, value, rate, increment=False)
        if usage and usage["count"] >= usage["limit"]:
            waits.append(max(1, int(usage["time_left"])))
    return max(waits) if waits else None


def count_failure(request: HttpRequest, *, username: str | None = None) -> None:
    for group, value, rate in _counters(request, username):
        _usage(request, group, value, rate, increment=True)


class RateLimitedModelBackend(ModelBackend):
    """Django's backend behind the failure limits: the admin login form and POST /api/auth/token
    both authenticate through it."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None or username is None:
            return super().authenticate(request, username=username, password=password, **kwargs)
        wait = blocked_for(request, username=username)
        if wait is not None:
            request.login_blocked_for = wait
            # PermissionDenied stops authenticate() at once: the right password is refused too.
            raise PermissionDenied
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            count_failure(request, username=username)
        return user


class CountedTokenAuthentication(TokenAuthentication):
    """DRF's token authentication, with failures counted per IP (429 past the limit) and one
    401 text whatever was wrong."""

    def authenticate(self, request):
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() != self.keyword.lower().encode():
            return None
        wait = blocked_for(request._request)
        if wait is not None:
            raise Throttled(wait=wait)
        try:
            return super().authenticate(request)
        except AuthenticationFailed:
            count_failure(request._request)
            raise AuthenticationFailed(BAD_CREDENTIALS) from None

"""Our own API's rate limits, counted by django-ratelimit in the shared cache (Redis in
production): per user when authenticated, per IP otherwise. Views may set
`throttle_scope = "login"` (password guessing, counted per IP) or `"invitation"` (invitation
tokens, counted per user) for the strict limit against guessing."""

import logging

from django.conf import settings
from django_ratelimit.core import get_usage
from redis.exceptions import RedisError
from rest_framework.exceptions import Throttled
from rest_framework.permissions import BasePermission
from rest_framework.throttling import BaseThrottle

logger = logging.getLogger(__name__)

STRICT_SCOPES = ("login", "invitation")


def _client_key(group: str, request) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and group != "api:login":
        return f"user:{user.pk}"
    return f"ip:{request.META.get('REMOTE_ADDR', '')}"


class ApiRateThrottle(BaseThrottle):
    def allow_request(self, request, view) -> bool:
        if getattr(request, "_counted_by_rate_limit", False):
            return True
        scope = getattr(view, "throttle_scope", None)
        if scope in STRICT_SCOPES:
            rate = settings.API_RATE_LIMIT_LOGIN
        elif request.user.is_authenticated:
            rate = settings.API_RATE_LIMIT_USER
        else:
            rate = settings.API_RATE_LIMIT_ANON
        try:
            # The underlying Django request carries the user DRF authenticated.
            usage = get_usage(
                request._request,
                group=f"api:{scope or 'default'}",
                key=_client_key,
                rate=rate,
                increment=True,
            )
        except (RedisError, OSError):
            # The counters' cache (Redis) is down: serve the request uncounted rather than
            # refuse every request; limits resume when Redis is back.
            logger.warning("Rate-limit cache unavailable; request not counted")
            usage = None
        self._wait = usage["time_left"] if usage else None
        return not (usage and usage["should_limit"])

    def wait(self) -> float | None:
        return self._wait


class AnonymousRateLimit(BasePermission):
    """DRF checks permissions before throttles, so an anonymous call to a protected endpoint
    would be refused (401) without ever being counted. Listed first among the default
    permissions, this counts anonymous callers per IP. Authenticated callers, and views with
    their own permissions (the token endpoint), are counted by ApiRateThrottle, never twice."""

    def has_permission(self, request, view) -> bool:
        if request.user.is_authenticated:
            return True
        throttle = ApiRateThrottle()
        if not throttle.allow_request(request, view):
            raise Throttled(wait=throttle.wait())
        request._counted_by_rate_limit = True
        return True

"""/healthz: the process answers. /readyz: database, cache and broker reachable."""

import dramatiq
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache() -> None:
    cache.set("readyz", "1", timeout=5)
    if cache.get("readyz") != "1":
        raise RuntimeError("cache did not return what was stored")


def _check_broker() -> None:
    client = getattr(dramatiq.get_broker(), "client", None)  # RedisBroker has a client; stub has none
    if client is not None:
        client.ping()


class HealthMiddleware:
    """/healthz and /readyz answer whatever the Host header says: a load balancer probes by
    IP, which is not in ALLOWED_HOSTS, and Django's host check (CommonMiddleware) would answer
    it 400. Placed before that check; the probes read nothing from the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if request.method in ("GET", "HEAD"):
            probe = PROBES.get(request.path_info)
            if probe is not None:
                return probe(request)
        return self.get_response(request)


def readyz(request: HttpRequest) -> JsonResponse:
    failing = {}
    for name, check in (("database", _check_database), ("cache", _check_cache), ("broker", _check_broker)):
        try:
            check()
        except Exception as exc:
            failing[name] = type(exc).__name__
    if failing:
        return JsonResponse({"status": "unavailable", "failing": failing}, status=503)
    return JsonResponse({"status": "ok"})


PROBES = {"/healthz": healthz, "/readyz": readyz}

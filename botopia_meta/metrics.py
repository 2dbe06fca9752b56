"""Prometheus metrics, correct across processes (gunicorn workers, rundramatiq processes).

Nothing is kept in a process's memory. At scrape time a collector reads:
- the database: webhook events by status, the oldest pending event's age;
- the broker: queue depth and dead-lettered jobs per queue;
- counters that every process adds to in the shared cache (Redis in production): sends by
  number and outcome, the lag of status webhooks, Graph calls by code, circuits opened.

`count()` and `observe()` never raise: a metric must not fail the work it measures.
"""

import contextlib
import hmac
import logging
import threading
import time
from collections.abc import Iterator

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Min
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)

logger = logging.getLogger(__name__)

PREFIX = "metrics"
# Seconds between Meta's timestamp of a status and our applying it.
LAG_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)
_NO_EXPIRY = None


def _redis():
    """The Redis client behind the cache (production), or None (local memory: dev and tests)."""
    backend = getattr(cache, "_cache", None)
    if backend is not None and hasattr(backend, "get_client"):
        return backend.get_client(None, write=True)
    return None


def _hash_key(name: str) -> str:
    return cache.make_key(f"{PREFIX}:{name}")


def _field(labels: tuple[str, ...]) -> str:
    return "|".join(labels)


def _local_add(name: str, field: str, amount: int) -> None:
    """Local-memory cache: one dict per counter (single process, so no lost update matters)."""
    key = f"{PREFIX}:{name}"
    values = cache.get(key) or {}
    values[field] = values.get(field, 0) + amount
    cache.set(key, values, timeout=_NO_EXPIRY)


_held = threading.local()


@contextlib.contextmanager
def batched() -> Iterator[None]:
    """Hold this thread's counts and add them in one round trip when the block ends (a job
    sending several messages counts each send, each Graph call). Nested blocks flush with the
    outermost; an exception still flushes what was counted (the work happened)."""
    if getattr(_held, "increments", None) is not None:
        yield
        return
    _held.increments = []
    try:
        yield
    finally:
        increments, _held.increments = _held.increments, None
        if increments:
            _add_many(increments)


def _add_many(increments: list[tuple[str, tuple[str, ...], int]]) -> None:
    held = getattr(_held, "increments", None)
    if held is not None:
        held.extend(increments)
        return
    try:
        client = _redis()
        if client is None:
            for name, labels, amount in increments:
                _local_add(name, _field(labels), amount)
            return
        # Redis: one hash per counter, one HINCRBY per series, one round trip for them all.
        pipe = client.pipeline(transaction=False)
        for name, labels, amount in increments:
            pipe.hincrby(_hash_key(name), _field(labels), amount)
        pipe.execute()
    except Exception as exc:  # the cache is down: lose the figure, never the work
        logger.debug("metrics not counted: %s", type(exc).__name__)


def count(name: str, *labels: object, amount: int = 1) -> None:
    _add_many([(name, tuple(str(value) for value in labels), amount)])


def observe_status_lags(lags: list[float]) -> None:
    """Status webhooks applied these many seconds after Meta's timestamps: one round trip."""
    buckets: dict[str, int] = {}
    total_ms = 0
    for lag in lags:
        seconds = max(0.0, lag)
        for bound in LAG_BUCKETS:
            if seconds <= bound:
                buckets[str(bound)] = buckets.get(str(bound), 0) + 1
        total_ms += int(seconds * 1000)
    if not lags:
        return
    increments: list[tuple[str, tuple[str, ...], int]] = [
        ("status_lag_bucket", (bound,), n) for bound, n in buckets.items()
    ]
    increments.append(("status_lag_bucket", ("+Inf",), len(lags)))
    increments.append(("status_lag_sum_ms", (), total_ms))
    _add_many(increments)


def record_graph_call(code: object) -> None:
    """A Graph call's outcome: "ok", Meta's error code, or the transport failure's name."""
    count("graph_calls", code)


def record_circuit_open(target: str, reason: str, until: float) -> None:
    count("graph_circuit_opened", reason)
    try:
        circuits = {k: v for k, v in (cache.get(f"{PREFIX}:circuits") or {}).items() if v[0] > time.time()}
        circuits[target] = (until, reason)
        cache.set(f"{PREFIX}:circuits", dict(list(circuits.items())[-500:]), timeout=_NO_EXPIRY)
    except Exception as exc:
        logger.debug("circuit state not recorded: %s", type(exc).__name__)


def _counter_values(name: str) -> list[tuple[list[str], int]]:
    client = _redis()
    if client is None:
        values = cache.get(f"{PREFIX}:{name}") or {}
    else:
        values = {k.decode(): int(v) for k, v in client.hgetall(_hash_key(name)).items()}
    return [(field.split("|") if field else [], int(value)) for field, value in sorted(values.items())]


def _queue_figures() -> list[tuple[str, int, int, int]]:
    """(queue, ready, delayed, dead) per declared queue."""
    import dramatiq
    from django.utils.module_loading import autodiscover_modules
    from dramatiq.brokers.redis import RedisBroker

    autodiscover_modules(*settings.DRAMATIQ_AUTODISCOVER_MODULES)
    broker = dramatiq.get_broker()
    names = sorted(q for q in broker.get_declared_queues() if not q.endswith((".DQ", ".XQ")))
    figures = []
    for name in names:
        if isinstance(broker, RedisBroker):  # $ns:$queue is a list of ids, .XQ a sorted set
            client, namespace = broker.client, broker.namespace
            ready = client.llen(f"{namespace}:{name}")
            delayed = client.llen(f"{namespace}:{name}.DQ")
            dead = client.zcard(f"{namespace}:{name}.XQ")
        else:  # the stub broker of development and tests
            ready = broker.queues[name].qsize() if name in broker.queues else 0
            delayed = broker.queues[f"{name}.DQ"].qsize() if f"{name}.DQ" in broker.queues else 0
            dead = len(getattr(broker, "dead_letters_by_queue", {}).get(name, []))
        figures.append((name, int(ready), int(delayed), int(dead)))
    return figures


class BotopiaCollector:
    def collect(self) -> Iterator:
        from webhooks.models import WebhookEvent

        depth = GaugeMetricFamily(
            "botopia_queue_depth", "Jobs waiting per Dramatiq queue.", labels=["queue", "kind"]
        )
        try:
            for name, ready, delayed, dead in _queue_figures():
                depth.add_metric([name, "ready"], ready)
                depth.add_metric([name, "delayed"], delayed)
                depth.add_metric([name, "dead"], dead)
        except Exception as exc:  # the broker is down: say so by the absence of the series
            logger.warning("queue depth not scraped: %s", type(exc).__name__)
        yield depth

        events = GaugeMetricFamily(
            "botopia_webhook_events",
            "Stored webhook events by status (kept for the retention).",
            labels=["status"],
        )
        by_status = dict(WebhookEvent.objects.values_list("status").annotate(n=Count("pk")).order_by())
        for status in WebhookEvent.Status.values:
            events.add_metric([status], by_status.get(status, 0))
        yield events

        oldest = WebhookEvent.objects.filter(status=WebhookEvent.Status.PENDING).aggregate(
            at=Min("received_at")
        )["at"]
        yield GaugeMetricFamily(
            "botopia_webhook_oldest_pending_seconds",
            "Age of the oldest pending webhook event (0: none pending).",
            value=(timezone.now() - oldest).total_seconds() if oldest else 0.0,
        )

        sends = CounterMetricFamily(
            "botopia_whatsapp_sends",
            "WhatsApp send outcomes by phone number id.",
            labels=["phone_number_id", "outcome"],
        )
        for labels, value in _counter_values("whatsapp_sends"):
            sends.add_metric(labels, value)
        yield sends

        buckets = {labels[0]: value for labels, value in _counter_values("status_lag_bucket")}
        lag_sum = sum(value for _, value in _counter_values("status_lag_sum_ms")) / 1000
        yield HistogramMetricFamily(
            "botopia_whatsapp_status_lag_seconds",
            "Seconds from Meta's status timestamp to our applying the status webhook.",
            buckets=[(str(bound), buckets.get(str(bound), 0)) for bound in LAG_BUCKETS]
            + [("+Inf", buckets.get("+Inf", 0))],
            sum_value=lag_sum,
        )

        calls = CounterMetricFamily(
            "botopia_graph_calls", "Graph API calls by outcome code.", labels=["code"]
        )
        for labels, value in _counter_values("graph_calls"):
            calls.add_metric(labels, value)
        yield calls

        opened = CounterMetricFamily(
            "botopia_graph_circuit_opened", "Graph circuit breaker openings by reason.", labels=["reason"]
        )
        for labels, value in _counter_values("graph_circuit_opened"):
            opened.add_metric(labels, value)
        yield opened

        open_now = GaugeMetricFamily(
            "botopia_graph_circuit_open", "Graph targets whose circuit is open now.", labels=["reason"]
        )
        now = time.time()
        circuits = cache.get(f"{PREFIX}:circuits") or {}
        for reason in ("usage", "failures"):
            open_now.add_metric(
                [reason], sum(1 for until, why in circuits.values() if why == reason and until > now)
            )
        yield open_now


def _authorized(request: HttpRequest, token: str) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """GET /metrics with `Authorization: Bearer <METRICS_TOKEN>`. 404 while no token is set."""
    token = getattr(settings, "METRICS_TOKEN", "")
    if not token:
        raise Http404
    if not request.headers.get("Authorization"):
        response = HttpResponse("Authorization: Bearer <METRICS_TOKEN> required.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if not _authorized(request, token):
        return HttpResponse("Wrong metrics token.\n", status=403)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BotopiaCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)

"""Dramatiq actors with the project's retry policy.

Transient failures (Meta 5xx/throttling/timeouts, a database or Redis hiccup) retry with
exponential backoff; permanent ones (expired token, invalid parameter, a bug) do not.
"""

import functools
import logging
from collections.abc import Callable

import dramatiq
import redis
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from dramatiq.middleware import CurrentMessage

from botopia_meta import graph

logger = logging.getLogger(__name__)

DEFAULT_MAX_RETRIES = 8


class RetryLater(Exception):
    """Raise from an actor to be retried with backoff (e.g. a rate-limit bucket is empty)."""


# Redis (cache, rate buckets, broker) unreachable: redis-py's errors are not the built-in
# ConnectionError/TimeoutError, so they are named here.
_REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, graph.GraphError):
        return graph.is_transient(exc)
    return isinstance(exc, (RetryLater, OperationalError, InterfaceError, ConnectionError, *_REDIS_DOWN))


def _should_retry(retries: int, max_retries: int, exc: BaseException) -> bool:
    """`retries`: how many retries this message has had so far (Dramatiq's count before this
    failure). `max_retries` retries at most, so `max_retries + 1` attempts in all."""
    return retries < max_retries and is_retryable(exc)


def _retry_when(max_retries: int) -> Callable[[int, BaseException], bool]:
    def retry_when(retries: int, exc: BaseException) -> bool:
        retry = _should_retry(retries, max_retries, exc)
        if not retry:
            logger.warning("Giving up after %s attempt(s): %s", retries + 1, type(exc).__name__)
        return retry

    return retry_when


def _will_retry(max_retries: int, exc: BaseException) -> bool:
    """Inside an actor: will the Retries middleware run this message again after `exc`?"""
    message = CurrentMessage.get_current_message()
    retries = message.options.get("retries", 0) if message is not None else 0
    return _should_retry(retries, max_retries, exc)


def actor(
    fn=None,
    *,
    queue_name: str = "default",
    max_retries: int = DEFAULT_MAX_RETRIES,
    on_give_up: Callable[..., None] | None = None,
    **options,
):
    """`dramatiq.actor` with our retry policy. Actors take ids, load rows, call a service.

    `on_give_up(*args, exc=...)` runs when an attempt fails for good (retries exhausted or the
    error is not retryable), so a row the actor was working on is settled, not left pending."""

    def decorate(func):
        run = func
        if on_give_up is not None:

            @functools.wraps(func)
            def run(*args, **kwargs):
                try:
                    return func(*args, **kwargs)
                except Exception as exc:
                    if not _will_retry(max_retries, exc):
                        try:
                            on_give_up(*args, exc=exc, **kwargs)
                        except Exception:
                            logger.exception("The give-up handler of %s failed", func.__name__)
                    raise

        return dramatiq.actor(
            queue_name=queue_name,
            min_backoff=settings.ACTOR_MIN_BACKOFF_MS,
            max_backoff=settings.ACTOR_MAX_BACKOFF_MS,
            retry_when=_retry_when(max_retries),
            **options,
        )(run)

    return decorate(fn) if fn is not None else decorate


def enqueue_on_commit(
    actor: dramatiq.Actor, *args: str | list[str], swept: bool = False, delay_ms: int | None = None
) -> None:
    """The one way services queue work: `actor.send(*args)` once the current transaction
    commits (at once outside one), so a worker never reads a row that isn't committed yet.
    `delay_ms`: run it no sooner than that (a scheduled publish).

    `swept`: the stored row is its own outbox and a periodic sweep queues it again, so a broker
    that is down is logged instead of raised: the work will still be done. Every endpoint that
    stores something to send (a message, a broadcast, a reply, a publish) must use it: the
    commit has happened, so an error answer would be a lie (its client's retry would store and
    send a second copy); it answers 202 with the stored row instead. Otherwise (work that is
    not swept, and that the caller may simply redo) the broker's error reaches the caller."""

    def send() -> None:
        try:
            if delay_ms is None:
                actor.send(*args)
            else:
                actor.send_with_options(args=args, delay=delay_ms)
        except Exception:
            if not swept:
                raise
            logger.warning("Could not queue %s%s; its sweep will queue it again", actor.actor_name, args)

    transaction.on_commit(send)

"""Periodic jobs: `@periodic(seconds=...)` on an actor registers it; the scheduler process
(`python manage.py run_scheduler`, or a thread of `make run`) enqueues each job once per
interval. A cache key per (job, slot) makes extra schedulers harmless."""

import logging
import threading
import time
from dataclasses import dataclass

import dramatiq
from django.core.cache import cache
from django.utils.module_loading import autodiscover_modules

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    actor: dramatiq.Actor
    seconds: int

    @property
    def name(self) -> str:
        return self.actor.actor_name


JOBS: dict[str, PeriodicJob] = {}


def periodic(*, seconds: int):
    def register(actor):
        JOBS[actor.actor_name] = PeriodicJob(actor=actor, seconds=seconds)
        return actor

    return register


def discover() -> dict[str, PeriodicJob]:
    autodiscover_modules("actors")
    return JOBS


def enqueue_due(now: float | None = None) -> list[str]:
    """Enqueue every job whose interval slot has not been enqueued yet; returns their names."""
    now = time.time() if now is None else now
    sent = []
    for job in JOBS.values():
        slot = int(now // job.seconds)
        if cache.add(f"scheduler:{job.name}:{slot}", 1, timeout=job.seconds * 2):
            try:
                job.actor.send()
            except Exception:
                # Broker down: forget the slot so the next tick tries again.
                cache.delete(f"scheduler:{job.name}:{slot}")
                logger.exception("Could not enqueue periodic job %s", job.name)
                continue
            sent.append(job.name)
    return sent


def run(stop: threading.Event, tick: float = 1.0) -> None:
    discover()
    logger.info("Scheduler running %d job(s): %s", len(JOBS), ", ".join(sorted(JOBS)) or "none")
    while not stop.is_set():
        try:
            enqueue_due()
        except Exception:
            logger.exception("Scheduler tick failed; retrying")
        stop.wait(tick)

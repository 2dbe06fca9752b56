"""The receiver's enqueue, off the request thread.

Queuing a stored delivery on the broker is a Redis round trip that Meta's request does not
need to wait for: the row is stored and is its own outbox. The receiver hands the id to one
background thread per process, which queues it with the others handed over within
WEBHOOK_ENQUEUE_LINGER_MS (one message, one Redis call, for several deliveries; the worker
applies them together). If the process dies first, the row is still
`pending` and the sweeper (webhooks.services.webhook_events_sweep) queues it: nothing
accepted is lost, it only waits for the next sweep. At exit the thread is drained.
"""

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)

EXIT_DRAIN_SECONDS = 5.0


class Handoff:
    def __init__(self, send: Callable[[list[str]], object]):
        self._send = send
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # a forked worker starts its own thread

    def _reset(self) -> None:
        self._queue: queue.SimpleQueue[str | threading.Event] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def put(self, event_id: str) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="webhook-enqueue", daemon=True)
                    self._thread.start()
        self._queue.put(event_id)

    def flush(self, timeout: float = EXIT_DRAIN_SECONDS) -> bool:
        """Wait until every id handed over so far was queued (or refused by the broker)."""
        if self._thread is None or not self._thread.is_alive():
            return True
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def _run(self) -> None:
        from django.conf import settings

        linger = settings.WEBHOOK_ENQUEUE_LINGER_MS / 1000
        while True:
            ids, flushes = self._take(self._queue.get(), settings.WEBHOOK_BATCH_EVENTS, linger)
            if ids:
                try:
                    self._send(ids)  # logs and returns False when the broker is down
                except Exception:
                    logger.exception("Webhook events %s not queued; the sweeper will queue them", ids)
            for done in flushes:  # after the ids handed over before them
                done.set()

    def _take(
        self, first: str | threading.Event, most: int, linger: float
    ) -> tuple[list[str], list[threading.Event]]:
        """`first` and what else is handed over within `linger` seconds (up to `most` ids; a
        flush doesn't wait): one message for the deliveries stored meanwhile."""
        ids: list[str] = []
        flushes: list[threading.Event] = []
        item = first
        until = time.monotonic() + linger
        while True:
            if isinstance(item, threading.Event):
                flushes.append(item)
            else:
                ids.append(item)
            if len(ids) >= most:
                return ids, flushes
            try:
                wait = 0.0 if flushes else until - time.monotonic()
                item = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            except queue.Empty:
                return ids, flushes


def _send(event_ids: list[str]) -> bool:
    from webhooks.services import _enqueue

    return _enqueue(event_ids)


handoff = Handoff(_send)
atexit.register(handoff.flush)

"""The actors' retry policy: `max_retries` retries at most, then `on_give_up`, once."""

import pytest

from botopia_meta.tasks import RetryLater, actor

RUNS: list[str] = []
GAVE_UP: list[tuple[str, str]] = []


def _gave_up(name: str, *, exc: BaseException) -> None:
    GAVE_UP.append((name, type(exc).__name__))


@actor(queue_name="default", max_retries=0, on_give_up=_gave_up)
def _never_retried(name: str) -> None:
    RUNS.append(name)
    raise RetryLater


@actor(queue_name="default", max_retries=2, on_give_up=_gave_up)
def _retried_twice(name: str) -> None:
    RUNS.append(name)
    raise RetryLater


@actor(queue_name="default", max_retries=5, on_give_up=_gave_up)
def _not_retryable(name: str) -> None:
    RUNS.append(name)
    raise KeyError(name)


@pytest.mark.parametrize(
    ("job", "runs"), [(_never_retried, 1), (_retried_twice, 3), (_not_retryable, 1)], ids=lambda v: str(v)
)
def test_an_actor_runs_max_retries_plus_one_times_then_gives_up_once(worker, job, runs):
    RUNS.clear()
    GAVE_UP.clear()
    job.send("job")
    worker.drain()
    assert len(RUNS) == runs
    assert len(GAVE_UP) == 1 and GAVE_UP[0][0] == "job"

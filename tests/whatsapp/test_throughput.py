"""The per-number pacer, measured with a fake clock (not wall time)."""

import time

import pytest
from django.core.cache import cache

from tests.conftest import meta_error
from tests.whatsapp.test_messages_api import SEND_URL, TO, URL, alice_number, meta_accepted  # noqa: F401
from tests.whatsapp.test_messages_api import open_window as open_window
from whatsapp.messages.throughput import (
    HEADROOM,
    LATER,
    PAIR,
    PAIR_BLOCK_SECONDS,
    RESERVED,
    Pacer,
    window_limit,
)
from whatsapp.models import Message


class FakeClock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def run_senders(
    pacer: Pacer, clock: FakeClock, *, number: str, rate: int, sends: int, workers: int = 8
) -> list[float]:
    """`workers` senders race for the bucket; each sleeps (advances its own time) as told."""
    times: list[float] = []
    ready = [clock.now] * workers  # when each worker next asks
    while len(times) < sends:
        w = min(range(workers), key=lambda i: ready[i])
        clock.now = ready[w]
        kind, wait = pacer.take(number, None, rate)
        if kind == RESERVED:
            times.append(clock.now + wait)
            ready[w] = clock.now + wait + 0.001  # the Graph call itself
        else:
            ready[w] = clock.now + wait  # re-enqueued with that delay
    return times


def max_per_second(times: list[float]) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


@pytest.mark.parametrize("rate", [80, 20, 1000])
def test_it_never_exceeds_the_numbers_rate_in_any_second(rate):
    clock = FakeClock()
    times = run_senders(Pacer(clock), clock, number=f"n{rate}", rate=rate, sends=rate * 5)
    assert max_per_second(times) <= rate
    assert max(times) - min(times) <= 5.5  # and it is not needlessly slower
    assert max_per_second(times) >= rate * 0.9


def test_130429_halves_the_rate_for_a_while():
    clock = FakeClock()
    pacer = Pacer(clock)
    pacer.throttled("slow", "573001112233", 130429)
    times = run_senders(pacer, clock, number="slow", rate=80, sends=200)
    assert max_per_second(times) <= 40


def test_131056_delays_only_that_recipient():
    clock = FakeClock()
    pacer = Pacer(clock)
    pacer.throttled("n1", "573001112233", 131056)
    assert pacer.pair_wait("n1", "573001112233") == pytest.approx(PAIR_BLOCK_SECONDS)
    assert pacer.pair_wait("n1", "573009998877") == 0
    assert pacer.pair_wait("n2", "573001112233") == 0
    assert pacer.effective_rate("n1", 80) == 80  # the number itself is not slowed
    clock.now += PAIR_BLOCK_SECONDS + 0.1
    assert pacer.pair_wait("n1", "573001112233") == 0


def test_the_actor_slows_down_on_130429_instead_of_failing(alice_client, open_window, meta, worker):
    meta.post(SEND_URL, json=meta_error(130429, "Rate limit hit"), status=400)
    meta.post(SEND_URL, json=meta_accepted())
    response = alice_client.post(URL, {"to": TO, "type": "text", "text": {"body": "Hi"}}, format="json")
    worker.drain()
    message = Message.objects.get(pk=response.json()["data"]["id"])
    assert message.status == "sent" and message.error_code is None
    assert cache.get(f"wa:slow:{open_window.phone_number.phone_number_id}")
    assert len(meta.calls) == 2


def test_take_answers_the_pair_block_the_slowdown_and_the_slot_in_one_call():
    clock = FakeClock()
    pacer = Pacer(clock)
    pacer.throttled("n1", "573001112233", 131056)
    kind, wait = pacer.take("n1", "573001112233", 80)
    assert kind == PAIR and wait == pytest.approx(PAIR_BLOCK_SECONDS)
    assert pacer.take("n1", "573009998877", 80) == (RESERVED, 0)  # another recipient goes
    pacer.throttled("n2", "573001112233", 130429)
    slots = [pacer.take("n2", f"57300{i}", 80)[1] for i in range(3)]
    assert slots[1] - slots[0] == pytest.approx(HEADROOM / 40, abs=1e-5)  # half the rate
    clock.now += 0.5
    kind, wait = pacer.take("n3", "573001112233", 1, max_wait=0.5)
    assert kind == RESERVED and pacer.take("n3", "573001112234", 1, max_wait=0.5) == (
        LATER,
        pytest.approx(HEADROOM),
    )  # the next slot is too far: nothing taken


# --- the gate right before a request leaves (Pacer.depart) ------------------------------------


def run_late_senders(
    pacer: Pacer, clock: FakeClock, *, number: str, rate: int, sends: int, late, gated: bool, workers: int = 8
) -> list[float]:
    """As run_senders, but each send leaves `late()` seconds after its slot (a busy machine:
    the claim, the GIL, a core), then asks the gate (when `gated`) and waits as it says.
    → the times the requests left."""
    left: list[float] = []
    ready = [clock.now] * workers
    gate = [None] * workers  # a send that waits at the gate: it holds its slot, asks again
    while len(left) < sends:
        w = min(range(workers), key=lambda i: ready[i])
        clock.now = ready[w]
        if gate[w] is None:
            kind, wait = pacer.take(number, None, rate)
            if kind != RESERVED:
                ready[w] = clock.now + wait
                continue
            gate[w] = clock.now + wait + late()
            ready[w] = gate[w]
            continue
        if gated and (wait := pacer.depart(number, rate)) > 0:
            ready[w] = clock.now + wait
            continue
        left.append(clock.now)
        gate[w] = None
        ready[w] = clock.now + 0.001  # the Graph call itself
    return left


def bunching(seed: int):
    """Mostly on time, now and then stalled by tens or hundreds of milliseconds."""
    import random

    rng = random.Random(seed)
    return lambda: rng.choice([0.0, 0.001, 0.003, 0.02, 0.05, 0.3]) if rng.random() < 0.3 else 0.0


@pytest.mark.parametrize("rate", [80, 20, 250])
def test_the_gate_keeps_the_cap_in_every_sliding_second_however_late_sends_leave(rate):
    clock = FakeClock()
    ungated = run_late_senders(
        Pacer(clock), clock, number="u", rate=rate, sends=rate * 5, late=bunching(rate), gated=False
    )
    assert max_per_second(ungated) > window_limit(rate)  # what the gate is for: sends bunch
    clock = FakeClock()
    left = run_late_senders(
        Pacer(clock), clock, number="g", rate=rate, sends=rate * 5, late=bunching(rate), gated=True
    )
    assert max_per_second(left) <= window_limit(rate) <= rate
    assert len(left) / (max(left) - min(left)) >= 0.9 * rate  # and the slots are still used


@pytest.mark.parametrize("rate", [80, 20, 1000])
def test_sends_on_time_never_wait_at_the_gate_and_keep_95_percent_of_the_cap(rate):
    clock = FakeClock()
    pacer = Pacer(clock)
    waited = []
    real = pacer.depart

    def depart(*args):
        wait = real(*args)
        waited.append(wait)
        return wait

    pacer.depart = depart  # type: ignore[method-assign]
    left = run_late_senders(pacer, clock, number="n", rate=rate, sends=rate * 5, late=lambda: 0.0, gated=True)
    assert not any(waited)
    assert max_per_second(left) <= window_limit(rate)
    assert len(left) / (max(left) - min(left)) >= 0.95 * rate


def test_the_gate_answers_when_the_oldest_send_of_the_past_second_leaves_it():
    clock = FakeClock()
    pacer = Pacer(clock)
    limit = window_limit(80)
    assert limit < 80  # a margin under the cap for the way to Meta
    for _ in range(limit):
        assert pacer.depart("n1", 80) == 0
        clock.now += 0.001
    assert pacer.depart("n1", 80) == pytest.approx(1.0 - limit * 0.001, abs=1e-5)  # nothing taken
    assert pacer.depart("n2", 80) == 0  # another number has its own window
    clock.now = 1_000_000.0 + 1.0
    assert pacer.depart("n1", 80) > 0  # exactly a second old: still counted (whole µs)
    clock.now += 0.0005  # the first send is over a second old: out of the window
    assert pacer.depart("n1", 80) == 0
    assert pacer.depart("n1", 80) > 0


def test_130429_halves_the_gates_limit_too():
    clock = FakeClock()
    pacer = Pacer(clock)
    pacer.throttled("slow", "573001112233", 130429)
    left = sum(pacer.depart("slow", 80) == 0 for _ in range(80))
    assert left == window_limit(40)


@pytest.mark.skipif(Pacer()._redis() is None, reason="the shared state lives in Redis")
def test_workers_whose_clocks_differ_share_one_second_as_redis_tells_it():
    """Workers on several hosts, one host's clock 1.5 s ahead. In service the scripts read the
    Redis server's clock, so its sends find the number's departures and slots as every other
    worker does. By its own clock the past second's departures would all be over a second old
    (a second full window in the same real second) and the next slot long past."""
    on_time, ahead = Pacer(), Pacer()
    ahead.clock = lambda: time.time() + 1.5
    limit = window_limit(50)
    for _ in range(limit):
        assert on_time.depart("skewed", 50) == 0
    assert 0 < ahead.depart("skewed", 50) <= 1.0  # the window is full until its first is a second old

    assert on_time.take("slow", None, 2) == (RESERVED, 0)
    kind, wait = ahead.take("slow", None, 2)
    assert kind == RESERVED and wait > 0.4  # the next slot (0.52 s on), not one at its own "now"

"""The per-number pacer, measured with a fake clock (not wall time)."""

import pytest
from django.core.cache import cache

from tests.conftest import meta_error
from tests.whatsapp.test_messages_api import SEND_URL, TO, URL, alice_number, meta_accepted  # noqa: F401
from tests.whatsapp.test_messages_api import open_window as open_window
from whatsapp.messages.throughput import HEADROOM, LATER, PAIR, PAIR_BLOCK_SECONDS, RESERVED, Pacer
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

"""Per-phone-number send pacing.

A GCRA-style token bucket with no burst: each send reserves the next free slot, slots are
1/rate apart, so no one-second window ever holds more than `rate` sends. State lives in Redis
(one atomic Lua script) when the cache is Redis, else in process memory behind a lock.

Meta's throttling slows the bucket instead of failing messages:
- 130429 (number throughput reached): the number's rate is halved for SLOWDOWN_SECONDS.
- 131056 (pair rate: too many messages to one recipient): only that recipient waits
  PAIR_BLOCK_SECONDS; others keep flowing.
The clock is injected, so tests prove the rate with a fake clock, not wall time. In service
(no clock given) the Redis scripts read the Redis server's clock: workers on several hosts share
one number's slots and departures log, and their own clocks may differ (a worker whose clock
ran ahead would find the past second's departures already "over a second old" and send more).

`take()` is what a send asks: the recipient's pair block, the number's slowdown and the slot,
in one Redis round trip (one Lua script) instead of three.

`depart()` is the gate right before the request leaves. Slots handed out on time do not make
requests that leave on time: a send waits for its claim, for the GIL behind other threads, for
its process to get a core, so sends bunch up after their slots. The gate keeps a log of the
number's departures (a sorted set) and lets a send leave only while fewer than
`window_limit(rate)` left in the past second: exact at departure, whatever the lateness, and a
margin under the cap for the trip from there to Meta. Pacing (HEADROOM) stays just under that
limit, so the gate only steps in when sends bunch.
"""

import bisect
import itertools
import math
import os
import threading
import time
from collections.abc import Callable

from django.core.cache import cache
from redis.commands.core import Script

SLOWDOWN_SECONDS = 60
PAIR_BLOCK_SECONDS = 6  # Meta allows about one message every 6 s to the same user
HEADROOM = 1.04  # pace at ~96% of the cap: perfectly paced sends never meet the gate's limit
# The gate lets at most the cap minus this share (rounded: none under 25/s, where sends are
# 40 ms+ apart) leave in any second: room for sends that bunch between the gate and Meta (the
# request's own way out through the GIL and the network, its receiver).
WINDOW_MARGIN = 0.02
MAX_WAIT = 1.0  # longer waits are not slept in a worker: the message is re-enqueued with a delay
# A send leaving later than this after its slot takes a new one: late by at most this much, it
# fits in the headroom of slow numbers (at 2/s slots are 0.52 s apart: sends never closer than
# 0.5 s); at higher rates the gate (depart) keeps the cap however late sends run.
LATE_AFTER = 0.02

# Both scripts: ARGV[1] is now in µs, or -1 for the Redis server's clock (in service).
_NOW = """
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
"""
SERVER_CLOCK = -1

# KEYS: bucket, slowdown flag, pair block (microseconds, stored raw: Django's Redis cache
# stores an int as itself). ARGV: now, interval, interval when slowed, max wait (µs).
# → {PAIR, wait} | {LATER, wait} | {RESERVED, wait}
_LUA = (
    _NOW
    + """
local pair = tonumber(redis.call('GET', KEYS[3]) or '0') or 0
if pair > now then return {0, pair - now} end
local interval = tonumber(ARGV[2])
if redis.call('EXISTS', KEYS[2]) == 1 then interval = tonumber(ARGV[3]) end
local max_wait = tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(tat, now)
local wait = slot - now
if wait > max_wait then return {1, wait} end
local ttl = math.floor((wait + interval) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%d', slot + interval), 'PX', ttl)
return {2, wait}
"""
)
PAIR, LATER, RESERVED = 0, 1, 2

# KEYS: departures log (sorted set of µs), slowdown flag. ARGV: now, limit, limit when slowed,
# a unique member. → 0 (logged: leave now) or µs until the window has room (nothing logged).
# The window is [now - 1 s, now]: a send leaves it once more than a second old (whole µs: a
# send exactly a second older still counts, so truncated clocks never let one more in).
_GATE_LUA = (
    _NOW
    + """
local limit = tonumber(ARGV[2])
if redis.call('EXISTS', KEYS[2]) == 1 then limit = tonumber(ARGV[3]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('(%d', now - 1000000))
local n = redis.call('ZCARD', KEYS[1])
if n >= limit then
  local first_out = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')
  return tonumber(first_out[2]) + 1000001 - now
end
redis.call('ZADD', KEYS[1], string.format('%d', now), ARGV[4])
redis.call('PEXPIRE', KEYS[1], 2000)
return 0
"""
)
_departures = itertools.count()


def window_limit(rate: float) -> int:
    """The most sends of a number capped at `rate`/s that the gate lets leave in any second."""
    cap = max(1, math.floor(rate))
    return max(1, cap - round(cap * WINDOW_MARGIN))


class Pacer:
    def __init__(self, clock: Callable[[], float] | None = None):
        """`clock`: a test's fake clock, for every decision. None: the Redis server's in the
        scripts, this host's (time.time) for the rest (in process memory: for everything)."""
        self.clock = clock or time.time
        self._faked = clock is not None
        self._lock = threading.Lock()
        self._tat: dict[str, float] = {}
        self._log: dict[str, list[int]] = {}
        self._script: Script | None = None
        self._gate: Script | None = None
        self._held = threading.local()

    def _redis(self):
        # Django's Redis cache builds a client object (with its table of reply parsers) per
        # call: ~4 % of a send's CPU, twice a send. Kept per thread, for the thread's backend.
        backend = getattr(cache, "_cache", None)
        held = getattr(self._held, "client", None)
        if held is None or held[0] is not backend:
            client_of = getattr(backend, "get_client", None)
            held = self._held.client = (backend, client_of(write=True) if client_of else None)
        return held[1]

    def effective_rate(self, phone_number_id: str, rate: float) -> float:
        slow = cache.get(f"wa:slow:{phone_number_id}")
        return max(1.0, rate / 2) if slow else float(rate)

    def take(
        self, phone_number_id: str, wa_id: str | None, rate: float, *, max_wait: float = MAX_WAIT
    ) -> tuple[int, float]:
        """(kind, wait) for one send to `wa_id`: RESERVED → send after sleeping `wait`; LATER →
        the number's next slot is `wait` away, try again then; PAIR → this recipient is blocked
        for `wait` (131056). Nothing is taken unless RESERVED."""
        # Whole microseconds: float slots drift, and rate+1 would fit in a second. HEADROOM:
        # a send leaves after its slot (sleep, HTTP jitter), so arrivals at Meta bunch up.
        interval = math.ceil(1_000_000 * HEADROOM / float(rate))
        slowed = math.ceil(1_000_000 * HEADROOM / max(1.0, rate / 2))
        now = int(self.clock() * 1_000_000)
        max_wait_us = int(max_wait * 1_000_000)
        key = f"wa:bucket:{phone_number_id}"
        client = self._redis()
        if client is not None:
            if self._script is None:
                self._script = client.register_script(_LUA)
            keys = [
                cache.make_key(key),
                cache.make_key(f"wa:slow:{phone_number_id}"),
                cache.make_key(f"wa:pair:{phone_number_id}:{wa_id}" if wa_id is not None else "wa:pair:-"),
            ]
            at = now if self._faked else SERVER_CLOCK
            kind, wait = self._script(keys=keys, args=[at, interval, slowed, max_wait_us])
            return int(kind), int(wait) / 1e6
        if wa_id is not None and (pair := self.pair_wait(phone_number_id, wa_id)) > 0:
            return PAIR, pair
        interval = math.ceil(1_000_000 * HEADROOM / self.effective_rate(phone_number_id, rate))
        with self._lock:
            slot = max(self._tat.get(key, 0), now)
            wait = slot - now
            if wait > max_wait_us:
                return LATER, wait / 1e6
            self._tat[key] = slot + interval
            return RESERVED, wait / 1e6

    def depart(self, phone_number_id: str, rate: float) -> float:
        """The last word before a send of this number leaves: → 0 when fewer than
        window_limit(rate) of its sends left in the past second (this one is logged as leaving
        now), else the seconds until one of those is a second old (nothing logged: ask again
        then). A number slowed by 130429 gets the limit of half its rate."""
        now = int(self.clock() * 1_000_000)
        limit, slowed = window_limit(rate), window_limit(max(1.0, rate / 2))
        key = f"wa:departed:{phone_number_id}"
        client = self._redis()
        if client is not None:
            if self._gate is None:
                self._gate = client.register_script(_GATE_LUA)
            keys = [cache.make_key(key), cache.make_key(f"wa:slow:{phone_number_id}")]
            member = f"{now}:{os.getpid()}:{next(_departures)}"  # two sends in one µs are two
            at = now if self._faked else SERVER_CLOCK
            return int(self._gate(keys=keys, args=[at, limit, slowed, member])) / 1e6
        if cache.get(f"wa:slow:{phone_number_id}"):
            limit = slowed
        with self._lock:
            log = self._log.setdefault(key, [])
            del log[: bisect.bisect_left(log, now - 1_000_000)]
            if len(log) >= limit:
                return (log[len(log) - limit] + 1_000_001 - now) / 1e6
            bisect.insort(log, now)
            return 0.0

    def pair_wait(self, phone_number_id: str, wa_id: str) -> float:
        until = cache.get(f"wa:pair:{phone_number_id}:{wa_id}")
        return max(0.0, until / 1e6 - self.clock()) if isinstance(until, int) else 0.0

    def throttled(self, phone_number_id: str, wa_id: str, code: int | None) -> float:
        """Note Meta's throttling answer; → seconds the message should wait before retrying."""
        if code == 131056:
            until = int((self.clock() + PAIR_BLOCK_SECONDS) * 1_000_000)  # an int: the script reads it
            cache.set(f"wa:pair:{phone_number_id}:{wa_id}", until, PAIR_BLOCK_SECONDS)
            return PAIR_BLOCK_SECONDS
        cache.set(f"wa:slow:{phone_number_id}", 1, SLOWDOWN_SECONDS)
        return 1.0


pacer = Pacer()

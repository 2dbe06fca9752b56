"""End-to-end benchmark (issue 14): a broadcast out, its status webhooks back in.

The service runs as in production (bench/harness.py): 2 gunicorn workers, 2 `rundramatiq`
processes, PostgreSQL and Redis. A local stand-in for Meta answers every send (after
--delay) and then posts signed `sent`, `delivered` and `read` webhooks for it through the real
receiver: deliveries of 1-20 statuses, shuffled, ~10 % of the statuses posted twice (in
another delivery), and for ~10 % of the messages `read` before `delivered`.

It reports sends/s (and the busiest sliding second at the stand-in against the cap),
statuses/s, the status lag (from the stand-in posting a status to the message row showing it)
p50/p99/max, and after the drain: every message `read`, analytics equal to a recount from the
rows, 0 sent twice, 0 deliveries lost. The last line is a JSON object of the figures.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/botopia_bench_pipeline \\
    REDIS_URL=redis://127.0.0.1:6379/13 \\
    .venv/bin/python bench/pipeline.py [--recipients 20000] [--rate 1000] [--delay 0.005] \\
        [--posters 4] [--drain-timeout 600]

The database is created if missing and migrated; the Redis db is flushed. A quick run on a
busy machine: --recipients 2000.
"""

import argparse
import hashlib
import heapq
import http.client
import json
import os
import queue
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402

SECRET = "bench-pipeline-secret"
# Fresh Meta ids each run, so rows an earlier run left in the database are not matched.
RUN = random.SystemRandom().randrange(10**12)
WABA_ID = f"31{RUN:013d}"
PHONE_ID = f"32{RUN:013d}"
STATUS_FIELD = {"delivered": "delivered_at", "read": "read_at"}


class Webhooks:
    """The stand-in's side of the statuses: schedules each send's three statuses, groups the
    due ones into shuffled deliveries of 1-20 and posts them signed from `posters` threads."""

    def __init__(self, port: int, posters: int, seed: int = 14):
        self.port = port
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.due: list[tuple[float, int, dict]] = []  # heap of (when, tiebreak, status)
        self.counter = 0
        self.deliveries: queue.Queue[bytes | None] = queue.Queue(maxsize=2000)
        self.first_post: dict[tuple[str, str], float] = {}  # (wamid, status) -> first posted
        self.posted = self.refused = self.statuses_posted = 0
        self.accepted: set[str] = set()  # digests of the bodies answered 200 (some repeat)
        self.last_post = 0.0
        self.done_scheduling = threading.Event()
        self.threads = [threading.Thread(target=self._batcher, daemon=True)]
        self.threads += [threading.Thread(target=self._poster, daemon=True) for _ in range(posters)]
        for thread in self.threads:
            thread.start()

    def on_send(self, body: dict, wamid: str) -> None:
        """Called by the stand-in after answering a send: its statuses, due a little later."""
        now = time.time()
        base = {
            "id": wamid,
            "recipient_id": body.get("to", ""),
            "biz_opaque_callback_data": body.get("biz_opaque_callback_data", ""),
            "conversation": {"id": f"conv-{wamid[-12:]}", "origin": {"type": "marketing"}},
            "pricing": {"billable": True, "pricing_model": "PMP", "category": "marketing", "type": "regular"},
        }
        with self.lock:
            rnd = self.random
            delivered_after, read_after = rnd.uniform(0.1, 1.0), rnd.uniform(0.5, 2.0)
            if rnd.random() < 0.1:
                read_after = delivered_after * rnd.uniform(0.2, 0.9)  # read's webhook first
            plan = [
                ("sent", 0.02, 0),
                ("delivered", delivered_after, 1),
                ("read", delivered_after + read_after, 2),
            ]
            if rnd.random() < 0.1:
                plan[1], plan[2] = ("delivered", read_after + 0.3, 1), ("read", read_after, 2)
            for name, after, offset in plan:
                status = {**base, "status": name, "timestamp": str(int(now) + offset)}
                copies = 2 if rnd.random() < 0.1 else 1  # Meta sends some twice
                for copy in range(copies):
                    self.counter += 1
                    heapq.heappush(
                        self.due, (now + after + copy * rnd.uniform(0.05, 1.0), self.counter, status)
                    )

    def _batcher(self) -> None:
        while True:
            with self.lock:
                now = time.time()
                ready = []
                while self.due and self.due[0][0] <= now:
                    ready.append(heapq.heappop(self.due)[2])
                empty = not self.due
            if not ready:
                if empty and self.done_scheduling.is_set():
                    for _ in self.threads[1:]:
                        self.deliveries.put(None)
                    return
                time.sleep(0.01)
                continue
            self.random.shuffle(ready)
            while ready:
                size = self.random.randint(1, 20)
                batch, ready = ready[:size], ready[size:]
                self.deliveries.put(self._body(batch))

    def _body(self, statuses: list[dict]) -> bytes:
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001111", "phone_number_id": PHONE_ID},
            "statuses": statuses,
        }
        payload = {
            "object": "whatsapp_business_account",
            "entry": [{"id": WABA_ID, "changes": [{"value": value, "field": "messages"}]}],
        }
        return json.dumps(payload).encode()

    def _poster(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        while (body := self.deliveries.get()) is not None:
            statuses = json.loads(body)["entry"][0]["changes"][0]["value"]["statuses"]
            headers = {
                "Content-Type": "application/json",
                "X-Hub-Signature-256": harness.sign(body, SECRET),
                "Host": "127.0.0.1",
            }
            posted = time.time()
            with self.lock:
                for status in statuses:
                    self.first_post.setdefault((status["id"], status["status"]), posted)
            for _attempt in range(5):  # as Meta: a delivery not answered 200 is sent again
                try:
                    conn.request("POST", harness.WEBHOOK_PATH, body, headers)
                    response = conn.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                    continue
                if response.status == 200:
                    break
                time.sleep(0.5)
            with self.lock:
                self.posted += 1
                self.statuses_posted += len(statuses)
                self.last_post = time.time()
                if response.status == 200:
                    self.accepted.add(hashlib.sha256(body).hexdigest())
                else:
                    self.refused += 1

    def idle(self) -> bool:
        with self.lock:
            return not self.due and self.deliveries.empty()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--rate", type=int, default=1000, help="the number's cap (messages/s)")
    parser.add_argument("--delay", type=float, default=0.005, help="the stand-in's answer time (s)")
    parser.add_argument("--posters", type=int, default=4, help="concurrent webhook connections")
    parser.add_argument("--threads", type=int, default=8, help="threads per rundramatiq process")
    parser.add_argument("--drain-timeout", type=float, default=600)
    parser.add_argument("--logs", type=Path, help="keep the processes' logs here")
    args = parser.parse_args()
    for name in ("DATABASE_URL", "REDIS_URL"):
        if not os.environ.get(name, "").startswith(("postgres", "redis")):
            sys.exit(f"Set {name} (a throwaway PostgreSQL db and Redis db): see the module docstring.")
    db_url = os.environ["DATABASE_URL"]
    logs = args.logs or Path(tempfile.mkdtemp(prefix="pipeline-"))
    logs.mkdir(parents=True, exist_ok=True)

    web_port = harness.free_port()
    webhooks = Webhooks(web_port, args.posters)
    meta = harness.GraphStandIn(delay=args.delay, on_send=webhooks.on_send)
    env = harness.service_env(
        SECRET,
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        META_GRAPH_URL=meta.url,
        API_RATE_LIMIT_USER="100000000/m",
        DATA_UPLOAD_MAX_MEMORY_SIZE=str(64 * 1024 * 1024),
    )
    os.environ.update(env)
    print("Preparing the database and flushing the Redis db …", flush=True)
    harness.ensure_database(db_url)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    import django

    django.setup()
    import dramatiq
    from django.core.cache import cache

    cache.clear()
    dramatiq.get_broker().flush_all()
    harness.sql(db_url, "TRUNCATE webhooks_webhookevent")  # "lost" counts this run's deliveries
    world = seed(args.rate)

    processes = [harness.gunicorn("botopia_meta.wsgi:application", web_port, 2, env, log=logs / "web.log")]
    processes += [
        harness.manage(
            "rundramatiq",
            "--processes",
            "1",
            "--threads",
            str(args.threads),
            env=env,
            log=logs / f"worker{i}.log",
        )
        for i in range(2)
    ]
    shown: dict[tuple[str, str], float] = {}
    try:
        time.sleep(5)  # workers up
        began = time.time()
        broadcast_id = start_broadcast(world, args.recipients)
        print(
            f"POST /broadcasts with {args.recipients:,} recipients: 202 in {time.time() - began:.2f}s",
            flush=True,
        )
        drained_at = watch(db_url, broadcast_id, args, meta, webhooks, shown)
    finally:
        webhooks.done_scheduling.set()
        for process in processes:
            harness.stop(process)
        meta.stop()

    report(db_url, broadcast_id, world, args, meta, webhooks, shown, drained_at, logs)


def seed(rate: int) -> dict:
    tag = uuid.uuid4().hex[:8]
    number, token = harness.seed_sender(
        f"pipeline-{tag}", waba_id=WABA_ID, phone_id=PHONE_ID, rate=rate, category="MARKETING"
    )
    return {"token": token, "account_id": number.waba.account_id, "number_id": number.pk}


def start_broadcast(world: dict, recipients: int) -> str:
    from django.test import Client

    body = {
        "template": {"name": "order_update", "language": "en_US"},
        "recipients": [
            {"to": f"+57300{i:07d}", "parameters": {"body": [f"Customer {i}", f"A-{i}"]}}
            for i in range(recipients)
        ],
    }
    response = Client().post(
        "/api/meta/whatsapp/broadcasts",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {world['token']}",
    )
    assert response.status_code == 202, response.content[:500]
    return response.json()["data"]["id"]


def watch(db_url: str, broadcast_id: str, args, meta, webhooks: Webhooks, shown: dict) -> float | None:
    """Poll the rows: when each (wamid, status) first shows, until every message is read and
    no event is unsettled (or the timeout). → when it drained, or None."""
    import psycopg

    deadline = time.time() + args.recipients / min(20, args.rate) + args.drain_timeout
    progress_at, last_progress = time.time(), None
    with psycopg.connect(db_url, autocommit=True) as conn:
        while time.time() < deadline:
            polled = time.time()
            # Rows read long ago were seen by an earlier poll: left out.
            rows = conn.execute(
                "SELECT wamid, delivered_at IS NOT NULL, read_at IS NOT NULL FROM whatsapp_message "
                "WHERE broadcast_id = %s AND wamid IS NOT NULL AND NOT (read_at IS NOT NULL "
                "AND delivered_at IS NOT NULL AND status_updated_at < now() - interval '60 seconds')",
                (broadcast_id,),
            ).fetchall()
            for wamid, delivered, read in rows:
                for name, showing in (("delivered", delivered), ("read", read)):
                    if showing and (wamid, name) not in shown:
                        shown[(wamid, name)] = polled
            left, unsettled = conn.execute(
                "SELECT (SELECT count(*) FROM whatsapp_message "
                "WHERE broadcast_id = %s AND status <> 'read'), (SELECT count(*) "
                "FROM webhooks_webhookevent WHERE status IN ('pending', 'processing'))",
                (broadcast_id,),
            ).fetchone()
            print(
                f"\r  sent {len(meta.sends):>7,}  statuses posted {webhooks.statuses_posted:>8,}  "
                f"not read {left:>7,}  events unsettled {unsettled:>6,}",
                end="",
                flush=True,
            )
            idle = unsettled == 0 and len(meta.sends) >= args.recipients and webhooks.idle()
            if left == 0 and idle:
                print()
                return time.time()
            if (left, unsettled, len(meta.sends), webhooks.statuses_posted) != last_progress:
                last_progress, progress_at = (
                    (left, unsettled, len(meta.sends), webhooks.statuses_posted),
                    polled,
                )
            elif idle and polled - progress_at > 30:
                print("\n  nothing moves any more: stopped before every message was read")
                return None
            time.sleep(0.25)
    print("\n  timed out before the drain")
    return None


def report(db_url, broadcast_id, world, args, meta, webhooks: Webhooks, shown, drained_at, logs) -> None:
    def sql(query: str, params: tuple = ()):
        return harness.sql(db_url, query, params)

    times = sorted(t for t, _, _ in meta.sends)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    sent_twice = sum(n - 1 for n in Counter(b for _, b, _ in meta.sends).values() if n > 1)
    statuses = dict(
        sql(
            "SELECT status, count(*) FROM whatsapp_message WHERE broadcast_id = %s GROUP BY status",
            (broadcast_id,),
        )
    )
    lags = [
        shown[key] - posted
        for key, posted in webhooks.first_post.items()
        if key in shown and key[1] in STATUS_FIELD
    ]
    # statuses/s: every status posted, over the time from the first post to the drain.
    first_post = min(webhooks.first_post.values()) if webhooks.first_post else 0.0
    status_span = (drained_at or time.time()) - first_post if first_post else 0.0
    stored, by_status = (
        sql("SELECT count(*) FROM webhooks_webhookevent")[0][0],
        dict(sql("SELECT status, count(*) FROM webhooks_webhookevent GROUP BY status")),
    )
    # Every accepted delivery is stored once (identical bodies once) and settled processed.
    lost = max(0, len(webhooks.accepted) - stored) + sum(n for s, n in by_status.items() if s != "processed")
    recount = dict(
        zip(
            ("sent", "delivered", "read"),
            sql(
                "SELECT count(*) FILTER (WHERE sent_at IS NOT NULL OR delivered_at IS NOT NULL "
                "OR read_at IS NOT NULL), "
                "count(*) FILTER (WHERE delivered_at IS NOT NULL OR read_at IS NOT NULL), "
                "count(*) FILTER (WHERE read_at IS NOT NULL) FROM whatsapp_message WHERE broadcast_id = %s",
                (broadcast_id,),
            )[0],
            strict=True,
        )
    )
    counted = dict(
        sql(
            "SELECT metric, sum(count) FROM analytics_hourlymetric WHERE account_id = %s AND dim_key = '' "
            "AND metric IN ('sent', 'delivered', 'read') GROUP BY metric",
            (world["account_id"],),
        )
    )
    counted = {metric: int(counted.get(metric, 0)) for metric in recount}
    all_read = statuses == {"read": args.recipients}
    drained_s = drained_at - webhooks.last_post if drained_at and webhooks.last_post else None
    print(f"sends: {len(times):,} over {span:.1f}s, sent twice {sent_twice}; messages {statuses}")
    print(
        f"webhooks: {webhooks.posted:,} deliveries ({webhooks.refused} refused), "
        f"{webhooks.statuses_posted:,} statuses; events {by_status}"
    )
    if lags:
        print(
            f"status lag: p50 {statistics.median(lags):.2f}s p99 {percentile(lags, 0.99):.2f}s "
            f"max {max(lags):.2f}s ({len(lags):,} statuses)"
        )
    drained = "never" if drained_s is None else f"{drained_s:.1f}s after the last webhook"
    print(f"analytics {counted} vs recount {recount}; drained {drained}")
    print(f"logs: {logs}")
    harness.report(
        {
            "recipients": args.recipients,
            "sends_per_s": round(len(times) / span, 1) if span else 0.0,
            "cap": args.rate,
            "max_1s_window": harness.max_in_window(times),
            "sent_twice": sent_twice,
            "statuses_per_s": round(webhooks.statuses_posted / status_span, 1) if status_span else 0.0,
            "lag_p50_s": round(statistics.median(lags), 3) if lags else None,
            "lag_p99_s": round(percentile(lags, 0.99), 3) if lags else None,
            "lag_max_s": round(max(lags), 3) if lags else None,
            "drained_s": round(drained_s, 1) if drained_s is not None else None,
            "lost": lost,
            "all_read": all_read,
            "analytics_match": counted == recount,
        }
    )


if __name__ == "__main__":
    main()

"""Webhook intake benchmark (run by hand, not by the test suite).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/botopia_bench \
    REDIS_URL=redis://127.0.0.1:6379/12 \
    .venv/bin/python bench/webhook_intake.py [--seconds 15] [--clients 8] [--workers 2]

Part 1, intake: the service under gunicorn (PostgreSQL + Redis), and beside it a bare WSGI
app that only verifies the signature and INSERTs the raw body with psycopg (the floor any
implementation pays). The same signed, realistic status batches are fired at each from
several concurrent keep-alive clients for a fixed time; requests/s, their ratio, p50/p99
latency, then row counts prove that every accepted (200) delivery has its row. Each app's CPU
per request (its gunicorn processes and the PostgreSQL backends of the bench database, taken
around its own rounds) is reported too: on a busy machine it says what a request costs when
requests/s mostly say how much CPU was left over.

--intake-only stops after part 1; --profile FILE samples the service's gunicorn with py-spy
during its rounds (see bench/profile_top.py). The last line is a JSON object of the figures
(intake_ratio, lost, and statuses_per_s when part 2 ran).

Part 2, processing: the events stored in part 1 were enqueued on Redis by the service; real
Dramatiq workers (`manage.py rundramatiq`) then drain them, and we time events/s until none
is pending. Items are routed to whatever handlers are registered in this checkout.
"""

import argparse
import hashlib
import hmac
import http.client
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402
from bench.harness import ensure_database, free_port, gunicorn, stop  # noqa: E402

SECRET = "bench-app-secret"
PATH = "/api/meta/webhook/events"
BARE_TABLE = "bench_bare_webhook_event"
UNSETTLED = "('pending', 'processing')"


# --- the bare WSGI app (imported by gunicorn from this module) -----------------------------

_bare_conn = None


def bare_app(environ, start_response):
    """Verify X-Hub-Signature-256 on the raw body, INSERT it, answer 200: nothing else."""
    global _bare_conn
    import psycopg

    if _bare_conn is None:
        _bare_conn = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    given = environ.get("HTTP_X_HUB_SIGNATURE_256", "")[7:].encode()
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest().encode()
    if not hmac.compare_digest(expected, given):
        start_response("403 Forbidden", [("Content-Length", "0")])
        return [b""]
    _bare_conn.execute(
        f"INSERT INTO {BARE_TABLE} (id, dedupe_key, raw_body, received_at) "
        "VALUES (%s, %s, %s, now()) ON CONFLICT (dedupe_key) DO NOTHING",
        (uuid.uuid4(), hashlib.sha256(body).hexdigest(), body),
    )
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "2")])
    return [b"{}"]


# --- payloads -------------------------------------------------------------------------------

STATUSES = ("sent", "delivered", "read")


SEED = """
from django.contrib.auth import get_user_model
from accounts.models import MetaAccount
from orgs.models import Membership, Organization
from whatsapp.models import WhatsAppBusinessAccount, WhatsAppPhoneNumber
user, _ = get_user_model().objects.get_or_create(username="bench-intake")
membership = Membership.objects.filter(user=user).select_related("organization").first()
if membership is None:
    org = Organization.objects.create(name="bench-intake")
    membership = Membership.objects.create(user=user, organization=org, role="owner", is_default=True)
account, _ = MetaAccount.objects.get_or_create(
    organization=membership.organization, meta_user_id="bench-intake",
    defaults={
        "meta_app_id": "111111111111111", "access_token": "EAAG-bench-intake-token", "connected_by": user
    },
)
waba, _ = WhatsAppBusinessAccount.objects.get_or_create(account=account, waba_id="310000000000001")
WhatsAppPhoneNumber.objects.get_or_create(waba=waba, phone_number_id="320000000000001")
"""


def status_batch(client: int, n: int, size: int) -> bytes:
    """A delivery of `size` WhatsApp statuses shaped like Meta's, unique per (client, n)."""
    statuses = []
    for i in range(size):
        wamid = f"wamid.HBgN{client:04d}{n:08d}{i:03d}" + "A" * 20
        statuses.append(
            {
                "id": wamid,
                "status": STATUSES[(n + i) % 3],
                "timestamp": str(1764330000 + n),
                "recipient_id": f"52155{client:04d}{i:04d}",
                "biz_opaque_callback_data": str(uuid.UUID(int=client << 64 | n << 10 | i)),
                "conversation": {"id": f"conv{client}{n}", "origin": {"type": "utility"}},
                "pricing": {
                    "billable": True,
                    "pricing_model": "PMP",
                    "category": "utility",
                    "type": "regular",
                },
            }
        )
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "310000000000001",
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550001111",
                                "phone_number_id": "320000000000001",
                            },
                            "statuses": statuses,
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }
    return json.dumps(payload).encode()


# --- load -----------------------------------------------------------------------------------


def _client(args: tuple[int, int, int, float, float, int, int]) -> tuple[int, int, list[float], bool]:
    """One keep-alive connection firing pre-signed batches from `start` until `deadline`."""
    index, port, batch, start, deadline, offset, pool = args
    bodies = []
    for n in range(offset, offset + pool):  # built before the clock starts: measure the server
        body = status_batch(index, n, 1 + n % batch)
        bodies.append((body, "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()))
    time.sleep(max(0.0, start - time.time()))
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    ok = refused = 0
    latencies: list[float] = []
    sent = 0
    while time.time() < deadline:
        body, signature = bodies[sent % pool]
        sent += 1
        started = time.perf_counter()
        try:
            conn.request(
                "POST",
                PATH,
                body,
                {"Content-Type": "application/json", "X-Hub-Signature-256": signature, "Host": "127.0.0.1"},
            )
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            refused += 1
            continue
        latencies.append(time.perf_counter() - started)
        if response.status == 200:
            ok += 1
        else:
            refused += 1
    return ok, refused, latencies, sent > pool


def fire(port: int, *, clients: int, seconds: float, batch: int, offset: int, pool: int = 4000) -> dict:
    start = time.time() + 1 + pool / 2000  # time for every client to build its bodies
    deadline = start + seconds
    with multiprocessing.Pool(clients) as workers:
        results = workers.map(
            _client, [(i, port, batch, start, deadline, offset, pool) for i in range(clients)]
        )
    if any(r[3] for r in results):
        print("  (some clients re-sent bodies: duplicates answer 200 without a new row; raise --pool)")
    return {
        "ok": sum(r[0] for r in results),
        "refused": sum(r[1] for r in results),
        "seconds": seconds,
        "latencies": [latency for _, _, lat, _ in results for latency in lat],
    }


def summary(runs: list[dict]) -> dict:
    latencies = sorted(latency for run in runs for latency in run["latencies"])
    ok = sum(run["ok"] for run in runs)
    return {
        "ok": ok,
        "refused": sum(run["refused"] for run in runs),
        "rps": ok / sum(run["seconds"] for run in runs),
        "p50_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99) - 1] if latencies else float("nan"),
        "cpu_ms": 1000 * sum(run["cpu"][0] + run["cpu"][1] for run in runs) / max(1, ok),
        "db_cpu_ms": 1000 * sum(run["cpu"][1] for run in runs) / max(1, ok),
    }


def cpu_seconds(server: subprocess.Popen) -> tuple[float, float]:
    """CPU seconds used so far by one app's gunicorn (its session), and by every PostgreSQL
    backend of this database (rounds alternate, so the other app's backends are idle)."""
    used = harness.cpu_snapshot({"app": {server.pid}}, os.environ["DATABASE_URL"])
    return used["app"], used["db"]


# --- processes (shared with the system test: bench/harness.py) ----------------------------


def service_env() -> dict[str, str]:
    return harness.service_env(SECRET)


def sql(query: str):
    return harness.sql(os.environ["DATABASE_URL"], query)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (each app)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (each app)")
    parser.add_argument("--batch", type=int, default=10, help="statuses per delivery: 1..batch")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds per app")
    parser.add_argument("--pool", type=int, default=4000, help="distinct bodies per client")
    parser.add_argument("--processing-timeout", type=float, default=300)
    parser.add_argument("--intake-only", action="store_true", help="stop after part 1")
    parser.add_argument("--profile", type=Path, help="py-spy the service's gunicorn into this file")
    args = parser.parse_args()
    for name in ("DATABASE_URL", "REDIS_URL"):
        if not os.environ.get(name, "").startswith(("postgres", "redis")):
            raise SystemExit(f"Set {name} (PostgreSQL and Redis): see the module docstring for an example.")

    env = service_env()
    print("Preparing the database and flushing the Redis db …", flush=True)
    ensure_database(os.environ["DATABASE_URL"])
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    sql("TRUNCATE webhooks_webhookevent")
    sql(
        f"DROP TABLE IF EXISTS {BARE_TABLE}; CREATE TABLE {BARE_TABLE} (id uuid PRIMARY KEY, "
        "dedupe_key varchar(64) UNIQUE NOT NULL, raw_body bytea NOT NULL, received_at timestamptz NOT NULL)"
    )

    apps = {"service": "botopia_meta.wsgi:application", "bare": "webhook_intake:bare_app"}
    ports = {label: free_port() for label in apps}
    servers = {
        label: gunicorn(app, ports[label], args.workers, env, threads=args.threads)
        for label, app in apps.items()
    }
    runs: dict[str, list[dict]] = {label: [] for label in apps}
    warmups: dict[str, dict] = {}
    try:
        for label, port in ports.items():
            warmups[label] = fire(
                # A pool no client can exhaust in 2 s: a re-sent body is a duplicate (200, no
                # new row), which the count below would report as lost.
                port,
                clients=args.clients,
                seconds=2,
                batch=args.batch,
                offset=10_000_000,
                pool=2000,
            )
        profiler = None
        if args.profile:
            profiler = harness.py_spy(servers["service"].pid, args.profile, args.seconds * 2 + 5)
        # Alternate short rounds so a noisy neighbour on the machine hurts both apps alike.
        for round_ in range(args.rounds):
            for label, port in ports.items():
                seconds = args.seconds / args.rounds
                print(
                    f"Round {round_ + 1}: {label} app, {seconds:.0f}s, {args.clients} clients …", flush=True
                )
                offset = round_ * args.pool
                before = cpu_seconds(servers[label])
                run = fire(
                    port,
                    clients=args.clients,
                    seconds=seconds,
                    batch=args.batch,
                    offset=offset,
                    pool=args.pool,
                )
                after = cpu_seconds(servers[label])
                runs[label].append({**run, "cpu": (after[0] - before[0], after[1] - before[1])})
        if profiler is not None:
            profiler.wait(timeout=120)
    finally:
        for server in servers.values():
            stop(server)
    results = {label: summary(label_runs) for label, label_runs in runs.items()}

    service_rows = sql("SELECT count(*) FROM webhooks_webhookevent")[0][0]
    bare_rows = sql(f"SELECT count(*) FROM {BARE_TABLE}")[0][0]
    print()
    print(
        f"{'':10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'200s':>10}{'non-200':>10}{'rows':>10}"
        f"{'CPU ms/req':>12}{'of it, db':>11}"
    )
    for label, rows in (("service", service_rows), ("bare", bare_rows)):
        r = results[label]
        print(
            f"{label:10}{r['rps']:>10.0f}{r['p50_ms']:>10.1f}{r['p99_ms']:>10.1f}"
            f"{r['ok']:>10}{r['refused']:>10}{rows:>10}{r['cpu_ms']:>12.3f}{r['db_cpu_ms']:>11.3f}"
        )
    ratio = results["service"]["rps"] / results["bare"]["rps"]
    cpu_ratio = results["bare"]["cpu_ms"] / results["service"]["cpu_ms"]
    print(f"service / bare throughput: {ratio:.2f}; bare / service CPU per request: {cpu_ratio:.2f}")
    lost = 0
    for label, rows in (("service", service_rows), ("bare", bare_rows)):
        # Every 200 (warm-up included) must have exactly one row: none lost, none doubled.
        accepted = results[label]["ok"] + warmups[label]["ok"]
        verdict = "OK" if rows == accepted else "MISMATCH"
        print(f"{label}: {accepted} deliveries accepted (incl. warm-up), {rows} rows: {verdict}")
        if label == "service":
            lost = max(0, accepted - rows)
    figures = {
        "intake_ratio": round(ratio, 3),
        "service_rps": round(results["service"]["rps"], 1),
        "bare_rps": round(results["bare"]["rps"], 1),
        "service_p99_ms": round(results["service"]["p99_ms"], 1),
        "service_cpu_ms": round(results["service"]["cpu_ms"], 3),
        "service_db_cpu_ms": round(results["service"]["db_cpu_ms"], 3),
        "bare_cpu_ms": round(results["bare"]["cpu_ms"], 3),
        "bare_db_cpu_ms": round(results["bare"]["db_cpu_ms"], 3),
        "cpu_ratio": round(cpu_ratio, 3),
        "lost": lost,
    }
    if args.intake_only:
        harness.report(figures)
        return

    print("\nPart 2: processing the stored events with real Dramatiq workers …", flush=True)
    # The number the batches are for, on an active account: the handlers apply every status
    # (status events, message rows, analytics) instead of ignoring an unknown number.
    subprocess.run([sys.executable, "manage.py", "shell", "-c", SEED], cwd=ROOT, env=env, check=True)
    pending = sql("SELECT count(*) FROM webhooks_webhookevent WHERE status = 'pending'")[0][0]
    workers = subprocess.Popen(
        [sys.executable, "manage.py", "rundramatiq", "--processes", str(args.workers), "--threads", "4"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
    )
    started = time.time()
    first_done = None
    try:
        while time.time() - started < args.processing_timeout:
            left = sql(
                "SELECT count(*) FROM webhooks_webhookevent WHERE status IN ('pending', 'processing')"
            )[0][0]
            if first_done is None and left < pending:
                first_done = time.time()  # workers are up: time from here excludes start-up
            if left == 0:
                break
            time.sleep(0.1)
        finished = time.time()
    finally:
        stop(workers)
    elapsed = finished - started
    steady = finished - (first_done or started)
    by_status = dict(sql("SELECT status, count(*) FROM webhooks_webhookevent GROUP BY status"))
    items = sql("SELECT coalesce(sum(item_count), 0) FROM webhooks_webhookevent")[0][0]
    print(
        f"{pending} events ({items} changes) in {elapsed:.1f}s incl. worker start-up, "
        f"{steady:.1f}s after the first was done: {pending / steady:.0f} events/s, "
        f"{items / steady:.0f} changes/s; "
        f"final statuses {by_status}"
    )
    harness.report(
        {**figures, "events_per_s": round(pending / steady, 1), "statuses_per_s": round(items / steady, 1)}
    )


if __name__ == "__main__":
    main()

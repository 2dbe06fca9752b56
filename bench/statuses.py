"""Status processing benchmark (run by hand, not by the test suite): how many WhatsApp status
webhooks a second the workers apply when every status belongs to a message we sent.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/botopia_bench \
    REDIS_URL=redis://127.0.0.1:6379/12 \
    .venv/bin/python bench/statuses.py --per-delivery 10 [--messages 4000] [--profile /tmp/prof]

The database and the Redis db are the bench's own: they are emptied first (messages, status
events, analytics, webhook events). The bench stores `--messages` outbound messages as sent
(wamid and our id known, like a broadcast's), then their `sent`, `delivered` and `read`
statuses (shaped like Meta's, with `biz_opaque_callback_data`, pricing and conversation)
as signed-body deliveries of `--per-delivery` statuses each, in the order Meta sends them
(all `sent`, then `delivered`, then `read`, mildly shuffled), through the service's own
intake function, which queues each on Redis. Then two `rundramatiq` processes (as the
system test runs them) drain the queue; the time counts from the first delivery done to the
last. Afterwards: every message must be `read` and each of sent/delivered/read counted once
per message in the hourly and daily analytics; `lost` counts statuses with no status event.
Besides statuses/s (which a busy machine lowers), the CPU the workers and their PostgreSQL
backends spent per status over the same window: comparable between runs on a shared machine.

`--profile DIR` runs each worker under `py-spy record --subprocesses -f raw` and writes
DIR/worker<N>.txt (collapsed stacks); `--top` prints the heaviest frames from them.

The last line of output is one JSON object of the figures.
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402

SECRET = "bench-app-secret"
WABA_ID, PHONE_NUMBER_ID = "310000000000001", "320000000000001"
BASE_TS = 1764330000  # 2025-11-28 11:40 UTC
TEMPLATE = "bench_update"
PHASES = ("sent", "delivered", "read")


def seed(messages: int, per_delivery: int, shuffle: int = 20) -> dict:
    """Run inside the service (manage.py shell): the account, its number, the messages and the
    deliveries, each stored and queued by `webhook_event_record` as the receiver does."""

    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import MetaAccount
    from orgs.models import Membership, Organization
    from webhooks.services import webhook_event_record
    from whatsapp.models import Message, WhatsAppBusinessAccount, WhatsAppPhoneNumber

    user, _ = get_user_model().objects.get_or_create(username="bench-statuses")
    org, _ = Organization.objects.get_or_create(name="bench-statuses")
    Membership.objects.get_or_create(
        user=user, organization=org, defaults={"role": "owner", "is_default": True}
    )
    account, _ = MetaAccount.objects.get_or_create(
        organization=org,
        meta_user_id="bench-statuses",
        defaults={"meta_app_id": "111111111111111", "access_token": "EAAG-bench-statuses-token"},
    )
    waba, _ = WhatsAppBusinessAccount.objects.get_or_create(account=account, waba_id=WABA_ID)
    number, _ = WhatsAppPhoneNumber.objects.get_or_create(waba=waba, phone_number_id=PHONE_NUMBER_ID)
    now = timezone.now()
    rows = [
        Message(
            direction=Message.Direction.OUTBOUND,
            phone_number=number,
            contact_wa_id=f"5215500{i:06d}",
            type="template",
            wamid=f"wamid.HBgNBENCH{i:08d}" + "A" * 24,
            status=Message.Status.SENT,
            status_updated_at=now,
            sent_at=now,
            template_name=TEMPLATE,
            template_language="en_US",
        )
        for i in range(messages)
    ]
    for start in range(0, len(rows), 2000):
        Message.objects.bulk_create(rows[start : start + 2000])
    rng = random.Random(14)
    statuses = []
    for phase, name in enumerate(PHASES):
        batch = []
        for i, message in enumerate(rows):
            batch.append(
                {
                    "id": message.wamid,
                    "status": name,
                    "timestamp": str(BASE_TS + i // 10 + 60 * phase),
                    "recipient_id": message.contact_wa_id,
                    "biz_opaque_callback_data": str(message.pk),
                    "conversation": {"id": f"conv{i}", "origin": {"type": "marketing"}},
                    "pricing": {
                        "billable": True,
                        "pricing_model": "PMP",
                        "category": "marketing",
                        "type": "regular",
                    },
                }
            )
        # Meta's order is roughly the send order; neighbours swap places.
        for i in range(len(batch)):
            j = min(len(batch) - 1, i + rng.randrange(shuffle))
            batch[i], batch[j] = batch[j], batch[i]
        statuses.extend(batch)
    deliveries = 0
    for start in range(0, len(statuses), per_delivery * 200):
        with transaction.atomic():
            for at in range(start, min(start + per_delivery * 200, len(statuses)), per_delivery):
                body = {
                    "object": "whatsapp_business_account",
                    "entry": [
                        {
                            "id": WABA_ID,
                            "changes": [
                                {
                                    "field": "messages",
                                    "value": {
                                        "messaging_product": "whatsapp",
                                        "metadata": {
                                            "display_phone_number": "15550001111",
                                            "phone_number_id": PHONE_NUMBER_ID,
                                        },
                                        "statuses": statuses[at : at + per_delivery],
                                    },
                                }
                            ],
                        }
                    ],
                }
                if webhook_event_record(raw_body=json.dumps(body).encode()) is not None:
                    deliveries += 1
    return {"messages": messages, "statuses": len(statuses), "deliveries": deliveries}


def sql(query: str, params: tuple = ()):
    return harness.sql(os.environ["DATABASE_URL"], query, params)


def check(messages: int, statuses: int) -> dict:
    """What a user would see afterwards: message states, analytics, stored status events."""
    by_status = dict(sql("SELECT status, count(*) FROM whatsapp_message GROUP BY status"))
    events = sql("SELECT count(*) FROM whatsapp_messagestatusevent")[0][0]
    figures = {}
    for table in ("analytics_hourlymetric", "analytics_dailymetric"):
        rows = sql(f"SELECT metric, dim_key, sum(count) FROM {table} GROUP BY metric, dim_key")
        figures[table] = {f"{metric}|{dim}": int(n) for metric, dim, n in rows}
    want = {f"{m}|{d}": messages for m in PHASES for d in ("", f"template={TEMPLATE}")}
    analytics_ok = all(figures[t] == want for t in figures)
    webhook = dict(sql("SELECT status, count(*) FROM webhooks_webhookevent GROUP BY status"))
    return {
        "all_read": by_status == {"read": messages},
        "message_states": by_status,
        "analytics_ok": analytics_ok,
        "analytics": figures["analytics_hourlymetric"],
        "lost": statuses - events,
        "deliveries_by_status": webhook,
    }


def top(paths: list[Path], limit: int = 25) -> list[tuple[str, float, float]]:
    """(frame, % of samples with it anywhere on the stack, % with it on top) from py-spy's
    collapsed stacks, the idle worker threads (waiting for a message) left out."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for path in paths:
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            frames = stack.split(";")
            if not any("process_webhook_event" in frame for frame in frames):
                continue  # waiting for work, heartbeats, the consumer threads
            n = int(count)
            total += n
            for frame in set(frames):
                inclusive[frame] += n
            own[frames[-1]] += n
    if not total:
        return []
    return [(frame, 100 * n / total, 100 * own[frame] / total) for frame, n in inclusive.most_common(limit)]


def cpu_snapshot(workers: list[subprocess.Popen]) -> dict[str, float]:
    """CPU seconds used so far by the worker processes and by the PostgreSQL backends serving
    this database: with both, a run on a busy machine still says what each status costs."""
    return harness.cpu_snapshot({"workers": {w.pid for w in workers}}, os.environ["DATABASE_URL"])


def start_workers(env: dict, threads: int, profile: Path | None, gil: bool = False) -> list[subprocess.Popen]:
    workers = []
    for index in range(2):
        command = [sys.executable, "manage.py", "rundramatiq", "--processes", "1", "--threads", str(threads)]
        if profile is not None:
            out = profile / f"worker{index}.txt"
            command = [
                str(harness.BIN / "py-spy"), "record", "--subprocesses", "--nonblocking",
                "-f", "raw", "-r", "50", *(["--gil"] if gil else []), "-o", str(out), "--", *command,
            ]  # fmt: skip
        workers.append(harness.spawn(command, env, (profile or Path("/tmp")) / f"bench-worker{index}.log"))
    return workers


def stop_workers(workers: list[subprocess.Popen], profiled: bool) -> None:
    for process in workers:
        if profiled:
            # py-spy writes its file when its child exits: stop the child, not py-spy.
            for child in Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split():
                os.kill(int(child), signal.SIGTERM)
            process.wait(timeout=60)
        harness.stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--per-delivery", type=int, default=10, help="statuses per delivery")
    parser.add_argument("--messages", type=int, default=4000, help="messages; 3 statuses each")
    parser.add_argument("--threads", type=int, default=4, help="threads per rundramatiq process")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--profile", type=Path, help="directory for py-spy's collapsed stacks")
    parser.add_argument("--gil", action="store_true", help="profile only threads holding the GIL (CPU)")
    parser.add_argument("--top", type=int, default=25, help="frames of the profile to print")
    args = parser.parse_args()
    for name in ("DATABASE_URL", "REDIS_URL"):
        if not os.environ.get(name, "").startswith(("postgres", "redis")):
            raise SystemExit(f"Set {name} (PostgreSQL and Redis): see the module docstring for an example.")

    env = harness.service_env(SECRET)
    print("Preparing the database and flushing the Redis db …", flush=True)
    harness.ensure_database(os.environ["DATABASE_URL"])
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    sql(
        "TRUNCATE webhooks_webhookevent, whatsapp_messagestatusevent, analytics_hourlymetric, "
        "analytics_dailymetric, analytics_recordedkey, whatsapp_message CASCADE"
    )
    print(
        f"Storing {args.messages} messages and their statuses, {args.per_delivery} per delivery …", flush=True
    )
    code = (
        "import json; from bench.statuses import seed; "
        f"print(json.dumps(seed({args.messages}, {args.per_delivery})))"
    )
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    seeded = json.loads(out.stdout.strip().splitlines()[-1])
    pending = sql("SELECT count(*) FROM webhooks_webhookevent WHERE status = 'pending'")[0][0]
    print(
        f"{seeded['deliveries']} deliveries ({seeded['statuses']} statuses) queued; starting 2 workers …",
        flush=True,
    )

    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    workers = start_workers(env, args.threads, args.profile, args.gil)
    started = time.time()
    first_done = None
    done_at_first = 0
    cpu_first = cpu_last = {"workers": 0.0, "db": 0.0}
    try:
        while time.time() - started < args.timeout:
            left = sql(
                "SELECT count(*) FROM webhooks_webhookevent WHERE status IN ('pending', 'processing')"
            )[0][0]
            if first_done is None and left < pending:
                first_done, done_at_first = time.time(), pending - left  # workers are up
                cpu_first = cpu_snapshot(workers)
            if left == 0:
                break
            time.sleep(0.05)
        finished = time.time()
        cpu_last = cpu_snapshot(workers)
    finally:
        stop_workers(workers, profiled=args.profile is not None)
    steady = max(finished - (first_done or started), 1e-9)
    drained = pending - left
    per_delivery = seeded["statuses"] / max(seeded["deliveries"], 1)
    statuses_per_s = (drained - done_at_first) * per_delivery / steady
    result = check(seeded["messages"], seeded["statuses"])
    counted = max((drained - done_at_first) * per_delivery, 1)
    cpu_ms = {k: round(1000 * (cpu_last[k] - cpu_first[k]) / counted, 3) for k in ("workers", "db")}
    load = os.getloadavg()
    print(
        f"{drained} of {pending} deliveries in {steady:.1f}s after the first was done: "
        f"{(drained - done_at_first) / steady:.0f} deliveries/s, {statuses_per_s:.0f} statuses/s "
        f"(load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}); CPU per status: "
        f"workers {cpu_ms['workers']:.2f} ms, PostgreSQL {cpu_ms['db']:.2f} ms"
    )
    print(
        f"messages {result['message_states']}; analytics {'OK' if result['analytics_ok'] else 'WRONG'} "
        f"{result['analytics']}; lost {result['lost']}; deliveries {result['deliveries_by_status']}"
    )
    if args.profile:
        rows = top(sorted(args.profile.glob("worker*.txt")), args.top)
        print(f"\nProfile (py-spy, both workers, busy samples only): {'incl %':>7} {'own %':>6}")
        for frame, inclusive, own in rows:
            print(f"{inclusive:7.1f} {own:6.1f}  {frame}")
    figures = {
        "statuses_per_s": round(statuses_per_s, 1),
        "deliveries_per_s": round((drained - done_at_first) / steady, 1),
        "per_delivery": args.per_delivery,
        "statuses": seeded["statuses"],
        "deliveries": seeded["deliveries"],
        "seconds": round(steady, 2),
        "drained": left == 0,
        "lost": result["lost"],
        "all_read": result["all_read"],
        "analytics_ok": result["analytics_ok"],
        "worker_cpu_ms_per_status": cpu_ms["workers"],
        "db_cpu_ms_per_status": cpu_ms["db"],
        "worker_threads": args.threads,
        "load_avg": [round(x, 2) for x in load],
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

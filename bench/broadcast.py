"""Benchmark: a 10,000-recipient broadcast through real Dramatiq workers on Redis, against a
local stand-in for Meta's messages endpoint (answers like Meta after a small delay).

Prints messages/s achieved, the highest number of sends Meta saw in any sliding one-second
window against the number's cap, and duplicates (must be 0); the last line is a JSON object
of the figures (sends_per_s, cap, max_1s_window, sent_twice, lost). Workers run with
production settings (DEBUG off), as bench/harness.py gives them.

Usage (use a throwaway database and Redis db: the script migrates it and flushes the Redis db):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/botopia_bench_broadcast \\
    REDIS_URL=redis://127.0.0.1:6379/11 \\
    python bench/broadcast.py [--recipients 10000] [--rate 80] [--processes 2] [--threads 8] \\
        [--delay 0.005] [--profile /tmp/broadcast.pyspy]

--profile samples the workers with py-spy for the middle of the run (see bench/profile_top.py).
"""

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--rate", type=int, default=80)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--delay", type=float, default=0.005, help="the stand-in's answer time (s)")
    parser.add_argument("--profile", type=Path, help="py-spy the workers into this file")
    args = parser.parse_args()

    if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
        sys.exit("Set DATABASE_URL (a throwaway PostgreSQL db) and REDIS_URL (a throwaway Redis db).")

    meta = harness.GraphStandInProcess(delay=args.delay)  # its clock is not held by ours
    env = harness.service_env(
        "bench-app-secret",
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",  # the test client posts the broadcast
        META_GRAPH_URL=meta.url,
        API_RATE_LIMIT_USER="100000000/m",
    )
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "botopia_meta.settings")
    import django

    django.setup()
    from django.core.cache import cache
    from django.core.management import call_command

    print("Migrating the bench database ...", flush=True)
    call_command("migrate", verbosity=0)
    cache.clear()  # the Redis db: old bucket state, old queues
    import dramatiq

    dramatiq.get_broker().flush_all()

    from django.test import Client

    from whatsapp.models import Message

    tag = uuid.uuid4().hex[:8]
    _, token = harness.seed_sender(f"bench-{tag}", waba_id=f"9{tag}", phone_id=f"8{tag}", rate=args.rate)
    recipients = [
        {"to": f"+57300{i:07d}", "parameters": {"body": [f"Customer {i}", f"A-{i}"]}}
        for i in range(args.recipients)
    ]

    workers = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "rundramatiq",
            "--processes",
            str(args.processes),
            "--threads",
            str(args.threads),
            "--skip-logging",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its session: the worker processes' CPU is counted together
    )
    groups = {"workers": {workers.pid}, "stand_in": {meta.pid}, "bench": {os.getpid()}}
    profiler = None
    try:
        time.sleep(3)  # workers up
        cpu_before = harness.cpu_snapshot(groups, os.environ["DATABASE_URL"])
        began = time.time()
        response = Client().post(
            "/api/meta/whatsapp/broadcasts",
            json.dumps({"template": {"name": "order_update", "language": "en_US"}, "recipients": recipients}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Token {token}",
        )
        accepted = time.time() - began
        assert response.status_code == 202, response.content[:500]
        broadcast_id = response.json()["data"]["id"]
        print(f"POST /broadcasts with {args.recipients:,} recipients: 202 in {accepted:.2f}s", flush=True)
        if args.profile:
            seconds = max(3.0, min(30.0, args.recipients / args.rate / 2))
            profiler = harness.py_spy(workers.pid, args.profile, seconds)
        messages = Message.objects.filter(broadcast_id=broadcast_id)
        # Generous: on a loaded machine the sends are slower than the cap.
        deadline = time.time() + args.recipients / min(20, max(1, args.rate)) + 60
        # Watched with one count query (the API's progress, through Django in this process, cost
        # ~0.1 ms of the machine's CPU per send); the API is asked once it says done.
        while time.time() < deadline:
            waiting = messages.filter(status__in=["queued", "sending"]).count()
            waiting += args.recipients - messages.count()  # not fanned out yet
            print(f"\r  queued {waiting:>6,}  sent to fake Meta {meta.count:>6,}", end="", flush=True)
            if waiting == 0:
                break
            time.sleep(1)
        print()
        cpu_after = harness.cpu_snapshot(groups, os.environ["DATABASE_URL"])
        progress = (
            Client()
            .get(f"/api/meta/whatsapp/broadcasts/{broadcast_id}", HTTP_AUTHORIZATION=f"Token {token}")
            .json()["data"]["progress"]
        )
        print(f"The API's progress: {progress}")
    finally:
        if profiler is not None:
            profiler.wait(timeout=120)
        workers.terminate()
        workers.wait(timeout=30)
        meta.stop()

    seen = meta.sends
    times = sorted(t for t, _, _ in seen)
    per_second = Counter(int(t) for t in times)
    # The sliding-window maximum too: calendar seconds can hide a burst across a boundary.
    sliding = harness.max_in_window(times)
    duplicates = sum(n - 1 for n in Counter(b for _, b, _ in seen).values() if n > 1)
    statuses = dict(Counter(messages.values_list("status", flat=True)))
    span = (times[-1] - times[0]) if len(times) > 1 else 0.0
    print(f"sends seen by fake Meta: {len(seen):,} over {span:.1f}s; message statuses: {statuses}")
    print(f"messages/s achieved: {len(seen) / span if span else 0:.1f} (cap {args.rate}/s)")
    full = [n for s, n in per_second.items() if min(per_second) < s < max(per_second)]
    print(
        f"highest per calendar second: {max(per_second.values()) if per_second else 0} "
        f"(cap {args.rate}); highest in any sliding 1 s window: {sliding}; "
        f"mean of full seconds: {sum(full) / len(full) if full else 0:.1f}"
    )
    print(f"duplicates: {duplicates}")
    # CPU per send from the broadcast's POST to its last send, fan-out included: what the
    # 2 cores have to give per message (the bench's own polling and the stand-in are the
    # machine's too; "other" is the kernel's and everyone else's).
    cpu_ms = {k: round(1000 * (cpu_after[k] - cpu_before[k]) / max(len(seen), 1), 3) for k in cpu_after}
    cpu_ms["other"] = round(cpu_ms["machine"] - sum(v for k, v in cpu_ms.items() if k != "machine"), 3)
    print("CPU per send (ms): " + ", ".join(f"{k} {v:.2f}" for k, v in cpu_ms.items()))
    sent = sum(n for status, n in statuses.items() if status != "queued" and status != "sending")
    harness.report(
        {
            "sends_per_s": round(len(seen) / span, 1) if span else 0.0,
            "cap": args.rate,
            "max_1s_window": sliding,
            "sent_twice": duplicates,
            "lost": args.recipients - sent,
            "recipients": args.recipients,
            "statuses": statuses,
            "cpu_ms_per_send": cpu_ms,
        }
    )
    if duplicates or sliding > args.rate:
        sys.exit(1)


if __name__ == "__main__":
    main()

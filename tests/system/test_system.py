"""System test: the real processes under load and faults.

2 gunicorn web processes, 2 `rundramatiq` workers and `run_scheduler` run with production
settings (DEBUG off, every required setting given, https through a proxy header) against
their own PostgreSQL database and their own redis-server, and a local stand-in for the Graph
API. While thousands of signed webhook deliveries (inbound messages, and statuses of our
outbound messages in shuffled order, ~10% duplicates) arrive from concurrent clients and a
broadcast goes out through a Graph stand-in that answers 500 or 130429 to some sends, one
worker is SIGKILLed and restarted and Redis is stopped for a few seconds. When the queues have
drained, every effect is checked against what was sent.

Runs only with DATABASE_URL (PostgreSQL) and REDIS_URL set (as in .ci/run) and a redis-server
binary; its Redis is its own (on a free port), its database is created and dropped here.
Scale: SYSTEM_TEST_RECIPIENTS (default 1500), SYSTEM_TEST_INBOUND (deliveries, default 1000).
"""

import contextlib
import hashlib
import http.client
import json
import os
import queue
import random
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import pytest

from bench import harness

DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")

pytestmark = [
    pytest.mark.system,
    pytest.mark.skipif(
        not (DATABASE_URL.startswith("postgres") and REDIS_URL.startswith("redis")),
        reason="the system test needs DATABASE_URL (PostgreSQL) and REDIS_URL set, as in .ci/run",
    ),
    pytest.mark.skipif(
        not harness.RedisServer.available(), reason="the system test needs a redis-server binary"
    ),
]

SECRET = "system-test-app-secret"
RECIPIENTS = int(os.environ.get("SYSTEM_TEST_RECIPIENTS", "1500"))
INBOUND_DELIVERIES = int(os.environ.get("SYSTEM_TEST_INBOUND", "1000"))
CLIENTS = 8
KEEP_ALIVE_IDLE = 20  # seconds: below gunicorn's keep-alive (30 s, bench/harness.py)
WORKER_THREADS = 4
GRAPH_500_RATE = 0.05
GRAPH_429_RATE = 0.05
DEADLINE_SECONDS = 150  # from the broadcast to drained, whatever happens
ORDER = ("sent", "delivered", "read")
rng = random.Random(20261129)


# --- the Graph stand-in -----------------------------------------------------------------------


@dataclass
class GraphLog:
    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: list[tuple[str, str, str]] = field(default_factory=list)  # (to, outcome, wamid)
    sent: "queue.Queue[tuple[str, str, str]]" = field(default_factory=queue.Queue)  # (to, wamid, ours)
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    # Until then, accepted sends are answered only after a pause: a worker killed meanwhile
    # dies with sends that reached Meta but whose answer it never read.
    hold_until: float = 0.0
    orphaned: int = 0  # accepted sends whose caller was gone when the answer was ready


def caller_gone(sock: socket.socket) -> bool:
    """The client closed (or its process died): readable with nothing to read, or reset."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def graph_stand_in(log: GraphLog) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self, status: int, payload: dict) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)  # its caller may have been killed waiting for it

        def do_GET(self) -> None:
            # Background jobs (WABA refresh, template sync, token checks, insights) read Meta
            # too; this stand-in has nothing to tell them: Meta "temporarily unavailable".
            self._answer(
                503,
                {
                    "error": {
                        "message": "Service temporarily unavailable",
                        "type": "OAuthException",
                        "code": 2,
                    }
                },
            )

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if not urlparse(self.path).path.endswith("/messages"):
                self._answer(404, {"error": {"message": "Unknown path", "type": "GraphMethodException"}})
                return
            payload = json.loads(raw or b"{}")
            to, ours = payload.get("to", ""), payload.get("biz_opaque_callback_data", "")
            with log.lock:
                roll = log.rng.random()
                if roll < GRAPH_500_RATE:
                    outcome, wamid = "500", ""
                elif roll < GRAPH_500_RATE + GRAPH_429_RATE:
                    outcome, wamid = "429", ""
                else:
                    outcome, wamid = "ok", f"wamid.SYS{uuid.uuid4().hex}"
                log.calls.append((to, outcome, wamid))
            if outcome == "500":
                self._answer(
                    500,
                    {
                        "error": {
                            "message": "An unexpected error has occurred. Please retry your request later.",
                            "type": "OAuthException",
                            "code": 2,
                            "is_transient": True,
                            "fbtrace_id": "AsysTest500",
                        }
                    },
                )
            elif outcome == "429":
                self._answer(
                    400,
                    {
                        "error": {
                            "message": "(#130429) Rate limit hit",
                            "type": "OAuthException",
                            "code": 130429,
                            "error_data": {
                                "messaging_product": "whatsapp",
                                "details": "Cloud API message throughput has been reached.",
                            },
                            "fbtrace_id": "AsysTest429",
                        }
                    },
                )
            else:
                log.sent.put((to, wamid, ours))
                if (hold := log.hold_until - time.time()) > 0:
                    time.sleep(hold)
                    if caller_gone(self.connection):
                        with log.lock:
                            log.orphaned += 1
                self._answer(
                    200,
                    {
                        "messaging_product": "whatsapp",
                        "contacts": [{"input": to, "wa_id": to}],
                        "messages": [{"id": wamid}],
                    },
                )

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# --- webhook deliveries -------------------------------------------------------------------------


@dataclass
class Delivery:
    body: bytes
    inbound: list[str] = field(default_factory=list)  # wamids of inbound messages
    statuses: list[tuple[str, str]] = field(default_factory=list)  # (wamid, status)
    codes: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # why a request got no answer

    @property
    def key(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


class Deliveries:
    """Builds Meta-shaped bodies (entry.time is a serial: no two built bodies are equal unless
    a duplicate is made on purpose) and hands them to the clients."""

    def __init__(self, waba_id: str, phone_number_id: str):
        self.waba_id, self.phone_number_id = waba_id, phone_number_id
        self.serial = 1764400000
        self.todo: queue.Queue[Delivery | None] = queue.Queue()
        self.all: list[Delivery] = []
        self.lock = threading.Lock()
        self.exact_duplicates = self.rebatched_duplicates = 0
        self.inbound_serial = 0

    def _body(self, *, messages=(), statuses=(), contacts=()) -> bytes:
        with self.lock:
            self.serial += 1
            serial = self.serial
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550007777", "phone_number_id": self.phone_number_id},
        }
        if contacts:
            value["contacts"] = list(contacts)
        if messages:
            value["messages"] = list(messages)
        if statuses:
            value["statuses"] = list(statuses)
        payload = {
            "object": "whatsapp_business_account",
            "entry": [
                {"id": self.waba_id, "time": serial, "changes": [{"value": value, "field": "messages"}]}
            ],
        }
        return json.dumps(payload).encode()

    def put(self, delivery: Delivery) -> None:
        with self.lock:
            self.all.append(delivery)
        self.todo.put(delivery)

    def add(self, delivery: Delivery, items: list, kind: str) -> None:
        """Queue a delivery, and ~10% duplicates of it: the same bytes again (Meta's retry),
        or one of its items re-batched alone in a new body."""
        self.put(delivery)
        roll = rng.random()
        if roll < 0.05:
            with self.lock:
                self.exact_duplicates += 1
            self.put(Delivery(body=delivery.body, inbound=delivery.inbound, statuses=delivery.statuses))
        elif roll < 0.10:
            with self.lock:
                self.rebatched_duplicates += 1
            item = rng.choice(items)
            if kind == "inbound":
                self.put(Delivery(body=self._body(messages=[item]), inbound=[item["id"]]))
            else:
                self.put(Delivery(body=self._body(statuses=[item]), statuses=[(item["id"], item["status"])]))

    def inbound(self, count: int) -> None:
        for _ in range(count):
            messages, contacts = [], []
            for _ in range(rng.randint(1, 3)):
                wa_id = f"57310{rng.randint(0, 299):07d}"
                self.inbound_serial += 1
                n = self.inbound_serial
                messages.append(
                    {
                        "from": wa_id,
                        "id": f"wamid.IN{n:08d}",
                        "timestamp": str(int(time.time())),
                        "type": "text",
                        "text": {"body": f"Hello {n}"},
                    }
                )
                contacts.append({"profile": {"name": f"Customer {wa_id[-3:]}"}, "wa_id": wa_id})
            body = self._body(messages=messages, contacts=contacts)
            self.add(Delivery(body=body, inbound=[m["id"] for m in messages]), messages, "inbound")


def status_items(to: str, wamid: str, ours: str, final: str, base: int) -> list[dict]:
    items = []
    for offset, name in enumerate(ORDER[: ORDER.index(final) + 1]):
        item = {
            "id": wamid,
            "status": name,
            "timestamp": str(base + offset),
            "recipient_id": to,
            "biz_opaque_callback_data": ours,
        }
        if name == "sent":
            item["conversation"] = {"id": f"conv-{to}", "origin": {"type": "utility"}}
            item["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "utility"}
        items.append(item)
    return items


class StatusProducer:
    """Turns each send the stand-in accepted into Meta's statuses for it (up to a chosen
    final one), shuffled within a window so `read` often arrives before `sent`."""

    def __init__(self, log: GraphLog, deliveries: Deliveries):
        self.log, self.deliveries = log, deliveries
        self.expected: dict[str, tuple[str, str, str]] = {}  # wamid -> (to, our id, final status)
        self.window: list[dict] = []
        self.rng = random.Random(11)
        self.stop = threading.Event()
        self.taken = 0  # sends taken off log.sent whose statuses are not queued yet

    def _flush(self) -> None:
        self.rng.shuffle(self.window)
        window, self.window = self.window, []
        while window:
            n = self.rng.randint(1, 4)
            chunk, window = window[:n], window[n:]
            body = self.deliveries._body(statuses=chunk)
            pairs = [(item["id"], item["status"]) for item in chunk]
            self.deliveries.add(Delivery(body=body, statuses=pairs), chunk, "status")
        # Only now are the sends taken so far done with: their deliveries are all queued.
        for _ in range(self.taken):
            self.log.sent.task_done()
        self.taken = 0

    def run(self) -> None:
        flushed = time.time()
        while not (self.stop.is_set() and self.log.sent.empty() and not self.window):
            try:
                to, wamid, ours = self.log.sent.get(timeout=0.2)
            except queue.Empty:
                pass
            else:
                self.taken += 1
                final = self.rng.choices(ORDER, weights=(2, 3, 5))[0]
                self.expected[wamid] = (to, ours, final)
                self.window.extend(status_items(to, wamid, ours, final, int(time.time())))
            if len(self.window) >= 60 or (self.window and time.time() - flushed > 0.5):
                self._flush()
                flushed = time.time()

    @property
    def idle(self) -> bool:
        """Every accepted send's statuses handed to the clients: a send counts as done only
        after its deliveries are queued (not when taken off `log.sent`, nor when its statuses
        leave the window: either would leave a moment when it shows nowhere)."""
        return self.log.sent.unfinished_tasks == 0


def client(port: int, deliveries: Deliveries) -> None:
    """One keep-alive client, retrying a delivery until it gets a 200, as Meta does."""
    conn: http.client.HTTPConnection | None = None
    used = 0.0
    while (delivery := deliveries.todo.get()) is not None:
        if conn is not None and time.monotonic() - used > KEEP_ALIVE_IDLE:
            # Like any client, never reuse a connection the server may be closing as idle
            # (gunicorn's --keep-alive is 30 s): that race is not the service failing.
            conn.close()
            conn = None
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": harness.sign(delivery.body, SECRET),
            "X-Forwarded-Proto": "https",  # as behind the TLS-terminating proxy
        }
        for _ in range(60):
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("POST", harness.WEBHOOK_PATH, delivery.body, headers)
                response = conn.getresponse()
                response.read()
                used = time.monotonic()
                delivery.codes.append(response.status)
                if response.status == 200:
                    break
            except (OSError, http.client.HTTPException) as exc:
                delivery.codes.append(0)  # no answer
                delivery.errors.append(f"{type(exc).__name__}: {exc}")
                if conn is not None:
                    conn.close()
                conn = None
            time.sleep(0.5)
        deliveries.todo.task_done()
    deliveries.todo.task_done()


def api(port: int, method: str, path: str, token: str, body: dict | None = None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Token {token}", "X-Forwarded-Proto": "https"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn.request(method, path, data, headers)
    response = conn.getresponse()
    payload = json.loads(response.read() or b"{}")
    conn.close()
    return response.status, payload


# --- the test -----------------------------------------------------------------------------------


class System:
    """The service's processes, its database and its Redis."""

    def __init__(self, directory: Path, graph_port: int):
        self.directory = directory
        parsed = urlparse(DATABASE_URL)
        self.db_url = parsed._replace(path=f"/botopia_system_{os.getpid()}").geturl()
        self.redis = harness.RedisServer(directory)
        self.web_port = harness.free_port()
        self.env = harness.service_env(
            SECRET,
            DATABASE_URL=self.db_url,
            REDIS_URL=self.redis.url,
            CACHE_KEY_PREFIX="system",
            META_GRAPH_URL=f"http://127.0.0.1:{graph_port}",
            SECURE_SSL_REDIRECT="true",  # production's; clients send X-Forwarded-Proto
            API_RATE_LIMIT_USER="100000/m",
            # Faster than production so that recoveries happen within the test's minutes:
            DRAMATIQ_HEARTBEAT_TIMEOUT_MS="15000",
            DRAMATIQ_MAINTENANCE_CHANCE="20000",
            WEBHOOK_SWEEP_SECONDS="5",
            WEBHOOK_SWEEP_AFTER_SECONDS="10",
            WEBHOOK_RESWEEP_AFTER_SECONDS="20",
            WEBHOOK_CLAIM_TIMEOUT_SECONDS="25",
            ACTOR_MIN_BACKOFF_MS="200",
            ACTOR_MAX_BACKOFF_MS="3000",
            META_GRAPH_BACKOFF_BASE="0.05",
            META_GRAPH_BACKOFF_MAX="0.5",
            META_GRAPH_CIRCUIT_SECONDS="2",
            # The stand-in fails every background read (refresh, template sync, token checks):
            # a breaker opened by those would only slow the broadcast down.
            META_GRAPH_CIRCUIT_FAILURES="50",
            MESSAGE_SWEEP_SECONDS="5",
            STALE_SENDING_SECONDS="20",
            REQUEUE_AFTER_SECONDS="15",
        )
        self.web: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.scheduler: subprocess.Popen | None = None
        self.closing = threading.Event()
        self.chaos: threading.Thread | None = None

    def log(self, name: str) -> Path:
        return self.directory / f"{name}.log"

    def prepare(self) -> dict:
        harness.drop_database(self.db_url)
        harness.ensure_database(self.db_url)
        self.redis.start()
        manage = [sys.executable, "manage.py"]
        subprocess.run(
            [*manage, "migrate", "--noinput", "-v0"], cwd=harness.ROOT, env=self.env, check=True, timeout=180
        )
        world = subprocess.run(
            [
                *manage,
                "shell",
                "-c",
                "import json; from tests.world import build_system_world; "
                "print(json.dumps(build_system_world()))",
            ],
            cwd=harness.ROOT,
            env=self.env,
            check=True,
            timeout=60,
            capture_output=True,
            text=True,
        )
        return json.loads(world.stdout.strip().splitlines()[-1])

    def start_worker(self, index: int) -> subprocess.Popen:
        return harness.manage(
            "rundramatiq",
            "--processes",
            "1",
            "--threads",
            str(WORKER_THREADS),
            env=self.env,
            log=self.log(f"worker{index}"),
        )

    def start(self) -> None:
        self.web = harness.gunicorn(
            "botopia_meta.wsgi:application", self.web_port, 2, self.env, log=self.log("web")
        )
        self.workers = [self.start_worker(i) for i in range(2)]
        self.scheduler = harness.manage("run_scheduler", env=self.env, log=self.log("scheduler"))

    def sql(self, query: str, params: tuple = ()):
        return harness.sql(self.db_url, query, params)

    def close(self, keep: bool) -> None:
        self.closing.set()
        if self.chaos is not None:
            self.chaos.join(timeout=30)  # it must not start a process after this
        for process in [self.web, self.scheduler, *self.workers]:
            if process is not None:
                harness.stop(process)
        self.redis.stop()
        if not keep:
            harness.drop_database(self.db_url)

    def tails(self) -> str:
        out = []
        for path in sorted(self.directory.glob("*.log")):
            lines = path.read_text(errors="replace").splitlines()
            out.append(f"--- {path.name} (last 30 of {len(lines)} lines)")
            out.extend(lines[-30:])
        return "\n".join(out)


def chaos(system: System, log: GraphLog, timeline: list[tuple[float, str]], began: float) -> None:
    """SIGKILL a worker mid-run (while sends it made wait for Meta's answer) and start it
    again; stop Redis for a few seconds. Stops early (never starting anything again) once the
    test is tearing the system down."""
    deadline = time.time() + 30
    while len(log.calls) < RECIPIENTS // 5 and time.time() < deadline and not system.closing.is_set():
        time.sleep(0.05)  # the broadcast is under way
    log.hold_until = time.time() + 2
    if system.closing.wait(1):
        return
    harness.stop(system.workers[0], signal.SIGKILL, timeout=10)
    timeline.append((time.time() - began, "worker 0 killed (SIGKILL)"))
    if system.closing.wait(1):
        return
    system.workers[0] = system.start_worker(0)
    timeline.append((time.time() - began, "worker 0 started again"))
    if system.closing.wait(6):
        return
    system.redis.stop()
    timeline.append((time.time() - began, "Redis stopped"))
    if system.closing.wait(4):
        return
    system.redis.start()
    timeline.append((time.time() - began, "Redis started again"))


def test_the_system_under_load_and_faults(capsys):
    started = time.time()
    log = GraphLog()
    graph = graph_stand_in(log)
    directory = Path(tempfile.mkdtemp(prefix="botopia-system-"))
    system = System(directory, graph.server_port)
    keep = bool(os.environ.get("SYSTEM_TEST_KEEP"))
    threads: list[threading.Thread] = []
    deliveries: Deliveries | None = None
    passed = False
    try:
        world = system.prepare()
        system.start()
        deliveries = Deliveries(world["waba_id"], world["phone_number_id"])
        producer = StatusProducer(log, deliveries)
        threads = [
            threading.Thread(target=client, args=(system.web_port, deliveries), daemon=True)
            for _ in range(CLIENTS)
        ]
        threads.append(threading.Thread(target=producer.run, daemon=True))
        for thread in threads:
            thread.start()
        setup_seconds = time.time() - started

        # The broadcast, through the API.
        recipients = [
            {"to": f"+57300{i:07d}", "parameters": {"body": [f"Customer {i}", f"A-{i}"]}}
            for i in range(RECIPIENTS)
        ]
        began = time.time()
        status, answer = api(
            system.web_port,
            "POST",
            "/api/meta/whatsapp/broadcasts",
            world["token"],
            {"template": {"name": world["template"], "language": "en_US"}, "recipients": recipients},
        )
        assert status == 202, answer
        broadcast_id = answer["data"]["id"]
        assert answer["data"]["total"] == RECIPIENTS

        # Inbound deliveries spread over ~20 s while the faults happen.
        def feed() -> None:
            for _ in range(INBOUND_DELIVERIES):
                deliveries.inbound(1)
                time.sleep(20 / INBOUND_DELIVERIES)

        feeder = threading.Thread(target=feed, daemon=True)
        timeline: list[tuple[float, str]] = []
        troublemaker = threading.Thread(target=chaos, args=(system, log, timeline, began), daemon=True)
        feeder.start()
        system.chaos = troublemaker
        troublemaker.start()

        def unsettled() -> tuple[int, int]:
            events = system.sql(
                "SELECT count(*) FROM webhooks_webhookevent WHERE status IN ('pending', 'processing')"
            )[0][0]
            created, waiting = system.sql(
                "SELECT count(*), count(*) FILTER (WHERE status IN ('queued', 'sending')) "
                "FROM whatsapp_message WHERE broadcast_id = %s",
                (uuid.UUID(broadcast_id),),
            )[0]
            return events, waiting + RECIPIENTS - created

        drained = None
        while time.time() - began < DEADLINE_SECONDS:
            time.sleep(1)
            if feeder.is_alive() or troublemaker.is_alive():
                continue
            if not producer.idle or deliveries.todo.unfinished_tasks:
                continue
            if unsettled() == (0, 0) and producer.idle and not deliveries.todo.unfinished_tasks:
                drained = time.time() - began
                break
        producer.stop.set()
        events_left, _ = unsettled()
        by_status = dict(
            system.sql(
                "SELECT status, count(*) FROM whatsapp_message WHERE broadcast_id = %s GROUP BY status",
                (uuid.UUID(broadcast_id),),
            )
        )
        stuck = system.sql(
            "SELECT status, attempts, claimed_at IS NOT NULL, swept_at IS NOT NULL, count(*) "
            "FROM webhooks_webhookevent WHERE status IN ('pending', 'processing') GROUP BY 1, 2, 3, 4"
        )
        assert drained is not None, (
            f"Not drained after {DEADLINE_SECONDS}s: {events_left} events unsettled "
            f"(status, attempts, claimed, swept, count: {stuck}), broadcast messages by status {by_status}, "
            f"{deliveries.todo.unfinished_tasks} deliveries not yet answered 200"
        )

        # --- every delivery answered 200 in the end, and nothing answered 5xx -----------------
        codes = Counter(code for d in deliveries.all for code in d.codes)
        refused = [d for d in deliveries.all if 200 not in d.codes]
        assert not refused, f"{len(refused)} deliveries never got a 200; answers seen: {codes}"
        errors = Counter(error for d in deliveries.all for error in d.errors)
        assert set(codes) == {200}, f"Answers other than 200 (0 = no answer: {dict(errors)}): {codes}"

        # --- every accepted delivery stored once and processed ---------------------------------
        accepted = {d.key for d in deliveries.all}
        # Rows are matched on the hash of the stored body, not on how the receiver keys them.
        stored = system.sql("SELECT encode(sha256(raw_body), 'hex'), status FROM webhooks_webhookevent")
        copies = Counter(key for key, _ in stored)
        rows = dict(stored)
        assert set(rows) == accepted, (
            f"{len(accepted - set(rows))} accepted deliveries not stored, "
            f"{len(set(rows) - accepted)} rows nobody sent"
        )
        doubled = {key: n for key, n in copies.items() if n > 1}
        assert not doubled, f"{len(doubled)} deliveries stored more than once ({sum(doubled.values())} rows)"
        unsettled_rows = system.sql(
            "SELECT status, attempts, extract(epoch FROM received_at) - %s, "
            "extract(epoch FROM claimed_at) - %s, extract(epoch FROM processed_at) - %s, "
            "swept_at IS NOT NULL, status_reason FROM webhooks_webhookevent WHERE status <> 'processed'",
            (began, began, began),
        )
        assert Counter(status for _, status in stored) == {"processed": len(accepted)}, (
            f"{Counter(rows.values())}; drained at {drained:.1f}s; not processed (status, attempts, "
            f"received, claimed, processed at s after the broadcast, swept, reason): {unsettled_rows}"
        )

        # --- inbound messages: each once ----------------------------------------------------
        inbound_sent = {wamid for d in deliveries.all for wamid in d.inbound}
        inbound_rows = Counter(
            wamid for (wamid,) in system.sql("SELECT wamid FROM whatsapp_message WHERE direction = 'inbound'")
        )
        assert set(inbound_rows) == inbound_sent
        assert max(inbound_rows.values()) == 1

        # --- the broadcast: every recipient sent once at most, none twice -------------------
        with log.lock:
            calls = list(log.calls)
        successes = Counter(to for to, outcome, _ in calls if outcome == "ok")
        twice = {to: n for to, n in successes.items() if n > 1}
        assert not twice, f"{len(twice)} recipients were sent more than once: {list(twice.items())[:5]}"
        messages = {
            to: (str(pk), wamid, status)
            for pk, to, wamid, status in system.sql(
                "SELECT id, contact_wa_id, wamid, status FROM whatsapp_message WHERE broadcast_id = %s",
                (uuid.UUID(broadcast_id),),
            )
        }
        assert len(messages) == RECIPIENTS
        never_sent = sorted(set(messages) - set(successes))
        # A send claimed by the killed worker before its request left stays `unknown` (never
        # resent: it might have reached Meta); only the killed worker's threads can cause it.
        assert all(messages[to][2] == "unknown" for to in never_sent), [messages[to] for to in never_sent]
        assert len(never_sent) <= WORKER_THREADS, never_sent

        # --- statuses: the final one, whatever the arrival order ----------------------------
        statuses_sent = {pair for d in deliveries.all for pair in d.statuses}
        status_rows = set(system.sql("SELECT wamid, status FROM whatsapp_messagestatusevent"))
        assert status_rows == statuses_sent
        wrong = []
        for wamid, (to, ours, final) in producer.expected.items():
            pk, stored_wamid, status = messages[to]
            if (pk, stored_wamid, status) != (ours, wamid, final):
                wrong.append((to, (pk, stored_wamid, status), (ours, wamid, final)))
        assert not wrong, f"{len(wrong)} messages not in their final state, e.g. {wrong[:5]}"

        # --- analytics: the aggregates equal the counts recomputed from the rows ------------
        recount = dict(
            system.sql(
                "SELECT 'received', count(*) FROM whatsapp_message WHERE direction = 'inbound' UNION ALL "
                "SELECT 'sent', count(*) FROM whatsapp_message WHERE direction = 'outbound' "
                "  AND status IN ('sent', 'delivered', 'read') UNION ALL "
                "SELECT 'delivered', count(*) FROM whatsapp_message WHERE direction = 'outbound' "
                "  AND status IN ('delivered', 'read') UNION ALL "
                "SELECT 'read', count(*) FROM whatsapp_message WHERE direction = 'outbound' "
                "  AND status = 'read' UNION ALL "
                "SELECT 'failed', count(*) FROM whatsapp_message WHERE status = 'failed'"
            )
        )
        recount = {metric: n for metric, n in recount.items() if n}
        for table in ("analytics_hourlymetric", "analytics_dailymetric"):
            totals = dict(
                system.sql(f"SELECT metric, sum(count) FROM {table} WHERE dim_key = '' GROUP BY metric")
            )
            assert totals == recount, (table, totals, recount)
        per_template = dict(
            system.sql(
                "SELECT metric, sum(count) FROM analytics_hourlymetric WHERE template = %s GROUP BY metric",
                (world["template"],),
            )
        )
        assert per_template == {k: v for k, v in recount.items() if k != "received"}

        # --- the API shows the same progress --------------------------------------------------
        status, answer = api(
            system.web_port, "GET", f"/api/meta/whatsapp/broadcasts/{broadcast_id}", world["token"]
        )
        assert status == 200, answer
        progress = answer["data"]["progress"]
        final = Counter(status for _, _, status in messages.values())
        assert {k: v for k, v in progress.items() if v} == dict(final)

        # Sends the killed worker left `sending`: the sweep made them `unknown`, and the status
        # webhook settled those that had reached Meta.
        were_unknown = system.sql(
            "SELECT count(*) FROM whatsapp_message WHERE broadcast_id = %s AND error_title = %s",
            (uuid.UUID(broadcast_id), "No answer from Meta; awaiting its status webhook."),
        )[0][0]
        claims = dict(system.sql("SELECT attempts, count(*) FROM webhooks_webhookevent GROUP BY attempts"))
        outcomes = Counter(outcome for _, outcome, _ in calls)
        sent = len(deliveries.all)
        duplicates = deliveries.exact_duplicates + deliveries.rebatched_duplicates
        figures = [
            f"System test figures (setup {setup_seconds:.0f}s; faults: "
            + ", ".join(f"{what} at {t:.0f}s" for t, what in timeline)
            + ")",
            f"  webhook deliveries sent: {sent} ({INBOUND_DELIVERIES} inbound batches, "
            f"{sent - INBOUND_DELIVERIES - duplicates} status batches, {deliveries.exact_duplicates} "
            f"byte-identical duplicates, {deliveries.rebatched_duplicates} re-batched duplicates); "
            f"answers {dict(codes)}",
            f"  accepted (200): {sent}; stored: {len(stored)} rows (duplicates dropped at intake: "
            f"{sent - len(stored)}); processed: {Counter(rows.values())['processed']}; "
            f"events by number of claims: {claims}",
            f"  inbound messages stored: {len(inbound_sent)}; status events stored: {len(statuses_sent)}",
            f"  broadcast: {RECIPIENTS} recipients; Graph calls {len(calls)}: {outcomes['ok']} sent, "
            f"{outcomes['500']} answered 500, {outcomes['429']} answered 130429; never sent (left "
            f"unknown): {len(never_sent)}; sent twice: {len(twice)}; sends Meta accepted whose worker "
            f"was killed before the answer: {log.orphaned} (marked unknown by the sweep before their "
            f"status webhook: {were_unknown}); final statuses {dict(final)}",
            f"  analytics totals (= recount from rows): {recount}",
            f"  drained {drained:.1f}s after the broadcast was queued; "
            f"whole test {time.time() - started:.0f}s",
        ]
        with capsys.disabled():
            print("\n" + "\n".join(figures))
        passed = True
    finally:
        if deliveries is not None:
            for _ in range(CLIENTS):
                deliveries.todo.put(None)
        graph.shutdown()
        try:
            system.close(keep=keep)
        finally:
            if not passed:
                with capsys.disabled():
                    print(f"\nLogs of the system test's processes ({directory}):\n{system.tails()}")

"""Shared by the benchmarks and the system test (tests/system): the service's real processes
(gunicorn, rundramatiq, run_scheduler) with production settings, a throwaway PostgreSQL
database, a private redis-server, signed webhook bodies."""

import contextlib
import hashlib
import hmac
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WEBHOOK_PATH = "/api/meta/webhook/events"


def seed_owner(name: str, **account_fields) -> tuple[object, str]:
    """In the configured database (Django set up): a user owning an organization with one
    connected Meta account (`account_fields` added). → (the account, the user's API token)."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from accounts.models import MetaAccount
    from orgs.models import Membership, Organization

    user = get_user_model().objects.create_user(username=name, password="bench-password-123")
    org = Organization.objects.create(name=name)
    Membership.objects.create(user=user, organization=org, role="owner", is_default=True)
    account = MetaAccount.objects.create(
        organization=org,
        connected_by=user,
        meta_app_id="111111111111111",
        meta_user_id=name,
        access_token=f"EAAG-{name}-token-0123456789",
        connected_at=timezone.now(),
        **account_fields,
    )
    token, _ = Token.objects.get_or_create(user=user)
    return account, token.key


def seed_sender(
    name: str, *, waba_id: str, phone_id: str, rate: int, category: str = "UTILITY"
) -> tuple[object, str]:
    """seed_owner's account with one WABA, one number capped at `rate` msg/s and the approved
    template `order_update` ("Hi {{1}}, order {{2}} ships today."). → (the number, the user's
    API token)."""
    from whatsapp.models import WhatsAppBusinessAccount, WhatsAppPhoneNumber, WhatsAppTemplate

    account, token = seed_owner(
        name, permissions=["whatsapp_business_messaging", "whatsapp_business_management"]
    )
    waba = WhatsAppBusinessAccount.objects.create(account=account, waba_id=waba_id)
    number = WhatsAppPhoneNumber.objects.create(waba=waba, phone_number_id=phone_id, max_send_rate=rate)
    WhatsAppTemplate.objects.create(
        waba=waba,
        name="order_update",
        language="en_US",
        category=category,
        status="APPROVED",
        components=[{"type": "BODY", "text": "Hi {{1}}, order {{2}} ships today."}],
    )
    return number, token


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30, process: subprocess.Popen | None = None) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"The process meant to listen on {port} exited with {process.returncode}.")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"Nothing listens on {port} after {timeout}s.")


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def service_env(secret: str, **extra: str) -> dict[str, str]:
    """Production settings (DEBUG off, every required setting given) for the child processes."""
    return {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "harness-" + "x" * 50,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "FIELD_ENCRYPTION_KEYS": "pHPAjpWqh8v2ZLI2F-RtCUBoCyO-p6BYW1m-QIkUYJs=",
        "META_APP_SECRET": secret,
        "META_APP_ID": "111111111111111",
        "META_WEBHOOK_VERIFY_TOKEN": "harness-verify-token",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
        "CONN_MAX_AGE": "600",
        "DJANGO_SETTINGS_MODULE": "botopia_meta.settings",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def spawn(command: list[str], env: dict[str, str], log: Path | None = None) -> subprocess.Popen:
    """A child in its own process group (so killpg reaches its own children too)."""
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 (closed with the child)
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True, stdout=out, stderr=out)


def gunicorn(
    app: str, port: int, workers: int, env: dict[str, str], log: Path | None = None, threads: int = 4
) -> subprocess.Popen:
    command = [
        str(BIN / "gunicorn"),
        app,
        f"--bind=127.0.0.1:{port}",
        f"--workers={workers}",
        "--worker-class=gthread",
        f"--threads={threads}",
        "--keep-alive=30",
        "--log-level=warning",
        f"--pythonpath={ROOT},{ROOT / 'bench'}",
    ]
    process = spawn(command, env, log)
    wait_for_port(port, process=process)
    return process


def manage(*args: str, env: dict[str, str], log: Path | None = None) -> subprocess.Popen:
    return spawn([sys.executable, "manage.py", *args], env, log)


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
    """Signal the process's whole group and wait for the leader."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def sql(url: str, query: str, params: tuple = ()):
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def _process_cpu(pid: int) -> tuple[int, str, float]:
    """(session id, command name, CPU seconds used) of a process."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[3]), name, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_snapshot(groups: dict[str, set[int]], database_url: str | None = None) -> dict[str, float]:
    """CPU seconds used so far: by each group of processes (name → the session ids or pids
    that make it; py-spy left out), by the PostgreSQL backends of `database_url` ("db") and
    redis-server ("redis") when given, and by the whole machine ("machine": every core, the
    kernel's own work included). Differences of two snapshots over the same work say what it
    cost, even on a busy machine."""
    totals = dict.fromkeys(groups, 0.0)
    backends: set[int] = set()
    if database_url:
        totals |= {"db": 0.0, "redis": 0.0}
        query = "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        backends = {pid for (pid,) in sql(database_url, query)}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            session, name, seconds = _process_cpu(pid)
        except (OSError, ValueError, IndexError):
            continue
        if name == "py-spy":
            continue
        for group, members in groups.items():
            if session in members or pid in members:
                totals[group] += seconds
                break
        else:
            if pid in backends:
                totals["db"] += seconds
            elif database_url and name == "redis-server":
                totals["redis"] += seconds
    busy = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    # user nice system idle iowait irq softirq steal: all but idle and iowait.
    ticks = sum(int(v) for i, v in enumerate(busy[:8]) if i not in (3, 4))
    totals["machine"] = ticks / os.sysconf("SC_CLK_TCK")
    return totals


def _admin_url(url: str) -> tuple[str, str]:
    parsed = urlparse(url)
    return parsed._replace(path="/postgres").geturl(), parsed.path.lstrip("/")


def ensure_database(url: str) -> None:
    admin_url, name = _admin_url(url)
    if not sql(admin_url, "SELECT 1 FROM pg_database WHERE datname = %s", (name,)):
        sql(admin_url, f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    admin_url, name = _admin_url(url)
    sql(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class RedisServer:
    """A private redis-server on a free port, which may be stopped and started again. Its
    append-only file survives a restart, as a production broker's would."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    def start(self) -> None:
        command = [
            shutil.which("redis-server") or "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.directory),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
        ]
        log = open(self.directory / "redis.log", "ab")  # noqa: SIM115 (lives with the server)
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(self.port, process=self.process)

    def stop(self) -> None:
        """A clean shutdown (SIGTERM: the append-only file is flushed)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """The most events in any sliding `window` seconds (calendar seconds can hide a burst
    across a boundary)."""
    ordered = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(ordered):
        while t - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def report(figures: dict) -> None:
    """The bench's last line: one JSON object of its figures, so runs can be compared."""
    import json

    print(json.dumps({**figures, "load_avg": load_average()}, sort_keys=True), flush=True)


def py_spy(pid: int, out: Path, seconds: float) -> subprocess.Popen | None:
    """Sample `pid` and its children with py-spy (requirements-dev) for `seconds`; None when
    py-spy is not installed. The top of the profile: `py-spy record --format raw` lines are
    collapsed stacks, summarised by bench/profile_top.py. PY_SPY_GIL=1: only threads holding
    the GIL (where the CPU goes, not the waiting)."""
    binary = shutil.which("py-spy") or str(BIN / "py-spy")
    if not Path(binary).exists():
        return None
    command = [binary, "record", "--subprocesses", "--nonblocking", "--format", "raw", "--rate", "200"]
    command += ["--duration", str(int(seconds)), "--pid", str(pid), "--output", str(out)]
    if os.environ.get("PY_SPY_GIL"):
        command.append("--gil")
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class GraphStandIn:
    """Meta's messages endpoint played locally: every POST is answered like Meta's send answer
    after `delay` seconds, on kept-alive connections (as Meta's edge). `sends` holds (time,
    biz_opaque_callback_data, to) of each; `on_send(body, wamid)` is told of each too.

    HTTP/1.1 spoken directly on the socket (one thread per connection), not through
    http.server: its header parsing, logging hooks and date stamps cost ~0.35 ms of CPU per
    answer, about a tenth of what a whole send costs the 2 cores, CPU that real Meta would
    not take from us. Headers and body leave in one write (no Nagle wait between them)."""

    def __init__(self, delay: float = 0.005, on_send=None):
        import socketserver
        import threading

        self.delay = delay
        self.on_send = on_send
        self.sends: list[tuple[float, str, str]] = []
        self.lock = threading.Lock()
        stand_in = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                stand_in._serve(self.request)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self, sock: socket.socket) -> None:
        import json
        import uuid

        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pending = b""
        while True:
            while b"\r\n\r\n" not in pending:
                data = sock.recv(65536)
                if not data:
                    return
                pending += data
            head, pending = pending.split(b"\r\n\r\n", 1)
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(pending) < length:
                data = sock.recv(65536)
                if not data:
                    return
                pending += data
            raw, pending = pending[:length], pending[length:]
            body = json.loads(raw or b"{}")
            wamid = f"wamid.{uuid.uuid4().hex}"
            with self.lock:
                self.sends.append((time.time(), body.get("biz_opaque_callback_data", ""), body.get("to", "")))
            time.sleep(self.delay)
            answer = json.dumps(
                {
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
                    "messages": [{"id": wamid}],
                }
            ).encode()
            sock.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(answer), answer)
            )
            if self.on_send is not None:
                self.on_send(body, wamid)

    def stop(self) -> None:
        self.server.shutdown()


class GraphStandInProcess:
    """A GraphStandIn in a child process, for benches that judge arrival times (the cap in any
    sliding second): in the bench's own process, its Django work (polling progress, its GC)
    held the GIL for up to ~130 ms, and requests that reached the socket meanwhile were stamped
    late and together: a burst the wire never carried. `count` is live; `sends` (as
    GraphStandIn's) is filled by stop()."""

    def __init__(self, delay: float = 0.005):
        import multiprocessing

        context = multiprocessing.get_context("fork")  # before Django is set up: nothing to inherit
        self._count = context.Value("i", 0)
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_stand_in_child, args=(delay, child, self._count), daemon=True)
        self._process.start()
        self.port: int = self._conn.recv()
        self.sends: list[tuple[float, str, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def count(self) -> int:
        return self._count.value

    @property
    def pid(self) -> int:
        return self._process.pid or 0

    def stop(self) -> None:
        self._conn.send("stop")
        self.sends = self._conn.recv()
        self._process.join(timeout=10)


def _stand_in_child(delay: float, conn, count) -> None:
    def counted(body: dict, wamid: str) -> None:
        with count.get_lock():
            count.value += 1

    stand_in = GraphStandIn(delay=delay, on_send=counted)
    conn.send(stand_in.port)
    conn.recv()
    stand_in.stop()
    with stand_in.lock:
        conn.send(list(stand_in.sends))

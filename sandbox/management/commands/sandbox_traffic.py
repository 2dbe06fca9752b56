"""Generate realistic WhatsApp webhook traffic against our own receiver, for demos and load:
inbound customer messages, and sent → delivered → read (sometimes failed) statuses for
outbound ones, signed like Meta's and POSTed over HTTP (real signature check, real queue)."""

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

import requests
from django.core.management.base import BaseCommand, CommandError

import sandbox
from sandbox import demo, events

NAMES = ["Ana Pérez", "Bruno Díaz", "Chloé Martin", "Dmitri Ivanov", "Emeka Obi", "Fatima Zahra", "Grace Lee"]
TEXTS = [
    "Hi! Are you open today?",
    "Can I change my order?",
    "Thanks, it arrived 🙌",
    "Do you deliver to Springfield?",
    "What's the price of a flat white?",
    "¿Tienen envíos a Monterrey? 🚚",
]
INBOUND_SHARE = 0.3  # of generated messages; the rest are outbound with their statuses
READ_SHARE = 0.7  # of delivered outbound messages
FAILED_SHARE = 0.03


class Command(BaseCommand):
    help = "Send simulated WhatsApp webhook traffic to this service's receiver (Meta sandbox only)."

    def add_arguments(self, parser):
        parser.add_argument("--messages", type=int, default=100, help="how many messages (default 100)")
        parser.add_argument("--rate", type=float, default=10.0, help="messages per second (default 10)")
        parser.add_argument("--url", help="the receiver (default: the subscribed callback, else ours)")
        parser.add_argument("--seed", type=int, default=None, help="repeatable traffic")
        parser.add_argument("--concurrency", type=int, default=8, help="deliveries in flight (default 8)")

    def handle(
        self,
        *args,
        messages: int,
        rate: float,
        url: str | None,
        seed: int | None,
        concurrency: int,
        **options,
    ):
        if not sandbox.enabled():
            raise CommandError(
                "sandbox_traffic signs fake Meta events: it only runs with the Meta sandbox on."
            )
        if messages < 1 or rate <= 0 or concurrency < 1:
            raise CommandError("--messages and --concurrency must be at least 1, --rate above 0.")
        target = url or events.callback_url(events.WABA_OBJECT)
        rng = random.Random(seed)
        counts = {"deliveries": 0, "inbound": 0, "outbound": 0, "failed": 0, "refused": 0}
        local, slots = threading.local(), threading.BoundedSemaphore(concurrency)
        sessions: list[requests.Session] = []

        def deliver(payloads: list[dict]) -> list[bool]:
            """One message's webhooks, in order (as Meta sends a message's statuses)."""
            try:
                if not hasattr(local, "session"):
                    local.session = requests.Session()  # one kept-alive connection per thread
                    sessions.append(local.session)
                return [self._post(local.session, target, payload) for payload in payloads]
            finally:
                slots.release()

        started = time.monotonic()
        self.stdout.write(f"Sending {messages} messages at {rate:g}/s to {target}")
        # Meta delivers concurrently: messages leave on schedule while earlier ones are still
        # being answered, at most `concurrency` at a time (a slow receiver slows the rate).
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            pending = []
            for i in range(messages):
                wait = started + i / rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                slots.acquire()
                pending.append(pool.submit(deliver, self._message(rng, counts)))
                self._progress(i + 1, messages, started)
            for future in as_completed(pending):
                for ok in future.result():
                    counts["deliveries" if ok else "refused"] += 1
        for session in sessions:
            session.close()
        elapsed = time.monotonic() - started
        if self.stdout.isatty():
            self.stdout.write("")  # end the progress line
        self.stdout.write(
            f"Done in {elapsed:.1f}s: {counts['inbound']} inbound, {counts['outbound']} outbound "
            f"({counts['failed']} failed), {counts['deliveries']} webhooks accepted, "
            f"{counts['refused']} refused."
        )
        if counts["refused"]:
            raise CommandError(f"{counts['refused']} deliveries were refused or failed.")

    @staticmethod
    def _post(session: requests.Session, target: str, payload: dict) -> bool:
        body = events.encode(payload)
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": events.sign(body)}
        try:
            return session.post(target, data=body, headers=headers, timeout=10).status_code < 300
        except requests.RequestException:
            return False

    def _message(self, rng: random.Random, counts: dict) -> list[dict]:
        phone_number_id = rng.choice(list(demo.PHONE_NUMBERS))
        customer = "1555" + "".join(rng.choice("0123456789") for _ in range(7))
        now = time.time()
        if rng.random() < INBOUND_SHARE:
            counts["inbound"] += 1
            return [
                events.inbound_payload(
                    phone_number_id=phone_number_id,
                    wamid=events.new_wamid(),
                    sender=customer,
                    name=rng.choice(NAMES),
                    text=rng.choice(TEXTS),
                    at=now,
                )
            ]
        counts["outbound"] += 1
        wamid = events.new_wamid()
        if rng.random() < FAILED_SHARE:
            counts["failed"] += 1
            names = ["sent", "failed"]
        else:
            names = ["sent", "delivered"] + (["read"] if rng.random() < READ_SHARE else [])
        category = rng.choice(["utility", "marketing", "service"])
        return [
            events.status_payload(
                phone_number_id=phone_number_id,
                wamid=wamid,
                to=customer,
                status=name,
                at=now + i,
                category=category,
            )
            for i, name in enumerate(names)
        ]

    def _progress(self, done: int, total: int, started: float) -> None:
        width = 30
        filled = width * done // total
        elapsed = max(time.monotonic() - started, 1e-6)
        line = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {done / elapsed:5.1f} msg/s"
        if self.stdout.isatty():
            self.stdout.write("\r" + line, ending="")
            self.stdout.flush()
        elif done == total or done % max(1, total // 10) == 0:
            self.stdout.write(line)

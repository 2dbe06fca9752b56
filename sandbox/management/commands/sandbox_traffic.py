"""Generate realistic webhook traffic against our own receiver, for demos and load, signed like
Meta's and POSTed over HTTP (real signature check, real queue). WhatsApp (the default): inbound
customer messages, and sent → delivered → read (sometimes failed) statuses for outbound ones.
Facebook / Instagram: comments from the sandbox's people on the latest post / media (some of
them replies), and DMs; the sandbox remembers them, so each can be answered through our API."""

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed

import requests
from django.core.management.base import BaseCommand, CommandError

import sandbox
from sandbox import demo, events, social
from sandbox.meta import new_id
from sandbox.models import Comment, IgMedia, Post

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
COMMENT_SHARE = 0.6  # Facebook / Instagram: the rest are DMs
REPLY_SHARE = 0.25  # of comments, once there is one to answer
PLATFORMS = ("whatsapp", "facebook", "instagram")


class Command(BaseCommand):
    help = (
        "Send simulated WhatsApp, Facebook or Instagram webhook traffic to this service's receiver "
        "(Meta sandbox only)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--platform", choices=PLATFORMS, default="whatsapp", help="default whatsapp")
        parser.add_argument("--messages", type=int, default=100, help="how many events (default 100)")
        parser.add_argument("--rate", type=float, default=10.0, help="messages per second (default 10)")
        parser.add_argument("--url", help="the receiver (default: the subscribed callback, else ours)")
        parser.add_argument("--seed", type=int, default=None, help="repeatable traffic")
        parser.add_argument("--concurrency", type=int, default=8, help="deliveries in flight (default 8)")

    def handle(
        self,
        *args,
        platform: str,
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
        object_type = {"whatsapp": events.WABA_OBJECT, "facebook": "page", "instagram": "instagram"}[platform]
        target = url or events.callback_url(object_type)
        rng = random.Random(seed)
        counts = {"deliveries": 0, "inbound": 0, "outbound": 0, "failed": 0, "refused": 0}
        counts |= {"comments": 0, "replies": 0, "dms": 0}
        make = self._message if platform == "whatsapp" else self._social(platform)
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
        what = "messages" if platform == "whatsapp" else f"{platform} comments and DMs"
        self.stdout.write(f"Sending {messages} {what} at {rate:g}/s to {target}")
        # Meta delivers concurrently: messages leave on schedule while earlier ones are still
        # being answered, at most `concurrency` at a time (a slow receiver slows the rate).
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            pending = []
            for i in range(messages):
                wait = started + i / rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                slots.acquire()
                pending.append(pool.submit(deliver, make(rng, counts)))
                self._progress(i + 1, messages, started)
            for future in as_completed(pending):
                for ok in future.result():
                    counts["deliveries" if ok else "refused"] += 1
        for session in sessions:
            session.close()
        elapsed = time.monotonic() - started
        if self.stdout.isatty():
            self.stdout.write("")  # end the progress line
        if platform == "whatsapp":
            summary = (
                f"{counts['inbound']} inbound, {counts['outbound']} outbound ({counts['failed']} failed)"
            )
        else:
            summary = f"{counts['comments']} comments ({counts['replies']} replies), {counts['dms']} DMs"
        self.stdout.write(
            f"Done in {elapsed:.1f}s: {summary}, {counts['deliveries']} webhooks accepted, "
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

    def _social(self, platform: str) -> Callable[[random.Random, dict], list[dict]]:
        """Facebook or Instagram events: comments on the latest post / media (a page post made
        "on Facebook" first when there is none), some replies to earlier ones, and DMs."""
        if platform == social.FB:
            post = Post.objects.filter(page_id=demo.PAGE_ID, published=True).order_by("-created_at").first()
            if post is None:
                post = Post.objects.create(
                    post_id=f"{demo.PAGE_ID}_{new_id()}",
                    page_id=demo.PAGE_ID,
                    message="Today's specials",
                )
                self.stdout.write(f"No post yet: made {post.post_id} on the page to comment on.")
            object_id = post.post_id
        else:
            media = IgMedia.objects.filter(ig_id=demo.IG_ID, published_at__isnull=False).order_by(
                "-published_at"
            )
            found = media.first()
            if found is None:
                raise CommandError(
                    "Publish on the sandbox IG account first (POST /api/meta/instagram/media)."
                )
            object_id = found.media_id
        top_level: list[Comment] = []

        def make(rng: random.Random, counts: dict) -> list[dict]:
            person = rng.choice(demo.PEOPLE)
            if rng.random() >= COMMENT_SHARE:
                counts["dms"] += 1
                _, payload = social.add_inbound_dm(platform, person, rng.choice(demo.DM_TEXTS), delay_ms=0)
                return [payload]
            counts["comments"] += 1
            if top_level and rng.random() < REPLY_SHARE:
                counts["replies"] += 1
                parent = rng.choice(top_level).comment_id
                text = rng.choice(demo.REPLY_TEXTS)
            else:
                parent, text = "", rng.choice(demo.COMMENT_TEXTS)
            comment, payload = social.add_comment(
                platform, object_id, person, text, delay_ms=0, parent_id=parent
            )
            if not parent:
                top_level.append(comment)
            return [payload]

        return make

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

"""`make run`: Django's development server with an in-process Dramatiq worker and scheduler,
so queued work runs without Redis or extra processes. Never used by tests or gunicorn."""

import logging
import re
import threading

import dramatiq
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import autodiscover_modules

import sandbox
from botopia_meta import scheduler


class QueryStringRedactor(logging.Filter):
    """runserver's access log ("django.server") prints each request line with its query
    string; the sandbox's Graph calls carry access tokens there. Secrets are masked."""

    query = re.compile(r"\?[^\s\"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        from botopia_meta.observability import scrub_text

        message = record.getMessage()
        redacted = self.query.sub(lambda m: scrub_text(m.group(0)), message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class Command(BaseCommand):
    help = "Development server + in-process worker + scheduler (DEBUG only)."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport: str, **options):
        if not settings.DEBUG:
            raise CommandError(
                "devserver is for development (DEBUG on). In production run gunicorn, "
                "`manage.py rundramatiq` and `manage.py run_scheduler`."
            )
        logging.getLogger("django.server").addFilter(QueryStringRedactor())
        autodiscover_modules("actors")
        worker = dramatiq.Worker(dramatiq.get_broker(), worker_threads=4, worker_timeout=200)
        worker.start()
        stop = threading.Event()
        threading.Thread(target=scheduler.run, args=(stop,), name="scheduler", daemon=True).start()
        self.stdout.write(f"In-process worker ({len(worker.workers)} threads) and scheduler started.")
        if sandbox.enabled():
            from sandbox import bootstrap

            host, _, port = addrport.rpartition(":")
            base_url = f"http://{host or '127.0.0.1'}:{port}"
            # Connecting goes through this very server (the sandbox is one of its URLs).
            threading.Thread(
                target=bootstrap.run, kwargs={"base_url": base_url, "out": self.stdout}, daemon=True
            ).start()
        try:
            # No autoreloader: it would fork a child that has its own in-memory broker.
            call_command("runserver", addrport, use_reloader=False)
        finally:
            stop.set()
            worker.stop()

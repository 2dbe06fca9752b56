import signal
import threading

from django.core.management.base import BaseCommand

from botopia_meta import scheduler


class Command(BaseCommand):
    help = "Run the periodic-job scheduler (one process in production; it only enqueues, workers run)."

    def handle(self, *args, **options):
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        jobs = scheduler.discover()
        for job in sorted(jobs.values(), key=lambda j: j.name):
            self.stdout.write(f"  every {job.seconds:>6}s  {job.name}")
        scheduler.run(stop)

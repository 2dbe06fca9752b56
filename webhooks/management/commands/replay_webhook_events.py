"""Re-process stored webhook events (idempotent: handlers never apply an item twice).

python manage.py replay_webhook_events --id <uuid> [--id ...]
python manage.py replay_webhook_events --status ignored --status failed
python manage.py replay_webhook_events --since 2026-11-28T00:00:00Z --until 2026-11-29T00:00:00Z
... [--object page] [--field feed] [--enqueue] [--dry-run]
"""

from collections import Counter
from datetime import datetime
from uuid import UUID

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from botopia_meta.tasks import RetryLater
from webhooks import services
from webhooks.models import WebhookEvent


def _when(value: str) -> datetime:
    parsed = parse_datetime(value)
    if parsed is None:
        raise CommandError(f"Not a date-time: {value!r}. Use ISO 8601, e.g. 2026-11-28T19:00:00Z.")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


def _uuid(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise CommandError(f"Not an event id: {value!r}. Copy the id from the admin's event list.") from None


class Command(BaseCommand):
    help = "Re-process stored webhook events by id, status or time range (idempotently)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--id", dest="ids", action="append", default=[], help="an event id (repeatable)")
        statuses = [s.value for s in WebhookEvent.Status]
        parser.add_argument("--status", dest="statuses", action="append", default=[], choices=statuses)
        parser.add_argument("--since", help="received at or after (ISO 8601)")
        parser.add_argument("--until", help="received before (ISO 8601)")
        parser.add_argument("--object", dest="object_type", help="e.g. whatsapp_business_account, page")
        parser.add_argument("--field", help="only events containing this field, e.g. feed")
        parser.add_argument("--enqueue", action="store_true", help="hand the events to the workers instead")
        parser.add_argument("--dry-run", action="store_true", help="only count what would be replayed")

    def handle(self, *args, ids: list[str], statuses: list[str], **options) -> None:
        if not (ids or statuses or options["since"] or options["until"]):
            raise CommandError("Say which events: --id, --status, --since/--until (see --help).")
        events = WebhookEvent.objects.all()
        if ids:
            events = events.filter(pk__in=[_uuid(i) for i in ids])
        if statuses:
            events = events.filter(status__in=statuses)
        if options["since"]:
            events = events.filter(received_at__gte=_when(options["since"]))
        if options["until"]:
            events = events.filter(received_at__lt=_when(options["until"]))
        if options["object_type"]:
            events = events.filter(object=options["object_type"])
        if options["field"]:
            field = options["field"]
            events = events.filter(
                Q(fields=field)
                | Q(fields__startswith=f"{field},")
                | Q(fields__endswith=f",{field}")
                | Q(fields__contains=f",{field},")
            )
        event_ids = list(events.order_by("received_at").values_list("pk", flat=True))
        total = len(event_ids)
        if ids and total < len(set(ids)):
            self.stderr.write(
                f"{len(set(ids)) - total} of the given id(s) match no event (or not the filters)."
            )
        if options["dry_run"] or not total:
            self.stdout.write(f"{total} event(s) would be replayed.")
            return

        outcomes: Counter[str] = Counter()
        for done, event_id in enumerate(event_ids, start=1):
            outcomes[self._replay(event_id, enqueue=options["enqueue"])] += 1
            self._progress(done, total)
        summary = ", ".join(f"{count} {status}" for status, count in sorted(outcomes.items()))
        self.stdout.write(self.style.SUCCESS(f"Replayed {total} event(s): {summary}."))
        if outcomes.get("retry later") or outcomes.get("failed") or outcomes.get("partially_failed"):
            self.stdout.write(
                "Failed items are listed on each event in the admin (Webhook events, filter by status); "
                "fix the cause, then replay those with --status failed --status partially_failed."
            )

    def _replay(self, event_id: UUID, *, enqueue: bool) -> str:
        if enqueue:
            from webhooks.actors import process_webhook_event

            process_webhook_event.send(str(event_id), force=True)
            return "enqueued"
        try:
            event = services.webhook_event_process(event_id=event_id, force=True)
        except RetryLater:
            return "retry later"  # left pending: the sweeper re-enqueues it
        return event.status if event is not None else "busy (being processed)"

    def _progress(self, done: int, total: int) -> None:
        width = 30
        filled = width * done // total
        self.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}", ending="")
        if done == total:
            self.stderr.write("")
        self.stderr.flush()

"""Write the analytics report (the same as GET /api/meta/analytics/reports) to a file."""

import json
from datetime import date
from pathlib import Path
from uuid import UUID

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rest_framework.utils.encoders import JSONEncoder

from accounts.models import MetaAccount
from analytics.recording import account_timezone
from analytics.reports import report_csv, report_data
from analytics.serializers import resolve_range
from botopia_meta.api.camel import camelize
from botopia_meta.exceptions import ValidationFailed

BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Export an account's analytics report (per day and platform, then per template) as CSV or "
        "JSON. Dates are inclusive, in the account's analytics time zone."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--account", required=True, help="MetaAccount id (UUID).")
        parser.add_argument(
            "--start-date", type=date.fromisoformat, help="YYYY-MM-DD (default: 30 days ago)."
        )
        parser.add_argument("--end-date", type=date.fromisoformat, help="YYYY-MM-DD (default: today).")
        parser.add_argument("--format", choices=["csv", "json"], default="csv")
        parser.add_argument("--output", required=True, help="File to write.")

    def handle(self, *args, **options) -> None:
        try:
            account = MetaAccount.all_objects.get(pk=UUID(options["account"]))
        except (MetaAccount.DoesNotExist, ValueError):
            raise CommandError(
                f"No Meta account {options['account']!r}. Find the id in the admin "
                "(/admin/accounts/metaaccount/) and pass it as --account."
            ) from None
        try:
            start, end = resolve_range(
                account_timezone(account.pk), options["start_date"], options["end_date"]
            )
        except ValidationFailed as exc:
            raise CommandError(f"{exc.message} Pass a shorter --start-date/--end-date range.") from None
        output = Path(options["output"])
        if not output.parent.exists():
            raise CommandError(
                f"Folder {output.parent} does not exist: create it or choose another --output."
            )

        with output.open("w", encoding="utf-8", newline="") as handle:
            if options["format"] == "csv":
                for chunk in report_csv(account=account, start=start, end=end, progress=self._progress):
                    handle.write(chunk)
            else:
                data = report_data(account=account, start=start, end=end)
                json.dump(camelize(data), handle, cls=JSONEncoder, indent=2)
                total = (end - start).days + 1
                self._progress(total, total)
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Report {start}..{end} written to {output}"))

    def _progress(self, done: int, total: int) -> None:
        filled = BAR_WIDTH * done // max(total, 1)
        self.stdout.write(f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} days", ending="")
        self.stdout.flush()

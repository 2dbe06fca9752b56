"""The report both the API and `export_report` produce: per day and platform, then per
template. CSV is generated chunk by chunk so long ranges stream."""

import csv
import io
from collections.abc import Callable, Iterator
from datetime import date

from accounts.models import MetaAccount
from analytics.recording import account_timezone
from analytics.selectors import REPORT_COLUMNS, report_day_rows, report_template_rows

_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    # A template name like "=HYPERLINK(...)" must not run as a formula in a spreadsheet.
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    if value is None:
        return ""
    return value


def _line(writer: csv.DictWriter, buffer: io.StringIO, row: dict) -> str:
    writer.writerow({column: _cell(row.get(column, "")) for column in REPORT_COLUMNS})
    return _flush(buffer)


def report_csv(
    *, account: MetaAccount, start: date, end: date, progress: Callable[[int, int], None] | None = None
) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=REPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    yield _flush(buffer)
    total_days = (end - start).days + 1
    for done, rows in report_day_rows(account=account, start=start, end=end):
        yield "".join(_line(writer, buffer, row) for row in rows)
        if progress:
            progress(done, total_days)
    for row in report_template_rows(account=account, start=start, end=end):
        yield _line(writer, buffer, row)


def _flush(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def report_data(*, account: MetaAccount, start: date, end: date) -> dict:
    days = []
    for _, rows in report_day_rows(account=account, start=start, end=end):
        for row in rows:
            days.append({k: v for k, v in row.items() if k not in ("section", "template")})
    templates = [
        {k: v for k, v in row.items() if k not in ("section", "date", "platform")}
        for row in report_template_rows(account=account, start=start, end=end)
    ]
    return {
        "start_date": start,
        "end_date": end,
        "timezone": str(account_timezone(account.pk)),
        "days": days,
        "templates": templates,
    }

"""GET /api/meta/analytics/reports as CSV and JSON, and the export_report command."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from analytics.recording import record, record_message_status
from analytics.selectors import REPORT_COLUMNS
from tests.factories import make_account

pytestmark = pytest.mark.django_db
URL = "/api/meta/analytics/reports"


@pytest.fixture
def account(alice):
    account = make_account(alice)
    when = datetime(2026, 11, 2, 12, tzinfo=UTC)
    for wamid, statuses in [("w1", ("read",)), ("w2", ("delivered",)), ("w3", ("sent",))]:
        for status in statuses:
            record_message_status(
                account_id=account.pk,
                phone_number_id="PN1",
                message_id=wamid,
                status=status,
                at=when,
                dimensions={"template": "=HYPERLINK(evil)" if wamid == "w3" else "order_update"},
            )
    record(account_id=account.pk, platform="instagram", metric="comments_received", at=when, count=2)
    return account


def test_it_streams_csv_with_its_header_and_one_row_per_day_and_platform(account, alice_client):
    response = alice_client.get(URL, {"startDate": "2026-11-01", "endDate": "2026-11-03", "format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.streaming
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert tuple(rows[0].keys()) == REPORT_COLUMNS
    days = [r for r in rows if r["section"] == "day"]
    assert len(days) == 3 * 3  # three days, three platforms, zero-filled
    nov2 = {r["platform"]: r for r in days if r["date"] == "2026-11-02"}
    assert (nov2["whatsapp"]["sent"], nov2["whatsapp"]["delivered"], nov2["whatsapp"]["read"]) == (
        "3",
        "2",
        "1",
    )
    assert nov2["whatsapp"]["delivery_rate"] == "0.6667"
    assert nov2["whatsapp"]["response_rate"] == ""
    assert nov2["instagram"]["comments_received"] == "2"
    templates = {r["template"]: r for r in rows if r["section"] == "template"}
    assert templates["order_update"]["sent"] == "2"
    assert templates["order_update"]["read_rate"] == "0.5"
    # A formula-looking template name is neutralised for spreadsheets.
    assert "'=HYPERLINK(evil)" in templates


def test_it_answers_the_same_report_as_json(account, alice_client):
    response = alice_client.get(URL, {"startDate": "2026-11-02", "endDate": "2026-11-02", "format": "json"})

    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert (data["startDate"], data["endDate"], data["timezone"]) == ("2026-11-02", "2026-11-02", "UTC")
    whatsapp = next(d for d in data["days"] if d["platform"] == "whatsapp")
    assert whatsapp["sent"] == 3 and whatsapp["deliveryRate"] == 0.6667 and whatsapp["readRate"] == 0.3333
    assert set(whatsapp) >= {"date", "platform", "sent", "delivered", "read", "failed", "received", "replied"}
    assert {t["template"]: t["sent"] for t in data["templates"]} == {"=HYPERLINK(evil)": 1, "order_update": 2}


def test_it_refuses_an_unknown_format_and_bad_ranges(account, alice_client):
    response = alice_client.get(URL, {"format": "xlsx"})
    assert response.status_code == 400
    assert "format" in response.json()["error"]["details"]
    response = alice_client.get(URL, {"format": "csv", "startDate": "2026-11-05", "endDate": "2026-11-01"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")


def test_it_shows_user_b_none_of_user_as_numbers(account, bob, bob_client):
    make_account(bob, meta_user_id="2000")
    data = bob_client.get(URL, {"startDate": "2026-11-02", "endDate": "2026-11-02"}).json()["data"]
    assert all(day["sent"] == 0 for day in data["days"]) and data["templates"] == []
    assert bob_client.get(URL, {"accountId": str(account.pk), "format": "csv"}).status_code == 404


def test_it_exports_the_report_to_a_file_with_progress(account, tmp_path):
    out = io.StringIO()
    target = tmp_path / "report.csv"
    call_command(
        "export_report",
        "--account",
        str(account.pk),
        "--start-date",
        "2026-10-01",
        "--end-date",
        "2026-11-30",
        "--output",
        str(target),
        stdout=out,
    )
    rows = list(csv.DictReader(target.open()))
    assert len([r for r in rows if r["section"] == "day"]) == 61 * 3
    assert "61/61 days" in out.getvalue()
    assert str(target) in out.getvalue()


def test_it_exports_json_and_names_what_to_do_on_bad_arguments(account, tmp_path):
    target = tmp_path / "report.json"
    call_command(
        "export_report",
        "--account",
        str(account.pk),
        "--start-date",
        "2026-11-02",
        "--end-date",
        "2026-11-02",
        "--format",
        "json",
        "--output",
        str(target),
        stdout=io.StringIO(),
    )
    data = json.loads(target.read_text())
    assert {d["platform"]: d["sent"] for d in data["days"]}["whatsapp"] == 3
    assert data["templates"][1] == {
        "template": "order_update",
        "sent": 2,
        "delivered": 2,
        "read": 1,
        "failed": 0,
        "deliveryRate": 1.0,
        "readRate": 0.5,
    }

    with pytest.raises(CommandError, match="--account"):
        call_command("export_report", "--account", "not-a-uuid", "--output", str(target))
    with pytest.raises(CommandError, match="400"):
        call_command(
            "export_report",
            "--account",
            str(account.pk),
            "--start-date",
            "2020-01-01",
            "--end-date",
            "2026-01-01",
            "--output",
            str(target),
        )

"""A delivery's statuses applied as a set end exactly as if each came in its own delivery, one
after another; a bad status is skipped alone."""

import json
import logging

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.models import DailyMetric, HourlyMetric
from tests.conftest import payload_item
from tests.factories import make_whatsapp_account
from whatsapp.messages.handlers import handle_messages
from whatsapp.models import Message, MessageStatusEvent

WABA_ID, PHONE_ID = "310000000000001", "320000000000001"
OURS = "9b1c2f3e-0000-4000-8000-000000000001"  # stored with its wamid
LOST = "9b1c2f3e-0000-4000-8000-000000000002"  # its send answer was lost: no wamid yet
TARGETS = [("wamid.ours", OURS), ("wamid.lost", LOST), ("wamid.orphan", None)]


@pytest.fixture
def number(alice):
    return make_whatsapp_account(alice, waba_id=WABA_ID, phone_id=PHONE_ID)[2]


def change(statuses: list[dict]):
    value = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": PHONE_ID}, "statuses": statuses}
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": value}]}],
    }
    return payload_item(json.loads(json.dumps(body)))


def status(
    target: int, name: str, offset: int = 0, *, callback: bool = True, category: str = "utility"
) -> dict:
    wamid, ours = TARGETS[target]
    item = {
        "id": wamid,
        "status": name,
        "timestamp": str(1764330000 + offset),
        "recipient_id": "5215512345678",
        "pricing": {"billable": True, "category": category},
        "conversation": {"id": f"conv-{category}"},
    }
    if name == "failed":
        item["errors"] = [{"code": 131047 + offset, "title": f"Failure {offset}"}]
    if callback and ours:
        item["biz_opaque_callback_data"] = ours
    return item


def stored(number) -> None:
    for pk, wamid in ((OURS, "wamid.ours"), (LOST, None)):
        Message.objects.create(
            pk=pk, direction="outbound", phone_number=number, contact_wa_id="5215512345678",
            type="template", template_name="order_update", status="sent", wamid=wamid,
        )  # fmt: skip


def state() -> tuple:
    rows = Message.objects.order_by("wamid").values_list(
        "wamid", "status", "sent_at", "delivered_at", "read_at", "failed_at", "error_code", "error_title",
        "pricing", "conversation", "type",
    )  # fmt: skip
    counts = [
        sorted(model.objects.values_list("metric", "dim_key", "count"))
        for model in (HourlyMetric, DailyMetric)
    ]
    events = sorted(MessageStatusEvent.objects.values_list("wamid", "status", "at"))
    return list(rows), counts, events


def final_state(number, deliveries: list[list[dict]]) -> tuple:
    with transaction.atomic():
        stored(number)
        for statuses in filter(None, deliveries):
            handle_messages(change(statuses))
        result = state()
        transaction.set_rollback(True)
    return result


status_strategy = st.builds(
    status,
    target=st.integers(0, 2),
    name=st.sampled_from(["sent", "delivered", "read", "failed"]),
    offset=st.integers(0, 3),
    callback=st.booleans(),
    category=st.sampled_from(["utility", "marketing"]),
)


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(statuses=st.lists(status_strategy, min_size=1, max_size=12), split=st.integers(0, 12))
def test_a_set_of_statuses_ends_as_one_by_one(number, statuses, split):
    one_by_one = final_state(number, [[s] for s in statuses])
    assert final_state(number, [statuses]) == one_by_one
    # and a redelivery of any part of it, re-batched, changes nothing
    assert final_state(number, [statuses, statuses[split:], statuses[:split]]) == one_by_one


def test_a_rebatched_redelivery_takes_the_set_path_and_changes_nothing(db, number, caplog):
    stored(number)
    first = [status(0, "sent"), status(0, "delivered", 1), status(1, "read", 2)]
    handle_messages(change(first))
    before = state()
    with caplog.at_level(logging.WARNING):
        handle_messages(change([first[2], first[0], first[1]]))
    assert state() == before
    assert not caplog.records  # no fallback to one by one


def test_one_bad_status_does_not_keep_the_others_from_being_applied(db, number, caplog):
    stored(number)
    bad = {**status(1, "failed"), "errors": "not a list"}
    with caplog.at_level(logging.ERROR):
        handle_messages(change([status(0, "delivered"), bad, status(1, "read", 1)]))
    ours, lost = Message.objects.get(pk=OURS), Message.objects.get(pk=LOST)
    assert ours.status == "delivered"
    assert lost.status == "read" and lost.failed_at is None and lost.wamid == "wamid.lost"
    assert not MessageStatusEvent.objects.filter(status="failed").exists()
    assert "not applied" in caplog.text

"""What refunds add to the dashboard's daily counters (platform/rollup.py, ADR 0026): a request
counts on the day it was made, under its channel and the refund service area, with its amount; a
refund paid or refused counts on the day it happened, from its timeline step (the append-only
`refund_events`: a request's status moves by compare-and-set UPDATE statements, which the ORM
does not see, but every move writes its step)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from ..platform import rollup
from ..platform.rollup import ANY, Key, Values, report_day
from .models import RefundEvent, RefundRequest

AREA = "refund_dispute"
METRICS = ("refunds.requested", "refunds.requested_amount", "refunds.refunded", "refunds.refunded_amount",
           "refunds.rejected")


def request_counts(_: Session, v: Values, before: bool) -> Iterable[tuple[Key, int]]:
    key = (report_day(v["created_at"]), v["channel"], AREA)
    yield (*key, "refunds.requested"), 1
    yield (*key, "refunds.requested_amount"), int(v["amount"])


def step_counts(_: Session, v: Values, before: bool) -> Iterable[tuple[Key, int]]:
    key = (report_day(v["at"]), ANY, AREA)
    if v["step"] == "refunded":
        yield (*key, "refunds.refunded"), 1
        yield (*key, "refunds.refunded_amount"), int((v["details"] or {}).get("amount") or 0)
    elif v["step"] == "rejected":
        yield (*key, "refunds.rejected"), 1


MODELS = (RefundRequest, RefundEvent)
rollup.register(rollup.Rollup(RefundRequest, ("created_at", "channel", "amount"), request_counts))
rollup.register(rollup.Rollup(RefundEvent, ("at", "step", "details"), step_counts))

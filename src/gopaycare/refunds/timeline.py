"""A request's steps: each is stored once for the customer's timeline and audited with who and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..platform import audit, catalog
from ..platform.audit import Actor
from .models import RefundEvent

STEPS = ("submitted", "auto_approved", "sent_to_merchant", "merchant_accepted", "merchant_declined",
         "merchant_silent", "under_review", "proposed", "approved", "changed", "processing", "refunded",
         "clawed_back", "rejected", "cancelled", "evidence_added")
REJECTIONS = ("outside_window", "not_eligible", "insufficient_evidence", "merchant_delivered", "duplicate_request",
              "nothing_left", "nothing_taken", "other")


def actor_label(actor: Actor) -> str:
    return actor.type if actor.id is None else f"{actor.type}:{actor.id}"


def step(s: Session, request_id: int, *, status: str, step: str, actor: Actor, now: datetime,
         reason: str | None = None, **details: Any) -> RefundEvent:
    event = RefundEvent(request_id=request_id, at=now, status=status, step=step, actor=actor_label(actor),
                        details={k: v for k, v in details.items() if v is not None})
    s.add(event)
    audit.record(s, at=now, actor=actor, action=f"refund.{step}", subject_type="refund_request",
                 subject_id=request_id, reason=reason, status=status, **details)
    return event


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    status: str
    step: str
    text: str  # in the reader's language
    actor: str  # customer | merchant | gopay
    details: dict[str, Any]


def _public_actor(label: str) -> str:
    kind = label.split(":", 1)[0]
    return kind if kind in ("customer", "merchant") else "gopay"


def timeline(s: Session, request_id: int, lang: str) -> list[TimelineEntry]:
    rows = s.scalars(select(RefundEvent).where(RefundEvent.request_id == request_id).order_by(RefundEvent.id))
    # Agents' ids and free-text reasons stay inside: the customer reads what happened, and a rejection's
    # reason as a catalog text in their language.
    shown = ("amount", "due", "taken", "shortfall", "refund_reference", "rejection_code", "rule", "due_at")
    return [TimelineEntry(r.at, r.status, r.step, catalog.text("refunds.step", r.step, lang),
                          _public_actor(r.actor), {k: v for k, v in r.details.items() if k in shown})
            for r in rows]


def status_text(status: str, lang: str) -> str:
    return catalog.text("refunds.status", status, lang)


def rejection_text(code: str | None, lang: str) -> str | None:
    return catalog.text("refunds.rejection", code, lang) if code else None

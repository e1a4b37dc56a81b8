"""The append-only audit log: who did what, to what, when and why.

Rows are only ever inserted (a database trigger refuses UPDATE and DELETE). PII never goes into
`details` or `reason` in clear: `record` masks every string (an old subject, a free-text reason).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import Base, BigId, UTCDateTime
from .pii import mask_value


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    actor_type: Mapped[str] = mapped_column(String(20), nullable=False)  # customer, agent, system
    actor_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    subject_type: Mapped[str] = mapped_column(String(32), nullable=False)
    subject_id: Mapped[str] = mapped_column(String(64), nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)

    __table_args__ = (Index("ix_audit_subject", "subject_type", "subject_id", "id"),)


@dataclass(frozen=True)
class Actor:
    type: str  # "customer" | "agent" | "system"
    id: str | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls("system", None)

    @classmethod
    def customer(cls, customer_id: int) -> Actor:
        return cls("customer", str(customer_id))

    @classmethod
    def agent(cls, agent_id: int) -> Actor:
        return cls("agent", str(agent_id))


def record(
    session: Session,
    *,
    at: datetime,
    actor: Actor,
    action: str,
    subject_type: str,
    subject_id: object,
    reason: str | None = None,
    **details: Any,
) -> AuditEntry:
    entry = AuditEntry(
        at=at,
        actor_type=actor.type,
        actor_id=actor.id,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        reason=mask_value(reason),
        details=mask_value(details),
    )
    session.add(entry)
    return entry


def history(session: Session, subject_type: str, subject_id: object) -> list[AuditEntry]:
    stmt = (
        select(AuditEntry)
        .where(AuditEntry.subject_type == subject_type, AuditEntry.subject_id == str(subject_id))
        .order_by(AuditEntry.id)
    )
    return list(session.scalars(stmt))



"""Identity tables. Secrets (password, PIN, codes, ID number) are stored only as hashes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..platform.db import Base, BigId, UTCDateTime


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), nullable=False, unique=True)  # E.164
    email: Mapped[str | None] = mapped_column(String(254), unique=True)  # lower-cased
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    language: Mapped[str] = mapped_column(String(5), nullable=False, default="zh-CN")
    id_number_hash: Mapped[str | None] = mapped_column(String(64))
    id_last4: Mapped[str | None] = mapped_column(String(4))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    pin_hash: Mapped[str | None] = mapped_column(String(200))
    # Wrong PINs (and passwords) typed by the signed-in owner in a row: these lock the account (hard).
    failed_logins: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Wrong secrets at login, typed by anyone: these only pause password logins (a soft lock that a
    # reset code or the delay lifts), so a stranger cannot lock someone out (docs/adr/0018).
    login_failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    login_paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lock_reason: Mapped[str | None] = mapped_column(String(64))
    frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    freeze_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (CheckConstraint("language IN ('zh-CN', 'en', 'id')", name="language"),)


class Device(Base):
    __tablename__ = "customer_devices"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), nullable=False)
    device_key: Mapped[str] = mapped_column(String(64), nullable=False)
    platform: Mapped[str | None] = mapped_column(String(16))  # android | ios | web
    os_version: Mapped[str | None] = mapped_column(String(32))
    app_version: Mapped[str | None] = mapped_column(String(32))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (UniqueConstraint("customer_id", "device_key"),)


class CustomerSession(Base):
    __tablename__ = "customer_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), nullable=False, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("customer_devices.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OneTimeCode(Base):
    __tablename__ = "one_time_codes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), nullable=False)
    purpose: Mapped[str] = mapped_column(String(32), nullable=False)
    channel: Mapped[str] = mapped_column(String(8), nullable=False)  # sms | email
    destination: Mapped[str] = mapped_column(String(254), nullable=False)
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("channel IN ('sms', 'email')", name="channel"),
        Index("ix_codes_customer_purpose_created", "customer_id", "purpose", "created_at"),
    )


class VerificationRequest(Base):
    """A document an agent reviews to prove identity (unlock, lift a freeze, change a lost phone)."""

    __tablename__ = "verification_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), nullable=False, index=True)
    purpose: Mapped[str] = mapped_column(String(16), nullable=False)  # unlock | unfreeze | change_phone
    document_ref: Mapped[str] = mapped_column(String(200), nullable=False)
    new_value: Mapped[str | None] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="pending")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    reviewed_by: Mapped[int | None] = mapped_column(BigInteger)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status"),
        CheckConstraint("purpose IN ('unlock', 'unfreeze', 'change_phone', 'change_email')", name="purpose"),
    )


class ContactChange(Base):
    """A phone or email change waiting for the codes sent to the old and the new address."""

    __tablename__ = "contact_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), nullable=False, index=True)
    field: Mapped[str] = mapped_column(String(8), nullable=False)  # phone | email
    new_value: Mapped[str] = mapped_column(String(254), nullable=False)
    old_code_id: Mapped[int | None] = mapped_column(ForeignKey("one_time_codes.id"))
    new_code_id: Mapped[int] = mapped_column(ForeignKey("one_time_codes.id"), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("field IN ('phone', 'email')", name="field"),
        CheckConstraint("status IN ('pending', 'done', 'cancelled')", name="status"),
    )


class RefreshToken(Base):
    """A customer's refresh token: spent once for a new access session and a new refresh token of
    the same family. A spent one presented again means it was copied: the whole family is revoked."""

    __tablename__ = "customer_refresh_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), nullable=False, index=True)
    family: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("customer_sessions.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SocketTicket(Base):
    """A short-lived, single-use ticket that opens one WebSocket (`?ticket=`) in place of the
    credential it was issued for, so no lasting credential is put in a URL. It holds the keyed hash
    of that credential (an agent's or customer's token) and/or a verified visitor id, never the raw."""

    __tablename__ = "socket_tickets"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    audience: Mapped[str] = mapped_column(String(8), nullable=False)  # events | chat
    token_hash: Mapped[str | None] = mapped_column(String(64))
    visitor_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (CheckConstraint("audience IN ('events', 'chat')", name="audience"),)

"""Failure reasons, limit periods and the tier limits in force.

Periods are in the operator's time zone (Asia/Jakarta by default): the daily outgoing limit
resets at 00:00 local time, the monthly incoming limit on the 1st at 00:00.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from ..platform.settings import Limits, TierLimits


class FailureReason(StrEnum):
    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
    DAILY_LIMIT_EXCEEDED = "DAILY_LIMIT_EXCEEDED"
    MONTHLY_LIMIT_EXCEEDED = "MONTHLY_LIMIT_EXCEEDED"
    BALANCE_CAP_EXCEEDED = "BALANCE_CAP_EXCEEDED"
    ACCOUNT_LOCKED = "ACCOUNT_LOCKED"
    ACCOUNT_FROZEN = "ACCOUNT_FROZEN"
    PIN_INVALID = "PIN_INVALID"
    RISK_DECLINED = "RISK_DECLINED"
    PROVIDER_TIMEOUT = "PROVIDER_TIMEOUT"
    MERCHANT_UNAVAILABLE = "MERCHANT_UNAVAILABLE"
    KYC_UPGRADE_REQUIRED = "KYC_UPGRADE_REQUIRED"
    BANK_REJECTED = "BANK_REJECTED"
    # Not stored on a transaction: diagnosed on read for money that left one side and has not
    # reached the other within the configured time.
    PENDING_TOO_LONG = "PENDING_TOO_LONG"


# Reasons an outside system (payment provider, bank) may report when completing a pending item.
PROVIDER_REASONS = frozenset(
    {FailureReason.PROVIDER_TIMEOUT, FailureReason.MERCHANT_UNAVAILABLE, FailureReason.BANK_REJECTED,
     FailureReason.RISK_DECLINED}
)

TIERS = ("basic", "plus")
TOPUP_METHODS = ("bank_transfer", "card", "convenience_store")
PAYMENT_CHANNELS = ("qr", "online")


@dataclass(frozen=True)
class Periods:
    """The limit periods that contain one instant."""

    day: date
    day_resets_at: datetime
    month: date
    month_resets_at: datetime

    @classmethod
    def at(cls, now: datetime, tz: ZoneInfo) -> Periods:
        local = now.astimezone(tz)
        day = local.date()
        next_day = datetime.combine(day + timedelta(days=1), time(0), tz)
        month = day.replace(day=1)
        next_month = (month + timedelta(days=32)).replace(day=1)
        return cls(
            day=day,
            day_resets_at=next_day,
            month=month,
            month_resets_at=datetime.combine(next_month, time(0), tz),
        )


def tier_limits(limits: Limits, tier: str) -> TierLimits:
    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}")
    return limits.plus if tier == "plus" else limits.basic

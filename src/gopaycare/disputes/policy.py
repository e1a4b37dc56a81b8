"""What the operator configures about disputes (GOPAYCARE_DISPUTE_* settings)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class DisputePolicy:
    # How long the merchant has to answer a new case (Stripe gives merchants 7 to 21 days by network).
    response_window: timedelta = timedelta(days=10)
    # Provisional credit at opening: off, or on for these reasons, up to this amount per case.
    provisional_credit: bool = False
    provisional_reasons: tuple[str, ...] = ("unrecognised_charge", "not_delivered", "not_as_described")
    provisional_max: int = 5_000_000

    def provisional_for(self, reason: str, amount: int) -> int:
        if not self.provisional_credit or reason not in self.provisional_reasons:
            return 0
        return min(amount, self.provisional_max)

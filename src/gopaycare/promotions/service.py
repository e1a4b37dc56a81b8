"""Cashback campaigns: which are open to a customer, which payment earns what, and why not.

`Promotions` is the one entry point; each job lives in its own module:
- `campaigns.py`: campaign administration (create, pause, resume, end) and reading campaigns;
- `awards.py`: deciding a payment's cashback once and crediting it (how budgets hold under races);
- `sweep.py`: deciding the payments whose award job was lost;
- `grants.py`: a person granting a cashback by hand;
- `explaining.py`: the offers open to a customer and why a payment earned what it did;
- `facts.py`, `decisions.py`: what the rules are checked against, and a decision as read;
  `rules.py`: the rules; `texts.py`: campaigns and failed rules in words.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..identity.service import IdentityService
from ..platform.audit import Actor
from ..platform.clock import Clock
from ..platform.db import Database
from ..wallet.port import PaidPayment, WalletBackend
from .awards import Awards
from .campaigns import Campaigns, CampaignView
from .decisions import DecisionView
from .explaining import CampaignResult, Explaining, Offer, PaymentEvaluation
from .facts import Facts
from .grants import Grants
from .sweep import Sweep

__all__ = ["CampaignResult", "CampaignView", "DecisionView", "Offer", "PaymentEvaluation", "Promotions"]


class Promotions:
    def __init__(self, db: Database, clock: Clock, wallet: WalletBackend, identity: IdentityService,
                 tz: ZoneInfo) -> None:
        facts = Facts(wallet, identity, tz)
        self._campaigns = Campaigns(db, clock)
        self._awards = Awards(db, clock, wallet, facts, tz)
        self._grants = Grants(db, clock, facts, self._awards)
        self._sweep = Sweep(db, clock, wallet, self._awards)
        self._explaining = Explaining(db, clock, wallet, identity, facts, tz)

    # ------------------------------------------------------------------ campaigns

    def create(self, code: str, titles: dict[str, str], starts_at: datetime, ends_at: datetime, *,
               percent: int | None = None, flat_amount: int | None = None, max_cashback: int | None = None,
               rules: dict[str, Any] | None = None, budget: int | None = None, credit_delay_hours: int = 0,
               actor: Actor) -> CampaignView:
        return self._campaigns.create(code, titles, starts_at, ends_at, percent=percent, flat_amount=flat_amount,
                                      max_cashback=max_cashback, rules=rules, budget=budget,
                                      credit_delay_hours=credit_delay_hours, actor=actor)

    def set_status(self, code: str, status: str, *, actor: Actor) -> CampaignView:
        return self._campaigns.set_status(code, status, actor=actor)

    def get(self, code: str) -> CampaignView:
        return self._campaigns.get(code)

    def list(self, *, status: str | None = None) -> list[CampaignView]:
        return self._campaigns.list(status=status)

    def running(self) -> list[CampaignView]:
        """The campaigns paying out now, ending soonest first (what the help center shows)."""
        return self._campaigns.running()

    # ------------------------------------------------------------------ customers

    def offers(self, customer_id: int) -> list[Offer]:
        """The active campaigns this customer can still earn from, now."""
        return self._explaining.offers(customer_id)

    def decision(self, reference: str) -> DecisionView | None:
        return self._awards.decision(reference)

    # ------------------------------------------------------------------ payments

    def evaluate(self, customer_id: int, reference: str) -> PaymentEvaluation:
        """Every campaign near the payment's time checked against it (the answer to "why no cashback?")."""
        return self._explaining.evaluate(customer_id, reference)

    def award(self, customer_id: int, reference: str, *, paid: PaidPayment | None = None) -> DecisionView:
        """Decide the payment's cashback once and credit it if it is due; see awards.py."""
        return self._awards.award(customer_id, reference, paid=paid)

    def grant(self, customer_id: int, reference: str, *, campaign: str, reason: str, actor: Actor) -> DecisionView:
        """A person grants a payment that earned nothing this campaign's cashback; see `Grants.grant`."""
        return self._grants.grant(customer_id, reference, campaign=campaign, reason=reason, actor=actor)

    def credit_due(self, *, limit: int = 200) -> int:
        """Credit the scheduled cashback whose time has come; returns how many were settled."""
        return self._awards.credit_due(limit=limit)

    def sweep(self, *, batch: int = 500, batches: int = 20) -> dict[str, int]:
        """Decide the payments nobody decided yet, then credit what is due; see `Sweep.sweep`."""
        return self._sweep.sweep(batch=batch, batches=batches)

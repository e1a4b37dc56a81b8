"""Promotions: the campaigns open to this customer now, and "where is my cashback?" answered by
evaluating the payment against each campaign (`promotions.service`) and saying which rule failed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...promotions.service import PaymentEvaluation
from ...promotions.texts import describe, why
from ...wallet.port import TransactionView
from ..texts import money, reset_time, say, when
from ..turns import Outcome, Turn
from . import Flow, yes
from .account import _AccountFlow
from .identify import identify

if TYPE_CHECKING:
    from ..engine import Assistant

RECENT_PAYMENTS = 10



class CashbackMissing(_AccountFlow):
    intent = "promo_cashback_missing"

    def start(self, a: Assistant, t: Turn) -> Outcome:
        if (waiting := identify(self, a, t)) is not None:
            return waiting
        payment = self._payment(a, t)
        if payment is None:
            return Outcome.reply(say("no_payments", t.lang), resolved=True)
        promos = a.deps.promotions
        evaluation = promos.evaluate(t.customer_id, payment.reference)
        decision = evaluation.decision
        just_awarded = False
        if decision is None and evaluation.best() is not None:
            # It qualifies but nothing was decided (its award job was lost, or it settled late): award
            # now. Awarding is idempotent and checks every rule again under the campaigns' locks.
            decision = promos.award(t.customer_id, payment.reference)
            just_awarded = decision.status in ("scheduled", "credited")
            t.tried(f"cashback awarded now for {payment.reference}: {decision.status}")
        elif decision is not None and decision.status == "none" and evaluation.best() is not None:
            # Decided as "none" at the time (a budget or quota then used up) but it would qualify today:
            # a person decides whether to make it good.
            t.checked(f"{payment.reference} decided without cashback, qualifies today")
            return Outcome.hand_over()
        t.checked(f"cashback for {payment.reference}: {decision.status if decision else 'undecided'}")
        t.slots["reference"] = payment.reference
        tz = a.deps.policy.tz
        base = {"ref": payment.reference, "amount": money(payment.amount), "merchant": payment.merchant_name or "-",
                "when": when(payment.created_at, t.now, t.lang, tz)}
        if decision is not None and decision.campaign_code:
            campaign = promos.get(decision.campaign_code)
            base.update(campaign=campaign.title(t.lang), cashback=money(decision.amount))
            if decision.status == "credited":
                key = "promo_awarded_now" if just_awarded else "promo_credited"
                return Outcome.reply(say(key, t.lang, cashback_ref=decision.cashback_reference,
                                            credited=when(decision.updated_at, t.now, t.lang, tz), **base),
                                        resolved=True)
            if decision.status == "scheduled":
                return Outcome.reply(say("promo_scheduled", t.lang, due=reset_time(decision.due_at, t.lang, tz),
                                            **base), resolved=True)
            if decision.status == "cancelled":
                return Outcome.reply(say("promo_cancelled", t.lang, **base), resolved=True)
            reason = decision.failure_reason or "-"
            text = say(f"promo_reason_{reason}", t.lang) if reason == "BALANCE_CAP_EXCEEDED" else \
                say("promo_reason_other", t.lang, reason=reason)
            return Outcome.hand_over(say("promo_credit_failed", t.lang, reason=text, **base))
        t.state["step"] = "offer_agent"
        return Outcome.wait(self._why_not(evaluation, t, base, a), say("retry_or_agent", t.lang), resolved=True)

    def step(self, a: Assistant, t: Turn) -> Outcome:
        if yes(t.text):
            return Outcome.hand_over()
        return Outcome.reply(say("anything_else", t.lang), resolved=True)

    @staticmethod
    def _why_not(evaluation: PaymentEvaluation, t: Turn, base: dict[str, str], a: Assistant) -> str:
        closest = [r for r in evaluation.closest(3) if r.failed]
        if not closest:
            return say("promo_no_campaigns", t.lang, **base)
        tz = a.deps.policy.tz
        lines = []
        for result in closest:
            reasons = say("reason_separator", t.lang)
            lines.append(say("promo_reason_line", t.lang, campaign=result.campaign.title(t.lang),
                             code=result.campaign.code,
                             why=reasons.join(why(check, t.lang, tz) for check in result.failed)))
            t.checked(f"{result.campaign.code}: failed {', '.join(c.rule for c in result.failed)}")
        return say("promo_not_eligible", t.lang, reasons="\n".join(lines), **base)

    @staticmethod
    def _payment(a: Assistant, t: Turn) -> TransactionView | None:
        """The payment asked about: by reference or amount when given, else the latest without cashback."""
        history = a.deps.wallet.list_transactions(t.customer_id, limit=50)
        payments = [x for x in history if x.kind == "payment" and x.status == "succeeded"]
        wanted, amount = t.entity("transaction_reference"), t.entity("amount")
        for p in payments:
            if p.reference == wanted or (amount and p.amount == amount):
                return p
        for p in payments[:RECENT_PAYMENTS]:
            decision = a.deps.promotions.decision(p.reference)
            if decision is None or decision.status not in ("scheduled", "credited"):
                return p
        return payments[0] if payments else None


class CurrentPromotions(Flow):
    """The campaigns open to this customer now (all running ones when we don't know who it is),
    each with its terms; the knowledge base article is cited."""

    intent = "promo_current"

    def start(self, a: Assistant, t: Turn) -> Outcome:
        promos, tz = a.deps.promotions, a.deps.policy.tz
        if t.customer_id is not None:
            lines = [describe(o.campaign, t.lang, tz)
                     + (say("promo_uses_left", t.lang, n=o.uses_left) if o.uses_left is not None else "")
                     for o in promos.offers(t.customer_id)]
            text = say("promo_offers", t.lang, offers="\n".join(lines)) if lines else say("promo_no_offers", t.lang)
        else:
            lines = [describe(c, t.lang, tz) for c in promos.running()]
            text = say("promo_offers_public", t.lang, offers="\n".join(lines)) if lines else \
                (a.kb_answer(t.text, t.lang, intent=self.intent) or say("promo_no_offers", t.lang))
        parts = [text]
        if (cite := a.cite(self.intent, t.lang)) is not None:
            parts.append(cite)
        return Outcome.reply("\n".join(parts), resolved=True)


PROMOTION_FLOWS: tuple[Flow, ...] = (CashbackMissing(), CurrentPromotions())

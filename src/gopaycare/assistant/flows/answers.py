"""Answers inside an intent that the intent's first flow did not give (topics.py says which): GoPay
Plus and what is left of a limit (txn_limit), a partial refund (refund_status), what lifts a freeze
(account_locked), a new number without the old SIM (account_update_info).

Each is the intent's flow with the question's own answer in front: the numbers come from the
customer's real wallet and the tier limits in force; the policy (how to upgrade, what a review
needs) from the catalogs and the knowledge base article it cites.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import topics
from ..texts import money, reset_time, say, when, word
from ..turns import Outcome, Turn
from . import Flow, yes, yes_or_no
from .account import Locked, UpdateInfo
from .identify import STEPS as IDENTIFY_STEPS
from .identify import identify
from .money import Limits, RefundStatus

if TYPE_CHECKING:
    from ..engine import Assistant

PLUS_ARTICLE = "gopay-plus"


def cite_article(a: Assistant, slug: str, lang: str) -> str | None:
    """The line naming the knowledge base article an answer comes from (None without the article)."""
    kb = a.deps.kb
    if kb is None:
        return None
    try:
        article = kb.get(slug, lang)
    except Exception:  # noqa: BLE001 - an article missing or archived leaves the answer uncited
        return None
    return say("cite", lang, title=article.title)


class _KeepsTopic:
    """The question asked before identification is the one answered after it (identification's code
    clears the flow's slots; the topic is put back)."""

    def resume(self, a: Assistant, t: Turn) -> Outcome:
        topic = t.slots.get("topic")
        if topic and t.state.get("step") in IDENTIFY_STEPS:
            if (waiting := identify(self, a, t)) is not None:  # type: ignore[arg-type]
                return waiting
            t.slots["topic"] = topic
            return self.start(a, t)  # type: ignore[attr-defined]
        return super().resume(a, t)  # type: ignore[misc]


class LimitsAnswers(_KeepsTopic, Limits):
    """txn_limit: upgrading to Plus (no account needed: it is policy), what is left, else the limits."""

    def start(self, a: Assistant, t: Turn) -> Outcome:
        if t.slots.get("topic") == "plus_upgrade" or (t.slots.get("topic") is None and topics.plus_upgrade(t.text)):
            return self.plus(a, t)
        wants_left = t.slots.get("topic") == "limit_left" or topics.limit_left(t.text)
        if (waiting := identify(self, a, t)) is not None:
            t.slots["topic"] = "limit_left" if wants_left else "limits"  # the code's answer is not the question
            return waiting
        t.slots.pop("topic", None)
        if wants_left:
            return self.left(a, t)
        return super().start(a, t)

    def plus(self, a: Assistant, t: Turn) -> Outcome:
        t.slots.pop("topic", None)
        tiers = a.deps.policy.tiers
        basic, plus = tiers.get("basic"), tiers.get("plus")
        parts = []
        if basic and plus:
            parts.append(say("plus_limits", t.lang, basic_cap=money(basic[0]), basic_monthly=money(basic[1]),
                             basic_daily=money(basic[2]), plus_cap=money(plus[0]), plus_monthly=money(plus[1]),
                             plus_daily=money(plus[2])))
        parts.append(say("plus_how", t.lang))
        if t.customer_id is not None:
            s = a.deps.wallet.summary(t.customer_id)
            t.checked(f"tier {s.tier}; balance cap {money(s.balance_cap)}")
            if s.tier == "plus":
                parts.append(say("plus_already", t.lang))
            elif plus:
                parts.append(say("plus_you_basic", t.lang, cap=money(s.balance_cap), plus_cap=money(plus[0])))
        if (cite := cite_article(a, PLUS_ARTICLE, t.lang)) is not None:
            parts.append(cite)
        return Outcome.reply("\n".join(parts), resolved=True)

    def left(self, a: Assistant, t: Turn) -> Outcome:
        s, tz = a.deps.wallet.summary(t.customer_id), a.deps.policy.tz
        daily, monthly = s.daily_outgoing, s.monthly_incoming
        room = max(s.balance_cap - s.balance, 0)
        spend = min(daily.remaining, s.balance)
        topup = min(monthly.remaining, room)
        t.checked(f"daily outgoing left {money(daily.remaining)} of {money(daily.limit)} "
                  f"(used {money(daily.used)}); monthly incoming left {money(monthly.remaining)} of "
                  f"{money(monthly.limit)}; balance {money(s.balance)}, cap {money(s.balance_cap)}")
        text = say("limits_left", t.lang, tier=word(s.tier, t.lang), daily_left=money(daily.remaining),
                   daily=money(daily.limit), daily_used=money(daily.used),
                   daily_reset=reset_time(daily.resets_at, t.lang, tz), balance=money(s.balance),
                   spend=money(spend), monthly_left=money(monthly.remaining), monthly=money(monthly.limit),
                   monthly_reset=reset_time(monthly.resets_at, t.lang, tz), cap=money(s.balance_cap),
                   room=money(room), topup=money(topup))
        return Outcome.reply(text, resolved=True)


class RefundAnswers(_KeepsTopic, RefundStatus):
    """refund_status: "why only part of it?" answered from the payment and its refunds."""

    def start(self, a: Assistant, t: Turn) -> Outcome:
        partial = t.slots.get("topic") == "partial_refund" or topics.partial_refund(t.text)
        if (waiting := identify(self, a, t)) is not None:
            if partial:
                t.slots["topic"] = "partial_refund"
            return waiting
        t.slots.pop("topic", None)
        if not partial:
            return super().start(a, t)
        history = a.deps.wallet.list_transactions(t.customer_id, limit=50)
        wanted = t.entity("transaction_reference")
        candidates = [x for x in history if x.kind == "payment" and 0 < x.refunded_amount < x.amount]
        payment = next((x for x in candidates if x.reference == wanted), candidates[0] if candidates else None)
        if payment is None:
            t.checked("no partially refunded payment in the last 50 transactions")
            listed = super().start(a, t)
            return Outcome.reply(say("refund_partial_none", t.lang), *listed.messages, resolved=True)
        refunds = [x for x in history if x.kind == "refund" and x.original_reference == payment.reference]
        reasons = "; ".join(dict.fromkeys(x.description for x in refunds if x.description)) or "-"
        rest = payment.amount - payment.refunded_amount
        t.checked(f"{payment.reference} {payment.merchant_name or ''} paid {money(payment.amount)}, refunded "
                  f"{money(payment.refunded_amount)} ({reasons}), not refunded {money(rest)}")
        t.slots["reference"] = payment.reference
        t.state["step"] = "offer_dispute"
        # "yes please, get me someone" is read as a handoff: the case still carries the dispute's tags.
        t.slots["on_handoff"] = _dispute_changes(payment.reference)
        return Outcome.wait(say("refund_partial", t.lang, ref=payment.reference, merchant=payment.merchant_name or "-",
                                when=when(payment.created_at, t.now, t.lang, a.deps.policy.tz),
                                amount=money(payment.amount), refunded=money(payment.refunded_amount),
                                rest=money(rest), reason=reasons, count=len(refunds)), resolved=True)

    def step(self, a: Assistant, t: Turn) -> Outcome:
        reference = t.slots.get("reference")
        if t.state.get("step") == "offer_dispute" and yes(t.text) and reference:
            t.state["ticket_changes"] = _dispute_changes(reference)
            t.tried(f"dispute about the unrefunded rest of {reference} handed to a person")
            t.state["waiting_for"] = f"a decision on the unrefunded rest of {reference}"
            return Outcome.hand_over(say("dispute_opened", t.lang, ticket=t.ticket_id, txn=f" ({reference})"))
        return Outcome.reply(say("anything_else", t.lang), resolved=True)

    def answers(self, t: Turn) -> bool:
        return yes_or_no(t.text)


def _dispute_changes(reference: str) -> dict[str, object]:
    return {"area": "refund_dispute", "tags": ["dispute", "partial_refund"], "links": [["transaction", reference]]}


class LockedAnswers(Locked):
    """account_locked: a frozen account is not unlocked by answers; a person lifts the freeze."""

    def start(self, a: Assistant, t: Turn) -> Outcome:
        t.state["flow"] = self.intent
        if (waiting := identify(self, a, t)) is not None:
            return waiting
        customer = a.deps.identity.get(t.customer_id)
        if not customer.frozen:
            return super().start(a, t)
        balance = a.deps.wallet.summary(t.customer_id).balance
        t.checked(f"account frozen ({customer.freeze_reason or '-'}); balance {money(balance)}"
                  f"{'; also locked' if customer.locked else ''}")
        t.state["ticket_changes"] = {"area": "account", "priority": "high", "tags": ["unfreeze_review"]}
        t.state["waiting_for"] = "an identity review to lift the freeze (ID card, selfie, control of the number)"
        return Outcome.hand_over(say("freeze_explain", t.lang, reason=customer.freeze_reason or "-",
                                     balance=money(balance)))


class UpdateInfoAnswers(UpdateInfo):
    """account_update_info: the old SIM is lost, so no code can reach it: a person reviews documents.
    Nothing about any account is said, so it needs no identification."""

    def start(self, a: Assistant, t: Turn) -> Outcome:
        if not t.state.get("step") and topics.lost_sim(t.text):
            t.state["ticket_changes"] = {"area": "account", "tags": ["document_review", "number_change"]}
            t.tried("number change without the old SIM: document review requested")
            t.state["waiting_for"] = "a document review (ID card, selfie with it, the new number) to move the account"
            return Outcome.hand_over(say("lost_sim", t.lang, ticket=t.ticket_id))
        return super().start(a, t)


ANSWER_FLOWS: tuple[Flow, ...] = (LimitsAnswers(), RefundAnswers(), LockedAnswers(), UpdateInfoAnswers())

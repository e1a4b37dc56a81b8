"""Money flows: failed payments, money not credited, limits, top-up, history, refunds, disputes.
Every answer is read from the customer's real wallet. (Cashback: `promotions`.)"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

from ...platform.audit import Actor
from ...platform.errors import Conflict, NotFound, ValidationFailed
from ...wallet.port import TransactionView
from ...wallet.rules import FailureReason
from ..texts import money, reset_time, say, when, word
from ..turns import Outcome, Turn
from . import Flow, pick_option, yes
from .account import LOCKED, _AccountFlow
from .identify import identify

if TYPE_CHECKING:
    from ...refunds.service import RefundRequestView
    from ..engine import Assistant



def _when(a: Assistant, t: Turn, txn: TransactionView) -> str:
    return when(txn.created_at, t.now, t.lang, a.deps.policy.tz)


RECENT_FAILURE = timedelta(days=7)


def recent_failure(a: Assistant, t: Turn, history: list[TransactionView], *,
                   kinds: tuple[str, ...]) -> TransactionView | None:
    """The latest transaction of these kinds, if it failed in the last week (an older failure is
    rarely what the customer means now)."""
    latest = next((x for x in history if x.kind in kinds), None)
    if latest is not None and latest.status == "failed" and t.now - latest.created_at <= RECENT_FAILURE:
        return latest
    return None


def explain_failure(a: Assistant, t: Turn, txn: TransactionView) -> Outcome:
    """Answer with the failure's reason from the payment-failed flow, which then owns the conversation
    (its follow-up questions: retry, an agent, unlocking)."""
    t.state["flow"] = PAYMENT_FAILED.intent
    t.checked(f"latest failed {txn.kind} {txn.reference}: {txn.failure_reason}")
    t.slots["reference"] = txn.reference
    return PAYMENT_FAILED.explain(a, t, txn)


def named_transaction(a: Assistant, t: Turn) -> TransactionView | None:
    """The transaction the customer named by its reference (or the dialogue layer settled on)."""
    reference = t.entity("transaction_reference")
    if not reference:
        return None
    history = a.deps.wallet.list_transactions(t.customer_id, limit=50)
    return next((x for x in history if x.reference == reference), None)


def transaction_status(a: Assistant, t: Turn, txn: TransactionView) -> Outcome:
    """A named transaction that did not fail: what it is and where it stands, in its real facts."""
    t.checked(f"{txn.reference} {txn.status}")
    t.slots["reference"] = txn.reference
    return Outcome.reply(say("txn_status", t.lang, line=transaction_line(a, t, txn)), resolved=True)


class PaymentFailed(_AccountFlow):
    intent = "txn_payment_failed"

    def start(self, a: Assistant, t: Turn) -> Outcome:
        if (waiting := identify(self, a, t)) is not None:
            return waiting
        history = a.deps.wallet.list_transactions(t.customer_id, limit=30)
        if (named := named_transaction(a, t)) is not None:  # the one the customer named (dialogue layer)
            return explain_failure(a, t, named) if named.status == "failed" else transaction_status(a, t, named)
        payments = [x for x in history if x.kind in ("payment", "p2p")]
        failed = next((x for x in payments if x.status == "failed"), None)
        if failed is None:
            # "It failed" may be a top-up or a withdrawal the customer calls a payment.
            failed = recent_failure(a, t, history, kinds=("topup", "withdrawal"))
        if failed is not None:
            return explain_failure(a, t, failed)
        if not payments:
            return Outcome.reply(say("no_payments", t.lang), resolved=True)
        latest = payments[0]
        t.checked(f"no failed payment; latest {latest.reference} {latest.status}")
        return Outcome.reply(say("no_failed_payment", t.lang, ref=latest.reference, amount=money(latest.amount),
                                    status=word(latest.status, t.lang)), resolved=True)

    def explain(self, a: Assistant, t: Turn, txn: TransactionView) -> Outcome:
        """The failure's exact reason with its numbers (other flows hand a failure over to this)."""
        d, lang, tz = txn.failure_details, t.lang, a.deps.policy.tz
        base = {"when": _when(a, t, txn), "amount": money(txn.amount), "merchant": txn.merchant_name or "-"}
        reason = txn.failure_reason
        if reason == FailureReason.INSUFFICIENT_BALANCE:
            text = say("pay_INSUFFICIENT_BALANCE", lang, balance=money(d["balance"]), shortfall=money(d["shortfall"]),
                       **base)
        elif reason == FailureReason.DAILY_LIMIT_EXCEEDED:
            summary = a.deps.wallet.summary(t.customer_id)
            daily = summary.daily_outgoing
            text = say("pay_DAILY_LIMIT_EXCEEDED", lang, limit=money(d["limit"]), used=money(daily.used),
                       remaining=money(daily.remaining),
                       resets=reset_time(summary.daily_outgoing.resets_at, lang, tz), **base)
        elif reason == FailureReason.BALANCE_CAP_EXCEEDED:
            return Outcome.reply(say("topup_BALANCE_CAP_EXCEEDED", lang, cap=money(d["cap"]),
                                        balance=money(d["balance"]), room=money(d["room"]), **base), resolved=True)
        elif reason == FailureReason.MONTHLY_LIMIT_EXCEEDED:
            resets = a.deps.wallet.summary(t.customer_id).monthly_incoming.resets_at
            return Outcome.reply(say("topup_MONTHLY_LIMIT_EXCEEDED", lang, limit=money(d["limit"]),
                                        used=money(d["used"]), remaining=money(d["remaining"]),
                                        resets=reset_time(resets, lang, tz), **base), resolved=True)
        elif reason == FailureReason.ACCOUNT_FROZEN:
            return Outcome.hand_over(say("pay_ACCOUNT_FROZEN", lang, **base))
        elif reason == FailureReason.ACCOUNT_LOCKED:
            t.state["step"] = "offer_unlock"
            return Outcome.wait(say("pay_ACCOUNT_LOCKED", lang, **base))
        elif reason == FailureReason.RISK_DECLINED:
            return Outcome.hand_over(say("pay_RISK_DECLINED", lang, limit=money(d.get("limit", 0)), **base))
        elif reason == FailureReason.PROVIDER_TIMEOUT:
            return self._provider_failed(a, t, txn, base)
        elif reason in (FailureReason.MERCHANT_UNAVAILABLE, FailureReason.PIN_INVALID,
                        FailureReason.KYC_UPGRADE_REQUIRED):
            text = say(f"pay_{reason}", lang, **base)
        else:
            t.state["step"] = "offer_agent"
            return Outcome.wait(say("pay_other", lang, reason=reason or "-", **base), say("retry_or_agent", lang))
        t.state["step"] = "offer_agent"
        return Outcome.wait(text, say("retry_or_agent", lang), resolved=True)

    def _provider_failed(self, a: Assistant, t: Turn, txn: TransactionView, base: dict[str, str]) -> Outcome:
        """Debited but failed: give the money back now (safe: the reversal is idempotent)."""
        try:
            reversal = a.deps.wallet.reverse(txn.reference, f"assistant-reverse-{txn.reference}",
                                             actor=Actor.system(), reason="debited for a failed payment (assistant)")
        except Conflict:
            return Outcome.reply(say("pay_PROVIDER_TIMEOUT", t.lang, **base), resolved=True)
        t.tried(f"reversed {txn.reference} ({reversal.reference})")
        balance = a.deps.wallet.summary(t.customer_id).balance
        return Outcome.reply(say("pay_PROVIDER_TIMEOUT_held", t.lang, reversal=reversal.reference,
                                    balance=money(balance), **base), resolved=True)

    def step(self, a: Assistant, t: Turn) -> Outcome:
        if t.state.get("step") == "offer_unlock":
            if yes(t.text):
                t.state["flow"] = LOCKED.intent
                return LOCKED.start(a, t)
            return Outcome.reply(say("anything_else", t.lang), resolved=True)
        if yes(t.text):
            t.tried("customer asked for an agent about the failed payment")
            return Outcome.hand_over()
        return Outcome.reply(say("anything_else", t.lang), resolved=True)

    def answers(self, t: Turn) -> bool:
        return yes(t.text) or bool(re.match(r"^\s*(no|tidak|不|gak|nggak|ga)\b", t.text, re.I))


class NotReceived(_AccountFlow):
    intent = "txn_not_received"

    def start(self, a: Assistant, t: Turn) -> Outcome:
        if (waiting := identify(self, a, t)) is not None:
            return waiting
        history = a.deps.wallet.list_transactions(t.customer_id, limit=30)
        pending = [x for x in history if x.status == "pending"]
        if (named := named_transaction(a, t)) is not None:  # the one the customer named (dialogue layer)
            if named.status == "failed":
                return explain_failure(a, t, named)
            if named.status != "pending":
                return transaction_status(a, t, named)
            pending = [named]
        if not pending:
            latest = history[0] if history else None
            if latest is None:
                return Outcome.reply(say("no_payments", t.lang), resolved=True)
            if (failed := recent_failure(a, t, history[:1], kinds=(latest.kind,))) is not None:
                return explain_failure(a, t, failed)
            return Outcome.reply(say("nothing_pending", t.lang, ref=latest.reference, amount=money(latest.amount),
                                        status=word(latest.status, t.lang)), resolved=True)
        txn = pending[0]
        kind = word(txn.kind, t.lang)
        base = {"when": _when(a, t, txn), "kind": kind, "amount": money(txn.amount), "ref": txn.reference}
        t.checked(f"{txn.reference} pending since {txn.created_at:%Y-%m-%d %H:%M} UTC"
                  f"{' (overdue)' if txn.pending_too_long else ''}")
        if txn.pending_too_long:
            t.state["ticket_changes"] = {"priority": "high", "tags": ["investigation"],
                                         "links": [["transaction", txn.reference]]}
            t.tried("investigation opened")
            return Outcome.hand_over(say("pending_status", t.lang, next=say(
                "pending_overdue", t.lang, ticket=t.ticket_id), **base))
        waited = int((t.now - txn.created_at).total_seconds() // 60)
        left = max(a.deps.policy.pending_too_long_minutes - waited, 1)
        return Outcome.reply(say("pending_status", t.lang, next=say("pending_next_ok", t.lang, minutes=left),
                                    **base), resolved=True)


class Limits(_AccountFlow):
    intent = "txn_limit"

    def start(self, a: Assistant, t: Turn) -> Outcome:
        if (waiting := identify(self, a, t)) is not None:
            return waiting
        s, tz = a.deps.wallet.summary(t.customer_id), a.deps.policy.tz
        return Outcome.reply(say(
            "limits", t.lang, tier=word(s.tier, t.lang), cap=money(s.balance_cap), balance=money(s.balance),
            daily=money(s.daily_outgoing.limit), daily_used=money(s.daily_outgoing.used),
            daily_reset=reset_time(s.daily_outgoing.resets_at, t.lang, tz), monthly=money(s.monthly_incoming.limit),
            monthly_used=money(s.monthly_incoming.used),
            monthly_reset=reset_time(s.monthly_incoming.resets_at, t.lang, tz)), resolved=True)


class TopUp(_AccountFlow):
    intent = "txn_topup"

    def start(self, a: Assistant, t: Turn) -> Outcome:
        if (waiting := identify(self, a, t)) is not None:
            return waiting
        history = a.deps.wallet.list_transactions(t.customer_id, limit=30)
        if (failed := recent_failure(a, t, history, kinds=("topup",))) is not None:
            return explain_failure(a, t, failed)
        s = a.deps.wallet.summary(t.customer_id)
        return Outcome.reply(say("topup", t.lang, balance=money(s.balance), cap=money(s.balance_cap),
                                    room=money(max(s.balance_cap - s.balance, 0))), resolved=True)


def _line(a: Assistant, t: Turn, x: TransactionView, number: int | None = None) -> str:
    head = f"{number}. " if number is not None else "• "
    who = f" · {x.merchant_name}" if x.merchant_name else ""
    return (f"{head}{x.reference} · {_when(a, t, x)} · {word(x.kind, t.lang)} {money(x.amount)} · "
            f"{word(x.status, t.lang)}{who}")


def transaction_line(a: Assistant, t: Turn, x: TransactionView, number: int | None = None) -> str:
    return _line(a, t, x, number)


class History(_AccountFlow):
    intent = "txn_history"

    def start(self, a: Assistant, t: Turn) -> Outcome:
        if (waiting := identify(self, a, t)) is not None:
            return waiting
        items = a.deps.wallet.list_transactions(t.customer_id, limit=5)
        if not items:
            return Outcome.reply(say("no_payments", t.lang), resolved=True)
        return Outcome.reply(say("history", t.lang, lines="\n".join(_line(a, t, x) for x in items)), resolved=True)


class RefundApply(_AccountFlow):
    """Pick one of the refundable payments, give a reason, submit through the refund service."""

    intent = "refund_apply"

    def start(self, a: Assistant, t: Turn) -> Outcome:
        if (waiting := identify(self, a, t)) is not None:
            return waiting
        options = a.deps.refunds.refundable(t.customer_id)
        if not options:
            return Outcome.reply(say("refund_none", t.lang), resolved=True)
        t.slots["options"] = [x.reference for x in options]
        wanted = t.entity("transaction_reference")
        if wanted in t.slots["options"]:
            t.slots["reference"] = wanted
            t.state["step"] = "reason"
            return Outcome.wait(say("refund_ask_reason", t.lang))
        t.state["step"] = "pick"
        lines = "\n".join(_line(a, t, x, i) + (say("refund_left", t.lang, left=money(x.refundable_amount))
                                                if x.refunded_amount else "")
                          for i, x in enumerate(options, 1))
        return Outcome.wait(say("refund_pick", t.lang, lines=lines))

    def step(self, a: Assistant, t: Turn) -> Outcome:
        options = t.slots.get("options", [])
        if t.state.get("step") == "pick":
            reference = pick_option(t, options)
            if reference is None:
                return Outcome.wait(say("pick_again", t.lang, n=len(options)))
            t.slots["reference"] = reference
            t.state["step"] = "reason"
            return Outcome.wait(say("refund_ask_reason", t.lang))
        try:
            request = a.deps.refunds.submit(t.customer_id, t.slots["reference"], reason=t.text,
                                           idempotency_key=f"assistant-{t.conversation_id}-{t.slots['reference']}",
                                           ticket_id=t.ticket_id, channel="assistant")
        except ValidationFailed:
            return Outcome.wait(say("refund_ask_reason", t.lang))
        except (Conflict, NotFound):
            return Outcome.reply(say("refund_none", t.lang), resolved=True)
        t.tried(f"refund request RR{request.id} submitted for {request.transaction_reference}")
        return Outcome.reply(_submitted(a, t, request), resolved=True)

    def answers(self, t: Turn) -> bool:
        if t.state.get("step") == "pick":
            return pick_option(t, t.slots.get("options", [])) is not None
        return True  # a reason is free text


def _submitted(a: Assistant, t: Turn, request: RefundRequestView) -> str:
    """What the customer hears once the request is filed: the state the policy put it in (issue 11) —
    with the merchant (and until when), approved at once (and where the money is), or GoPay's review."""
    facts = {"ref": request.transaction_reference, "amount": money(request.amount), "id": request.id}
    if request.status == "awaiting_merchant" and request.merchant_due_at is not None:
        return say("refund_submitted_merchant", t.lang, due=reset_time(request.merchant_due_at, t.lang,
                                                                       a.deps.policy.tz), **facts)
    if request.status in ("approved", "processing", "refunded"):
        return say("refund_submitted_approved", t.lang, status=word(request.status, t.lang), **facts)
    return say("refund_submitted", t.lang, **facts)


class RefundStatus(_AccountFlow):
    intent = "refund_status"

    def start(self, a: Assistant, t: Turn) -> Outcome:
        if (waiting := identify(self, a, t)) is not None:
            return waiting
        requests = a.deps.refunds.list(t.customer_id)
        paid = [x for x in a.deps.wallet.list_transactions(t.customer_id, limit=50) if x.kind == "refund"]
        lines = [f"• RR{r.id} · {r.transaction_reference} · {money(r.amount)} · {word(r.status, t.lang)}"
                 for r in requests]
        lines += [f"• {x.reference} · {x.original_reference} · {money(x.amount)} · {word('refunded', t.lang)}"
                  for x in paid]
        from .disputes import explain_all

        cases = explain_all(a, t)  # a dispute is where the rest of the customer's money questions stand
        if not lines:
            return Outcome.reply(*(cases or [say("refund_status_none", t.lang)]), resolved=True)
        return Outcome.reply(say("refund_status", t.lang, lines="\n".join(lines[:8])), *cases, resolved=True)


PAYMENT_FAILED = PaymentFailed()
MONEY_FLOWS: tuple[Flow, ...] = (PAYMENT_FAILED, NotReceived(), Limits(), TopUp(), History(), RefundApply(),
                                 RefundStatus())

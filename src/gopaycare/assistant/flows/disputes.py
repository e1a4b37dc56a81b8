"""The dispute flow (docs/adr/0027-assistant-disputes-merchant-page.md): which charge (the dialogue
layer's entity resolution: reference, amount, merchant, date; else the customer's recent payments to
choose from), why (unrecognised / not delivered / not as described), for an unrecognised charge the
freeze offered at once, then the case opened through the disputes service. Asked later, each case's
state is explained from the case itself (who it waits for, until when, what was decided)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ...platform.errors import Conflict, NotFound, ValidationFailed
from ..texts import money, reset_time, say
from ..turns import Outcome, Turn
from . import NUMBER, Flow, pick_option, yes, yes_or_no
from .account import _AccountFlow
from .identify import identify

if TYPE_CHECKING:
    from ..engine import Assistant

REASONS = ("unrecognised_charge", "not_delivered", "not_as_described")
_REASON_WORDS = {
    "unrecognised_charge": re.compile(
        r"不认识|不是我|没买过|没有买|陌生|盗刷|被盗|没授权|未授权|(?<![a-z])(?:unrecogni[sz]ed?|don'?t\s+recogni[sz]e|"
        r"didn'?t\s+(?:make|buy|pay|authori[sz]e)|never\s+(?:made|bought|paid)|not\s+me|wasn'?t\s+me|fraud|"
        r"unauthori[sz]ed|stolen|hacked|tidak\s+kenal|gak\s+kenal|ga\s+kenal|nggak\s+kenal|bukan\s+saya|"
        r"bukan\s+aku|gak\s+pernah|tidak\s+pernah|ga\s+pernah|nggak\s+pernah|penipuan|dibobol|dicuri)(?![a-z])",
        re.IGNORECASE),
    "not_delivered": re.compile(
        r"没收到|没到|未送达|没送到|没发货|没有收到|还没到|(?<![a-z])(?:not\s+(?:been\s+)?(?:delivered|received|arrived)|"
        r"never\s+(?:came|arrived|delivered|got)|didn'?t\s+(?:arrive|come|get)|no\s+delivery|not\s+delivered|"
        r"belum\s+(?:sampai|datang|dateng|diterima|dikirim)|tidak\s+(?:sampai|datang|diterima|dikirim)|"
        r"gak\s+(?:sampai|sampe|dateng|datang)|ga\s+(?:sampai|sampe|dateng)|nggak\s+(?:sampai|sampe|dateng)|"
        r"tidak\s+terkirim)(?![a-z])", re.IGNORECASE),
    "not_as_described": re.compile(
        r"不符|不一样|货不对|坏了|破损|假货|质量|描述|(?<![a-z])(?:not\s+as\s+described|different|wrong\s+(?:item|product|size|"
        r"colou?r)|broken|damaged|fake|defective|not\s+what|tidak\s+sesuai|gak\s+sesuai|ga\s+sesuai|nggak\s+sesuai|"
        r"rusak|palsu|beda|cacat)(?![a-z])", re.IGNORECASE),
}
# "how is my dispute going", "what does under review mean", "进展", "gimana sengketa saya"
STATUS = re.compile(
    r"进展|进度|状态|怎么样了|结果|什么意思|是什么意思|到哪|(?<![a-z])(?:status|progress|update|how'?s|how\s+is|"
    r"what\s+(?:does|is)|mean|means|stand|decided|result|outcome|under\s+review|needs?\s+response|gimana|bagaimana|"
    r"sampai\s+mana|kabar|artinya|maksudnya|hasil|sudah\s+diputuskan)(?![a-z])", re.IGNORECASE)
_NEW = re.compile(r"(?<![a-z])(?:open|file|start|raise|new|buka|ajukan|bikin)(?![a-z])|开|提起|新的", re.IGNORECASE)


def reason_in(text: str, *, numbered: bool = True) -> str | None:
    """The reason the customer's words give, or (`numbered`: an answer to the list) the number of the
    listed one; None if unclear."""
    match = NUMBER.search(text)
    if numbered and match and 1 <= int(match.group(1)) <= len(REASONS) and len(text.strip()) <= 4:
        return REASONS[int(match.group(1)) - 1]
    found = [r for r, words in _REASON_WORDS.items() if words.search(text)]
    return found[0] if len(found) == 1 else None


def explain(a: Assistant, t: Turn, case: Any, payment: Any | None = None) -> str:
    """One case in words: its state, what that means, who it waits for and until when, what moved."""
    merchant = (payment.merchant_name if payment is not None else None) or "-"
    tz = a.deps.policy.tz
    text = say(f"dispute_state_{case.status}", t.lang, id=case.id, ref=case.transaction_reference,
               amount=money(case.amount), merchant=merchant, due=reset_time(case.response_due_at, t.lang, tz),
               refunded=money(case.refunded), reason=case.decision_reason or "-")
    if case.provisional_credited and case.status in ("needs_response", "under_review"):
        text += " " + say("dispute_provisional", t.lang, amount=money(case.provisional_amount))
    elif case.provisional_credited and case.status in ("lost", "withdrawn") and case.provisional_taken_back:
        text += " " + say("dispute_provisional_back", t.lang, amount=money(case.provisional_taken_back))
    if case.provisional_shortfall:
        text += " " + say("dispute_shortfall", t.lang, amount=money(case.provisional_shortfall))
    return text


def explain_all(a: Assistant, t: Turn) -> list[str]:
    """Each of the customer's cases explained (the latest first), for a status question."""
    disputes = a.deps.disputes
    if disputes is None or t.customer_id is None:
        return []
    cases = disputes.list(t.customer_id)[:5]
    if not cases:
        return []
    history = {x.reference: x for x in a.deps.wallet.list_transactions(t.customer_id, limit=100)}
    t.checked("disputes: " + ", ".join(f"DP{c.id} {c.status}" for c in cases))
    return [explain(a, t, c, history.get(c.transaction_reference)) for c in cases]


class Dispute(_AccountFlow):
    intent = "dispute_open"

    def start(self, a: Assistant, t: Turn) -> Outcome:
        if (waiting := identify(self, a, t)) is not None:
            return waiting
        if a.deps.disputes is None:  # an assistant built without the disputes service: a person opens it
            return self._hand_over(a, t, None)
        t.slots.setdefault("words", t.text[:500])
        history = a.deps.wallet.list_transactions(t.customer_id, limit=50)
        reference = t.entity("transaction_reference")
        named = next((x for x in history if x.reference == reference), None) if reference else None
        cases = a.deps.disputes.list(t.customer_id)
        if named is not None:
            existing = next((c for c in cases if c.transaction_reference == named.reference), None)
            if existing is not None and (existing.status in ("needs_response", "under_review")
                                         or STATUS.search(t.text)):
                return Outcome.reply(explain(a, t, existing, named), resolved=True)
            return self._charge(a, t, named)
        if cases and STATUS.search(t.text) and not _NEW.search(t.text):
            return Outcome.reply(*explain_all(a, t), resolved=True)
        options = [x for x in history if x.kind == "payment" and x.status == "succeeded"
                   and x.amount > x.refunded_amount][:5]
        if not options:
            return Outcome.reply(say("dispute_none", t.lang), resolved=True)
        from .money import transaction_line

        t.slots["options"] = [x.reference for x in options]
        t.state["step"] = "pick"
        return Outcome.wait(say("dispute_pick", t.lang, lines="\n".join(
            transaction_line(a, t, x, i) for i, x in enumerate(options, 1))))

    def _charge(self, a: Assistant, t: Turn, payment: Any) -> Outcome:
        """The charge is known: a failed one is explained (nothing was taken), a refunded one says so;
        otherwise the reason, asked unless the customer's words already gave it."""
        if payment.status == "failed":
            from .money import explain_failure

            return explain_failure(a, t, payment)
        if payment.status != "succeeded" or payment.amount <= payment.refunded_amount:
            from .money import transaction_status

            return transaction_status(a, t, payment)
        t.slots["reference"] = payment.reference
        t.checked(f"disputed charge {payment.reference} {payment.merchant_name or ''} {money(payment.amount)}")
        reason = reason_in(t.slots.get("words", ""), numbered=False)
        if reason is None:
            t.state["step"] = "reason"
            return Outcome.wait(say("dispute_reason_ask", t.lang, ref=payment.reference,
                                    merchant=payment.merchant_name or "-", amount=money(payment.amount)))
        return self._with_reason(a, t, reason)

    def _with_reason(self, a: Assistant, t: Turn, reason: str) -> Outcome:
        t.slots["reason"] = reason
        if reason == "unrecognised_charge" and not a.deps.identity.get(t.customer_id).frozen:
            t.state["step"] = "offer_freeze"
            return Outcome.wait(say("dispute_offer_freeze", t.lang))
        return self._open(a, t, freeze=False)

    def step(self, a: Assistant, t: Turn) -> Outcome:
        step = t.state.get("step")
        if step == "pick":
            reference = pick_option(t, t.slots.get("options", []))
            if reference is None:
                return Outcome.wait(say("pick_again", t.lang, n=len(t.slots.get("options", []))))
            history = a.deps.wallet.list_transactions(t.customer_id, limit=50)
            payment = next(x for x in history if x.reference == reference)
            t.state["step"] = None
            return self._charge(a, t, payment)
        if step == "reason":
            reason = reason_in(t.text)
            if reason is None:
                return Outcome.wait(say("dispute_reason_again", t.lang))
            t.slots["words"] = f"{t.slots.get('words', '')}\n{t.text}"[:1000]
            return self._with_reason(a, t, reason)
        if step == "offer_freeze":
            return self._open(a, t, freeze=yes(t.text))
        return self.start(a, t)

    def _open(self, a: Assistant, t: Turn, *, freeze: bool) -> Outcome:
        reference, reason = t.slots["reference"], t.slots["reason"]
        words = " ".join(str(t.slots.get("words") or "").split())
        description = words if len(words) >= 3 else reason.replace("_", " ")
        try:
            case = a.deps.disputes.open(t.customer_id, reference, reason=reason, description=description,
                                        idempotency_key=f"assistant-{t.conversation_id}-{reference}",
                                        freeze_account=freeze)
        except Conflict as e:
            if e.code == "dispute_open":
                existing = next(c for c in a.deps.disputes.list(t.customer_id)
                                if c.transaction_reference == reference and c.status in ("needs_response",
                                                                                          "under_review"))
                return Outcome.reply(explain(a, t, existing), resolved=True)
            return Outcome.reply(say("dispute_none", t.lang), resolved=True)
        except (NotFound, ValidationFailed):
            return Outcome.reply(say("dispute_none", t.lang), resolved=True)
        payment = next((x for x in a.deps.wallet.list_transactions(t.customer_id, limit=50)
                        if x.reference == reference), None)
        security = reason == "unrecognised_charge"
        t.tried(f"dispute DP{case.id} opened for {reference} ({reason})"
                + ("; account frozen" if case.froze_account else ""))
        t.state["ticket_changes"] = {
            "area": "refund_dispute", "tags": ["dispute", reason, *(["security_alert"] if security else [])],
            "links": [["transaction", reference], ["dispute", f"DP{case.id}"]],
            **({"priority": "high"} if security else {})}
        messages = [say("dispute_case_opened", t.lang, id=case.id, ref=reference, amount=money(case.amount),
                        merchant=(payment.merchant_name if payment else None) or "-",
                        due=reset_time(case.response_due_at, t.lang, a.deps.policy.tz))]
        if case.provisional_credited:
            messages.append(say("dispute_provisional", t.lang, amount=money(case.provisional_amount)))
        if case.froze_account:
            # The security-alert flow's end: frozen at once, a person checks the account with the customer.
            return Outcome.hand_over(*messages, say("frozen_now", t.lang))
        return Outcome.reply(*messages, resolved=True)

    def _hand_over(self, a: Assistant, t: Turn, reference: str | None) -> Outcome:
        t.state["ticket_changes"] = {"area": "refund_dispute", "tags": ["dispute"],
                                     **({"links": [["transaction", reference]]} if reference else {})}
        return Outcome.hand_over(say("dispute_opened", t.lang, ticket=t.ticket_id,
                                     txn=f" ({reference})" if reference else ""))

    def accepts(self, a: Assistant, t: Turn) -> bool:
        step = t.state.get("step")
        if step == "pick":
            return pick_option(t, t.slots.get("options", [])) is not None
        if step == "offer_freeze":
            return yes_or_no(t.text)
        return super().accepts(a, t)


DISPUTE = Dispute()
DISPUTE_FLOWS: tuple[Flow, ...] = (DISPUTE,)

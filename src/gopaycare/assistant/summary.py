"""The note an agent reads first on a handed-over case: what the customer asked (their own words),
the facts checked with their values, what the assistant concluded and how sure it was, and what the
customer is waiting for. Written so a direct "agent please" is not empty ("checked: -") and a flow
that misunderstood is visible as such instead of read as a finding.

Agent-facing: every customer text and account value passes `platform.pii.mask_text`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..platform.pii import mask_text
from .texts import money

if TYPE_CHECKING:
    from .deps import AssistantDeps
    from .turns import Turn

HEADER = "🤖 Assistant summary / 机器人摘要 / Ringkasan asisten"
MAX_ASKED = 6
UNSURE = 0.6

# What a customer handed over for an intent waits for, when the flow did not say it more exactly.
WAITING_FOR = {
    "human_handoff": "a person (asked for one directly)",
    "account_security_alert": "a person to confirm the account is safe and decide on the freeze",
    "account_locked": "a person to unlock the account",
    "txn_payment_failed": "a person to look into the failed payment",
    "txn_not_received": "a person to trace the money in flight",
    "dispute_open": "the dispute with the merchant to be investigated",
    "refund_apply": "a person to take the refund request",
    "tech_app_crash": "technical support for the app fault",
    "tech_app_slow": "technical support for the app fault",
    "tech_app_update": "technical support for the app fault",
    "promo_cashback_missing": "a person to check the cashback",
}


def build(deps: AssistantDeps, turn: Turn, intent: str | None, replies: list[str], *, fallbacks: int = 0) -> str:
    """The summary note for this handover (`replies`: what the assistant said this turn, before the
    handover notice)."""
    said = deps.handovers.messages(turn.ticket_id) if deps.handovers is not None else []
    asked = [m.body for m in said if m.author_type == "contact"]
    if not asked or asked[-1] != turn.text:
        asked.append(turn.text)
    bot_said = [m.body for m in said if m.author_type == "bot"]
    conclusion = replies[-1] if replies else (bot_said[-1] if bot_said else "")
    history = turn.state.get("intent_history", [])
    parse = turn.parse
    reading = f"{parse.intent.name} ({parse.intent.confidence:.2f})"
    runner_up = next((r for r in parse.intent_ranking if r.name != parse.intent.name), None)
    if runner_up is not None:
        reading += f", then {runner_up.name} ({runner_up.confidence:.2f})"
    doubts = []
    if fallbacks:
        doubts.append(f"the assistant did not understand {fallbacks} message(s)")
    if parse.intent.confidence < UNSURE and intent != "human_handoff":
        doubts.append("the last reading was unsure: check the customer's own words above")
    if len(set(history)) > 1:
        doubts.append(f"the topic changed during the chat ({' → '.join(history)})")
    entities = [f"{e.entity}={e.value}" for e in parse.entities]
    lines = [
        HEADER,
        "asked:",
        *(f"  • {_short(text)}" for text in asked[-MAX_ASKED:]),
        f"intent: {', '.join(history) or intent or '-'}; last message read as {reading}",
        f"language: {turn.lang}",
        "facts checked:",
        *(f"  • {mask_text(note)}" for note in _facts(deps, turn)),
        f"tried: {'; '.join(mask_text(x) for x in turn.state.get('tried', [])) or 'nothing yet'}",
        f"entities: {', '.join(mask_text(x) for x in entities) or '-'}",
        f"assistant's conclusion: {_short(conclusion) if conclusion else 'none (handed over before any answer)'}",
        *([f"caution: {'; '.join(doubts)}"] if doubts else []),
        f"waiting for: {turn.state.get('waiting_for') or WAITING_FOR.get(intent or '', 'a person to take the case')}",
    ]
    return "\n".join(lines)


def _short(text: str, limit: int = 300) -> str:
    flat = " ".join(mask_text(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _facts(deps: AssistantDeps, turn: Turn) -> list[str]:
    """What the flow checked, then the account's state as the agent needs it first (when the
    customer is known): a direct request still says who and in what state."""
    facts = list(turn.state.get("checked", []))
    if turn.customer_id is None:
        return facts or ["customer not identified (anonymous chat): no account facts"]
    try:
        customer = deps.identity.get(turn.customer_id)
        s = deps.wallet.summary(turn.customer_id)
        latest = deps.wallet.list_transactions(turn.customer_id, limit=5)
    except Exception:  # noqa: BLE001 - the summary must never stop a handover
        return facts or ["account state unavailable"]
    status = ", ".join(filter(None, ["locked" if customer.locked else "", "frozen" if customer.frozen else ""]))
    facts.append(f"account: {s.tier}, {status or 'active'}; balance {money(s.balance)} (cap {money(s.balance_cap)})")
    facts.append(f"today out {money(s.daily_outgoing.used)} of {money(s.daily_outgoing.limit)}; "
                 f"month in {money(s.monthly_incoming.used)} of {money(s.monthly_incoming.limit)}")
    for x in latest[:3]:
        reason = f" {x.failure_reason}" if x.failure_reason else ""
        facts.append(f"{x.reference} {x.kind} {money(x.amount)} {x.status}{reason}"
                     f"{f' · {x.merchant_name}' if x.merchant_name else ''}")
    return facts

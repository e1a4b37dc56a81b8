"""The flows: one per intent, each a small state machine over real account state.

A flow's `start` answers the first message of its topic; when it needs more (a choice, a reason,
a code), it returns `Outcome.wait` with a `step` in the turn's state, and `resume` continues from
that step with the next message. `accepts` says whether a message is an answer to the pending
step (a number, a code, an amount...), so a confident new intent only switches topic when it is
not.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ...platform import catalog
from ..turns import Outcome, Turn

if TYPE_CHECKING:
    from ..engine import Assistant

YES = re.compile(r"^\s*(是|是的|对|好|好的|要|需要|可以|嗯|ya|iya|iy|yes|yep|yeah|ok|oke|okay|boleh|mau|sure|"
                 r"please|pls|tolong)\b", re.IGNORECASE)
NO = re.compile(r"^\s*(不|不是|不要|不用|没有|没|no|nope|nah|tidak|tdk|gak|ga|nggak|enggak|belum|blm|"
                r"not yet|still|masih)\b", re.IGNORECASE)
CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")
NUMBER = re.compile(r"(?<!\d)(\d{1,2})(?!\d)")

INTENT_AREA = {
    "account_login_failed": "account", "account_password_reset": "account", "account_locked": "account",
    "account_otp_not_received": "account", "account_update_info": "account", "account_security_alert": "account",
    "txn_payment_failed": "transaction", "txn_not_received": "transaction", "txn_limit": "transaction",
    "txn_topup": "transaction", "txn_history": "transaction", "refund_apply": "refund_dispute",
    "refund_status": "refund_dispute", "dispute_open": "refund_dispute", "tech_app_crash": "tech_support",
    "tech_app_slow": "tech_support", "tech_app_update": "tech_support", "promo_current": "promotion",
    "promo_cashback_missing": "promotion", "contact_channels": "general", "human_handoff": "general",
    "greeting": "general", "thanks": "general", "goodbye": "general",
}

def intent_label(intent: str, lang: str) -> str:
    """An intent as a customer would name it ('payment failed'), from the catalogs' "assistant.intent"
    context; an intent without a label as it is."""
    label = catalog.lookup("assistant.intent", intent, lang)
    return intent if label is None else label


class Flow:
    """Base flow: answers once, waits for nothing."""

    intent = ""

    def start(self, a: Assistant, t: Turn) -> Outcome:
        raise NotImplementedError

    def resume(self, a: Assistant, t: Turn) -> Outcome:
        return self.start(a, t)

    def accepts(self, a: Assistant, t: Turn) -> bool:
        """Whether the message answers the pending step (then no topic switch)."""
        return False



def pick_option(t: Turn, options: list[str]) -> str | None:
    """Which of the listed payments the customer chose: its reference, or its number in the list."""
    wanted = t.entity("transaction_reference")
    if wanted in options:
        return wanted
    match = NUMBER.search(t.text)
    if match and 1 <= int(match.group(1)) <= len(options):
        return options[int(match.group(1)) - 1]
    return None


def yes(text: str) -> bool:
    return bool(YES.search(text)) and not NO.search(text)


def yes_or_no(text: str) -> bool:
    """Is this an answer to a yes/no question (and not a new question)?"""
    return bool(YES.search(text) or NO.search(text))



def code_in(text: str) -> str | None:
    match = CODE.search(text)
    return match.group(1) if match else None



FLOWS: dict[str, Any] = {}


def _register() -> None:
    from .account import ACCOUNT_FLOWS
    from .answers import ANSWER_FLOWS
    from .disputes import DISPUTE_FLOWS
    from .money import MONEY_FLOWS
    from .promotions import PROMOTION_FLOWS
    from .support import SUPPORT_FLOWS

    # The answers' flows extend their intent's first flow, so they come last and take its place.
    for flow in (*ACCOUNT_FLOWS, *MONEY_FLOWS, *DISPUTE_FLOWS, *PROMOTION_FLOWS, *SUPPORT_FLOWS, *ANSWER_FLOWS):
        FLOWS[flow.intent] = flow


_register()

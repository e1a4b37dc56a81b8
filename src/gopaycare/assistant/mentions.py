"""Which transaction the customer means: the reference, amount, merchant and date they gave, matched
against their own history. One match is explained by the flow; several get a clarifying question
("which one?"); none gets the recent ones to choose from. A message that names nothing leaves the
choice to the flow (the latest failure, the latest payment without cashback...)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..platform.text import normalize
from ..wallet.port import TransactionView
from .nlu.entities import Entity, extract

if TYPE_CHECKING:
    from .engine import Assistant
    from .turns import Turn

# The transactions each flow can be about.
KINDS = {
    "txn_payment_failed": ("payment", "p2p", "topup", "withdrawal"),
    "txn_not_received": ("payment", "p2p", "topup", "withdrawal"),
    "promo_cashback_missing": ("payment",),
    "refund_apply": ("payment",),
    "dispute_open": ("payment", "p2p"),
}
# Of several that fit, the one in the state this flow is about.
PREFERRED = {"txn_payment_failed": "failed", "txn_not_received": "pending"}
# Words of a merchant's name too common to name it on their own.
_GENERIC = frozenset({"online", "warung", "toko", "pak", "cak", "the", "shop", "store", "bank", "nasi", "food"})
HISTORY = 50


@dataclass(frozen=True)
class Mention:
    """What the message names and what matches it (`matches`: the candidates, best first)."""

    named: str  # how the customer named it, for the reply: "Rp95.000 · Martabak Bangka 88"
    matches: list[TransactionView]
    recent: list[TransactionView]  # the latest of the flow's kinds, offered when nothing matches
    specific: bool  # named by a reference, an amount or a merchant (not only a date)


def merchant_in(text: str, history: list[TransactionView]) -> str | None:
    """A merchant of the customer's own history named in the message: its full name, or a distinctive
    word of it ("martabak", "bukaloka", "gofood" / "go food")."""
    folded = normalize(text)
    squeezed = re.sub(r"\s+", "", folded)
    names = {x.merchant_name for x in history if x.merchant_name}
    for name in sorted(names, key=len, reverse=True):
        if normalize(name) in folded or re.sub(r"\s+", "", normalize(name)) in squeezed:
            return name
    for name in sorted(names, key=len, reverse=True):
        for word in re.findall(r"[a-z]{4,}", normalize(name)):
            if word not in _GENERIC and re.search(rf"(?<![a-z]){word}(?![a-z])", folded):
                return name
    return None


def mentioned(a: Assistant, t: Turn, intent: str) -> Mention | None:
    """The customer's transactions of this flow's kinds that fit what the message names; None when it
    names no reference, amount, merchant or date."""
    kinds = KINDS.get(intent)
    if kinds is None or t.customer_id is None:
        return None
    history = [x for x in a.deps.wallet.list_transactions(t.customer_id, limit=HISTORY) if x.kind in kinds]
    if intent in ("promo_cashback_missing", "refund_apply"):
        history = [x for x in history if x.status == "succeeded"]
    reference, amount = t.entity("transaction_reference"), t.entity("amount")
    tz = a.deps.policy.tz
    # Dates read against the conversation's clock (the NLU reads "today" against the wall clock).
    day = next((e.value for e in extract(t.text, t.lang, now=t.now, tz=tz.key) if e.entity == "date"), None) \
        if t.entity("date") else None
    merchant = merchant_in(t.text, history)
    if merchant is not None:
        t.parse.entities.append(Entity("merchant", merchant, merchant, 0, 0))
    if not (reference or amount or merchant or day):
        return None
    named = [x for x in history
             if (not reference or x.reference == reference)
             and (not amount or x.amount == amount)
             and (not merchant or x.merchant_name == merchant)]
    # A date is the loosest thing a customer says ("yesterday" for last week's): it narrows, never empties.
    matches = [x for x in named if not day or x.created_at.astimezone(tz).date().isoformat() == day]
    if not matches and (reference or amount or merchant):
        matches, day = named, None
    wanted = PREFERRED.get(intent)
    if wanted and len(matches) > 1:
        # "my Bukaloka payment failed": the failed one of several; "still processing": the pending one
        matches = [x for x in matches if x.status == wanted] or matches
    from .texts import money

    named_as = " · ".join(str(v) for v in (reference, money(amount) if amount else None, merchant, day) if v)
    return Mention(named_as, matches[:5], history[:5], bool(reference or amount or merchant))


def chosen(t: Turn, options: list[str], history: list[TransactionView]) -> str | None:
    """The option a customer picked in answer to "which one?": its number, reference, amount or merchant."""
    reference = t.entity("transaction_reference")
    if reference in options:
        return reference
    views = [x for x in history if x.reference in options]
    views.sort(key=lambda x: options.index(x.reference))
    amount = t.entity("amount")
    if amount:
        fits = [x.reference for x in views if x.amount == amount]
        if len(fits) == 1:
            return fits[0]
    merchant = merchant_in(t.text, views)
    if merchant:
        fits = [x.reference for x in views if x.merchant_name == merchant]
        if len(fits) == 1:
            return fits[0]
    number = re.search(r"(?<!\d)(\d{1,2})(?!\d)", t.text)
    if number and 1 <= int(number.group(1)) <= len(options):
        return options[int(number.group(1)) - 1]
    return None

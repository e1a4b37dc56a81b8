"""After a handover: whether the assistant stays quiet, tells the waiting customer where things stand,
or takes the conversation back.

- The person's part is over (the ticket was solved or closed since the handover, or the customer's
  message opened a new ticket): the assistant answers again, as on a new conversation.
- No person has answered yet: the customer is told their case is with the team and the expected wait
  (or, outside business hours or with nobody online, when a person will answer); at most once per
  `ACK_EVERY`, so a customer who writes five lines gets one acknowledgement, not five; not while the
  handover notice's question for an e-mail address is open (it said the wait already).
- A person is talking with the customer: the assistant stays out of it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .texts import reset_time, say

if TYPE_CHECKING:
    from .deps import AssistantDeps

ACK_EVERY = timedelta(minutes=5)
RESUME, ACK, QUIET = "resume", "ack", "quiet"


def after_handover(deps: AssistantDeps, state: dict[str, Any], ticket_id: int, now: datetime) -> str:
    """RESUME, ACK or QUIET for a customer message on a handed-over conversation."""
    handed = state.get("handed_over_ticket")
    if handed is not None and handed != ticket_id:
        return RESUME  # the handed-over ticket ended; this message opened a new one
    if deps.handovers is None:
        return QUIET
    since = _at(state.get("handed_over_at"))
    found = deps.handovers.handover(ticket_id, since)
    if found is None or found.solved_since:
        return RESUME
    if found.agent_replied or state.get("await_email"):
        # A person is talking; or the handover notice just told the wait and asked for an address, and
        # an e-mail address is the answer it waits for (taken whatever this says).
        return QUIET
    acked = _at(state.get("acked_at"))
    return ACK if acked is None or now - acked >= ACK_EVERY else QUIET


def acknowledgement(deps: AssistantDeps, ticket_id: int, lang: str) -> str:
    staffing = deps.staffing()
    if not staffing.open and staffing.next_open is not None:
        return say("waiting_closed", lang, ticket=ticket_id,
                   when=reset_time(staffing.next_open, lang, staffing.tz or deps.policy.tz))
    if staffing.nobody:
        return say("waiting_nobody_online", lang, ticket=ticket_id, minutes=staffing.wait_minutes)
    return say("waiting", lang, ticket=ticket_id, minutes=staffing.wait_minutes)


def forget_handover(state: dict[str, Any]) -> None:
    """The assistant has the conversation again: what it kept about the old case goes."""
    for key in ("handed_over_ticket", "handed_over_at", "acked_at", "await_email", "checked", "tried",
                "intent_history", "fallbacks", "waiting_for", "flow", "step", "slots"):
        state.pop(key, None)


def _at(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None

"""What the assistant and its flows may use, handed in when it is built: the customer's real
state (identity, recovery, the wallet, refunds, promotions), the knowledge base, the desk's
conversation and bot-turn use cases, and its own memory (its tables). Nothing else: a flow cannot
reach into the application's other services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from ..desk.availability import Staffing
from ..desk.bot_view import BotView
from ..desk.conversations import Conversations
from ..desk.handoff import BotTurns
from ..disputes.service import Disputes
from ..identity.recovery import Recovery
from ..identity.service import IdentityService
from ..kb.service import KnowledgeBase
from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.ratelimit import Limiter
from ..promotions.service import Promotions
from ..refunds.service import RefundRequests
from ..wallet.port import WalletBackend


@dataclass(frozen=True)
class AssistantPolicy:
    """The settings the flows quote to customers."""

    tz: ZoneInfo
    max_failed_logins: int
    pending_too_long_minutes: int
    # Each tier's (balance cap, monthly incoming, daily outgoing): what upgrading to Plus changes.
    tiers: dict[str, tuple[int, int, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class AssistantDeps:
    db: Database  # the assistant's own tables (its memory of each conversation)
    clock: Clock
    policy: AssistantPolicy
    identity: IdentityService
    recovery: Recovery
    wallet: WalletBackend
    refunds: RefundRequests
    promotions: Promotions
    kb: KnowledgeBase | None
    conversations: Conversations
    bot: BotTurns
    staffing: Callable[[], Staffing]  # whether a person can take the case now, and when one will
    limiter: Limiter | None = None  # codes an anonymous chatter may have sent (platform/ratelimit.py)
    handovers: BotView | None = None  # a handed-over ticket's state and messages (waiting, summaries)
    disputes: Disputes | None = None  # the customer's dispute cases (the dispute flow opens and explains them)

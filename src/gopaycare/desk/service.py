"""The help desk, assembled: one object the web layer, jobs and the assistant talk to.

Two write use cases carry every change (`posting.Posting.do_post` for messages,
`changes.TicketChanges.do_change` for tickets); what follows a change is subscribed once on the
desk's bus in `handlers.py`; messages leave through the outbox, whose outcomes come back through
`delivery.py`.
"""

from __future__ import annotations

from datetime import timedelta

from ..attachments.store import AttachmentStore
from ..platform.bus import MessageBus
from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.outbox import Outbox
from ..wallet.port import WalletBackend
from . import counters as _counters  # noqa: F401  (the dashboard's counters follow every change)
from .access import Viewer, viewer
from .agents import AgentDirectory, AgentView
from .attachments import DeskAttachments
from .availability import Availability
from .board import Board
from .calls import PhoneCalls
from .changes import TicketChanges
from .conversations import Conversations
from .csat import Csat
from .customer360 import Customer360
from .customer_side import CustomerSide
from .customers import CustomerDirectory, IdentityLookup
from .delivery import DeliveryMirror
from .events import EventHub, EventLog
from .follow_ups import FollowUps
from .handlers import DeskHandlers
from .handoff import BotTurns
from .inbox import Inbox
from .live import Live, Placements
from .posting import Posting
from .reports import Reports
from .reveal import Reveal
from .routing import Router
from .rules import Rules
from .search import TicketSearchIndex
from .sla import SlaEngine
from .tickets import Tickets
from .typing_signals import TypingSignals


class Desk:
    def __init__(self, db: Database, clock: Clock, wallet: WalletBackend, agents: AgentDirectory, hub: EventHub,
                 outbox: Outbox, identity: IdentityLookup, files: AttachmentStore, *,
                 chat_calendar: str | None = None, follow_up_after: timedelta = timedelta(minutes=10)) -> None:
        self.db = db
        self.clock = clock
        self.agents = agents
        self.bus = MessageBus()
        self.events = EventLog(db, hub)
        self.changes = TicketChanges(self.bus)
        self.attachments = DeskAttachments(db, files)
        self.posting = Posting(self.bus, outbox, self.attachments)
        self.sla = SlaEngine(db, clock, self.events, self.changes)
        self.routing = Router(db, clock, self.events, self.changes)
        self.rules = Rules(db, clock, self.changes, self.posting)
        self.search = TicketSearchIndex(db)
        self.csat = Csat(db, clock, self.events, self.posting)
        DeskHandlers(clock, self.events, self.changes, self.sla, self.routing, self.rules, self.csat,
                     self.search).register(self.bus)
        outbox.on_outcome(DeliveryMirror(clock, self.events).on_outcome)
        self.customers = CustomerDirectory(identity, wallet)
        self.conversations = Conversations(db, clock, self.posting, self.csat, self.customers)
        self.tickets = Tickets(db, clock, self.changes, self.bus, wallet)
        self.bot = BotTurns(self.posting, self.changes, self.bus)
        self.calls = PhoneCalls(db, clock, self.conversations, self.changes, self.posting, self.events)
        self.inbox = Inbox(db, clock)
        self.reports = Reports(db, clock)
        self.board = Board(db, clock)
        self.customer360 = Customer360(db, identity, wallet)
        self.customer_side = CustomerSide(db, outbox)
        self.reveal = Reveal(db, clock)
        self.live = Live(self.events, Placements())
        hub.subscribe(self.live.placements.observe)  # before any stream: streams judge by it
        self.typing = TypingSignals(db, clock, hub)
        self.availability = Availability(db, clock, self.routing, chat_calendar)
        self.follow_ups = FollowUps(db, clock, outbox, after=follow_up_after)

    def viewer(self, agent: AgentView) -> Viewer:
        with self.db.read() as s:
            return viewer(s, agent)

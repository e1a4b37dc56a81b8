"""The help desk, assembled: one object the web layer, jobs and the assistant talk to."""

from __future__ import annotations

from ..platform.clock import Clock
from ..platform.db import Database
from ..wallet.port import WalletBackend
from .access import Viewer, viewer
from .agents import AgentDirectory, AgentView
from .context import DeskContext
from .conversations import Conversations
from .csat import Csat
from .customer360 import Customer360
from .events import EventHub, EventLog
from .inbox import Inbox
from .outbound import Outbound
from .routing import Router
from .rules import Rules
from .search import TicketSearchIndex
from .sla import SlaEngine
from .tickets import Tickets


class Desk:
    def __init__(self, db: Database, clock: Clock, wallet: WalletBackend, agents: AgentDirectory,
                 hub: EventHub) -> None:
        self.db = db
        self.agents = agents
        self.events = EventLog(db, hub)
        self.ctx = DeskContext(db=db, clock=clock, wallet=wallet, events=self.events)
        self.ctx.sla = self.sla = SlaEngine(self.ctx)
        self.ctx.routing = self.routing = Router(self.ctx)
        self.ctx.rules = self.rules = Rules(self.ctx)
        self.ctx.search = self.search = TicketSearchIndex(self.ctx)
        self.ctx.csat = self.csat = Csat(self.ctx)
        self.outbound = Outbound(db, clock)
        self.conversations = Conversations(self.ctx)
        self.tickets = Tickets(self.ctx)
        self.inbox = Inbox(self.ctx)
        self.customer360 = Customer360(self.ctx)

    def viewer(self, agent: AgentView) -> Viewer:
        with self.db.read() as s:
            return viewer(s, agent)

"""Agents, their roles and permissions, and bearer API tokens.

Roles are named sets of permissions; every endpoint asks for a permission, never for a role.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..identity.contacts import normalize_email
from ..identity.hashing import SecretHasher
from ..platform import audit
from ..platform.audit import Actor
from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import Conflict, NotFound, Unauthenticated, ValidationFailed
from .models import Agent, ApiToken

PERMISSIONS = (
    "customer.view",      # see a customer and their wallet, PII masked
    "pii.reveal",         # see phone, email, ID in clear (asks for a reason, audited)
    "account.unlock",     # unlock after reviewing a document
    "account.freeze",
    "account.unfreeze",
    "refund.request",
    "refund.approve",
    "wallet.reverse",     # give back a debited-but-failed payment
    "agents.manage",
)

ROLES: dict[str, frozenset[str]] = {
    "agent": frozenset({"customer.view", "account.freeze", "refund.request"}),
    "supervisor": frozenset({"customer.view", "account.freeze", "account.unfreeze", "account.unlock",
                             "refund.request", "refund.approve", "wallet.reverse", "pii.reveal"}),
    "admin": frozenset(PERMISSIONS),
}


@dataclass(frozen=True)
class AgentView:
    id: int
    email: str
    name: str
    role: str
    permissions: frozenset[str]

    def can(self, permission: str) -> bool:
        return permission in self.permissions


def _view(agent: Agent) -> AgentView:
    return AgentView(agent.id, agent.email, agent.name, agent.role, ROLES.get(agent.role, frozenset()))


class AgentDirectory:
    def __init__(self, db: Database, clock: Clock, hasher: SecretHasher) -> None:
        self.db = db
        self.clock = clock
        self.hasher = hasher

    def create(self, email: str, role: str, *, name: str | None = None, password: str | None = None) -> AgentView:
        email = normalize_email(email)
        if role not in ROLES:
            raise ValidationFailed(f"role must be one of {', '.join(ROLES)}", field="role")
        now = self.clock.now()
        agent = Agent(email=email, name=name or email.split("@")[0], role=role, active=True, created_at=now,
                      password_hash=self.hasher.hash_password(password) if password else None)
        try:
            with self.db.transaction() as s:
                s.add(agent)
                s.flush()
                audit.record(s, at=now, actor=Actor.system(), action="agent.created", subject_type="agent",
                             subject_id=agent.id, role=role)
        except IntegrityError:
            raise Conflict("an agent with this email exists", code="agent_exists") from None
        return _view(agent)

    def get_by_email(self, email: str) -> AgentView:
        with self.db.read() as s:
            agent = s.execute(select(Agent).where(Agent.email == normalize_email(email))).scalar_one_or_none()
        if agent is None:
            raise NotFound("no agent with this email")
        return _view(agent)

    def create_token(self, email: str) -> str:
        """A new bearer token for the agent; only its hash is stored."""
        agent = self.get_by_email(email)
        token = "gpc_" + self.hasher.new_token()
        now = self.clock.now()
        with self.db.transaction() as s:
            s.add(ApiToken(agent_id=agent.id, token_hash=self.hasher.keyed(token), created_at=now))
            audit.record(s, at=now, actor=Actor.system(), action="token.created", subject_type="agent",
                         subject_id=agent.id)
        return token

    def authenticate(self, token: str) -> AgentView:
        with self.db.read() as s:
            row = s.execute(
                select(Agent).join(ApiToken, ApiToken.agent_id == Agent.id)
                .where(ApiToken.token_hash == self.hasher.keyed(token or ""), ApiToken.revoked_at.is_(None),
                       Agent.active.is_(True))
            ).scalar_one_or_none()
        if row is None:
            raise Unauthenticated("invalid or revoked API token", code="token_invalid")
        return _view(row)

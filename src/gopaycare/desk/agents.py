"""Agents, roles and permissions, login (password + TOTP), sessions and API tokens, teams.

Roles are named sets of permissions; every endpoint asks for a permission, never for a role.
Besides the built-in roles, an admin can define custom roles from the same permissions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pyotp
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..identity.contacts import normalize_email
from ..identity.hashing import SecretHasher
from ..platform import audit
from ..platform.audit import Actor
from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import Conflict, NotFound, Unauthenticated, ValidationFailed
from ..platform.i18n import LANGUAGES
from .events import ACCESS_CHANGED, EventHub, emit
from .models import SERVICE_AREAS, Agent, ApiToken, CustomRole, Team, TeamMember

PERMISSIONS = (
    "customer.view",      # see a customer and their wallet, PII masked
    "pii.reveal",         # see phone, email, ID in clear (asks for a reason, audited)
    "account.unlock",     # unlock after reviewing a document
    "account.freeze",
    "account.unfreeze",
    "refund.request",
    "refund.approve",
    "wallet.reverse",     # give back a debited-but-failed payment
    "promotion.manage",   # create, pause and end cashback campaigns
    "promotion.grant",    # give a payment a campaign's cashback it did not earn (audited, within budget)
    "ticket.view_all",    # see every ticket, not only mine, unassigned and my teams'
    "ticket.assign",      # assign tickets to others (override routing)
    "ticket.merge",
    "macro.manage",
    "rules.manage",       # triggers, automations, SLA policies, calendars
    "reports.view",
    "agents.manage",      # agents, roles, teams, presence of others
    "channel.ingest",     # integrations that post inbound messages
    "channels.manage",    # channel accounts (WhatsApp numbers, bots, pages) and their secrets
)

ROLES: dict[str, frozenset[str]] = {
    "agent": frozenset({"customer.view", "account.freeze", "refund.request"}),
    "supervisor": frozenset({"customer.view", "account.freeze", "account.unfreeze", "account.unlock",
                             "refund.request", "refund.approve", "wallet.reverse", "pii.reveal", "ticket.view_all",
                             "ticket.assign", "ticket.merge", "macro.manage", "reports.view",
                             "promotion.manage", "promotion.grant"}),
    "admin": frozenset(PERMISSIONS),
}
SESSION_TTL = timedelta(hours=12)


@dataclass(frozen=True)
class AgentView:
    id: int
    email: str
    name: str
    role: str
    permissions: frozenset[str]
    presence: str = "offline"
    capacity: int = 5
    languages: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()

    def can(self, permission: str) -> bool:
        return permission in self.permissions


@dataclass(frozen=True)
class AgentLogin:
    token: str
    agent: AgentView
    expires_at: object


class AgentDirectory:
    def __init__(self, db: Database, clock: Clock, hasher: SecretHasher, *, hub: EventHub | None = None) -> None:
        self.db = db
        self.clock = clock
        self.hasher = hasher
        self.hub = hub

    def _access_changed(self, s: Session, agent_id: int) -> None:
        """Tell this agent's open streams (in every process, through the hub) to check their token
        again at once: a deactivated agent or a revoked token must stop receiving now."""
        if self.hub is not None:
            self.hub.attach(s)
        emit(s, ACCESS_CHANGED, at=self.clock.now(), agent_id=agent_id)

    def _view(self, s: object, agent: Agent) -> AgentView:
        permissions = ROLES.get(agent.role)
        if permissions is None:
            role = s.execute(select(CustomRole).where(CustomRole.name == agent.role)).scalar_one_or_none()  # type: ignore[attr-defined]
            permissions = frozenset(role.permissions) if role else frozenset()
        return AgentView(agent.id, agent.email, agent.name, agent.role, permissions, agent.presence, agent.capacity,
                         tuple(agent.languages or ()), tuple(agent.areas or ()))

    # ---------------------------------------------------------------- roles

    def create_role(self, name: str, permissions: list[str]) -> None:
        name = (name or "").strip().lower()
        if not name or len(name) > 32 or name in ROLES:
            raise ValidationFailed("a custom role needs a new name of 1 to 32 characters", field="name")
        unknown = sorted(set(permissions) - set(PERMISSIONS))
        if unknown:
            raise ValidationFailed("unknown permissions", field="permissions", unknown=unknown)
        now = self.clock.now()
        try:
            with self.db.transaction() as s:
                s.add(CustomRole(name=name, permissions=sorted(set(permissions)), created_at=now))
                audit.record(s, at=now, actor=Actor.system(), action="role.created", subject_type="role",
                             subject_id=name, permissions=sorted(set(permissions)))
        except IntegrityError:
            raise Conflict("a role with this name exists", code="role_exists") from None

    def _known_role(self, s: object, role: str) -> bool:
        return role in ROLES or s.execute(  # type: ignore[attr-defined]
            select(CustomRole.id).where(CustomRole.name == role)).first() is not None

    # ---------------------------------------------------------------- agents

    def create(self, email: str, role: str, *, name: str | None = None, password: str | None = None,
               languages: list[str] | None = None, areas: list[str] | None = None, capacity: int = 5) -> AgentView:
        email = normalize_email(email)
        self._check_skills(languages or [], areas or [], capacity)
        now = self.clock.now()
        agent = Agent(email=email, name=name or email.split("@")[0], role=role, active=True, created_at=now,
                      presence="offline", capacity=capacity, languages=list(languages or []), areas=list(areas or []),
                      password_hash=self.hasher.hash_password(password) if password else None)
        try:
            with self.db.transaction() as s:
                if not self._known_role(s, role):
                    raise ValidationFailed(f"unknown role {role!r}", field="role")
                s.add(agent)
                s.flush()
                audit.record(s, at=now, actor=Actor.system(), action="agent.created", subject_type="agent",
                             subject_id=agent.id, role=role)
                return self._view(s, agent)
        except IntegrityError:
            raise Conflict("an agent with this email exists", code="agent_exists") from None

    @staticmethod
    def _check_skills(languages: list[str], areas: list[str], capacity: int) -> None:
        if set(languages) - set(LANGUAGES):
            raise ValidationFailed(f"languages must be among {', '.join(LANGUAGES)}", field="languages")
        if set(areas) - set(SERVICE_AREAS):
            raise ValidationFailed(f"areas must be among {', '.join(SERVICE_AREAS)}", field="areas")
        if not 0 <= capacity <= 100:
            raise ValidationFailed("capacity is 0 to 100 open chats", field="capacity")

    def set_profile(self, agent_id: int, *, languages: list[str], areas: list[str], capacity: int) -> AgentView:
        self._check_skills(languages, areas, capacity)
        with self.db.transaction() as s:
            agent = self._agent(s, agent_id)
            agent.languages, agent.areas, agent.capacity = list(languages), list(areas), capacity
            audit.record(s, at=self.clock.now(), actor=Actor.system(), action="agent.profile_changed",
                         subject_type="agent", subject_id=agent.id, languages=languages, areas=areas,
                         capacity=capacity)
            return self._view(s, agent)

    def deactivate(self, agent_id: int, *, actor: Actor) -> None:
        """An agent who left: tokens stop working at once; routing skips them (callers route their
        open tickets first by setting presence offline)."""
        with self.db.transaction() as s:
            agent = self._agent(s, agent_id)
            agent.active, agent.presence = False, "offline"
            audit.record(s, at=self.clock.now(), actor=actor, action="agent.deactivated", subject_type="agent",
                         subject_id=agent_id)
            self._access_changed(s, agent_id)

    def _agent(self, s: object, agent_id: int) -> Agent:
        agent = s.get(Agent, agent_id)  # type: ignore[attr-defined]
        if agent is None:
            raise NotFound("agent not found", agent_id=agent_id)
        return agent

    def get(self, agent_id: int) -> AgentView:
        with self.db.read() as s:
            return self._view(s, self._agent(s, agent_id))

    def get_by_email(self, email: str) -> AgentView:
        with self.db.read() as s:
            agent = s.execute(select(Agent).where(Agent.email == normalize_email(email))).scalar_one_or_none()
            if agent is None:
                raise NotFound("no agent with this email")
            return self._view(s, agent)

    # ---------------------------------------------------------------- two-factor login and tokens

    def enroll_totp(self, agent_id: int) -> str:
        """A new TOTP secret (for the agent's authenticator app); login asks for it from now on."""
        secret = pyotp.random_base32()
        with self.db.transaction() as s:
            agent = self._agent(s, agent_id)
            agent.totp_secret = secret
            audit.record(s, at=self.clock.now(), actor=Actor.agent(agent_id), action="agent.totp_enrolled",
                         subject_type="agent", subject_id=agent_id)
        return secret

    def login(self, email: str, password: str, totp_code: str | None = None) -> AgentLogin:
        now = self.clock.now()
        failure = Unauthenticated("email, password or code is not correct", code="login_failed")
        with self.db.transaction() as s:
            agent = s.execute(select(Agent).where(Agent.email == normalize_email(email))).scalar_one_or_none() \
                if "@" in (email or "") else None
            if agent is None or not agent.active or not self.hasher.verify(agent.password_hash, password):
                raise failure
            if agent.totp_secret:
                if not totp_code:
                    raise Unauthenticated("enter the code from your authenticator app", code="totp_required")
                if not pyotp.TOTP(agent.totp_secret).verify(totp_code, for_time=now, valid_window=1):
                    raise failure
            token = "gps_" + self.hasher.new_token()
            expires = now + SESSION_TTL
            s.add(ApiToken(agent_id=agent.id, token_hash=self.hasher.keyed(token), kind="session", created_at=now,
                           expires_at=expires))
            audit.record(s, at=now, actor=Actor.agent(agent.id), action="agent.logged_in", subject_type="agent",
                         subject_id=agent.id, two_factor=bool(agent.totp_secret))
            return AgentLogin(token, self._view(s, agent), expires)

    def create_token(self, email: str) -> str:
        """A new bearer API token for the agent; only its hash is stored."""
        agent = self.get_by_email(email)
        token = "gpc_" + self.hasher.new_token()
        now = self.clock.now()
        with self.db.transaction() as s:
            s.add(ApiToken(agent_id=agent.id, token_hash=self.hasher.keyed(token), kind="api", created_at=now))
            audit.record(s, at=now, actor=Actor.system(), action="token.created", subject_type="agent",
                         subject_id=agent.id)
        return token

    def revoke(self, token: str) -> None:
        with self.db.transaction() as s:
            row = s.execute(select(ApiToken).where(ApiToken.token_hash == self.hasher.keyed(token or "")))\
                .scalar_one_or_none()
            if row is not None and row.revoked_at is None:
                row.revoked_at = self.clock.now()
                self._access_changed(s, row.agent_id)

    def authenticate(self, token: str) -> AgentView:
        now = self.clock.now()
        with self.db.read() as s:
            row = s.execute(
                select(Agent, ApiToken.expires_at).join(ApiToken, ApiToken.agent_id == Agent.id)
                .where(ApiToken.token_hash == self.hasher.keyed(token or ""), ApiToken.revoked_at.is_(None),
                       Agent.active.is_(True))
            ).one_or_none()
            if row is None or (row.expires_at is not None and row.expires_at <= now):
                raise Unauthenticated("invalid, expired or revoked token", code="token_invalid")
            return self._view(s, row.Agent)

    # ---------------------------------------------------------------- teams

    def create_team(self, name: str, *, areas: list[str], languages: list[str]) -> int:
        self._check_skills(languages, areas, 0)
        now = self.clock.now()
        try:
            with self.db.transaction() as s:
                team = Team(name=name.strip(), areas=list(areas), languages=list(languages), created_at=now)
                s.add(team)
                s.flush()
                return team.id
        except IntegrityError:
            raise Conflict("a team with this name exists", code="team_exists") from None

    def team_exists(self, team_id: int) -> bool:
        with self.db.read() as s:
            return s.get(Team, team_id) is not None

    def add_to_team(self, team_id: int, agent_id: int) -> None:
        with self.db.transaction() as s:
            if s.get(Team, team_id) is None:
                raise NotFound("team not found", team_id=team_id)
            self._agent(s, agent_id)
            if s.get(TeamMember, (team_id, agent_id)) is None:
                s.add(TeamMember(team_id=team_id, agent_id=agent_id))

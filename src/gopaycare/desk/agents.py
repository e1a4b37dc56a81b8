"""Agents, roles and permissions, login (password + TOTP), sessions and API tokens, teams.

Roles are named sets of permissions; every endpoint asks for a permission, never for a role.
Besides the built-in roles, an admin can define custom roles from the same permissions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..identity.contacts import normalize_email
from ..identity.hashing import SecretHasher
from ..platform import audit
from ..platform.audit import Actor
from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import Conflict, DomainError, NotFound, PermissionDenied, Unauthenticated, ValidationFailed
from ..platform.i18n import LANGUAGES
from ..platform.settings import Settings
from .agent_two_step import AgentTwoStep
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
# The one answer to a failed login, whatever failed (unknown email, inactive agent, wrong password or
# code): a difference would tell a caller which emails are agents.
LOGIN_FAILED = "email, password or code is not correct"


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
    def __init__(self, db: Database, clock: Clock, hasher: SecretHasher, *, hub: EventHub | None = None,
                 settings: Settings | None = None) -> None:
        self.db = db
        self.clock = clock
        self.hasher = hasher
        self.hub = hub
        settings = settings or Settings()
        self.session_ttl = timedelta(seconds=settings.agent_session_ttl_seconds)
        self.token_ttl = timedelta(days=settings.agent_token_ttl_days)
        self.max_failed_logins = settings.agent_max_failed_logins
        self.two_step = AgentTwoStep(db, clock, hasher)

    @cached_property
    def _dummy_hash(self) -> str:
        # Verified against when there is no agent (or no password) to check: the same argon2 work
        # either way, so the answer's timing tells nothing about which emails exist.
        return self.hasher.hash_password("no-such-agent-password")

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

    def all(self) -> list[AgentView]:
        """Every active agent, by name (the admin's list)."""
        with self.db.read() as s:
            return [self._view(s, a) for a in s.scalars(select(Agent).where(Agent.active.is_(True))
                                                          .order_by(Agent.name, Agent.id))]

    def get_by_email(self, email: str) -> AgentView:
        with self.db.read() as s:
            agent = s.execute(select(Agent).where(Agent.email == normalize_email(email))).scalar_one_or_none()
            if agent is None:
                raise NotFound("no agent with this email")
            return self._view(s, agent)

    # ---------------------------------------------------------------- two-factor login and tokens

    def enroll_totp(self, agent_id: int) -> str:
        """Two-step login on at once with a new secret (the CLI and tests; agents use the API's
        enrol-then-confirm, `two_step`)."""
        enrolment = self.two_step.enroll(agent_id)
        with self.db.transaction() as s:
            agent = self._agent(s, agent_id)
            agent.totp_secret, agent.totp_pending_secret = agent.totp_pending_secret, None
        return enrolment.secret

    def login(self, email: str, password: str, totp_code: str | None = None,
              recovery_code: str | None = None) -> AgentLogin:
        """Password, then (when enrolled) a TOTP or recovery code. The same work and the same answer
        whatever is wrong; wrong passwords and codes count, and at the limit the account locks until
        an admin unlocks it. A locked account says so only to whoever gives its password."""
        now = self.clock.now()
        failure = Unauthenticated(LOGIN_FAILED, code="login_failed")
        error: DomainError | None = None
        with self.db.transaction() as s:
            agent = s.execute(select(Agent).where(Agent.email == normalize_email(email)).with_for_update()
                              ).scalar_one_or_none() if "@" in (email or "") and len(email) <= 254 else None
            has_password = agent is not None and agent.password_hash is not None
            password_ok = self.hasher.verify(agent.password_hash if has_password else self._dummy_hash,  # type: ignore[union-attr]
                                             password) and has_password
            if agent is None or not agent.active:
                error = failure
            elif not password_ok:
                error = self._failed(s, agent, now, failure)
            elif agent.locked_at is not None:
                error = PermissionDenied("this account is locked after too many failed logins; an admin unlocks it",
                                         code="account_locked")
            elif agent.totp_secret and not (totp_code or recovery_code):
                error = Unauthenticated("enter the code from your authenticator app", code="totp_required")
            elif not self.two_step.check(s, agent, totp_code, recovery_code, now):
                error = self._failed(s, agent, now, failure)
            else:
                agent.failed_logins = 0
                token = "gps_" + self.hasher.new_token()
                expires = now + self.session_ttl
                s.add(ApiToken(agent_id=agent.id, token_hash=self.hasher.keyed(token), kind="session",
                               created_at=now, expires_at=expires))
                audit.record(s, at=now, actor=Actor.agent(agent.id), action="agent.logged_in", subject_type="agent",
                             subject_id=agent.id, two_factor=bool(agent.totp_secret),
                             recovery_code=bool(agent.totp_secret and recovery_code))
                return AgentLogin(token, self._view(s, agent), expires)
        raise error  # after the failure counter committed

    def _failed(self, s: Session, agent: Agent, now: datetime, failure: DomainError) -> DomainError:
        agent.failed_logins += 1
        audit.record(s, at=now, actor=Actor.system(), action="agent.login_failed", subject_type="agent",
                     subject_id=agent.id, failed_logins=agent.failed_logins)
        if agent.failed_logins >= self.max_failed_logins and agent.locked_at is None:
            agent.locked_at = now
            audit.record(s, at=now, actor=Actor.system(), action="agent.locked", subject_type="agent",
                         subject_id=agent.id, failed_logins=agent.failed_logins)
        return failure

    def unlock(self, agent_id: int, *, actor: Actor) -> None:
        """An admin lifts the lock after too many failed logins (audited with who did it)."""
        with self.db.transaction() as s:
            agent = self._agent(s, agent_id)
            was_locked = agent.locked_at is not None
            agent.locked_at, agent.failed_logins = None, 0
            audit.record(s, at=self.clock.now(), actor=actor, action="agent.unlocked", subject_type="agent",
                         subject_id=agent_id, was_locked=was_locked)

    def disable_two_step(self, agent_id: int, totp_code: str | None, recovery_code: str | None) -> None:
        """The agent turns two-step off, proving it with a current code; wrong codes count toward the lock."""
        now = self.clock.now()
        error: DomainError | None = None
        with self.db.transaction() as s:
            agent = self._agent(s, agent_id)
            if agent.totp_secret is None:
                error = Conflict("two-step login is not on", code="two_step_disabled")
            elif not (totp_code or recovery_code) or not self.two_step.check(s, agent, totp_code, recovery_code, now):
                error = self._failed(s, agent, now, ValidationFailed("the code is not correct", field="code",
                                                                     code="code_invalid"))
            else:
                self.two_step.disable(s, agent, now)
                audit.record(s, at=now, actor=Actor.agent(agent_id), action="agent.totp_disabled",
                             subject_type="agent", subject_id=agent_id)
        if error is not None:
            raise error

    def create_token(self, email: str, *, days: int | None = None) -> str:
        """A new bearer API token for the agent, expiring after GOPAYCARE_AGENT_TOKEN_TTL_DAYS (or
        `days`); only its hash is stored."""
        agent = self.get_by_email(email)
        token = "gpc_" + self.hasher.new_token()
        now = self.clock.now()
        expires = now + (timedelta(days=days) if days is not None else self.token_ttl)
        with self.db.transaction() as s:
            s.add(ApiToken(agent_id=agent.id, token_hash=self.hasher.keyed(token), kind="api", created_at=now,
                           expires_at=expires))
            audit.record(s, at=now, actor=Actor.system(), action="token.created", subject_type="agent",
                         subject_id=agent.id, expires_at=expires.isoformat())
        return token

    def revoke(self, token: str) -> bool:
        """Revoke one token (the agent's own logout); its open sockets close at once."""
        with self.db.transaction() as s:
            row = s.execute(select(ApiToken).where(ApiToken.token_hash == self.hasher.keyed(token or "")))\
                .scalar_one_or_none()
            if row is None or row.revoked_at is not None:
                return False
            row.revoked_at = self.clock.now()
            audit.record(s, at=row.revoked_at, actor=Actor.agent(row.agent_id), action="token.revoked",
                         subject_type="agent", subject_id=row.agent_id, kind=row.kind)
            self._access_changed(s, row.agent_id)
            return True

    def revoke_all(self, agent_id: int, *, actor: Actor) -> int:
        """Revoke every live token and session of an agent (a lost laptop, a leaked token): their
        open sockets close at once."""
        now = self.clock.now()
        with self.db.transaction() as s:
            self._agent(s, agent_id)
            revoked = s.execute(update(ApiToken).where(ApiToken.agent_id == agent_id, ApiToken.revoked_at.is_(None))
                                .values(revoked_at=now)).rowcount
            audit.record(s, at=now, actor=actor, action="token.revoked_all", subject_type="agent",
                         subject_id=agent_id, revoked=revoked)
            self._access_changed(s, agent_id)
            return revoked

    def authenticate(self, token: str) -> AgentView:
        return self.authenticate_hashed(self.hasher.keyed(token or ""))

    def authenticate_hashed(self, token_hash: str) -> AgentView:
        """The agent of a live token, found by its keyed hash (a WebSocket ticket keeps only that)."""
        now = self.clock.now()
        with self.db.read() as s:
            row = s.execute(
                select(Agent, ApiToken.expires_at).join(ApiToken, ApiToken.agent_id == Agent.id)
                .where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None), Agent.active.is_(True))
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

    def roster(self, *, limit: int = 500) -> list[tuple[AgentView, bool]]:
        """Every agent (the admin page's list), with whether the account is active."""
        with self.db.read() as s:
            agents = list(s.scalars(select(Agent).order_by(Agent.id).limit(limit)))
            return [(self._view(s, a), bool(a.active)) for a in agents]

    def teams(self) -> list[dict[str, object]]:
        """Every team with its areas, languages and members' ids (the admin page's list)."""
        with self.db.read() as s:
            members: dict[int, list[int]] = {}
            for row in s.execute(select(TeamMember.team_id, TeamMember.agent_id).order_by(TeamMember.agent_id)):
                members.setdefault(row.team_id, []).append(row.agent_id)
            return [{"id": t.id, "name": t.name, "areas": list(t.areas or []), "languages": list(t.languages or []),
                     "members": members.get(t.id, [])} for t in s.scalars(select(Team).order_by(Team.id))]

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

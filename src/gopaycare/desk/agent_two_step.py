"""An agent's two-step login: TOTP enrolment (secret and otpauth URI), confirmation, recovery codes,
disabling it, and an admin's reset.

Enrolment keeps the new secret pending until the agent proves their authenticator has it (a code);
only then does login ask for codes, and ten recovery codes are shown once (stored as keyed hashes,
each good for one login when the phone is lost). A TOTP code is accepted once: the time step it
belongs to is remembered, so a code read over a shoulder cannot be replayed within its window.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from ..identity.hashing import SecretHasher
from ..platform import audit
from ..platform.audit import Actor
from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import Conflict, NotFound, ValidationFailed
from .models import Agent, AgentRecoveryCode

ISSUER = "GoPay Care"
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read from paper


@dataclass(frozen=True)
class Enrolment:
    secret: str
    otpauth_uri: str


@dataclass(frozen=True)
class TwoStepStatus:
    enabled: bool
    pending: bool
    recovery_codes_left: int


def _normal(code: str | None) -> str:
    return "".join(ch for ch in (code or "") if ch.isalnum()).lower()[:64]


class AgentTwoStep:
    def __init__(self, db: Database, clock: Clock, hasher: SecretHasher) -> None:
        self.db = db
        self.clock = clock
        self.hasher = hasher

    def _agent(self, s: Session, agent_id: int) -> Agent:
        agent = s.get(Agent, agent_id, with_for_update=True)
        if agent is None:
            raise NotFound("agent not found", agent_id=agent_id)
        return agent

    def status(self, agent_id: int) -> TwoStepStatus:
        with self.db.read() as s:
            agent = s.get(Agent, agent_id)
            if agent is None:
                raise NotFound("agent not found", agent_id=agent_id)
            left = s.scalar(select(func.count()).select_from(AgentRecoveryCode).where(
                AgentRecoveryCode.agent_id == agent_id, AgentRecoveryCode.used_at.is_(None)))
            return TwoStepStatus(agent.totp_secret is not None, agent.totp_pending_secret is not None, left or 0)

    def enroll(self, agent_id: int) -> Enrolment:
        """A new secret, pending until confirmed (a second call replaces a pending one)."""
        secret = pyotp.random_base32()
        with self.db.transaction() as s:
            agent = self._agent(s, agent_id)
            if agent.totp_secret is not None:
                raise Conflict("two-step login is already on; disable it first", code="two_step_enabled")
            agent.totp_pending_secret = secret
            audit.record(s, at=self.clock.now(), actor=Actor.agent(agent_id), action="agent.totp_enrolment_started",
                         subject_type="agent", subject_id=agent_id)
            return Enrolment(secret, pyotp.TOTP(secret).provisioning_uri(name=agent.email, issuer_name=ISSUER))

    def confirm(self, agent_id: int, code: str) -> list[str]:
        """Turn the pending secret on with a code from it; answers the new recovery codes (shown once)."""
        now = self.clock.now()
        with self.db.transaction() as s:
            agent = self._agent(s, agent_id)
            if agent.totp_pending_secret is None:
                raise Conflict("no two-step enrolment is waiting for a code", code="two_step_not_pending")
            step = self._matching_step(agent.totp_pending_secret, code, now, after=None)
            if step is None:
                raise ValidationFailed("the code is not correct", field="code", code="code_invalid")
            agent.totp_secret, agent.totp_pending_secret, agent.totp_last_step = agent.totp_pending_secret, None, step
            codes = self._new_recovery_codes(s, agent_id, now)
            audit.record(s, at=now, actor=Actor.agent(agent_id), action="agent.totp_enrolled", subject_type="agent",
                         subject_id=agent_id)
            return codes

    def check(self, s: Session, agent: Agent, totp_code: str | None, recovery_code: str | None,
              now: datetime) -> bool:
        """Whether the code proves the second step (inside the caller's unit of work): a TOTP code
        not used before, or an unused recovery code, which this spends."""
        if agent.totp_secret is None:
            return True
        if recovery_code:
            code_hash = self._recovery_hash(agent.id, recovery_code)
            spent = s.execute(update(AgentRecoveryCode).where(
                AgentRecoveryCode.agent_id == agent.id, AgentRecoveryCode.used_at.is_(None),
                AgentRecoveryCode.code_hash == code_hash).values(used_at=now)).rowcount
            if spent:
                audit.record(s, at=now, actor=Actor.agent(agent.id), action="agent.recovery_code_used",
                             subject_type="agent", subject_id=agent.id)
            return bool(spent)
        step = self._matching_step(agent.totp_secret, totp_code, now, after=agent.totp_last_step)
        if step is None:
            return False
        agent.totp_last_step = step
        return True

    def disable(self, s: Session, agent: Agent, now: datetime) -> None:
        """Two-step off (the caller checked a code, or an admin resets it)."""
        agent.totp_secret = agent.totp_pending_secret = agent.totp_last_step = None
        s.execute(delete(AgentRecoveryCode).where(AgentRecoveryCode.agent_id == agent.id))

    def reset(self, agent_id: int, *, actor: Actor) -> None:
        """An admin turns an agent's two-step off (a lost phone and no recovery code left); audited."""
        now = self.clock.now()
        with self.db.transaction() as s:
            agent = self._agent(s, agent_id)
            self.disable(s, agent, now)
            audit.record(s, at=now, actor=actor, action="agent.totp_reset", subject_type="agent", subject_id=agent_id)

    def _new_recovery_codes(self, s: Session, agent_id: int, now: datetime) -> list[str]:
        s.execute(delete(AgentRecoveryCode).where(AgentRecoveryCode.agent_id == agent_id))
        codes = []
        for _ in range(RECOVERY_CODES):
            raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
            codes.append(f"{raw[:5]}-{raw[5:]}")
            s.add(AgentRecoveryCode(agent_id=agent_id, code_hash=self._recovery_hash(agent_id, raw), created_at=now))
        return codes

    def _recovery_hash(self, agent_id: int, code: str) -> str:
        # The agent's id is part of the hashed text: two agents' equal codes never share a hash.
        return self.hasher.keyed(f"agent-recovery:{agent_id}:{_normal(code)}")

    @staticmethod
    def _matching_step(secret: str, code: str | None, now: datetime, *, after: int | None) -> int | None:
        """The time step (the current one or a neighbour, for clock drift) whose code this is, if it
        is later than `after` (the last one accepted)."""
        code = (code or "").strip()
        if not (code.isascii() and code.isdigit() and len(code) == 6):
            return None
        totp = pyotp.TOTP(secret)
        current = totp.timecode(now)
        for step in (current - 1, current, current + 1):
            if (after is None or step > after) and hmac.compare_digest(totp.generate_otp(step), code):
                return step
        return None

"""Getting back into an account: reset with a code, unlock after identity verification, lift a
freeze, change a phone or email.

Identity verification is either knowledge (name + last 4 of the ID number + the amount of a
recent transaction) or a document that an agent reviews. Knowledge checks are limited to
3 wrong answers a day; after that only a document works.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..platform import audit
from ..platform.audit import Actor, AuditEntry
from ..platform.errors import Conflict, NotFound, PermissionDenied, RateLimited, ValidationFailed
from .codes import CodeSent
from .contacts import normalize_email, normalize_phone
from .models import ContactChange, Customer, VerificationRequest
from .service import IdentityService, committing_failures, view_of

KNOWLEDGE_TRIES_PER_DAY = 3
RECENT_TRANSACTION_DAYS = 30


@dataclass(frozen=True)
class KnowledgeAnswers:
    name: str
    id_last4: str
    recent_amount: int


@dataclass(frozen=True)
class ContactChangeStarted:
    change_id: int
    old: CodeSent | None
    new: CodeSent


def _same_name(a: str, b: str) -> bool:
    return " ".join(a.lower().split()) == " ".join(b.lower().split())


class Recovery:
    def __init__(self, identity: IdentityService) -> None:
        self.identity = identity
        self.db = identity.db
        self.clock = identity.clock
        # Set by the application (tasks.py): queue a stranger's reset-code request as a job.
        self.send_later: Callable[[str, str, str], None] | None = None

    # ---------------------------------------------------------------- reset with a code

    def start_reset(self, login: str, what: str, channel: str = "sms") -> CodeSent | None:
        """Send a reset code to the registered phone or email of a customer already known to be
        talking to us (the assistant): its rate limits are told. An unknown login gets None."""
        purpose = self._reset_purpose(what)
        with self.db.read() as s:
            customer = self.identity._find_by_login(s, login)
        if customer is None:
            return None
        return self.identity.send_code(customer.id, purpose, channel)

    def request_reset(self, login: str, what: str, channel: str = "sms") -> None:
        """A stranger's request for a reset code (`POST /auth/reset-codes`): the code goes to the
        registered phone or email if there is an account, and nothing about the account comes back,
        neither in the answer nor in its time. The answer waits for nothing but the request's own
        checks: the lookup and the send are a job (`send_later`, set by tasks.py), queued alike for
        every login; without a queue they run here. The uniform limits per login typed are the
        route's (web/ratelimits.py), so they answer alike for every login."""
        self._reset_purpose(what)
        if self.send_later is not None:
            self.send_later(login, what, channel)
        else:
            self.send_reset(login, what, channel)

    def send_reset(self, login: str, what: str, channel: str = "sms") -> str:
        """The code of a stranger's request, if the login is an account's: what refuses the send (the
        account's own resend limits, no email on it) is only audited, never told."""
        purpose = self._reset_purpose(what)
        now = self.clock.now()
        with self.db.read() as s:
            customer = self.identity._find_by_login(s, login)
        if customer is not None:
            try:
                self.identity.send_code(customer.id, purpose, channel)
                return "sent"
            except (RateLimited, ValidationFailed) as exc:
                refused = exc.code
        else:
            refused = "no_account"
        with self.db.transaction() as s:
            audit.record(s, at=now, actor=Actor.system(), action="code.not_sent", subject_type="customer",
                         subject_id=customer.id if customer else 0, purpose=purpose, channel=channel, why=refused)
        return refused

    def reset(self, login: str, what: str, code: str, new_secret: str) -> None:
        """Set a new password or PIN with a code. The failure counter resets and a login pause ends (the
        code proves the phone or email); a lock stays (unlocking needs identity verification).

        Every failure answers alike, whether the login exists or not, the code was wrong, spent or
        expired: a stranger learns nothing about the account (the code's guesses are still counted)."""
        purpose = self._reset_purpose(what)
        hasher = self.identity.hasher
        new_hash = hasher.hash_password(new_secret) if what == "password" else hasher.hash_pin(new_secret)
        now = self.clock.now()
        failed = ValidationFailed("the code is not correct or has expired; ask for a new one", code="code_invalid",
                                  field="code")
        with committing_failures(self.db) as s:
            customer = self.identity._find_by_login(s, login, for_update=True)
            if customer is None:
                raise failed
            try:
                self.identity.codes.consume(s, customer.id, purpose, code, now)
            except ValidationFailed:
                raise failed from None
            if what == "password":
                customer.password_hash = new_hash
            else:
                customer.pin_hash = new_hash
            customer.failed_logins, customer.updated_at = 0, now
            customer.login_failures, customer.login_paused_until = 0, None
            # A new secret ends every session opened with the old one.
            revoked = self.identity.revoke_sessions(s, customer.id, now)
            audit.record(s, at=now, actor=Actor.customer(customer.id), action=f"{what}.reset",
                         subject_type="customer", subject_id=customer.id, via="code", sessions_revoked=revoked)

    @staticmethod
    def _reset_purpose(what: str) -> str:
        if what not in ("password", "pin"):
            raise ValidationFailed("what must be password or pin", field="what")
        return f"{what}_reset"

    # ---------------------------------------------------------------- knowledge checks

    def _recent_amounts(self, customer_id: int) -> set[int]:
        # Read before the unit of work that locks the customer: no second session inside it.
        since = self.clock.now() - timedelta(days=RECENT_TRANSACTION_DAYS)
        return {t.amount for t in self.identity.wallet.list_transactions(customer_id, limit=50, status="succeeded")
                if t.created_at > since}

    def _check_knowledge(self, s: Session, customer: Customer, answers: KnowledgeAnswers, purpose: str,
                         amounts: set[int]) -> None:
        now = self.clock.now()
        tries = s.execute(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.subject_type == "customer", AuditEntry.subject_id == str(customer.id),
            AuditEntry.action == "identity.check_failed", AuditEntry.at > now - timedelta(days=1))).scalar_one()
        if tries >= KNOWLEDGE_TRIES_PER_DAY:
            raise RateLimited("too many wrong answers today; send an ID document for an agent to review",
                              code="verification_attempts_exhausted")
        checks = {
            "name": _same_name(answers.name, customer.name),
            "id_last4": customer.id_last4 is not None and answers.id_last4.strip() == customer.id_last4,
            "recent_amount": answers.recent_amount in amounts,
        }
        if not all(checks.values()):
            # Which answer was wrong is audited for the agent, never told to the caller.
            audit.record(s, at=now, actor=Actor.customer(customer.id), action="identity.check_failed",
                         subject_type="customer", subject_id=customer.id, purpose=purpose,
                         failed=[k for k, ok in checks.items() if not ok])
            raise PermissionDenied("the answers do not match our records", code="verification_failed",
                                   attempts_left=KNOWLEDGE_TRIES_PER_DAY - tries - 1)
        audit.record(s, at=now, actor=Actor.customer(customer.id), action="identity.check_passed",
                     subject_type="customer", subject_id=customer.id, purpose=purpose)

    def unlock_with_knowledge(self, customer_id: int, answers: KnowledgeAnswers, *,
                              checked_by: Actor | None = None) -> None:
        """Unlock when the answers match. `checked_by` is an agent who asked the customer the questions
        (on a call or in a chat) and typed the answers: the same check and the same daily limit, and
        the unlock is audited as theirs."""
        amounts = self._recent_amounts(customer_id)
        with committing_failures(self.db) as s:
            customer = self.identity._customer(s, customer_id, for_update=True)
            if customer.locked_at is None:
                raise Conflict("the account is not locked", code="not_locked")
            self._check_knowledge(s, customer, answers, "unlock", amounts)
            self.identity.unlock_in(s, customer, actor=checked_by or Actor.customer(customer_id),
                                    via="knowledge" if checked_by is None else "knowledge_checked_by_agent",
                                    now=self.clock.now())

    def unfreeze_with_knowledge(self, customer_id: int, answers: KnowledgeAnswers, code: str) -> None:
        """Lifting a freeze needs the full check: the knowledge answers and a code to the phone."""
        amounts = self._recent_amounts(customer_id)
        with committing_failures(self.db) as s:
            customer = self.identity._customer(s, customer_id, for_update=True)
            if customer.frozen_at is None:
                raise Conflict("the account is not frozen", code="not_frozen")
            self._check_knowledge(s, customer, answers, "unfreeze", amounts)
            self.identity.codes.consume(s, customer_id, "step_up", code, self.clock.now())
            self.identity.unfreeze_in(s, customer, actor=Actor.customer(customer_id), via="knowledge+code",
                                      now=self.clock.now())

    # ---------------------------------------------------------------- documents reviewed by an agent

    def submit_document(self, customer_id: int, purpose: str, document_ref: str,
                        new_value: str | None = None) -> int:
        if purpose not in ("unlock", "unfreeze", "change_phone", "change_email"):
            raise ValidationFailed("unknown verification purpose", field="purpose")
        if not document_ref or len(document_ref) > 200:
            raise ValidationFailed("a document reference is required", field="document_ref")
        if purpose == "change_phone":
            new_value = normalize_phone(new_value or "")
        elif purpose == "change_email":
            new_value = normalize_email(new_value or "")
        now = self.clock.now()
        with self.db.transaction() as s:
            self.identity._customer(s, customer_id)
            request = VerificationRequest(customer_id=customer_id, purpose=purpose, document_ref=document_ref,
                                          new_value=new_value, status="pending", submitted_at=now)
            s.add(request)
            s.flush()
            audit.record(s, at=now, actor=Actor.customer(customer_id), action="identity.document_submitted",
                         subject_type="customer", subject_id=customer_id, purpose=purpose, request_id=request.id)
            return request.id

    def review_document(self, request_id: int, *, agent_id: int, approve: bool, note: str) -> str:
        """An agent's decision on a document. Approval carries out what was asked."""
        if not (note or "").strip():
            raise ValidationFailed("a note is required for the review", field="note")
        now = self.clock.now()
        actor = Actor.agent(agent_id)
        with self.db.transaction() as s:
            request = s.execute(select(VerificationRequest).where(VerificationRequest.id == request_id)
                                .with_for_update()).scalar_one_or_none()
            if request is None:
                raise NotFound("verification request not found", request_id=request_id)
            if request.status != "pending":
                raise Conflict("this request was already reviewed", code="already_reviewed", status=request.status)
            request.status = "approved" if approve else "rejected"
            request.reviewed_by, request.reviewed_at, request.note = agent_id, now, note.strip()
            customer = self.identity._customer(s, request.customer_id, for_update=True)
            if approve:
                if request.purpose == "unlock" and customer.locked_at is not None:
                    self.identity.unlock_in(s, customer, actor=actor, via="document", now=now)
                elif request.purpose == "unfreeze" and customer.frozen_at is not None:
                    self.identity.unfreeze_in(s, customer, actor=actor, via="document", now=now)
                elif request.purpose in ("change_phone", "change_email"):
                    self._apply_contact(s, customer, request.purpose.split("_", 1)[1], request.new_value or "",
                                        actor=actor, via="document")
            audit.record(s, at=now, actor=actor, action="identity.document_reviewed", subject_type="customer",
                         subject_id=customer.id, reason=note.strip(), request_id=request.id,
                         decision=request.status, purpose=request.purpose)
            return request.status

    # ---------------------------------------------------------------- phone and email changes

    def start_contact_change(self, customer_id: int, field: str, new_value: str) -> ContactChangeStarted:
        """Send one code to the old address and one to the new one."""
        new_value = self._normalize_contact(field, new_value)
        now = self.clock.now()
        with self.db.transaction() as s:
            customer = self.identity._customer(s, customer_id, for_update=True)
            self._check_contact_free(s, field, new_value)
            channel = "sms" if field == "phone" else "email"
            old_channel = channel if getattr(customer, field) else "sms"
            old = self.identity.codes.issue(s, customer, "change_old", old_channel, now)
            new = self.identity.codes.issue(s, customer, "change_new", channel, now, destination=new_value)
            change = ContactChange(customer_id=customer_id, field=field, new_value=new_value,
                                   old_code_id=old.code_id, new_code_id=new.code_id, status="pending",
                                   created_at=now)
            s.add(change)
            s.flush()
            return ContactChangeStarted(change_id=change.id, old=old, new=new)

    def confirm_contact_change(self, customer_id: int, change_id: int, old_code: str, new_code: str) -> None:
        now = self.clock.now()
        with committing_failures(self.db) as s:
            change = s.execute(select(ContactChange).where(ContactChange.id == change_id,
                                                           ContactChange.customer_id == customer_id)
                               .with_for_update()).scalar_one_or_none()
            if change is None or change.status != "pending":
                raise NotFound("no pending change with this id", change_id=change_id)
            # committing_failures commits what happened before an error, so nothing is spent or
            # marked done until every check has passed: a number taken since the start, or a wrong
            # new code, leaves the change pending and both codes usable (only a wrong guess counts).
            self._check_contact_free(s, change.field, change.new_value, exclude=customer_id)
            codes = self.identity.codes
            old = codes.consume(s, customer_id, "change_old", old_code, now, code_id=change.old_code_id)
            try:
                codes.consume(s, customer_id, "change_new", new_code, now, code_id=change.new_code_id)
            except ValidationFailed:
                old.used_at = None
                raise
            customer = self.identity._customer(s, customer_id, for_update=True)
            self._apply_contact(s, customer, change.field, change.new_value, actor=Actor.customer(customer_id),
                                via="codes")
            change.status, change.completed_at = "done", now

    def _apply_contact(self, s: Session, customer: Customer, field: str, new_value: str, *, actor: Actor,
                       via: str) -> None:
        self._check_contact_free(s, field, new_value, exclude=customer.id)
        view = view_of(customer).masked()
        old_masked = view[field]
        setattr(customer, field, new_value)
        customer.updated_at = self.clock.now()
        s.flush()
        audit.record(s, at=self.clock.now(), actor=actor, action=f"contact.{field}_changed",
                     subject_type="customer", subject_id=customer.id, via=via, old=old_masked,
                     new=view_of(customer).masked()[field])

    def _check_contact_free(self, s: Session, field: str, value: str, exclude: int | None = None) -> None:
        column = Customer.phone if field == "phone" else Customer.email
        owner = s.execute(select(Customer.id).where(column == value)).scalar_one_or_none()
        if owner is not None and owner != exclude:
            raise Conflict(f"this {field} belongs to another account", code="contact_taken", field=field)

    @staticmethod
    def _normalize_contact(field: str, value: str) -> str:
        if field == "phone":
            return normalize_phone(value)
        if field == "email":
            return normalize_email(value)
        raise ValidationFailed("field must be phone or email", field="field")

"""Identity use cases: registration, login, lock and freeze, codes, sessions.

Recovery (password/PIN reset, unlock, lifting a freeze, contact changes) is in `recovery.py`.
Every security event is written to the audit log in the same transaction as the change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..platform import audit
from ..platform.audit import Actor
from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import Conflict, DomainError, NotFound, PermissionDenied, Unauthenticated, ValidationFailed
from ..platform.i18n import LANGUAGES
from ..platform.outbox import Outbox
from ..platform.pii import mask_email, mask_phone
from ..platform.settings import Settings
from ..wallet.port import WalletBackend
from ..wallet.rules import TIERS
from .codes import CodeIssuer, CodeSent
from .contacts import looks_like_email, normalize_email, normalize_phone
from .hashing import SecretHasher
from .models import Customer, Device
from .sessions import LoginResult, Sessions
from .wallet_link import WalletLink

# The one answer to a failed login, whatever failed: an unknown or malformed phone/email, a wrong
# password or a wrong PIN. Anything that differs (message, code, attempts left) tells a caller
# which phone numbers and emails have an account.
LOGIN_FAILED = "phone/email or password is not correct (passwords are case-sensitive)"


@dataclass(frozen=True)
class CustomerView:
    id: int
    name: str
    phone: str
    email: str | None
    language: str
    id_last4: str | None
    locked: bool
    lock_reason: str | None
    frozen: bool
    freeze_reason: str | None
    failed_logins: int
    created_at: datetime

    def masked(self) -> dict[str, object]:
        """What an agent without `pii.reveal` sees."""
        return {
            "id": self.id, "name": self.name, "phone": mask_phone(self.phone), "email": mask_email(self.email),
            "id_number": f"****{self.id_last4}" if self.id_last4 else None, "language": self.language,
            "locked": self.locked, "frozen": self.frozen, "failed_logins": self.failed_logins,
        }


@dataclass(frozen=True)
class DeviceInfo:
    """What the app says of the phone, fitted to its columns: details longer than their column are
    clipped, and a key longer than its column is kept as its SHA-256 (64 hex digits), so it stays one
    device, distinct from others. A long build string must never stop a customer from logging in."""

    key: str
    platform: str | None = None
    os_version: str | None = None
    app_version: str | None = None

    def __post_init__(self) -> None:
        columns = Device.__table__.c
        if len(self.key) > columns.device_key.type.length:
            object.__setattr__(self, "key", hashlib.sha256(self.key.encode()).hexdigest())
        for name in ("platform", "os_version", "app_version"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, value[: columns[name].type.length])


def view_of(c: Customer) -> CustomerView:
    return CustomerView(
        id=c.id, name=c.name, phone=c.phone, email=c.email, language=c.language, id_last4=c.id_last4,
        locked=c.locked_at is not None, lock_reason=c.lock_reason, frozen=c.frozen_at is not None,
        freeze_reason=c.freeze_reason, failed_logins=c.failed_logins, created_at=c.created_at,
    )


@contextmanager
def committing_failures(db: Database) -> Iterator[Session]:
    """A unit of work whose DomainError still commits what was counted before it (a wrong
    password, a wrong code guess), then re-raises. Only for use cases whose failure path
    changes nothing but counters and audit rows."""
    error: DomainError | None = None
    with db.transaction() as s:
        try:
            yield s
        except DomainError as exc:
            error = exc
    if error is not None:
        raise error


class IdentityService:
    def __init__(self, db: Database, clock: Clock, settings: Settings, wallet: WalletBackend,
                 outbox: Outbox) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.wallet = wallet
        self.wallet_link = WalletLink(db, wallet)
        self.hasher = SecretHasher(settings.secret_key, settings.password_hash_profile)
        self._dummy_hash = self.hasher.hash_password("no-such-account")
        self.codes = CodeIssuer(settings, self.hasher, outbox)
        self.sessions = Sessions(db, clock, settings, self.hasher)

    # ---------------------------------------------------------------- registration and reads

    def register(
        self, *, phone: str, name: str, email: str | None = None, id_number: str | None = None,
        password: str | None = None, pin: str | None = None, language: str = "zh-CN", tier: str = "basic",
    ) -> CustomerView:
        phone = normalize_phone(phone)
        email = normalize_email(email) if email else None
        name = " ".join((name or "").split())
        if not 1 <= len(name) <= 120:
            raise ValidationFailed("name is required", field="name")
        if language not in LANGUAGES:
            raise ValidationFailed(f"language must be one of {', '.join(LANGUAGES)}", field="language")
        if tier not in TIERS:
            raise ValidationFailed(f"tier must be one of {', '.join(TIERS)}", field="tier")
        id_digits = None
        if id_number is not None:
            id_digits = "".join(ch for ch in id_number if ch.isdigit())
            if len(id_digits) != 16:
                raise ValidationFailed("ID number (NIK) must have 16 digits", field="id_number")
        now = self.clock.now()
        customer = Customer(
            phone=phone, email=email, name=name, language=language, failed_logins=0,
            id_number_hash=self.hasher.keyed(id_digits) if id_digits else None,
            id_last4=id_digits[-4:] if id_digits else None,
            password_hash=self.hasher.hash_password(password) if password else None,
            pin_hash=self.hasher.hash_pin(pin) if pin else None,
            created_at=now, updated_at=now,
        )
        try:
            with self.db.transaction() as s:
                s.add(customer)
                s.flush()
                audit.record(s, at=now, actor=Actor.customer(customer.id), action="customer.registered",
                             subject_type="customer", subject_id=customer.id, tier=tier)
        except IntegrityError:
            raise Conflict("an account with this phone or email already exists", code="customer_exists") from None
        # The wallet is another system: opened once the customer exists; a failure is retried by
        # a job (opening is idempotent), and the customer is registered either way.
        self.wallet_link.open_or_queue(customer.id, tier)
        return view_of(customer)

    def get(self, customer_id: int) -> CustomerView:
        with self.db.read() as s:
            return view_of(self._customer(s, customer_id))

    def reveal(self, customer_id: int, *, agent_id: int, reason: str) -> CustomerView:
        """Unmasked personal data for an agent with `pii.reveal`; the reason is audited."""
        reason = (reason or "").strip()
        if len(reason) < 5:
            raise ValidationFailed("say why you need to see this customer's details", field="reason")
        with self.db.transaction() as s:
            customer = self._customer(s, customer_id)
            audit.record(s, at=self.clock.now(), actor=Actor.agent(agent_id), action="pii.revealed",
                         subject_type="customer", subject_id=customer_id, reason=reason[:200])
            return view_of(customer)

    def find_by_login(self, login: str) -> CustomerView:
        with self.db.read() as s:
            return view_of(self._by_login(s, login))

    def find_by_address(self, kind: str, value: str) -> CustomerView | None:
        """The customer whose registered phone (kind "phone") or email (kind "email") this is; None
        when nobody's, or when the value is no valid phone or email (it is then nobody's)."""
        try:
            address = normalize_phone(value) if kind == "phone" else normalize_email(value) if kind == "email" \
                else None
        except ValidationFailed:
            return None
        if address is None:
            return None
        column = Customer.phone if kind == "phone" else Customer.email
        with self.db.read() as s:
            customer = s.execute(select(Customer).where(column == address)).scalar_one_or_none()
            return view_of(customer) if customer is not None else None

    def _customer(self, s: Session, customer_id: int, *, for_update: bool = False) -> Customer:
        stmt = select(Customer).where(Customer.id == customer_id)
        if for_update:
            stmt = stmt.with_for_update()
        customer = s.execute(stmt).scalar_one_or_none()
        if customer is None:
            raise NotFound("customer not found", customer_id=customer_id)
        return customer

    def _by_login(self, s: Session, login: str, *, for_update: bool = False) -> Customer:
        try:
            stmt = select(Customer).where(
                Customer.email == normalize_email(login) if looks_like_email(login)
                else Customer.phone == normalize_phone(login)
            )
        except ValidationFailed:
            raise Unauthenticated(LOGIN_FAILED, code="login_failed") from None
        if for_update:
            stmt = stmt.with_for_update()
        customer = s.execute(stmt).scalar_one_or_none()
        if customer is None:
            # Same answer, and the same argon2 work, as a wrong password: reveal no account.
            self.hasher.verify(self._dummy_hash, "")
            raise Unauthenticated(LOGIN_FAILED, code="login_failed")
        return customer

    # ---------------------------------------------------------------- login

    def login_with_password(self, login: str, password: str, device: DeviceInfo | None = None) -> LoginResult:
        return self._login(login, password, "password", device)

    def login_with_pin(self, login: str, pin: str, device: DeviceInfo | None = None) -> LoginResult:
        return self._login(login, pin, "pin", device)

    def _login(self, login: str, secret: str, kind: str, device: DeviceInfo | None) -> LoginResult:
        now = self.clock.now()
        with committing_failures(self.db) as s:
            customer = self._by_login(s, login, for_update=True)
            self._check_secret(s, customer, secret, kind, now, login=True)
            return self._open_session(s, customer, device, now)

    def verify_pin(self, customer_id: int, pin: str) -> None:
        """Check a PIN before a payment; wrong PINs count toward the lock like wrong passwords."""
        now = self.clock.now()
        with committing_failures(self.db) as s:
            self._check_secret(s, self._customer(s, customer_id, for_update=True), pin, "pin", now, login=False)

    def _check_secret(self, s: Session, customer: Customer, secret: str, kind: str, now: datetime, *,
                      login: bool) -> None:
        if customer.locked_at is not None:
            raise PermissionDenied("the account is locked; verify your identity to unlock it",
                                   code="account_locked", locked_at=customer.locked_at.isoformat())
        stored = customer.password_hash if kind == "password" else customer.pin_hash
        if self.hasher.verify(stored, secret):
            customer.failed_logins = 0
            return
        customer.failed_logins += 1
        customer.updated_at = now
        limit = self.settings.max_failed_logins
        if customer.failed_logins >= limit:
            self.lock(s, customer, reason="too_many_failed_logins", actor=Actor.system(), now=now)
            raise PermissionDenied(f"{limit} wrong attempts in a row: the account is now locked",
                                   code="account_locked", failed_logins=customer.failed_logins,
                                   locked_by_this_attempt=True)
        audit.record(s, at=now, actor=Actor.system(), action=f"login.{kind}_failed",
                     subject_type="customer", subject_id=customer.id, failed_logins=customer.failed_logins)
        if login:
            # Before login the caller is not known to own the account: answer exactly as for an
            # unknown login (no attempts left either). The counter still works; the lock says so.
            raise Unauthenticated(LOGIN_FAILED, code="login_failed")
        raise Unauthenticated("PIN is not correct", code="pin_invalid", attempts_left=limit - customer.failed_logins)

    def _open_session(self, s: Session, customer: Customer, device: DeviceInfo | None, now: datetime) -> LoginResult:
        device_id = self._touch_device(s, customer.id, device, now) if device else None
        result = self.sessions.open(s, customer.id, device_id, now)
        audit.record(s, at=now, actor=Actor.customer(customer.id), action="login.succeeded",
                     subject_type="customer", subject_id=customer.id, device=device.key if device else None)
        return result

    def _touch_device(self, s: Session, customer_id: int, device: DeviceInfo, now: datetime) -> int:
        row = s.execute(select(Device).where(Device.customer_id == customer_id,
                                             Device.device_key == device.key)).scalar_one_or_none()
        if row is None:
            row = Device(customer_id=customer_id, device_key=device.key, first_seen=now, last_seen=now)
            s.add(row)
        row.platform, row.os_version, row.app_version = device.platform, device.os_version, device.app_version
        row.last_seen = now
        s.flush()
        return row.id

    def authenticate(self, token: str) -> int:
        """The customer id of a live session token."""
        return self.sessions.authenticate_hashed(self.hasher.keyed(token or ""))

    def authenticate_hashed(self, token_hash: str) -> int:
        return self.sessions.authenticate_hashed(token_hash)

    def refresh(self, refresh_token: str) -> LoginResult:
        return self.sessions.refresh(refresh_token)

    def logout(self, token: str) -> bool:
        return self.sessions.logout(token)

    def devices(self, customer_id: int) -> list[Device]:
        with self.db.read() as s:
            return list(s.scalars(select(Device).where(Device.customer_id == customer_id).order_by(Device.id)))

    # ---------------------------------------------------------------- lock and freeze

    def lock(self, s: Session, customer: Customer, *, reason: str, actor: Actor, now: datetime) -> None:
        customer.locked_at, customer.lock_reason, customer.updated_at = now, reason, now
        # Decided inside identity's unit of work (the failure counter must commit with it). Until
        # the wallet has the flag, identity's lock already refuses logins and PINs.
        self.wallet_link.sync_on_commit(s, customer.id)
        # Someone may be guessing: sessions already open must not outlive the lock.
        self.revoke_sessions(s, customer.id, now)
        audit.record(s, at=now, actor=actor, action="account.locked", subject_type="customer",
                     subject_id=customer.id, reason=reason, failed_logins=customer.failed_logins)

    def revoke_sessions(self, s: Session, customer_id: int, now: datetime) -> int:
        return self.sessions.revoke_all(s, customer_id, now)

    def unlock_in(self, s: Session, customer: Customer, *, actor: Actor, via: str, now: datetime) -> None:
        customer.locked_at, customer.lock_reason, customer.failed_logins, customer.updated_at = None, None, 0, now
        # Lifting reaches the wallet only after identity commits: never less strict than identity.
        self.wallet_link.sync_on_commit(s, customer.id)
        audit.record(s, at=now, actor=actor, action="account.unlocked", subject_type="customer",
                     subject_id=customer.id, via=via)

    def freeze(self, customer_id: int, *, actor: Actor, reason: str) -> CustomerView:
        """Block all outgoing money at once. Protective, so it needs little proof (ADR 0003)."""
        reason = (reason or "").strip()
        if not reason:
            raise ValidationFailed("a reason is required to freeze an account", field="reason")
        self.get(customer_id)  # an unknown customer touches no wallet
        # Protective, so the wallet first: whatever fails after this leaves the wallet frozen and
        # identity not yet, and the freeze's retry completes it. A wallet not open yet (its opening
        # is being retried) has nothing to move; opening copies identity's freeze.
        try:
            self.wallet.set_restrictions(customer_id, frozen=True)
        except NotFound:
            pass
        now = self.clock.now()
        with self.db.transaction() as s:
            customer = self._customer(s, customer_id, for_update=True)
            # Once more from identity's state after commit: a wallet that opened (or an unfreeze
            # that wrote) since the call above gets the freeze too.
            self.wallet_link.sync_on_commit(s, customer.id)
            if customer.frozen_at is None:
                customer.frozen_at, customer.freeze_reason, customer.updated_at = now, reason[:200], now
                audit.record(s, at=now, actor=actor, action="account.frozen", subject_type="customer",
                             subject_id=customer.id, reason=reason[:200])
            return view_of(customer)

    def unfreeze_in(self, s: Session, customer: Customer, *, actor: Actor, via: str, now: datetime) -> None:
        customer.frozen_at, customer.freeze_reason, customer.updated_at = None, None, now
        self.wallet_link.sync_on_commit(s, customer.id)
        audit.record(s, at=now, actor=actor, action="account.unfrozen", subject_type="customer",
                     subject_id=customer.id, via=via)

    # ---------------------------------------------------------------- codes

    def send_code(self, customer_id: int, purpose: str, channel: str = "sms") -> CodeSent:
        """Send (or resend) a code, within its rate limits."""
        now = self.clock.now()
        with self.db.transaction() as s:
            customer = self._customer(s, customer_id, for_update=True)
            sent = self.codes.issue(s, customer, purpose, channel, now)
            audit.record(s, at=now, actor=Actor.customer(customer_id), action="code.sent",
                         subject_type="customer", subject_id=customer_id, purpose=purpose, channel=channel,
                         to=sent.destination_masked)
            return sent

    def verify_code(self, customer_id: int, purpose: str, code: str) -> None:
        """Spend a code (a step-up check before an account action)."""
        now = self.clock.now()
        with committing_failures(self.db) as s:
            self.codes.consume(s, customer_id, purpose, code, now)
            audit.record(s, at=now, actor=Actor.customer(customer_id), action="code.verified",
                         subject_type="customer", subject_id=customer_id, purpose=purpose)

    def last_code(self, customer_id: int, purpose: str | None = None) -> dict[str, object] | None:
        """When the last code was sent and whether it is still live: what support needs to know
        about "I never got the code" without seeing the code."""
        from .models import OneTimeCode

        stmt = select(OneTimeCode).where(OneTimeCode.customer_id == customer_id)
        if purpose:
            stmt = stmt.where(OneTimeCode.purpose == purpose)
        with self.db.read() as s:
            row = s.execute(stmt.order_by(OneTimeCode.id.desc()).limit(1)).scalar_one_or_none()
        if row is None:
            return None
        now = self.clock.now()
        return {"purpose": row.purpose, "channel": row.channel, "sent_at": row.created_at,
                "expires_at": row.expires_at, "used": row.used_at is not None,
                "live": row.used_at is None and row.expires_at > now,
                "to": mask_phone(row.destination) if row.channel == "sms" else mask_email(row.destination)}

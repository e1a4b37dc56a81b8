"""Channel accounts: which WhatsApp numbers, Telegram bots, WeChat official accounts and Facebook pages
(with their Instagram accounts) the desk answers on, with their secrets sealed at rest (ADR 0014).

An admin keeps them in `channel_accounts` (several WhatsApp numbers, say), each feeding an optional
team's queue. The channel settings (GOPAYCARE_WHATSAPP_*, ...) still work: they are the implicit
account, id None, named "settings". A webhook finds its account from the payload (WhatsApp's
phone_number_id, a Meta entry's page id) or from its path (Telegram, WeChat), and is verified with
that account's secret; the message carries the account's id to its conversation, whose replies go
out with the same account's credentials (`AccountSender`).

Secrets are write-only: they are sealed (platform/secrets.py, purpose "channel-accounts", the row's
provider and name as associated data), never returned nor audited; answers say which are set.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, String, Text, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from ..platform import audit
from ..platform.audit import Actor
from ..platform.clock import Clock
from ..platform.db import Base, BigId, Database, UTCDateTime
from ..platform.errors import Conflict, NotFound, ValidationFailed
from ..platform.i18n import LANGUAGES
from ..platform.outbox import DeliveryRefused, OutboxMessage, Sender
from ..platform.secrets import SecretBox, SecretUnreadable

log = logging.getLogger(__name__)

PURPOSE = "channel-accounts"
PROVIDERS = ("whatsapp", "telegram", "wechat", "messenger")
# The desk's channels each provider's account answers on (a page's token answers its Instagram too).
CHANNELS = {"whatsapp": ("whatsapp",), "telegram": ("telegram",), "wechat": ("wechat",),
            "messenger": ("messenger", "instagram")}
SECRETS = {"whatsapp": ("access_token", "app_secret", "verify_token"),
           "telegram": ("bot_token", "secret_token"),
           "wechat": ("token", "app_secret", "aes_key"),
           "messenger": ("page_token", "app_secret", "verify_token")}
# What an account cannot work without: its webhook's secret and its sender's credential.
REQUIRED = {"whatsapp": ("access_token", "app_secret"), "telegram": ("bot_token", "secret_token"),
            "wechat": ("token", "app_secret"), "messenger": ("page_token", "app_secret")}
OPTIONS = {"whatsapp": ("template_name", "template_languages"), "messenger": ("instagram_account_id",),
           "telegram": (), "wechat": ()}
# The provider's own id of the account: WhatsApp's phone_number_id, a Facebook page id, the bot's id
# (the digits before ":" in its token), a WeChat app id.
EXTERNAL_ID = {"whatsapp": re.compile(r"\d{1,40}"), "messenger": re.compile(r"\d{1,40}"),
               "telegram": re.compile(r"\d{1,20}"), "wechat": re.compile(r"[A-Za-z0-9_-]{1,64}")}
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
SECRET = re.compile(r"[\x21-\x7e]{1,512}")  # printable ASCII, no spaces: what providers issue
AES_KEY = re.compile(r"[A-Za-z0-9+/]{43}")  # WeChat's EncodingAESKey
TEMPLATE_NAME = re.compile(r"[a-z0-9_]{1,512}")
TEMPLATE_LANGUAGE = re.compile(r"[a-z]{2,3}(?:_[A-Z]{2})?")
SETTINGS_NAME = "settings"


class ChannelAccount(Base):
    __tablename__ = "channel_accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider: Mapped[str] = mapped_column(String(12), nullable=False)
    name: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    external_id: Mapped[str] = mapped_column(String(64), nullable=False)
    # The team whose queue new tickets from this account wait in (None: routed like any ticket).
    team_id: Mapped[int | None] = mapped_column(BigInteger)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    secrets_key_id: Mapped[str] = mapped_column(String(16), nullable=False)
    secrets_sealed: Mapped[str] = mapped_column(Text, nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (
        UniqueConstraint("provider", "external_id"),
        CheckConstraint(f"provider IN ({', '.join(repr(p) for p in PROVIDERS)})", name="provider"),
    )


@dataclass(frozen=True)
class Account:
    """An account with its secrets open: what a webhook verifies with and a sender sends with."""

    id: int | None  # None: the account the settings define
    provider: str
    name: str
    external_id: str | None
    secrets: Mapping[str, str] = field(repr=False)
    options: Mapping[str, Any] = field(default_factory=dict)
    team_id: int | None = None
    enabled: bool = True
    version: str = ""  # changes whenever the row does (a sender built on older secrets is built again)

    def secret(self, name: str) -> str | None:
        return self.secrets.get(name) or None


@dataclass(frozen=True)
class AccountInfo:
    """An account as the admin API shows it: which secrets are set, never their values."""

    id: int
    provider: str
    name: str
    external_id: str
    team_id: int | None
    options: dict[str, Any]
    secrets_set: dict[str, bool]
    enabled: bool
    key_id: str
    created_at: datetime
    updated_at: datetime


def settings_accounts(settings: Any) -> dict[str, Account]:
    """The implicit accounts of the channel settings, by provider (only those whose settings are given)."""
    found = {
        "whatsapp": Account(None, "whatsapp", SETTINGS_NAME, settings.whatsapp_phone_number_id, _given(
            access_token=settings.whatsapp_access_token, app_secret=settings.whatsapp_app_secret,
            verify_token=settings.whatsapp_verify_token),
            options=_given(template_name=settings.whatsapp_followup_template,
                           template_languages=dict(settings.whatsapp_template_languages))),
        "telegram": Account(None, "telegram", SETTINGS_NAME, None, _given(
            bot_token=settings.telegram_bot_token, secret_token=settings.telegram_secret_token)),
        "wechat": Account(None, "wechat", SETTINGS_NAME, settings.wechat_app_id, _given(
            token=settings.wechat_token, app_secret=settings.wechat_app_secret, aes_key=settings.wechat_aes_key)),
        "messenger": Account(None, "messenger", SETTINGS_NAME, None, _given(
            page_token=settings.messenger_page_token, app_secret=settings.messenger_app_secret,
            verify_token=settings.messenger_verify_token)),
    }
    return {provider: account for provider, account in found.items() if account.secrets}


def _given(**values: Any) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value}


class ChannelAccounts:
    def __init__(self, db: Database, clock: Clock, box: SecretBox, *, implicit: Mapping[str, Account] | None = None,
                 team_exists: Callable[[int], bool] = lambda team_id: True) -> None:
        self.db = db
        self.clock = clock
        self.box = box
        self.implicit = dict(implicit or {})
        self.team_exists = team_exists

    # ---------------------------------------------------------------- what webhooks and senders use

    def active(self, provider: str) -> list[Account]:
        """The enabled accounts of a provider whose secrets open, the settings' one last."""
        with self.db.read() as s:
            rows = list(s.scalars(select(ChannelAccount).where(
                ChannelAccount.provider == provider, ChannelAccount.enabled.is_(True)).order_by(ChannelAccount.id)))
        found = [account for account in (self._readable(row) for row in rows) if account is not None]
        return found + ([self.implicit[provider]] if provider in self.implicit else [])

    def named(self, provider: str, name: str) -> Account | None:
        """An enabled account by its name (the webhook path of providers whose payload does not say)."""
        with self.db.read() as s:
            row = s.execute(select(ChannelAccount).where(
                ChannelAccount.provider == provider, ChannelAccount.name == name,
                ChannelAccount.enabled.is_(True))).scalar_one_or_none()
        return self._readable(row) if row is not None else None

    def get(self, account_id: int) -> Account:
        """An account, enabled or not; SecretUnreadable when its secrets do not open."""
        with self.db.read() as s:
            row = s.get(ChannelAccount, account_id)
            if row is None:
                raise NotFound("channel account not found", account_id=account_id)
            return self._open(row)

    def team_of(self, account_id: int | None) -> int | None:
        if account_id is None:
            return None
        with self.db.read() as s:
            return s.execute(select(ChannelAccount.team_id).where(ChannelAccount.id == account_id)).scalar()

    # ---------------------------------------------------------------- the admin's side

    def list(self) -> list[AccountInfo]:
        with self.db.read() as s:
            return [self._info(row) for row in s.scalars(select(ChannelAccount).order_by(ChannelAccount.id))]

    def info(self, account_id: int) -> AccountInfo:
        with self.db.read() as s:
            return self._info(self._row(s, account_id))

    def create(self, *, actor: Actor, provider: str, name: str, external_id: str, secrets: Mapping[str, str | None],
               options: Mapping[str, Any] | None = None, team_id: int | None = None,
               enabled: bool = True) -> AccountInfo:
        if provider not in PROVIDERS:
            raise ValidationFailed(f"provider must be one of {', '.join(PROVIDERS)}", field="provider")
        if not NAME.fullmatch(name) or name == SETTINGS_NAME:
            raise ValidationFailed("a name is 1 to 40 lower-case letters, digits, '-' or '_' (not 'settings', the "
                                   "settings' own account)", field="name")
        external_id = _external_id(provider, external_id)
        opened = _secrets(provider, {}, secrets)
        missing = [n for n in REQUIRED[provider] if n not in opened]
        if missing:
            raise ValidationFailed(f"a {provider} account needs {', '.join(missing)}", field="secrets")
        _check_bot(provider, external_id, opened)
        checked = _options(provider, {}, options or {})
        self._check_team(team_id)
        now = self.clock.now()
        try:
            with self.db.transaction() as s:
                kid, sealed = self._seal(provider, name, opened)
                row = ChannelAccount(provider=provider, name=name, external_id=external_id, team_id=team_id,
                                     options=checked, secrets_key_id=kid, secrets_sealed=sealed, enabled=enabled,
                                     created_at=now, updated_at=now)
                s.add(row)
                s.flush()
                audit.record(s, at=now, actor=actor, action="channel_account.created", subject_type="channel_account",
                             subject_id=row.id, provider=provider, name=name, external_id=external_id,
                             team_id=team_id, enabled=enabled, options=checked, secrets_set=sorted(opened))
                return self._info(row)
        except IntegrityError:
            raise Conflict("an account with this name, or this provider's account id, exists already",
                           code="channel_account_exists") from None

    def update(self, account_id: int, *, actor: Actor, external_id: str | None = None,
               secrets: Mapping[str, str | None] | None = None, options: Mapping[str, Any] | None = None,
               team_id: int | None = None, clear_team: bool = False, enabled: bool | None = None) -> AccountInfo:
        """Change what is given; a secret given as None is removed (never one the account needs)."""
        now = self.clock.now()
        try:
            with self.db.transaction() as s:
                row = self._row(s, account_id, for_update=True)
                changed: dict[str, Any] = {}
                if external_id is not None and external_id != row.external_id:
                    row.external_id = changed["external_id"] = _external_id(row.provider, external_id)
                if options is not None:
                    merged = _options(row.provider, row.options or {}, options)
                    if merged != (row.options or {}):
                        row.options = changed["options"] = merged
                if clear_team or team_id is not None:
                    if team_id is not None:
                        self._check_team(team_id)
                    if row.team_id != team_id:
                        row.team_id = changed["team_id"] = team_id
                if enabled is not None and enabled != row.enabled:
                    row.enabled = changed["enabled"] = enabled
                if secrets:
                    current = self._secrets_or_none(row)  # unreadable (its key is gone): given afresh
                    opened = _secrets(row.provider, current, secrets)
                    missing = [n for n in REQUIRED[row.provider] if n not in opened]
                    if missing:
                        raise ValidationFailed(f"a {row.provider} account needs {', '.join(missing)}",
                                               field="secrets")
                    _check_bot(row.provider, row.external_id, opened)
                    row.secrets_key_id, row.secrets_sealed = self._seal(row.provider, row.name, opened)
                    changed["secrets_changed"] = sorted(n for n in set(current) | set(opened)
                                                        if current.get(n) != opened.get(n))
                elif "external_id" in changed:
                    _check_bot(row.provider, row.external_id, self._secrets_or_none(row))
                if changed:
                    row.updated_at = now
                    action = "channel_account.disabled" if changed.get("enabled") is False else \
                        "channel_account.updated"
                    audit.record(s, at=now, actor=actor, action=action, subject_type="channel_account",
                                 subject_id=row.id, **changed)
                return self._info(row)
        except IntegrityError:
            raise Conflict("another account has this provider's account id", code="channel_account_exists") from None

    def reseal(self) -> int:
        """Seal every account's secrets again under the current key (after GOPAYCARE_SECRET_KEY changed,
        with the old one in GOPAYCARE_PREVIOUS_SECRET_KEYS); how many were sealed again."""
        count = 0
        with self.db.transaction() as s:
            for row in s.scalars(select(ChannelAccount).where(ChannelAccount.secrets_key_id != self.box.key_id)
                                 .with_for_update()):
                account = self._readable(row)  # one whose key is gone stays as it is: its secrets are given again
                if account is not None:
                    row.secrets_key_id, row.secrets_sealed = self._seal(row.provider, row.name, account.secrets)
                    count += 1
        return count

    # ---------------------------------------------------------------- inside

    @staticmethod
    def _row(s: Any, account_id: int, *, for_update: bool = False) -> ChannelAccount:
        stmt = select(ChannelAccount).where(ChannelAccount.id == account_id)
        row = s.execute(stmt.with_for_update() if for_update else stmt).scalar_one_or_none()
        if row is None:
            raise NotFound("channel account not found", account_id=account_id)
        return row

    def _check_team(self, team_id: int | None) -> None:
        if team_id is not None and not self.team_exists(team_id):
            raise ValidationFailed("no such team", field="team_id")

    def _seal(self, provider: str, name: str, secrets: Mapping[str, str]) -> tuple[str, str]:
        return self.box.seal(json.dumps(dict(secrets), sort_keys=True).encode(), f"channel_account:{provider}:{name}")

    def _secrets_of(self, row: ChannelAccount) -> dict[str, str]:
        raw = self.box.open(row.secrets_key_id, row.secrets_sealed, f"channel_account:{row.provider}:{row.name}")
        return {str(k): str(v) for k, v in json.loads(raw).items()}

    def _secrets_or_none(self, row: ChannelAccount) -> dict[str, str]:
        try:
            return self._secrets_of(row)
        except SecretUnreadable:
            return {}

    def _open(self, row: ChannelAccount) -> Account:
        return Account(row.id, row.provider, row.name, row.external_id, self._secrets_of(row), dict(row.options or {}),
                       row.team_id, row.enabled, f"{row.secrets_key_id}:{row.updated_at.isoformat()}")

    def _readable(self, row: ChannelAccount) -> Account | None:
        try:
            return self._open(row)
        except SecretUnreadable as exc:
            log.error("channel account skipped: its secrets do not open (%s)", exc,
                      extra={"channel_account_id": row.id})
            return None

    def _info(self, row: ChannelAccount) -> AccountInfo:
        names = set(self._secrets_or_none(row))
        return AccountInfo(row.id, row.provider, row.name, row.external_id, row.team_id, dict(row.options or {}),
                           {n: n in names for n in SECRETS[row.provider]}, row.enabled, row.secrets_key_id,
                           row.created_at, row.updated_at)


def _external_id(provider: str, value: str) -> str:
    value = value.strip() if isinstance(value, str) else ""
    if not EXTERNAL_ID[provider].fullmatch(value):
        what = {"whatsapp": "the phone_number_id (digits)", "messenger": "the page id (digits)",
                "telegram": "the bot's id (the digits before ':' in its token)", "wechat": "the app id"}[provider]
        raise ValidationFailed(f"external_id of a {provider} account is {what}", field="external_id")
    return value


def _secrets(provider: str, current: Mapping[str, str], given: Mapping[str, str | None]) -> dict[str, str]:
    merged = dict(current)
    for name, value in given.items():
        if name not in SECRETS[provider]:
            raise ValidationFailed(f"a {provider} account's secrets are {', '.join(SECRETS[provider])}",
                                   field=f"secrets.{name}"[:80])
        if value is None:
            merged.pop(name, None)
            continue
        pattern = AES_KEY if name == "aes_key" else SECRET
        if not isinstance(value, str) or not pattern.fullmatch(value) or \
                (name == "aes_key" and len(base64.b64decode(value + "=")) != 32):
            raise ValidationFailed("an EncodingAESKey is 43 characters of base64" if name == "aes_key" else
                                   "a secret is 1 to 512 printable characters without spaces", field=f"secrets.{name}")
        merged[name] = value
    return merged


def _check_bot(provider: str, external_id: str, secrets: Mapping[str, str]) -> None:
    token = secrets.get("bot_token")
    if provider == "telegram" and token and token.split(":", 1)[0] != external_id:
        raise ValidationFailed("a Telegram account's external_id is its bot's id, the digits before ':' in its token",
                               field="external_id")


def _options(provider: str, current: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(current)
    for name, value in given.items():
        if name not in OPTIONS[provider]:
            raise ValidationFailed(f"a {provider} account takes no option {name[:40]!r}", field="options")
        if value is None:
            merged.pop(name, None)
        elif name == "template_name" and isinstance(value, str) and TEMPLATE_NAME.fullmatch(value):
            merged[name] = value
        elif name == "template_languages" and isinstance(value, dict) and set(value) <= set(LANGUAGES) and all(
                isinstance(code, str) and TEMPLATE_LANGUAGE.fullmatch(code) for code in value.values()):
            merged[name] = dict(value)
        elif name == "instagram_account_id" and isinstance(value, str) and EXTERNAL_ID["messenger"].fullmatch(value):
            merged[name] = value
        else:
            raise ValidationFailed(f"option {name} is not valid", field=f"options.{name}")
    return merged


class AccountSender:
    """The sender of one channel: a reply goes out with the credentials of the account its
    conversation came in on; one without an account through the settings' sender (held when the
    settings give none, as before accounts existed)."""

    def __init__(self, channel: str, accounts: ChannelAccounts, build: Callable[[str, Account], Sender | None],
                 default: Sender | None = None) -> None:
        self.channel = channel
        self.accounts = accounts
        self.build = build
        self.default = default
        self._built: dict[int, tuple[str, Sender]] = {}  # kept: a WeChat sender keeps its access token
        self._lock = threading.Lock()

    def can_send(self, account_id: int | None) -> bool:
        return account_id is not None or self.default is not None

    def send(self, message: OutboxMessage) -> str | None:
        if message.account_id is None:
            if self.default is None:
                raise DeliveryRefused(f"no {self.channel} account to send from")
            return self.default.send(message)
        try:
            account = self.accounts.get(message.account_id)
        except (NotFound, SecretUnreadable) as exc:
            raise DeliveryRefused(f"the {self.channel} account {message.account_id} cannot send: {exc}") from None
        if not account.enabled:
            raise DeliveryRefused(f"the {self.channel} account {account.name!r} is disabled")
        with self._lock:
            built = self._built.get(account.id or 0)
            if built is None or built[0] != account.version:
                sender = self.build(self.channel, account)
                if sender is None:
                    raise DeliveryRefused(f"the {self.channel} account {account.name!r} has no credentials to send")
                built = (account.version, sender)
                self._built[account.id or 0] = built
        return built[1].send(message)

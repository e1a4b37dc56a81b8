"""Settings from GOPAYCARE_* environment variables (and an optional .env file).

Invalid values stop the process at start with a message naming the variable, instead of
failing later in the middle of a customer conversation.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from limits import parse_many
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class TierLimits(BaseModel):
    """Limits of one KYC tier, in minor units of the ledger currency."""

    balance_cap: int = Field(gt=0)
    monthly_incoming: int = Field(gt=0)
    daily_outgoing: int = Field(gt=0)


# Defaults follow GoPay's published rules: basic cap Rp 2.000.000, GoPay Plus cap Rp 20.000.000,
# monthly incoming Rp 20.000.000 / Rp 40.000.000. The daily outgoing limit is the operator's choice.
DEFAULT_LIMITS = {
    "basic": {"balance_cap": 2_000_000, "monthly_incoming": 20_000_000, "daily_outgoing": 2_000_000},
    "plus": {"balance_cap": 20_000_000, "monthly_incoming": 40_000_000, "daily_outgoing": 20_000_000},
}


# ISO 4217 codes the ledger can keep, with the minor unit its integer amounts count in. Rupiah are kept
# whole: ISO lists two decimals, but no sen has been in use for decades and every limit, fee and text here
# counts whole rupiah. Another currency needs its row here and its formatting in platform/i18n.
LEDGER_CURRENCIES = {"IDR": 0}


# The key a checkout without configuration runs with: known to everyone, so `serve` refuses it (ID
# number hashes made with it can be reversed offline) unless GOPAYCARE_ALLOW_DEV_SECRET_KEY=true.
DEV_SECRET_KEY = "dev-only-change-me"

# An exact web origin as a browser sends it in `Origin`: scheme, host (a name, IPv4 or [IPv6]), optional port.
_ORIGIN = re.compile(r"https?://([a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])"
                     r"(:[0-9]{1,5})?", re.IGNORECASE)


class Limits(BaseModel):
    basic: TierLimits = TierLimits(**DEFAULT_LIMITS["basic"])
    plus: TierLimits = TierLimits(**DEFAULT_LIMITS["plus"])

    @model_validator(mode="before")
    @classmethod
    def _fill_from_defaults(cls, data: Any) -> Any:
        # GOPAYCARE_LIMITS__BASIC__DAILY_OUTGOING alone must not drop the tier's other limits.
        if isinstance(data, dict):
            return {tier: {**DEFAULT_LIMITS[tier], **(data.get(tier) or {})} if tier in DEFAULT_LIMITS
                    else value for tier, value in {**{t: {} for t in DEFAULT_LIMITS}, **data}.items()}
        return data


class RefundPolicy(BaseModel):
    """The refund rules (ADR 0023); each automatic decision is audited with the rule that made it.
    Amounts in whole rupiah."""

    window_days: int = Field(default=30, ge=1, le=3650)  # a payment older than this is not refundable
    refund_failed_payments: bool = True  # money taken for a failed payment goes back at once
    merchant_confirmed_approves: bool = True  # a merchant's accepted cancellation is approved at once
    auto_approve_below: int = Field(default=50_000, ge=0)  # 0: never auto-approve small amounts
    auto_approve_monthly_cap: int = Field(default=150_000, ge=0)  # per customer and calendar month
    merchant_days: int = Field(default=3, ge=1, le=60)  # the merchant's time to answer; silence escalates
    review_hours: int = Field(default=48, ge=1, le=24 * 60)  # GoPay's review SLA, shown to the customer
    review_priority: str = Field(default="high", pattern=r"^(low|normal|high|urgent)$")
    second_approval_above: int = Field(default=500_000, ge=0)  # maker-checker above this amount

class RateLimits(BaseModel):
    """Rate limits (docs/adr/0018-abuse-limits.md), each in the `limits` notation: one or more
    "N/period" joined by ";" ("10/minute;100/hour"). Code sends count in cost units: an SMS costs
    `code_cost_sms`, an email `code_cost_email`."""

    login_per_ip: str = "30/minute;300/hour"
    login_per_account: str = "10/minute;40/hour"
    agent_login_per_ip: str = "30/minute;300/hour"
    agent_login_per_account: str = "10/minute;40/hour"
    reset_per_ip: str = "30/minute;300/hour"
    reset_per_account: str = "10/minute;40/hour"
    # Code requests (answered alike whether the login exists): the same resend rule as ADR 0003, for
    # every login typed, so the answer never depends on whether an account is behind it.
    code_requests_per_destination: str = "1/minute;5/hour"
    code_requests_per_ip: str = "20/minute;100/hour"
    # What one client address may spend on codes, and everyone together (the SMS bill's ceiling).
    code_budget_per_ip: str = "100/hour;300/day"
    code_budget_global: str = "20000/hour"
    code_cost_sms: int = Field(default=10, ge=1, le=1000)
    code_cost_email: int = Field(default=1, ge=1, le=1000)
    # Knowledge-base votes: voter ids are made up by the client, the address is not.
    kb_votes_per_ip: str = "30/hour"
    kb_votes_per_article_ip: str = "3/hour"
    # The assistant's identification of an anonymous chatter (a code to the phone they name).
    chat_identify_per_session: str = "3/hour"

    @field_validator("*")
    @classmethod
    def _parses(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                parse_many(value)
            except ValueError as exc:
                raise ValueError(f"not a rate limit like \"10/minute;100/hour\": {value[:60]!r}") from exc
        return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GOPAYCARE_",
        env_file=".env",
        env_file_encoding="utf-8",
        env_nested_delimiter="__",
        extra="ignore",
    )

    database_url: str = "sqlite:///./gopaycare.db"
    redis_url: str | None = None
    # Where in-process jobs are kept in embedded mode (a SQLite file, so nothing is lost on restart).
    jobs_path: str = "./gopaycare-jobs.db"
    # Where the trained assistant model is cached (built from the project's data on first use).
    model_dir: str = "./gopaycare-models"
    # The queue's name in Redis: instances (or test runs) sharing one Redis keep apart by it.
    jobs_queue: str = Field(default="gopaycare", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    timezone: str = "Asia/Jakarta"
    currency: str = "IDR"
    limits: Limits = Limits()
    refunds: RefundPolicy = RefundPolicy()

    max_failed_logins: int = Field(default=5, ge=1, le=100)
    # Wrong passwords at login pause password logins this long (a soft lock: docs/adr/0018).
    login_pause_seconds: int = Field(default=15 * 60, ge=10, le=24 * 3600)
    rate_limits: RateLimits = RateLimits()
    code_ttl_seconds: int = Field(default=300, ge=30)
    code_resend_interval_seconds: int = Field(default=60, ge=0)
    code_max_per_hour: int = Field(default=5, ge=1)
    # A customer's access token lives an hour; the app renews it with the refresh token (rotating,
    # single use), which lives at most 30 days from when it was issued.
    session_ttl_seconds: int = Field(default=3600, ge=60, le=30 * 24 * 3600)
    refresh_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=300, le=30 * 24 * 3600)
    # Agents: a password login lasts a working day; an API token (integrations, `gopaycare tokens
    # create`) expires after this many days. Wrong passwords or codes in a row before the agent's
    # account locks (an admin unlocks it, audited).
    agent_session_ttl_seconds: int = Field(default=12 * 3600, ge=300, le=7 * 24 * 3600)
    agent_token_ttl_days: int = Field(default=90, ge=1, le=3650)
    agent_max_failed_logins: int = Field(default=5, ge=1, le=100)
    # WebSockets: a ticket (`?ticket=`, from an authenticated POST) opens one socket within this many
    # seconds; a socket that authenticates with its first message must send it within the timeout.
    socket_ticket_ttl_seconds: int = Field(default=30, ge=5, le=300)
    socket_auth_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # "fast" is for tests only: argon2 with minimal cost.
    password_hash_profile: str = Field(default="default", pattern=r"^(default|fast)$")

    pending_too_long_minutes: int = Field(default=30, ge=1)
    risk_max_single_payment: int = Field(default=10_000_000, gt=0)
    # GoPay charges a flat fee for withdrawals to a bank account.
    withdrawal_fee: int = Field(default=2_500, ge=0)

    # Unset SMTP host or SMS provider: messages stay in the outbox with status "held".
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_sender: str = "GoPay Care <care@gopay.test>"
    # The inbound SMTP listener for customers' mail (`serve` and `demo` start it; tests never do).
    inbound_smtp_enabled: bool = True
    inbound_smtp_host: str = "127.0.0.1"
    inbound_smtp_port: int = Field(default=2525, ge=1, le=65535)
    inbound_smtp_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    # A mailbox polled over IMAP instead (or as well): read-only, from a UID cursor, every minute.
    imap_host: str | None = None
    imap_port: int = Field(default=993, ge=1, le=65535)
    imap_ssl: bool = True
    imap_user: str | None = None
    imap_password: str | None = None
    imap_mailbox: str = Field(default="INBOX", min_length=1, max_length=200)
    sms_provider_url: str | None = None  # a Twilio-compatible Messages API base URL
    sms_account_sid: str | None = None
    sms_auth_token: str | None = None
    sms_from: str = "GoPay"
    # Telegram Bot API: the bot's token, and the secret set with setWebhook that Telegram sends back.
    telegram_bot_token: str | None = None
    telegram_secret_token: str | None = None
    telegram_api_base: str = "https://api.telegram.org/"
    # WhatsApp Cloud API: the app secret signs webhooks; the verify token answers Meta's handshake.
    whatsapp_app_secret: str | None = None
    whatsapp_verify_token: str | None = None
    whatsapp_access_token: str | None = None
    whatsapp_api_base: str = "https://graph.facebook.com/"
    whatsapp_api_version: str = Field(default="v21.0", pattern=r"^v\d+\.\d+$")
    whatsapp_phone_number_id: str | None = None  # replies from here when a conversation names no number
    # The approved template sent outside WhatsApp's 24-hour window (its body takes one parameter: a
    # pointer asking the customer to reply), and its language codes by our language. Unset: such a
    # reply fails, and the agent sees why.
    whatsapp_followup_template: str | None = Field(default=None, pattern=r"^[a-z0-9_]{1,512}$")
    whatsapp_template_languages: dict[str, str] = {"zh-CN": "zh_CN", "en": "en", "id": "id"}
    # Messenger and Instagram direct messages (one Meta app, one callback): the app secret signs
    # webhooks, the verify token answers the handshake, the page's token sends (Instagram too).
    messenger_app_secret: str | None = None
    messenger_verify_token: str | None = None
    messenger_page_token: str | None = None
    messenger_api_base: str = "https://graph.facebook.com/"
    messenger_api_version: str = Field(default="v21.0", pattern=r"^v\d+\.\d+$")
    # WeChat Official Account: the token signs webhooks (the server URL's token); the app id and
    # secret take the access token of the customer-service message API. The EncodingAESKey (43
    # characters) opens safe-mode messages, which are sealed for the app id.
    wechat_token: str | None = None
    wechat_app_id: str | None = None
    wechat_app_secret: str | None = None
    wechat_aes_key: str | None = Field(default=None, pattern=r"^[A-Za-z0-9+/]{43}$")
    wechat_api_base: str = "https://api.weixin.qq.com/"
    # The phone line on Twilio Programmable Voice: the account's auth token signs its webhooks.
    twilio_auth_token: str | None = None
    # The address the providers call us at (scheme, host and any path prefix), when a proxy stands in
    # front: Twilio signs the URL it called, so it is rebuilt from this rather than from the request.
    public_url: str | None = Field(default=None, pattern=r"^https?://[^\s?#]+$", max_length=200)
    # A company PBX reports calls to POST /api/v1/cti/{token} (Zammad's Generic CTI shape).
    cti_token: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._~-]{16,128}$")
    # The business calendar (by name, as created for the SLAs) when agents answer the phone; unset:
    # around the clock. Outside it callers leave a voicemail.
    phone_calendar: str | None = Field(default=None, min_length=1, max_length=80)
    # The same for the chat: outside it, a customer handed to a person is told when agents are back.
    chat_calendar: str | None = Field(default=None, min_length=1, max_length=80)
    # An agent's chat reply the customer has not read after this long is e-mailed too, when they left
    # an address (told so when no agent was online).
    chat_follow_up_minutes: int = Field(default=10, ge=1, le=24 * 60)
    # How long an anonymous web visitor's chat token lasts (the widget renews it before it ends).
    visitor_token_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=300, le=90 * 24 * 3600)
    # New visitor tokens one client address may ask for per minute.
    visitor_tokens_per_minute: int = Field(default=10, ge=1, le=10_000)

    # Attachments (every channel's files and the live chat's uploads): at most this many bytes each,
    # of these types (sniffed from the bytes; a comma-separated list of the types sniff.py knows).
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)
    attachment_types: str = ("image/jpeg,image/png,image/gif,image/webp,application/pdf,audio/ogg,audio/mpeg,"
                             "audio/mp4,video/mp4,audio/amr,text/plain")
    attachment_max_per_message: int = Field(default=10, ge=1, le=50)
    attachment_max_unsent: int = Field(default=20, ge=1, le=1000)  # a customer's uploads not sent yet

    # What an instance shows of itself (README, Security): the API reference (/docs and /openapi.json)
    # on or off; /metrics off, or only with `Authorization: Bearer <metrics_token>`.
    docs_enabled: bool = True
    metrics_enabled: bool = True
    metrics_token: str | None = Field(default=None, min_length=16)
    # Strict-Transport-Security's max-age on answers to requests over TLS (0: no HSTS header).
    hsts_seconds: int = Field(default=365 * 24 * 3600, ge=0)
    # Proxies whose X-Forwarded-Proto/-For uvicorn believes (comma-separated addresses, or "*").
    trusted_proxies: str = "127.0.0.1"
    # Other sites that may embed the chat widget (ADR 0025): exact origins (`https://shop.example.com`,
    # comma-separated; no wildcard). The widget's routes answer CORS for them alone, without credentials,
    # and the chat socket accepts their handshake; empty: the widget works on this host only.
    widget_origins: str = Field(default="", max_length=4000)

    # Payment providers' callbacks (POST /webhooks/payments/{provider}): Midtrans signs with the merchant's
    # server key, Stripe with the endpoint's signing secret (whsec_...); unset, that provider's callbacks
    # answer 401. Stripe's signed timestamp may be at most this far from our clock (Stripe's default: 300 s).
    midtrans_server_key: str | None = Field(default=None, min_length=8, max_length=200)
    stripe_webhook_secret: str | None = Field(default=None, min_length=8, max_length=200)
    stripe_tolerance_seconds: int = Field(default=300, ge=1, le=3600)
    # Disputes: the merchant's days to answer; a provisional credit while the case is open (off by default),
    # for these reasons (comma-separated), up to this amount per case.
    dispute_response_days: int = Field(default=10, ge=1, le=120)
    dispute_provisional_credit: bool = False
    dispute_provisional_reasons: str = Field(default="unrecognised_charge,not_delivered,not_as_described",
                                             pattern=r"^[a-z_]+(,[a-z_]+)*$", max_length=200)
    dispute_provisional_max: int = Field(default=5_000_000, ge=1)

    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    log_json: bool = True
    secret_key: str = DEV_SECRET_KEY
    # `serve` refuses to start with the development key unless this says it is a dev/demo machine.
    allow_dev_secret_key: bool = False
    # Earlier secret keys (a JSON list), whose sealed secrets still open until `gopaycare reseal-secrets`.
    previous_secret_keys: list[str] = []

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("widget_origins")
    @classmethod
    def _exact_origins(cls, value: str) -> str:
        origins = [o.strip() for o in value.split(",") if o.strip()]
        wrong = [o for o in origins if not _ORIGIN.fullmatch(o)]
        if wrong:
            raise ValueError("widget origins are exact origins such as https://shop.example.com (scheme, host, "
                             f"optional port; no path, no wildcard), not {wrong[0][:100]!r}")
        return ",".join(dict.fromkeys(o.lower() for o in origins))

    @field_validator("attachment_types")
    @classmethod
    def _known_attachment_types(cls, value: str) -> str:
        known = ("image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf", "audio/ogg",
                 "audio/mpeg", "audio/mp4", "video/mp4", "audio/amr", "text/plain")
        types = [t.strip().lower() for t in value.split(",") if t.strip()]
        unknown = [t for t in types if t not in known]
        if unknown or not types:
            raise ValueError(f"attachment types are some of {', '.join(known)}; not {', '.join(unknown)[:200]}")
        return ",".join(types)

    @field_validator("currency")
    @classmethod
    def _ledger_currency(cls, value: str) -> str:
        if value not in LEDGER_CURRENCIES:
            raise ValueError(f"the ledger keeps amounts in {', '.join(sorted(LEDGER_CURRENCIES))} only, "
                             f"not {value[:16]!r}")
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            # SQLAlchemy needs the driver named; psycopg 3 is the one we ship.
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    @model_validator(mode="after")
    def _wechat_safe_mode_has_its_app_id(self) -> Settings:
        if self.wechat_aes_key and not self.wechat_app_id:
            raise ValueError("GOPAYCARE_WECHAT_AES_KEY needs GOPAYCARE_WECHAT_APP_ID (safe-mode messages are sealed "
                             "for it)")
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


class SettingsError(Exception):
    """Raised with a message that names each invalid GOPAYCARE_* variable."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = "GOPAYCARE_" + "__".join(str(p).upper() for p in err["loc"])
            lines.append(f"{name}: {err['msg']}")
        raise SettingsError("Invalid settings:\n  " + "\n  ".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()

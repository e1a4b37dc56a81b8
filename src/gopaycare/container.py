"""Builds the application's services from settings: one place that wires everything.

Web routes, the CLI, workers and tests all get their services from a `Services` object, so
there is no module-level state to reset between tests.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from huey import Huey

if TYPE_CHECKING:
    from .assistant.engine import Assistant
    from .assistant.turns import Answer

from .attachments.store import AttachmentStore, Limits
from .callbacks.service import PaymentCallbacks
from .channels import ivr
from .channels.accounts import PURPOSE as ACCOUNTS_PURPOSE
from .channels.accounts import ChannelAccounts, settings_accounts
from .channels.chat import ChatSender
from .channels.email_imap import ImapPoller
from .channels.email_inbound import EmailIntake
from .channels.email_mailboxes import MailboxCursors
from .channels.email_threads import EmailThreads
from .channels.intake import CallEvent, ChannelIntake, InboundMessage, Receipt
from .channels.media import MediaFetcher
from .channels.registry import (
    Webhooks,
    imap_poller_from_settings,
    media_from_settings,
    senders_from_settings,
    webhooks_from_settings,
)
from .checkout.service import Checkout
from .desk.agents import AgentDirectory
from .desk.calls import CallReport, phone_number
from .desk.customer_side import Party, client_message_id
from .desk.events import EventHub
from .desk.refund_cases import RefundCases
from .desk.service import Desk
from .disputes.policy import DisputePolicy
from .disputes.service import Disputes
from .identity.recovery import Recovery
from .identity.service import IdentityService
from .identity.socket_tickets import SocketTickets
from .identity.visitors import VisitorTokens
from .kb.service import KnowledgeBase
from .platform import catalog
from .platform.clock import Clock, SystemClock
from .platform.db import Database
from .platform.jobs import make_huey
from .platform.outbox import Outbox
from .platform.ratelimit import Limiter
from .platform.rates import RateLimiter
from .platform.secrets import SecretBox
from .platform.settings import Settings
from .promotions.service import Promotions
from .refunds.merchant_keys import MerchantKeys
from .refunds.service import RefundRequests
from .wallet.service import ReferenceWallet

_ASSISTANT_LOCK = threading.Lock()


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock
    huey: Huey
    wallet: ReferenceWallet
    outbox: Outbox
    identity: IdentityService
    recovery: Recovery
    agents: AgentDirectory
    payments: Checkout
    desk: Desk
    hub: EventHub
    refunds: RefundRequests
    merchant_keys: MerchantKeys  # the merchant API's keys (refund requests the merchant answers)
    merchant_limiter: RateLimiter  # merchant API calls per key
    kb: KnowledgeBase
    promotions: Promotions
    intake: ChannelIntake
    webhooks: Webhooks
    email_inbound: EmailIntake
    channel_accounts: ChannelAccounts
    mailbox: ImapPoller | None  # the IMAP mailbox the poll_mailbox job reads, when one is configured
    files: AttachmentStore
    media: MediaFetcher  # providers' media, fetched by the fetch_attachment job
    visitors: VisitorTokens  # anonymous web visitors' chat tokens
    visitor_limiter: RateLimiter  # new visitor tokens per client address
    payment_callbacks: PaymentCallbacks  # providers' word on pending payments and top-ups
    disputes: Disputes
    limiter: Limiter  # rate limits per address, account and destination (platform/ratelimit.py)
    socket_tickets: SocketTickets  # single-use tickets that open a WebSocket without a token in its URL
    tasks: dict[str, Any] = field(default_factory=dict)
    _assistant: Any = None

    @property
    def assistant(self) -> Assistant:
        """Built on first use: the NLU model loads from its cache or trains from the project's
        data (minutes at most, once per data version)."""
        with _ASSISTANT_LOCK:  # a warm-up thread and a first request may ask at once
            if self._assistant is None:
                from .assistant.nlu import load_product_nlu

                self._assistant = self.make_assistant(load_product_nlu(self.settings.model_dir))
        return self._assistant

    def make_assistant(self, nlu: Any) -> Assistant:
        """An assistant on this application's services, with exactly the dependencies it uses."""
        from .assistant.deps import AssistantDeps, AssistantPolicy
        from .assistant.engine import Assistant
        from .desk.bot_view import BotView

        settings = self.settings
        return Assistant(AssistantDeps(
            db=self.db, clock=self.clock,
            policy=AssistantPolicy(tz=settings.tz, max_failed_logins=settings.max_failed_logins,
                                   pending_too_long_minutes=settings.pending_too_long_minutes,
                                   tiers={name: (t.balance_cap, t.monthly_incoming, t.daily_outgoing)
                                          for name, t in (("basic", settings.limits.basic),
                                                          ("plus", settings.limits.plus))}),
            identity=self.identity, recovery=self.recovery, wallet=self.wallet, refunds=self.refunds,
            promotions=self.promotions, kb=self.kb, conversations=self.desk.conversations, bot=self.desk.bot,
            staffing=self.desk.availability.now, handovers=BotView(self.db), limiter=self.limiter,
            disputes=self.disputes), nlu)

    def chat_turn(self, party: Party, body: str, *, language: str | None = None, client_id: str | None = None,
                  attachments: Sequence[int] = ()) -> Answer:
        """A message written in our own chat: stored on the desk and answered. A customer writes as
        their registered phone, on the app's chat; an anonymous web visitor as their visitor id, on
        the widget's own conversation (channel "web"), unknown to the assistant until they identify
        (a customer going on with their visitor's conversation writes there too, known).
        `client_id`: the app's id of the message, so a resend is stored once (acknowledged again:
        its files are on the first copy). `attachments`: the customer's own unsent uploads."""
        from .assistant.turns import Answer

        channel = "web" if party.visitor_id is not None else "chat"
        provider_message_id = client_message_id(party, client_id) if client_id else None
        if provider_message_id and (stored := self.desk.conversations.seen(channel, provider_message_id)):
            return Answer(stored.conversation_id, stored.ticket_id, [], None, False)
        # A visitor uploads nothing (uploads belong to a logged-in customer): their ids are not found.
        files = self.files.check_unsent(party.customer_id, attachments) if attachments else []
        if party.visitor_id is not None:
            return self.assistant.chat(channel=channel, identity_kind="visitor", identity_value=party.visitor_id,
                                       thread=party.thread, body=body, language=language,
                                       provider_message_id=provider_message_id, attachments=files)
        phone = self.identity.get(party.customer_id or 0).phone
        return self.assistant.chat(channel=channel, identity_kind="phone", identity_value=phone, body=body,
                                   language=language, provider_message_id=provider_message_id, attachments=files)

    def take_channel_message(self, message: InboundMessage) -> None:
        """A message a channel heard: stored on the desk and answered by the assistant, on its channel;
        what no machine may answer (an auto-reply, a list's mail, a bounce: RFC 3834) is only stored."""
        if message.public:
            self.take_public_comment(message)
            return
        fields: dict[str, Any] = dict(
            channel=message.channel, identity_kind=message.identity_kind, identity_value=message.identity_value,
            body=message.body, provider_message_id=message.provider_message_id, thread=message.thread,
            name=message.name, attachments=message.attachments, subject=message.subject,
            account_id=message.account, team_id=self.channel_accounts.team_of(message.account))
        if not message.auto_reply_allowed:
            self.desk.conversations.receive(**fields)
            return
        self.assistant.chat(**fields)

    def take_public_comment(self, message: InboundMessage) -> None:
        """A comment under a public post: stored on the desk like any message, then answered with a
        private reply that asks the customer to go on in private (where account questions can be
        answered, by the assistant once they write there) and, in public, only a pointer to it. No
        answer about an account is ever written where everyone reads (channels/comments.py)."""
        from .assistant.nlu.language import detect

        lang = detect(message.body, None)
        received = self.desk.conversations.receive(
            channel=message.channel, identity_kind=message.identity_kind, identity_value=message.identity_value,
            body=message.body, provider_message_id=message.provider_message_id, thread=message.thread,
            name=message.name, language=lang, attachments=message.attachments, account_id=message.account,
            team_id=self.channel_accounts.team_of(message.account))
        if received.duplicate:
            return
        bot, now = self.desk.bot, self.clock.now()
        with self.db.transaction() as s:
            ticket, conversation = bot.lock(s, received.ticket_id, received.conversation_id)
            bot.do_reply(s, ticket, conversation, [catalog.text("channels.comment", "private_reply", lang)], now=now)
            bot.do_reply(s, ticket, conversation, [catalog.text("channels.comment", "public_pointer", lang)],
                         now=now, public=True)

    def take_receipt(self, receipt: Receipt) -> None:
        if receipt.read_up_to and receipt.destination:
            self.outbox.record_read_up_to(receipt.channel, receipt.destination,
                                          datetime.fromisoformat(receipt.read_up_to))
            return
        self.outbox.record_receipt(receipt.channel, receipt.provider_message_id, receipt.status, error=receipt.error)

    def take_call(self, event: CallEvent) -> None:
        """A step of a phone call (the voice menu's or a PBX's): logged and filed on the desk."""
        fields = {name: value for name, value in asdict(event).items() if name != "channel"}
        self.desk.calls.take(CallReport(**fields))

    def phone_line(self, caller: str) -> ivr.Line:
        """What the voice menu needs to know about a call now: whose number it is (a locked or
        frozen account hears so first), whether it can be called back, whether agents answer."""
        number = phone_number(caller)
        customer = self.identity.find_by_address("phone", number) if number else None
        standing = ivr.Standing.UNKNOWN if customer is None else ivr.Standing.FROZEN if customer.frozen else \
            ivr.Standing.LOCKED if customer.locked else ivr.Standing.CUSTOMER
        return ivr.Line(standing=standing, language=customer.language if customer else None, reachable=bool(number),
                        open=self.desk.calls.line_open(self.clock.now(), self.settings.phone_calendar))

    def close(self) -> None:
        self.hub.close()
        self.db.dispose()


def build(settings: Settings, *, clock: Clock | None = None, immediate_jobs: bool = False,
          senders: dict[str, Any] | None = None, db: Database | None = None) -> Services:
    """`db`: an engine to reuse (on `settings.database_url`), with its pool and its cache of compiled
    statements, instead of a new one (the conversation suite plays each conversation on new services
    over one engine: a process serves many conversations with one warm engine, not a new one each)."""
    clock = clock or SystemClock()
    db = db if db is not None else Database(settings.database_url)
    huey = make_huey(settings, immediate=immediate_jobs)
    wallet = ReferenceWallet(db, clock, settings)
    email_threads = EmailThreads(db, clock)
    directory: list[AgentDirectory] = []  # the agents' directory, built below: it knows the teams
    channel_accounts = ChannelAccounts(
        db, clock, SecretBox(settings.secret_key, ACCOUNTS_PURPOSE, settings.previous_secret_keys),
        implicit=settings_accounts(settings), team_exists=lambda team_id: directory[0].team_exists(team_id))
    # The other channels' senders come from settings and accounts.
    senders = senders if senders is not None else senders_from_settings(settings, email_threads=email_threads,
                                                                        accounts=channel_accounts)
    # The chat (in the app, and the web widget's) is our own channel: its sender is always there.
    outbox = Outbox(db, clock, {"chat": ChatSender(), "web": ChatSender(), **senders})
    identity = IdentityService(db, clock, settings, wallet, outbox)
    hub = EventHub(settings.redis_url)
    agents = AgentDirectory(db, clock, identity.hasher, hub=hub, settings=settings)
    directory.append(agents)
    files = AttachmentStore(db, clock, Limits(
        max_bytes=settings.attachment_max_bytes, types=frozenset(settings.attachment_types.split(",")),
        max_per_message=settings.attachment_max_per_message, max_unsent=settings.attachment_max_unsent))
    desk = Desk(db, clock, wallet, agents, hub, outbox, identity, files, chat_calendar=settings.chat_calendar,
                follow_up_after=timedelta(minutes=settings.chat_follow_up_minutes))
    services = Services(
        settings=settings, db=db, clock=clock, huey=huey, wallet=wallet, outbox=outbox, identity=identity,
        recovery=Recovery(identity), agents=agents, payments=Checkout(identity, wallet), desk=desk, hub=hub,
        refunds=RefundRequests(db, clock, wallet, settings.refunds, settings.tz,
                               RefundCases(db, clock, desk.conversations, desk.changes, desk.bot), files, identity),
        merchant_keys=MerchantKeys(db, clock, settings.secret_key),
        merchant_limiter=RateLimiter(clock, limit=120, seconds=60), kb=KnowledgeBase(db, clock),
        promotions=Promotions(db, clock, wallet, identity, settings.tz),
        intake=(intake := ChannelIntake(db, clock)), webhooks=webhooks_from_settings(settings, channel_accounts),
        channel_accounts=channel_accounts,
        email_inbound=(email_inbound := EmailIntake(intake, email_threads, files)),
        mailbox=imap_poller_from_settings(settings, email_inbound, MailboxCursors(db, clock)),
        files=files, media=MediaFetcher(media_from_settings(settings, senders), files,
                                        desk.attachments.pending, desk.attachments.record),
        visitors=VisitorTokens(settings.secret_key, clock, timedelta(seconds=settings.visitor_token_ttl_seconds)),
        visitor_limiter=RateLimiter(clock, limit=settings.visitor_tokens_per_minute, seconds=60),
        payment_callbacks=PaymentCallbacks(db, clock, wallet, settings.currency),
        disputes=Disputes(db, clock, wallet, identity, desk.conversations, desk.changes, files, DisputePolicy(
            response_window=timedelta(days=settings.dispute_response_days),
            provisional_credit=settings.dispute_provisional_credit,
            provisional_reasons=tuple(settings.dispute_provisional_reasons.split(",")),
            provisional_max=settings.dispute_provisional_max)),
        limiter=Limiter(settings.rate_limits, secret=settings.secret_key, redis_url=settings.redis_url,
                        namespace=settings.jobs_queue),
        socket_tickets=SocketTickets(db, clock, identity.hasher, timedelta(seconds=settings.socket_ticket_ttl_seconds)),
    )
    services.intake.on_message = services.take_channel_message
    services.intake.on_receipt = services.take_receipt
    services.intake.on_call = services.take_call
    from .tasks import register_tasks

    register_tasks(services)
    return services

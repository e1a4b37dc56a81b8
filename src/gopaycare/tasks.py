"""Background jobs. Thin: each calls one service function, has a timeout and is safe to retry."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from huey import crontab

if TYPE_CHECKING:
    from .container import Services

log = logging.getLogger(__name__)


def register_tasks(services: Services) -> None:
    huey = services.huey

    @huey.task(name="deliver_message", timeout=60)
    def deliver_message(message_id: int) -> str:
        """One outbox message out on its channel: a code, a notification, an agent's or the bot's
        reply. A failure schedules its own retry (the outbox's backoff), so the job never raises."""
        return services.outbox.deliver(message_id)

    @huey.periodic_task(crontab(minute="*"), name="sweep_outbox", timeout=50)
    def sweep_outbox() -> int:
        """Messages due again after a backoff, whose job was lost (a crash between commit and
        enqueue), or held until their channel got a sender."""
        ids = services.outbox.release_held() + services.outbox.due_ids()
        for message_id in ids:
            deliver_message(message_id)
        return len(ids)

    @huey.task(name="take_channel_event", timeout=120)
    def take_channel_event(event_id: int) -> str:
        """One message or receipt a channel heard, handed to the assistant or the outbox. A failure
        schedules its own retry (the intake's backoff), so the job never raises."""
        return services.intake.process(event_id)

    @huey.periodic_task(crontab(minute="*"), name="sweep_channel_events", timeout=50)
    def sweep_channel_events() -> int:
        """Channel events due again after a backoff, or whose job was lost."""
        ids = services.intake.due_ids()
        for event_id in ids:
            take_channel_event(event_id)
        return len(ids)

    @huey.task(name="fetch_attachment", retries=5, retry_delay=30, retry_backoff=2, timeout=120, context=True)
    def fetch_attachment(message_id: int, index: int, task: Any = None) -> str:
        """A provider's media named by a stored message, fetched and kept (channels/media.py). A failure
        that may pass raises, for the queue to try again (30 s, 1, 2, 4, 8 min); the last records it."""
        return services.media.fetch(message_id, index, last_try=task is None or not task.retries)

    @huey.periodic_task(crontab(minute="17"), name="sweep_attachments", timeout=240)
    def sweep_attachments() -> int:
        """Files no message took within a day: uploads never sent, a dropped mail's files."""
        return services.files.sweep_unsent()

    @huey.periodic_task(crontab(minute="*"), name="poll_mailbox", timeout=50)
    def poll_mailbox() -> int:
        """New mail in the IMAP mailbox, when one is configured (one poller at a time: the cursor)."""
        from .channels.email_imap import MailboxError

        if services.mailbox is None:
            return 0
        try:
            return services.mailbox.poll()
        except MailboxError as exc:
            log.warning("mailbox not read: %s", exc)
            return 0

    @huey.periodic_task(crontab(minute="*"), name="sla_check", timeout=50)
    def sla_check() -> dict[str, int]:
        """Warns about SLA targets due soon and breaches (and escalates) the overdue ones."""
        return services.desk.sla.check(services.clock.now())

    @huey.periodic_task(crontab(minute="*"), name="drain_queue", timeout=50)
    def drain_queue() -> int:
        """Hands queued tickets to agents who have room again (a ticket solved, an agent back)."""
        return services.desk.routing.drain_queue(services.clock.now())

    @huey.periodic_task(crontab(minute="*"), name="follow_up_chats", timeout=50)
    def follow_up_chats() -> int:
        """E-mails agents' chat replies a customer left unread (when they were told it would)."""
        return services.desk.follow_ups.sweep()

    @huey.periodic_task(crontab(minute="*/5"), name="run_automations", timeout=240)
    def run_automations() -> int:
        """Time-based rules: auto-close solved tickets, remind customers we are waiting for."""
        return services.desk.rules.run_automations(services.clock.now())

    @huey.task(name="award_cashback", retries=4, retry_delay=30, timeout=60)
    def award_cashback(customer_id: int, reference: str) -> str:
        """Decide (once) whether a payment earns cashback, and credit it when due."""
        return services.promotions.award(customer_id, reference).status

    @huey.periodic_task(crontab(minute="*"), name="promotions_sweep", timeout=50)
    def promotions_sweep() -> dict[str, int]:
        """Payments whose award job was lost or that settled later; cashback whose time has come."""
        return services.promotions.sweep()

    @huey.task(name="sync_wallet_restrictions", retries=8, retry_delay=30, retry_backoff=2, timeout=60)
    def sync_wallet_restrictions(customer_id: int) -> str:
        """Sets the wallet's lock and freeze flags from identity's, after a wallet call failed
        (idempotent; the retries run for about two hours, ADR 0007)."""
        return services.identity.wallet_link.sync(customer_id)

    @huey.task(name="open_wallet", retries=8, retry_delay=30, retry_backoff=2, timeout=60)
    def open_wallet(customer_id: int, tier: str) -> str:
        """Opens a registered customer's wallet when the first attempt failed (idempotent)."""
        return services.identity.wallet_link.open(customer_id, tier)

    @huey.task(name="refund_notice", retries=4, retry_delay=30, timeout=60)
    def refund_notice(request_id: int, status: str) -> bool:
        """Tells the customer where their refund request is, on their channel (after the step committed)."""
        return services.refunds.send_notice(request_id, status)

    @huey.periodic_task(crontab(minute="*"), name="refunds_sweep", timeout=50)
    def refunds_sweep() -> dict[str, int]:
        """Merchants silent past their due date: to GoPay's review; approved refunds not yet paid: paid
        (once: the wallet's idempotency key)."""
        return services.refunds.sweep()

    @huey.periodic_task(crontab(minute="*/5"), name="settle_disputes", timeout=240)
    def settle_disputes() -> int:
        """Dispute money a crash left unrecorded (each movement under its own key: never twice)."""
        return services.disputes.settle_all()

    services.outbox.dispatch = lambda message_id: deliver_message(message_id)
    services.outbox.retry_later = lambda message_id, delay: deliver_message.schedule((message_id,), delay=delay)
    services.intake.dispatch = lambda event_id: take_channel_event(event_id)
    services.intake.retry_later = lambda event_id, delay: take_channel_event.schedule((event_id,), delay=delay)
    services.desk.attachments.fetch_later = lambda message_id, index: fetch_attachment(message_id, index)
    services.identity.wallet_link.queue_sync = lambda customer_id: sync_wallet_restrictions(customer_id)
    services.identity.wallet_link.queue_open = lambda customer_id, tier: open_wallet(customer_id, tier)
    services.payments.on_paid = lambda customer_id, reference: award_cashback(customer_id, reference)
    services.refunds.notify_later = lambda request_id, status: refund_notice(request_id, status)
    services.payment_callbacks.on_paid = lambda customer_id, reference: award_cashback(customer_id, reference)
    services.tasks.update(deliver_message=deliver_message, sweep_outbox=sweep_outbox, sla_check=sla_check,
                          drain_queue=drain_queue, run_automations=run_automations, award_cashback=award_cashback,
                          promotions_sweep=promotions_sweep, sync_wallet_restrictions=sync_wallet_restrictions,
                          open_wallet=open_wallet, take_channel_event=take_channel_event,
                          sweep_channel_events=sweep_channel_events, poll_mailbox=poll_mailbox,
                          fetch_attachment=fetch_attachment, sweep_attachments=sweep_attachments,
                          follow_up_chats=follow_up_chats, refund_notice=refund_notice, refunds_sweep=refunds_sweep,
                          settle_disputes=settle_disputes)

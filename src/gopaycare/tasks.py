"""Background jobs. Thin: each calls one service function, has a timeout and is safe to retry."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from huey import crontab

from .identity.notify import DeliveryError

if TYPE_CHECKING:
    from .container import Services

log = logging.getLogger(__name__)


def register_tasks(services: Services) -> None:
    huey = services.huey

    @huey.task(name="deliver_message", retries=4, retry_delay=30, timeout=60)
    def deliver_message(message_id: int) -> str:
        try:
            return services.outbox.deliver(message_id)
        except DeliveryError:
            if huey.immediate:
                return "queued"  # tests: the sweep below retries it
            raise

    @huey.periodic_task(crontab(minute="*"), name="sweep_outbox", timeout=50)
    def sweep_outbox() -> int:
        """Picks up messages whose job was lost (a crash between commit and enqueue)."""
        ids = services.outbox.pending_ids()
        for message_id in ids:
            deliver_message(message_id)
        return len(ids)

    services.outbox.dispatch = lambda message_id: deliver_message(message_id)
    services.tasks.update(deliver_message=deliver_message, sweep_outbox=sweep_outbox)

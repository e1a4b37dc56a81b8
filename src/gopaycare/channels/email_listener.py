"""The inbound SMTP listener: mail for the care address, received by aiosmtpd and handed to
`EmailIntake` (stored once, answered after, ADR 0010).

It answers 250 only once the mail is stored, so a sending server that gets no 250 (a crash, a
database that is down: 451) keeps the mail and tries again; a retry of a stored mail is stored once
(keyed by its Message-ID). A mail larger than `max_bytes` is refused with 552 (its SIZE announced in
MAIL FROM, or while it is read); a line longer than SMTP allows with 500. In production it listens on
loopback behind the organisation's MTA (which delivers the care address here, with TLS and spam
filtering at the edge).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.controller import Controller

from .email_inbound import EmailIntake, NoSender

log = logging.getLogger(__name__)

MAX_BYTES = 10 * 1024 * 1024


class _Handler:
    def __init__(self, inbound: EmailIntake) -> None:
        self.inbound = inbound

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content if isinstance(envelope.original_content, bytes) else b""
        loop = asyncio.get_running_loop()
        try:
            # Storing (and, in tests, answering) touches the database: off the listener's event loop.
            accepted = await loop.run_in_executor(None, lambda: self.inbound.take(
                raw, envelope_from=envelope.mail_from or "", envelope_to=list(envelope.rcpt_tos or [])))
        except NoSender:
            return "550 5.1.7 The mail names no sender address"
        except Exception:
            log.exception("inbound mail not stored; the sending server will retry")
            return "451 4.3.0 Not stored, please try again later"
        log.info("inbound mail", extra={"stored": accepted.stored, "duplicates": accepted.duplicates})
        return "250 2.0.0 Stored"


class EmailListener:
    def __init__(self, inbound: EmailIntake, host: str, port: int, *, max_bytes: int = MAX_BYTES) -> None:
        self.host, self.port = host, port
        self.controller = Controller(_Handler(inbound), hostname=host, port=port, data_size_limit=max_bytes,
                                     server_hostname="gopaycare", ident="GoPay Care")

    def start(self) -> None:
        try:
            self.controller.start()
        except Exception:
            # The port is taken (another `serve`): the server's thread has ended; release its loop.
            if not self.controller.loop.is_running():
                self.controller.loop.close()
            raise
        log.info("inbound SMTP listening on %s:%s", self.host, self.port)

    def stop(self) -> None:
        self.controller.stop()

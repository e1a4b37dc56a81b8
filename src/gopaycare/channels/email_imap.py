"""Mail from a mailbox: an IMAP poller, for a care address whose mail the listener cannot receive
(a hosted mailbox). Each poll examines the mailbox read-only (nothing is marked, moved or deleted),
fetches the mails past the cursor (`email_mailboxes.py`) and hands each to `EmailIntake`, moving
the cursor after each, so a poll that fails half-way goes on from there the next time. A mail
larger than the limit is skipped (logged by UID); the same mail read twice is stored once.
"""

from __future__ import annotations

import imaplib
import logging
import re

from .email_inbound import EmailIntake, NoSender
from .email_mailboxes import MailboxCursors

log = logging.getLogger(__name__)

BATCH = 50  # mails per poll: a large backlog is taken over several polls
_SIZE = re.compile(rb"UID (\d+) RFC822\.SIZE (\d+)|RFC822\.SIZE (\d+) UID (\d+)")


class MailboxError(Exception):
    """The mailbox could not be read (unreachable, refused the login, no such mailbox): tried again
    at the next poll."""


class ImapPoller:
    def __init__(self, inbound: EmailIntake, cursors: MailboxCursors, *, host: str, port: int, user: str,
                 password: str, mailbox: str = "INBOX", use_ssl: bool = True, timeout: float = 30.0,
                 max_bytes: int = 10 * 1024 * 1024) -> None:
        self.inbound, self.cursors = inbound, cursors
        self.host, self.port, self.user, self.password = host, port, user, password
        self.mailbox, self.use_ssl, self.timeout, self.max_bytes = mailbox, use_ssl, timeout, max_bytes
        self.key = f"{user}@{host}:{port}/{mailbox}"[:300]

    def poll(self) -> int:
        """Take the mailbox's new mails; how many were handed to the intake."""
        try:
            client = (imaplib.IMAP4_SSL if self.use_ssl else imaplib.IMAP4)(self.host, self.port, timeout=self.timeout)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise MailboxError(f"IMAP server unreachable: {type(exc).__name__}") from None
        try:
            return self._poll(client)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise MailboxError(f"IMAP: {type(exc).__name__}: {str(exc)[:200]}") from None
        finally:
            try:
                client.logout()
            except (OSError, imaplib.IMAP4.error):
                pass

    def _poll(self, client: imaplib.IMAP4) -> int:
        client.login(self.user, self.password)
        status, _ = client.select(_quoted(self.mailbox), readonly=True)
        if status != "OK":
            raise MailboxError("no such mailbox")
        uid_validity = int((client.response("UIDVALIDITY")[1] or [b"0"])[0] or 0)
        cursor = self.cursors.get(self.key)
        last = cursor.last_uid if cursor and cursor.uid_validity == uid_validity else 0
        status, found = client.uid("SEARCH", None, "UID", f"{last + 1}:*")
        uids = sorted(int(u) for u in (found[0] or b"").split() if u.isdigit() and int(u) > last)[:BATCH]
        taken = 0
        for uid, size in self._sizes(client, uids):
            if size > self.max_bytes:
                log.warning("mailbox mail over the size limit skipped", extra={"uid": uid, "size": size})
            elif (raw := self._fetch(client, uid)) is not None:
                try:
                    self.inbound.take(raw, envelope_from=None, envelope_to=[])
                    taken += 1
                except NoSender:
                    log.warning("mailbox mail naming no sender skipped", extra={"uid": uid})
            self.cursors.advance(self.key, uid_validity, uid)
        return taken

    def _sizes(self, client: imaplib.IMAP4, uids: list[int]) -> list[tuple[int, int]]:
        if not uids:
            return []
        status, data = client.uid("FETCH", ",".join(map(str, uids)), "(UID RFC822.SIZE)")
        sizes = {}
        for item in data:
            line = item[0] if isinstance(item, tuple) else item
            if isinstance(line, bytes) and (match := _SIZE.search(line)):
                uid, size = (match.group(1), match.group(2)) if match.group(1) else (match.group(4), match.group(3))
                sizes[int(uid)] = int(size)
        return [(uid, sizes.get(uid, 0)) for uid in uids]

    @staticmethod
    def _fetch(client: imaplib.IMAP4, uid: int) -> bytes | None:
        status, data = client.uid("FETCH", str(uid), "(BODY.PEEK[])")
        for item in data:
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
                return item[1]
        return None  # expunged meanwhile


def _quoted(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'

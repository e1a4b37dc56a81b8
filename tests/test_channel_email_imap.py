"""Email from a mailbox: the IMAP poller against a real IMAP server on loopback (pymap's in-memory
backend), reading from a UID cursor: each mail once, the assistant answering over real SMTP, a
rebuilt mailbox (new UIDVALIDITY) read again without storing anything twice."""

from __future__ import annotations

import imaplib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from gopaycare.channels.email_imap import MailboxError
from tests import test_channel_email
from tests.helpers import assisted_services, free_port
from tests.test_channel_email import BUDI, CARE, conversations, inbound, mail

USER, PASSWORD = "care", "imap-test-password"
outgoing = test_channel_email.outgoing  # the SMTP server our replies reach (a fixture)


class Imap:
    """A pymap server on a free loopback port; `restart` gives its mailbox a new UIDVALIDITY."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        pymap = os.path.join(os.path.dirname(sys.executable), "pymap")
        self.process = subprocess.Popen(
            [pymap, "--host", "127.0.0.1", "--port", str(self.port), "--no-tls", "dict", "--demo-user", USER,
             "--demo-password", PASSWORD], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("pymap did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def append(self, message: Any) -> None:
        raw = message if isinstance(message, bytes) else message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        try:
            client.login(USER, PASSWORD)
            assert client.append("INBOX", None, None, raw)[0] == "OK"
        finally:
            client.logout()


@pytest.fixture
def imap() -> Iterator[Imap]:
    server = Imap()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def imap_svc(settings, clock, imap, outgoing, product_nlu) -> Iterator[Any]:
    with assisted_services(settings.model_copy(update={
        "smtp_host": outgoing.host, "smtp_port": outgoing.port, "smtp_sender": f"GoPay Care <{CARE}>",
        "imap_host": "127.0.0.1", "imap_port": imap.port, "imap_ssl": False, "imap_user": USER,
        "imap_password": PASSWORD, "inbound_smtp_max_bytes": 50_000}), clock, product_nlu) as services:
        yield services


def test_new_mail_is_taken_once_from_the_uid_cursor_and_answered(imap_svc, imap, outgoing):
    imap.append(mail(message_id="<imap-1@mail.example.com>"))
    assert imap_svc.mailbox.poll() == 1
    assert imap_svc.mailbox.poll() == 0  # the cursor is past it

    [conversation] = conversations(imap_svc)
    assert [m.provider_message_id for m in inbound(imap_svc, conversation.id)] == ["<imap-1@mail.example.com>"]
    [answer] = outgoing.mails()
    assert answer["To"] == BUDI and answer["In-Reply-To"] == "<imap-1@mail.example.com>"

    imap.append(mail("Any news?", subject=f"Re: Top-up failed [#{conversation.channel_thread}]",
                     headers={"In-Reply-To": answer["Message-ID"]}))
    assert imap_svc.tasks["poll_mailbox"].call_local() == 1  # the periodic job reads the same mailbox
    [conversation] = conversations(imap_svc)
    assert [m.body for m in inbound(imap_svc, conversation.id)][-1] == "Any news?"


def test_a_rebuilt_mailbox_is_read_again_without_storing_anything_twice(imap_svc, imap, outgoing):
    first = mail(message_id="<imap-2@mail.example.com>")
    imap.append(first)
    imap_svc.mailbox.poll()
    imap.restart()  # a new UIDVALIDITY: the old UIDs mean nothing now
    imap.append(first)
    imap.append(mail("How do I upgrade?", subject="Upgrade", message_id="<imap-3@mail.example.com>"))

    assert imap_svc.mailbox.poll() == 2
    assert sorted(m.provider_message_id for c in conversations(imap_svc) for m in inbound(imap_svc, c.id)) == [
        "<imap-2@mail.example.com>", "<imap-3@mail.example.com>"]
    assert len(outgoing.mails()) == 2


def test_automatic_and_oversized_mail_in_the_mailbox(imap_svc, imap, outgoing):
    imap.append(b"Return-Path: <>\r\nFrom: MAILER-DAEMON@mx.example.com\r\nSubject: Undeliverable\r\n"
                b"Message-ID: <dsn-1@mx.example.com>\r\n\r\nsomething bounced\r\n")
    big = mail("see attachment", message_id="<big-1@mail.example.com>")
    big.add_attachment(b"z" * 60_000, maintype="application", subtype="octet-stream", filename="big.bin")
    imap.append(big)

    assert imap_svc.mailbox.poll() == 1  # the big one is skipped, and not read again
    assert imap_svc.mailbox.poll() == 0
    [conversation] = conversations(imap_svc)
    assert [m.body for m in inbound(imap_svc, conversation.id)] == ["something bounced"]
    assert outgoing.mails() == []  # nobody answers a mailer


def test_a_wrong_password_or_an_unreachable_server_is_a_mailbox_error(imap_svc, imap):
    imap_svc.mailbox.password = "wrong"
    with pytest.raises(MailboxError):
        imap_svc.mailbox.poll()
    assert imap_svc.tasks["poll_mailbox"].call_local() == 0  # the job logs it and waits for the next poll
    imap.stop()
    imap_svc.mailbox.password = PASSWORD
    with pytest.raises(MailboxError):
        imap_svc.mailbox.poll()
    assert conversations(imap_svc) == []

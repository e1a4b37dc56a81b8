"""Email: customers' mail reaches the desk through a real SMTP session with the inbound listener,
once; replies thread (In-Reply-To, References, the reply address, the subject tag from the same
sender only); RFC 3834 mail is stored and never answered; bounces fail the reply they bounce;
broken and hostile mail is kept, never crashes the listener; the assistant's answer reaches a real
SMTP server threaded to the customer's mail, in their language."""

from __future__ import annotations

import re
import smtplib
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest
from sqlalchemy import select

from gopaycare.channels.email_threading import token_for
from gopaycare.channels.registry import email_listener_from_settings
from gopaycare.desk.models import Conversation, Message
from tests.fake_smtp import SmtpServer, running_smtp
from tests.helpers import assisted_services, free_port

CARE = "care@gopay.test"
BUDI = "budi@example.com"
SITI = "siti@example.org"
CJK = re.compile(r"[\u4e00-\u9fff]")
MAX_BYTES = 300_000


@pytest.fixture
def outgoing() -> Iterator[SmtpServer]:
    """The SMTP server our replies go to (the organisation's relay), collecting what reaches it."""
    with running_smtp() as server:
        yield server


@pytest.fixture
def mail_svc(settings, clock, outgoing, product_nlu) -> Iterator[Any]:
    with assisted_services(settings.model_copy(update={
        "smtp_host": outgoing.host, "smtp_port": outgoing.port, "smtp_sender": f"GoPay Care <{CARE}>",
        "inbound_smtp_port": free_port(), "inbound_smtp_max_bytes": MAX_BYTES}), clock, product_nlu) as services:
        yield services


@pytest.fixture
def listener(mail_svc) -> Iterator[Any]:
    started = email_listener_from_settings(mail_svc.settings, mail_svc.email_inbound)
    assert started is not None
    started.start()
    try:
        yield started
    finally:
        started.stop()


# ---------------------------------------------------------------- writing and sending mail


def mail(body: str = "My top-up failed this morning, where is my money?", *, sender: str = f"Budi <{BUDI}>",
         to: str = CARE, subject: str = "Top-up failed", message_id: str | None = None,
         headers: dict[str, str] | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Message-ID"] = message_id or make_msgid(domain="mail.example.com")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message


def send(listener, message: EmailMessage | bytes, *, mail_from: str = BUDI, to: str = CARE) -> tuple[int, bytes]:
    """One SMTP session: the reply code to DATA (250 stored, 4xx/5xx refused)."""
    raw = message if isinstance(message, bytes) else message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    with smtplib.SMTP(listener.host, listener.port, timeout=30) as smtp:
        smtp.ehlo("client.example.com")
        code, answer = smtp.mail(mail_from)
        assert code == 250, answer
        code, answer = smtp.rcpt(to)
        assert code == 250, answer
        return smtp.data(raw)


def conversations(svc) -> list[Conversation]:
    with svc.db.read() as s:
        return list(s.scalars(select(Conversation).where(Conversation.channel == "email").order_by(Conversation.id)))


def messages(svc, conversation_id: int) -> list[Message]:
    with svc.db.read() as s:
        return list(s.scalars(select(Message).where(Message.conversation_id == conversation_id)
                              .order_by(Message.id)))


def inbound(svc, conversation_id: int) -> list[Message]:
    return [m for m in messages(svc, conversation_id) if m.direction == "in"]


def reply_to(answer: EmailMessage, body: str, *, headers: dict[str, str]) -> EmailMessage:
    return mail(body, subject=f"Re: {answer['Subject']}", headers=headers)


# ---------------------------------------------------------------- the road: stored once, answered, threaded


def test_a_mail_is_stored_once_and_answered_threaded_to_it_in_its_language(mail_svc, listener, outgoing):
    first = mail(message_id="<first-1@mail.example.com>")
    assert send(listener, first)[0] == 250
    assert send(listener, first)[0] == 250  # the sending server retries a mail it thinks was lost

    [conversation] = conversations(mail_svc)
    assert conversation.channel_thread == token_for("<first-1@mail.example.com>")
    [received] = inbound(mail_svc, conversation.id)
    assert received.provider_message_id == "<first-1@mail.example.com>"
    assert received.body == "My top-up failed this morning, where is my money?"
    assert mail_svc.intake.events(channel="email")[0].status == "done"
    assert len(mail_svc.intake.events(channel="email")) == 1
    [answer] = outgoing.mails()  # answered once
    token = conversation.channel_thread
    assert answer["To"] == BUDI
    assert answer["From"].addresses[0].addr_spec == f"care+{token}@gopay.test"
    assert answer["In-Reply-To"] == "<first-1@mail.example.com>"
    assert answer["References"] == "<first-1@mail.example.com>"
    assert answer["Subject"] == f"Re: Top-up failed [#{token}]"
    assert answer["Auto-Submitted"] == "auto-replied"
    assert answer["Message-ID"].startswith("<outbox-") and f".{token}@" in answer["Message-ID"]
    text = answer.get_content()
    assert text.strip() and not CJK.search(text)


def test_a_chinese_mail_is_answered_in_chinese(mail_svc, listener, outgoing):
    assert send(listener, mail("我的充值失败了，钱在哪里？", subject="充值失败"))[0] == 250
    [answer] = outgoing.mails()
    assert CJK.search(answer.get_content())


def test_a_gmail_reply_threads_back_and_its_quoted_history_is_kept_apart(mail_svc, listener, outgoing):
    send(listener, mail(message_id="<root-1@mail.gmail.com>"))
    [answer] = outgoing.mails()
    gmail = reply_to(answer, "It was 150rb with BCA.\n\nOn Wed, 25 Nov 2026 at 10:01, GoPay Care "
                             f"<{answer['From'].addresses[0].addr_spec}>\nwrote:\n> {answer.get_content().strip()}\n",
                     headers={"In-Reply-To": answer["Message-ID"],
                              "References": f"<root-1@mail.gmail.com> {answer['Message-ID']}"})
    assert send(listener, gmail)[0] == 250

    [conversation] = conversations(mail_svc)
    first, second = inbound(mail_svc, conversation.id)
    assert second.body == "It was 150rb with BCA."
    [full] = [a for a in second.attachments if a["type"] == "full_text"]
    assert "wrote:" in full["text"] and full["text"].startswith("It was 150rb with BCA.")
    # The answer to the reply names the reply, and the thread's root
    latest = outgoing.mails()[-1]
    assert latest["In-Reply-To"] == gmail["Message-ID"]
    assert latest["References"].split()[0] == "<root-1@mail.gmail.com>"
    assert gmail["Message-ID"] in latest["References"].split()


def test_an_outlook_reply_threads_back_by_in_reply_to_or_by_the_reply_address(mail_svc, listener, outgoing):
    send(listener, mail(message_id="<root-2@outlook.example.com>"))
    [answer] = outgoing.mails()
    quoted = (f"Still not there.\n\n-----Original Message-----\nFrom: GoPay Care <{CARE}>\n"
              f"Sent: Wednesday, November 25, 2026 10:01 AM\nTo: {BUDI}\nSubject: {answer['Subject']}\n\n"
              f"{answer.get_content()}")
    # Outlook: In-Reply-To and a Thread-Index, no References
    outlook = reply_to(answer, quoted, headers={"In-Reply-To": answer["Message-ID"],
                                                "Thread-Index": "AQHZ1234567890abcdefghijklmnop=="})
    assert send(listener, outlook)[0] == 250
    # Outlook again, from a profile that dropped In-Reply-To: only the address it answers
    bare = mail("Any news?\n\n________________________________\nFrom: GoPay Care\nSent: today\n\nold text",
                subject="RE: Top-up failed", to=answer["From"].addresses[0].addr_spec,
                headers={"Thread-Index": "AQHZ1234567890abcdefghijklmnop==AAAA"})
    assert send(listener, bare, to=answer["From"].addresses[0].addr_spec)[0] == 250

    [conversation] = conversations(mail_svc)
    assert [m.body for m in inbound(mail_svc, conversation.id)][1:] == ["Still not there.", "Any news?"]


def test_a_reply_with_only_the_subject_tag_threads_for_the_same_sender(mail_svc, listener, outgoing):
    send(listener, mail())
    [answer] = outgoing.mails()
    token = conversations(mail_svc)[0].channel_thread
    # A client that keeps no header at all, written to the plain address: the tag is what is left
    assert send(listener, mail("Any news on this?", subject=f"Re: Top-up failed [#{token}]"))[0] == 250
    [conversation] = conversations(mail_svc)
    assert [m.body for m in inbound(mail_svc, conversation.id)][-1] == "Any news on this?"
    assert answer["Subject"].endswith(f"[#{token}]")


def test_another_sender_with_the_same_subject_tag_or_references_never_joins_the_conversation(mail_svc, listener,
                                                                                             outgoing):
    send(listener, mail(message_id="<root-3@mail.example.com>"))
    [answer] = outgoing.mails()
    [budis] = conversations(mail_svc)
    token = budis.channel_thread
    same_subject = mail("My top-up failed too", sender=f"Siti <{SITI}>", subject="Top-up failed")
    tag_and_references = mail("I saw this thread", sender=f"Siti <{SITI}>", subject=f"Re: Top-up failed [#{token}]",
                              headers={"In-Reply-To": answer["Message-ID"], "References": "<root-3@mail.example.com>"})
    assert send(listener, same_subject, mail_from=SITI)[0] == 250
    assert send(listener, tag_and_references, mail_from=SITI)[0] == 250

    found = conversations(mail_svc)
    assert len(inbound(mail_svc, budis.id)) == 1  # Budi's conversation has Budi's mail only
    sitis = [c for c in found if c.id != budis.id]
    assert sitis and all(c.contact_id != budis.contact_id for c in sitis)
    assert sorted(m.body for c in sitis for m in inbound(mail_svc, c.id)) == ["I saw this thread",
                                                                              "My top-up failed too"]


def test_a_new_mail_from_the_same_sender_opens_its_own_conversation(mail_svc, listener, outgoing):
    send(listener, mail())
    send(listener, mail("How do I upgrade to GoPay Plus?", subject="Upgrade"))
    first, second = conversations(mail_svc)
    assert first.contact_id == second.contact_id and first.channel_thread != second.channel_thread


# ---------------------------------------------------------------- RFC 3834: stored, never answered


@pytest.mark.parametrize(("headers", "sender", "mail_from"), [
    ({"Auto-Submitted": "auto-replied"}, f"Budi <{BUDI}>", BUDI),
    ({"Auto-Submitted": "auto-generated; owner-email=x@example.com"}, f"Budi <{BUDI}>", BUDI),
    ({"Precedence": "bulk"}, f"Budi <{BUDI}>", BUDI),
    ({"Precedence": "list"}, f"Budi <{BUDI}>", BUDI),
    ({"Precedence": "junk"}, f"Budi <{BUDI}>", BUDI),
    ({"List-Id": "<promos.shop.example.com>"}, "Shop <news@shop.example.com>", "news@shop.example.com"),
    ({"List-Unsubscribe": "<mailto:leave@shop.example.com>"}, "Shop <news@shop.example.com>",
     "bounce@shop.example.com"),
    ({}, "Mail Delivery System <MAILER-DAEMON@mx.example.com>", "MAILER-DAEMON@mx.example.com"),
    ({}, f"Budi <{BUDI}>", "<>"),
    ({"X-Auto-Response-Suppress": "All"}, f"Budi <{BUDI}>", BUDI),
])
def test_automatic_mail_is_stored_but_never_answered(mail_svc, listener, outgoing, headers, sender, mail_from):
    message = mail("I am out of the office until Monday.", sender=sender, headers=headers)
    with smtplib.SMTP(listener.host, listener.port, timeout=30) as smtp:
        smtp.ehlo("client.example.com")
        smtp.docmd("MAIL FROM:" + (mail_from if mail_from == "<>" else f"<{mail_from}>"))
        smtp.rcpt(CARE)
        assert smtp.data(message.as_bytes(policy=message.policy.clone(linesep="\r\n")))[0] == 250

    [conversation] = conversations(mail_svc)
    [stored] = messages(mail_svc, conversation.id)  # the customer's mail, and nothing answered it
    assert stored.body == "I am out of the office until Monday."
    assert outgoing.mails() == []
    assert [m for m in mail_svc.outbox.latest() if m.channel == "email"] == []


def test_auto_submitted_no_is_a_person_writing_and_is_answered(mail_svc, listener, outgoing):
    send(listener, mail(headers={"Auto-Submitted": "no"}))
    assert len(outgoing.mails()) == 1


def test_a_bounce_of_our_reply_fails_that_reply_and_is_never_answered(mail_svc, listener, outgoing):
    send(listener, mail())
    [answer] = outgoing.mails()
    # As Postfix writes it (RFC 3464): the notice, the status per recipient, the bounced mail's headers
    bounce = (
        "From: MAILER-DAEMON@mx.gopay.test (Mail Delivery System)\n"
        f"To: {CARE}\nSubject: Undelivered Mail Returned to Sender\nMessage-ID: <bounce-1@mx.gopay.test>\n"
        "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B1"\n\n'
        "--B1\nContent-Description: Notification\nContent-Type: text/plain; charset=us-ascii\n\n"
        "This is the mail system at host mx.gopay.test. Your message could not be delivered.\n\n"
        "--B1\nContent-Description: Delivery report\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mx.gopay.test\nArrival-Date: Wed, 25 Nov 2026 10:01:00 +0700\n\n"
        f"Final-Recipient: rfc822; {BUDI}\nOriginal-Recipient: rfc822;{BUDI}\nAction: failed\nStatus: 5.1.1\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <budi@example.com>: user unknown\n\n"
        "--B1\nContent-Description: Undelivered Message Headers\nContent-Type: text/rfc822-headers\n\n"
        f"From: {answer['From']}\nTo: {BUDI}\nSubject: {answer['Subject']}\nMessage-ID: {answer['Message-ID']}\n\n"
        "--B1--\n").replace("\n", "\r\n").encode()
    with smtplib.SMTP(listener.host, listener.port, timeout=30) as smtp:
        smtp.ehlo("mx.gopay.test")
        smtp.docmd("MAIL FROM:<>")
        smtp.rcpt(CARE)
        assert smtp.data(bounce)[0] == 250

    [reply] = [m for m in mail_svc.outbox.latest() if m.channel == "email"]
    assert reply.status == "failed" and "5.1.1" in (reply.last_error or "")
    [conversation] = conversations(mail_svc)  # no conversation with the mailer
    [ours] = [m for m in messages(mail_svc, conversation.id) if m.direction == "out"]
    assert ours.delivery_status == "failed"  # the agent sees the reply did not arrive
    assert len(outgoing.mails()) == 1  # and nobody answered the bounce


# ---------------------------------------------------------------- what a mail carries


def test_attachments_are_stored_with_their_sniffed_type_and_html_only_mail_is_read(mail_svc, listener, outgoing):
    message = mail("Here is my receipt.")
    message.add_attachment(b"%PDF-1.4 " + b"x" * 2000, maintype="application", subtype="pdf",
                           filename="receipt.pdf")
    send(listener, message)
    html = EmailMessage()
    html["From"], html["To"], html["Subject"] = f"Budi <{BUDI}>", CARE, "Saldo"
    html["Message-ID"] = "<html-1@mail.example.com>"
    html.set_content("<html><body><p>Saldo saya <b>hilang</b></p><script>x()</script></body></html>", subtype="html")
    send(listener, html)

    first, second = conversations(mail_svc)
    [received] = inbound(mail_svc, first.id)
    [entry] = received.attachments
    assert {k: entry[k] for k in ("type", "state", "kind", "content_type", "name", "size")} == {
        "type": "file", "state": "stored", "kind": "document", "content_type": "application/pdf",
        "name": "receipt.pdf", "size": 2009}
    assert mail_svc.files.content(entry["attachment_id"]) == b"%PDF-1.4 " + b"x" * 2000
    assert inbound(mail_svc, second.id)[0].body == "Saldo saya hilang"  # the script is not text


def test_a_broken_mime_mail_is_kept_raw_with_its_error_and_not_answered(mail_svc, listener, outgoing):
    raw = (b"From: Budi <budi@example.com>\r\nTo: care@gopay.test\r\nSubject: broken\r\n"
           b"Message-ID: <broken-1@mail.example.com>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n\r\n"
           b"--nowhere\r\nContent-Type: text/plain\r\n\r\nmy balance is wrong\r\n")
    assert send(listener, raw)[0] == 250

    [conversation] = conversations(mail_svc)
    [stored] = messages(mail_svc, conversation.id)
    assert "my balance is wrong" in stored.body
    [kept] = [a for a in stored.attachments if a["type"] == "raw_mime"]
    assert "Boundary" in kept["error"] and "--nowhere" in kept["text"]
    assert outgoing.mails() == []


def test_a_mail_without_message_id_is_keyed_by_its_bytes(mail_svc, listener, outgoing):
    raw = b"From: budi@example.com\r\nTo: care@gopay.test\r\nSubject: hi\r\n\r\nmy payment failed\r\n"
    send(listener, raw)
    send(listener, raw)
    [conversation] = conversations(mail_svc)
    [received] = inbound(mail_svc, conversation.id)
    assert received.provider_message_id.startswith("sha256:")


# ---------------------------------------------------------------- limits and hostile input


def test_a_mail_over_the_size_limit_is_refused_with_552(mail_svc, listener, outgoing):
    big = mail("x" * 900 + "\n" * 0, headers={"X-Filler": "y"})
    big.add_attachment(b"z" * (MAX_BYTES + 10_000), maintype="application", subtype="octet-stream",
                       filename="big.bin")
    assert send(listener, big)[0] == 552
    with smtplib.SMTP(listener.host, listener.port, timeout=30) as smtp:  # announced in MAIL FROM
        smtp.ehlo("client.example.com")
        assert smtp.mail(BUDI, [f"SIZE={MAX_BYTES * 2}"])[0] == 552
    assert conversations(mail_svc) == []
    assert send(listener, mail())[0] == 250  # the listener goes on


@pytest.mark.parametrize("raw", [
    b"From: budi@example.com\r\nSubject: nul\x00here\r\nMessage-ID: <nul-1@x>\r\n\r\nmy\x00 payment\x00 failed\r\n",
    b"From: budi@example.com\r\nSubject: huge\r\nX-Junk: " + b"a" * 900 + (b"\r\n " + b"b" * 900) * 200
    + b"\r\n\r\nmy payment failed\r\n",
    b"From: budi@example.com\r\nSubject: =?klingon?q?tlhIngan?=\r\nContent-Type: text/plain; charset=klingon\r\n\r\n"
    b"my payment failed \xff\xfe\r\n",
    b"From: budi@example.com\r\nSubject: latin\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    b"pembayaran gagal \xe9\xe8\r\n",
    b"From: =?utf-8?b?!!!notbase64?= <budi@example.com>\r\nSubject: =?utf-8?q?=ZZ?=\r\n\r\nhalo\r\n",
    b"From: \xc3\x28 <budi@example.com>\r\nTo: \r\nSubject: \xff\r\nReferences: " + b"<a@b>\r\n " * 3000
    + b"\r\n\r\nhi\r\n",
    b"Content-Type: multipart/alternative; boundary=\"b\"\r\nFrom: budi@example.com\r\n\r\n--b\r\n--b\r\n--b--\r\n",
    b"\r\n\r\n",
    b"From: budi@example.com\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!not base64 at all====\r\n",
    b"From: budi@example.com\r\nContent-Type: message/rfc822\r\n\r\nFrom: inner@example.com\r\n\r\nnested\r\n",
])
def test_hostile_mail_is_stored_or_refused_and_never_crashes_the_listener(mail_svc, listener, outgoing, raw):
    code, _ = send(listener, raw)
    assert code in (250, 550)
    for event in mail_svc.intake.events(channel="email"):
        assert event.status == "done", event.last_error
    for conversation in conversations(mail_svc):
        for message in messages(mail_svc, conversation.id):
            assert "\x00" not in message.body
    assert send(listener, mail(message_id="<after@mail.example.com>"))[0] == 250


def test_an_over_long_line_is_refused_and_a_mail_naming_no_sender_is_refused(mail_svc, listener):
    assert send(listener, b"From: budi@example.com\r\nSubject: x\r\n\r\n" + b"a" * 5000 + b"\r\n")[0] == 500
    with smtplib.SMTP(listener.host, listener.port, timeout=30) as smtp:
        smtp.ehlo("client.example.com")
        smtp.docmd("MAIL FROM:<>")
        smtp.rcpt(CARE)
        assert smtp.data(b"Subject: nobody\r\n\r\nwho am I\r\n")[0] == 550
    assert conversations(mail_svc) == []
    assert send(listener, mail())[0] == 250


# ---------------------------------------------------------------- settings and start-up


def test_the_listener_is_off_when_disabled_and_serve_survives_a_taken_port(mail_svc):
    from gopaycare.cli import _start_email_listener

    off = mail_svc.settings.model_copy(update={"inbound_smtp_enabled": False})
    assert email_listener_from_settings(off, mail_svc.email_inbound) is None
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        mail_svc.settings = mail_svc.settings.model_copy(update={"inbound_smtp_port": port})
        assert _start_email_listener(mail_svc) is None


def test_the_default_settings_listen_on_loopback_2525():
    from gopaycare.platform.settings import Settings

    defaults = Settings(_env_file=None)
    assert (defaults.inbound_smtp_enabled, defaults.inbound_smtp_host, defaults.inbound_smtp_port) == (
        True, "127.0.0.1", 2525)

"""Which conversation a mail belongs to: its thread token, kept as the conversation's `channel_thread`.

A token is ten base32 letters derived from the Message-ID that started the thread. Our replies carry
it three ways, so whatever the customer's mail client keeps, the answer finds its conversation:
- in our Message-ID (`<outbox-<id>.<token>@gopaycare>`), which a reply names in In-Reply-To and
  References (Gmail keeps both; Outlook keeps at least In-Reply-To);
- in the address the reply goes to (`care+<token>@domain`: our From);
- in the subject (`[#<token>]`), for a client that keeps neither.
A mail that names none of these but answers an earlier mail (References' first id, the thread's
root, or In-Reply-To) gets the token of that root, which is the token the first mail got; a new
mail starts a thread of its own.

The desk finds a conversation by its contact and this token, so a token never joins the mails of two
different senders: someone else's mail with the same subject, tag or references opens their own
conversation.
"""

from __future__ import annotations

import base64
import hashlib
import re
from email.utils import formataddr, parseaddr

TOKEN = re.compile(r"^[a-z2-7]{10}$")
_OUR_ID = re.compile(r"^<outbox-\d+\.([a-z2-7]{10})@gopaycare>$")
_TAG = re.compile(r"\[#([a-z2-7]{10})\]", re.IGNORECASE)
_PLUS = re.compile(r"^[^@+]+\+([a-z2-7]{10})@", re.IGNORECASE)


def is_ours(message_id: str) -> bool:
    """A Message-ID we gave (a reply, a code): what a bounce of our mail names."""
    return message_id.startswith("<outbox-") and message_id.endswith("@gopaycare>")


def clean_subject(subject: str) -> str:
    """The subject without our thread tag (the reply puts it back)."""
    return " ".join(_TAG.sub(" ", subject).split())


def token_for(root_message_id: str) -> str:
    digest = hashlib.sha256(root_message_id.encode("utf-8", errors="replace")).digest()
    return base64.b32encode(digest).decode()[:10].lower()


def is_token(value: str | None) -> bool:
    return bool(value and TOKEN.match(value))


def thread_token(*, message_id: str, in_reply_to: list[str], references: list[str], recipients: list[str],
                 subject: str) -> str:
    for found in [*in_reply_to, *reversed(references)]:
        if match := _OUR_ID.match(found):
            return match.group(1)
    for address in recipients:
        if match := _PLUS.match(address):
            return match.group(1).lower()
    if match := _TAG.search(subject):
        return match.group(1).lower()
    root = references[0] if references else in_reply_to[0] if in_reply_to else message_id
    return token_for(root)


# ---------------------------------------------------------------- what our replies carry


def our_message_id(outbox_id: int, token: str | None) -> str:
    return f"<outbox-{outbox_id}.{token}@gopaycare>" if token else f"<outbox-{outbox_id}@gopaycare>"


def reply_address(sender: str, token: str) -> str:
    """`GoPay Care <care@gopay.test>` answering thread `token` is `GoPay Care <care+token@gopay.test>`."""
    name, address = parseaddr(sender)
    local, at, domain = address.partition("@")
    if not at:
        return sender
    return formataddr((name, f"{local.split('+')[0]}+{token}@{domain}"))


def tagged_subject(subject: str | None, token: str) -> str:
    subject = (subject or "").strip()
    if _TAG.search(subject):
        return subject
    if not subject.lower().startswith(("re:", "aw:", "balas:", "回复")):
        subject = f"Re: {subject}" if subject else "Re:"
    return f"{subject} [#{token}]"

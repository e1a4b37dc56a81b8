"""Public comments on the operator's Facebook page and Instagram posts: heard on the Messenger
callback (`messenger.py`), answered privately, and publicly only with what anyone may read.

Inbound: a page's `changes` with field `feed` and a value of item `comment`, verb `add` (Facebook),
or field `comments` (Instagram) become messages on the channel `messenger` or `instagram`, marked
`public`, whose thread is `comment:<comment id>`. The channel stays the page's (no channel of its
own: the same people, the same inbox and the same Send API; the thread is what makes a comment's
conversation public). Each comment opens its own conversation. The commenter's id is the
identity: on Instagram it is the same IGSID as in direct messages; on Facebook a comment gives the
person's id, not the Messenger PSID, so a commenter who answers in Messenger is a second contact
until an agent merges them. Comments by the page itself (our own public replies coming back) are
ignored, and so are edits and removals.

Outbound on a comment's thread (`send`): an outbox message of purpose `public_reply` is posted
under the comment (`POST /{comment-id}/comments` on Facebook, `/{comment-id}/replies` on Instagram)
and refused if it carries a phone, ID or card number (the desk refuses it before queuing too:
`desk/posting.py`); any other reply is a private reply, `POST /me/messages` with `recipient:
{"comment_id": …}`: one message per comment, within 7 days, so it is not cut into pieces. Once the
customer answers it, the conversation goes on in their inbox as direct messages.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from ..platform.outbox import DeliveryRefused, OutboxMessage
from ..platform.pii import personal_data
from ..vocabulary import COMMENT_THREAD_PREFIX
from .intake import Event, InboundMessage
from .sending import pieces
from .webhook import ident, items, obj, text

MAX_PUBLIC_TEXT = 2000  # Instagram's comment limit is 2,200; Facebook's far above
MAX_PRIVATE_TEXT = 2000
PUBLIC_PATH = {"messenger": "comments", "instagram": "replies"}
_COMMENT_ID = re.compile(r"\d{1,40}(?:_\d{1,40}){0,2}")  # Facebook: <post>_<comment>; Instagram: digits


def entry_events(channel: str, account: str, entry: dict[str, Any], account_id: int | None = None) -> list[Event]:
    found: list[Event] = []
    for change in items(entry.get("changes")):
        value, field = obj(change.get("value")), text(change.get("field"), 20)
        if channel == "messenger" and field == "feed" and value.get("item") == "comment" and value.get("verb") == "add":
            comment_id, body = ident(value.get("comment_id")), text(value.get("message"))
            name = text(obj(value.get("from")).get("name"), 120)
        elif channel == "instagram" and field == "comments":
            comment_id, body = ident(value.get("id")), text(value.get("text"))
            name = text(obj(value.get("from")).get("username"), 120)
        else:
            continue
        author = ident(obj(value.get("from")).get("id"))
        if not author.isdecimal() or author == account or not _COMMENT_ID.fullmatch(comment_id) or not body.strip():
            continue  # the page's own comment, or one we cannot answer (no id, no text: a sticker)
        found.append(InboundMessage(channel=channel, identity_kind=channel, identity_value=author, body=body,
                                    provider_message_id=f"{COMMENT_THREAD_PREFIX}{comment_id}",
                                    thread=f"{COMMENT_THREAD_PREFIX}{comment_id}", name=name or None, public=True,
                                    account=account_id))
    return found


def comment_of(thread: str | None) -> str | None:
    """The comment a conversation's thread is about, if it is a comment's."""
    if thread and thread.startswith(COMMENT_THREAD_PREFIX):
        comment_id = thread[len(COMMENT_THREAD_PREFIX):]
        return comment_id if _COMMENT_ID.fullmatch(comment_id) else None
    return None


class GraphPoster(Protocol):
    channel: str

    def post(self, path: str, payload: dict[str, Any]) -> str | None: ...


def send(graph: GraphPoster, message: OutboxMessage, comment_id: str) -> str | None:
    if message.purpose == "public_reply":
        found = personal_data(message.body)
        if found:  # the desk refuses it before queuing; this is the last door before everyone reads it
            raise DeliveryRefused(f"a public reply must not carry personal data ({', '.join(found)})")
        last_id = None
        for piece in pieces(message.body, MAX_PUBLIC_TEXT):
            last_id = graph.post(f"{comment_id}/{PUBLIC_PATH[graph.channel]}", {"message": piece})
        return last_id
    if len(message.body) > MAX_PRIVATE_TEXT:
        raise DeliveryRefused(f"a private reply to a comment is one message of at most {MAX_PRIVATE_TEXT} "
                              "characters")
    return graph.post("me/messages", {"recipient": {"comment_id": comment_id}, "message": {"text": message.body}})

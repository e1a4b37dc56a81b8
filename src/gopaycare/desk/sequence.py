"""The order in which a customer sees their conversation: one sequence number per conversation.

A message gets its number when the customer can see it: their own message when it is stored, a
reply when it has left the outbox (the chat's sender released it), never an internal note. The
number comes from the conversation's counter, taken with an UPDATE whose row lock is held until
the transaction commits, so numbers become visible in commit order: a client that has seen up to N
and asks "after N" never misses a message committed later with a smaller number. (Message ids
cannot do this: they are given at insert, and transactions commit in another order.)
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from .models import Conversation, Message


def stamp(s: Session, message: Message) -> int:
    """Give `message` the conversation's next number (once: a numbered message keeps its own)."""
    if message.seq is None:
        message.seq = s.execute(
            update(Conversation).where(Conversation.id == message.conversation_id)
            .values(last_seq=Conversation.last_seq + 1).returning(Conversation.last_seq)
        ).scalar_one()
    return message.seq


def stamp_new(s: Session, conversation: Conversation, message: Message, now: datetime) -> None:
    """Number a message before it is inserted, and move the conversation's last-message time in the
    same statement (a customer's message: one UPDATE instead of three)."""
    seq, = s.execute(
        update(Conversation).where(Conversation.id == conversation.id)
        .values(last_seq=Conversation.last_seq + 1, last_message_at=now).returning(Conversation.last_seq)
    ).one()
    message.seq = seq
    set_committed_value(conversation, "last_seq", seq)
    set_committed_value(conversation, "last_message_at", now)

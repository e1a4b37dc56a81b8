"""Contacts and their channel identities.

Phone-like identities (phone, WhatsApp) are normalized to E.164 and emails to lower case, so one
person writing from "0812-3456-7890" and "+62 812 3456 7890" is one contact (a Chatwoot pain
point). A new identity that matches a wallet customer's registered phone or email is linked to
that customer's contact at once; other identities join a contact when verified, or by a merge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..identity.contacts import normalize_email, normalize_phone
from ..platform import audit
from ..platform.audit import Actor
from ..platform.errors import Conflict, NotFound, ValidationFailed
from .models import IDENTITY_KINDS, Contact, ContactIdentity, Conversation, Ticket

PHONE_KINDS = ("phone", "whatsapp")


@dataclass(frozen=True)
class CustomerRef:
    """What the desk knows of a wallet customer (from identity and the wallet, see customers.py)."""

    id: int
    name: str
    language: str
    phone: str
    email: str | None
    # None: not looked up (a wallet read), since only a new ticket needs it (`CustomerDirectory.tier`).
    tier: str | None = "basic"
    locked: bool = False  # too many wrong passwords
    frozen: bool = False  # payments stopped




def normalize_identity(kind: str, value: str) -> str:
    if kind not in IDENTITY_KINDS:
        raise ValidationFailed(f"identity kind must be one of {', '.join(IDENTITY_KINDS)}", field="kind")
    if kind in PHONE_KINDS:
        return normalize_phone(value)
    if kind == "email":
        return normalize_email(value)
    value = (value or "").strip()
    if not value or len(value) > 254:
        raise ValidationFailed("identity value is required", field="value")
    return value


def live_contact(s: Session, contact_id: int) -> Contact:
    """The contact, following merges to the one that survived."""
    contact = s.get(Contact, contact_id)
    for _ in range(10):
        if contact is None or contact.merged_into_id is None:
            break
        contact = s.get(Contact, contact.merged_into_id)
    if contact is None:
        raise NotFound("contact not found", contact_id=contact_id)
    return contact


def contact_for_customer(s: Session, customer: CustomerRef, now: datetime) -> Contact:
    contact = s.execute(select(Contact).where(Contact.customer_id == customer.id)).scalar_one_or_none()
    if contact is None:
        contact = Contact(customer_id=customer.id, name=customer.name, language=customer.language, created_at=now)
        s.add(contact)
        s.flush()
        for kind, value in (("phone", customer.phone), ("email", customer.email)):
            if value and not _identity(s, kind, value):
                s.add(ContactIdentity(contact_id=contact.id, kind=kind, value=value, verified=True, created_at=now))
        s.flush()
    return contact


def _identity(s: Session, kind: str, value: str) -> ContactIdentity | None:
    return s.execute(select(ContactIdentity).where(ContactIdentity.kind == kind,
                                                   ContactIdentity.value == value)).scalar_one_or_none()


def find_contact(s: Session, kind: str, value: str, customer: CustomerRef | None = None) -> Contact | None:
    """The contact behind an address if there is one (the wallet customer's, whose address it is),
    creating nothing: a phone ringing is not yet a conversation."""
    try:
        value = normalize_identity(kind, value)
    except ValidationFailed:
        return None
    identity = _identity(s, kind, value)
    if identity is not None:
        return live_contact(s, identity.contact_id)
    if customer is not None:
        contact = s.execute(select(Contact).where(Contact.customer_id == customer.id)).scalar_one_or_none()
        return live_contact(s, contact.id) if contact is not None else None
    return None


def resolve(s: Session, kind: str, value: str, now: datetime, *, name: str | None = None,
            language: str | None = None, customer: CustomerRef | None = None) -> Contact:
    """The contact behind a channel address, created on first contact. `customer`: the wallet
    customer whose registered phone or email this address is, if any (looked up by the caller)."""
    value = normalize_identity(kind, value)
    identity = _identity(s, kind, value)
    if identity is not None:
        return live_contact(s, identity.contact_id)
    # The same number on another phone-like channel is the same person: WhatsApp proves the number.
    sibling = s.execute(select(ContactIdentity).where(
        ContactIdentity.kind.in_([k for k in PHONE_KINDS if k != kind]), ContactIdentity.value == value)
    ).scalars().first() if kind in PHONE_KINDS else None
    if customer is not None:
        contact = contact_for_customer(s, customer, now)
        verified = True
    elif sibling is not None:
        contact = live_contact(s, sibling.contact_id)
        verified = sibling.verified
    else:
        contact = Contact(name=(name or "")[:120] or None, language=language, created_at=now)
        s.add(contact)
        s.flush()
        verified = False
    if _identity(s, kind, value) is None:
        s.add(ContactIdentity(contact_id=contact.id, kind=kind, value=value, verified=verified, created_at=now))
        s.flush()
    return contact


def identities(s: Session, contact_id: int) -> list[ContactIdentity]:
    return list(s.scalars(select(ContactIdentity).where(ContactIdentity.contact_id == contact_id)
                          .order_by(ContactIdentity.id)))


def merge(s: Session, source_id: int, target_id: int, *, actor: Actor, now: datetime) -> Contact:
    """Move everything of `source` to `target` (identities, conversations, tickets); keep history."""
    source, target = live_contact(s, source_id), live_contact(s, target_id)
    if source.id == target.id:
        raise ValidationFailed("cannot merge a contact into itself", field="target_id")
    if source.customer_id and target.customer_id and source.customer_id != target.customer_id:
        raise Conflict("these contacts belong to two different wallet customers", code="contacts_conflict")
    for model in (ContactIdentity, Conversation, Ticket):
        s.execute(update(model).where(model.contact_id == source.id).values(contact_id=target.id))
    if source.customer_id and not target.customer_id:
        customer_id, source.customer_id = source.customer_id, None
        s.flush()
        target.customer_id = customer_id
    source.merged_into_id = target.id
    audit.record(s, at=now, actor=actor, action="contact.merged", subject_type="contact", subject_id=target.id,
                 source=source.id)
    s.flush()
    return target

"""Rules: triggers (when an event happens and conditions hold, act), macros (an agent's one-click
set of actions plus a reply in the customer's language) and time-based automations (a ticket that
sat in a status for N hours gets actions, once per stay in that status).

All three share one action vocabulary and one executor. Rules are checked strictly when created:
an unknown field, operator, action or value is refused and nothing is stored, so a rule that is
stored can always run.

Triggers run inside the unit of work of the change that fired them. Their actions run directly
and never fire triggers again: a `set_status` inside `fire` would call back into `fire` through
`DeskContext.set_status`, and a flag in the session stops that re-entry. Triggers of one event run
once, in `position` order, each seeing the ticket as the earlier ones left it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, cast, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from ..platform import audit
from ..platform.audit import Actor, AuditEntry
from ..platform.db import on_commit
from ..platform.errors import Conflict, NotFound, ValidationFailed
from ..platform.i18n import DEFAULT_LANGUAGE, LANGUAGES, normalize_language
from ..wallet.rules import TIERS
from .access import Viewer, access_ticket, check_permission
from .context import DeskContext
from .models import (
    CHANNELS,
    PRIORITIES,
    SERVICE_AREAS,
    TICKET_STATUSES,
    Agent,
    Automation,
    AutomationRun,
    Conversation,
    Macro,
    Message,
    Team,
    Ticket,
    Trigger,
)
from .tickets import AGENT_STATUSES, MAX_TAGS, _tag

log = logging.getLogger(__name__)

EVENTS = ("ticket.created", "message.received", "ticket.updated", "ticket.status_changed")
# Each condition field with the values it can take (None: free text).
FIELDS: dict[str, tuple[str, ...] | None] = {
    "area": SERVICE_AREAS, "priority": PRIORITIES, "status": TICKET_STATUSES, "channel": CHANNELS,
    "language": LANGUAGES, "customer_tier": TIERS, "tags": None, "subject": None,
}
VALUE_OPS = ("is", "is_not", "in")
TEXT_OPS = ("contains", "not_contains")
# Each action with the one parameter it takes.
ACTIONS = {
    "set_priority": "priority", "set_area": "area", "add_tag": "tag", "remove_tag": "tag",
    "assign_team": "team_id", "assign_agent": "agent_id", "set_status": "status", "add_note": "text",
    "send_reply": "text",
}
# What automations may look at: a closed or merged ticket has nothing left to wait for.
AUTOMATION_STATUSES = ("new", "open", "pending_customer", "on_hold", "solved")
MAX_AFTER_HOURS = 24 * 365
MAX_TEXT = 5_000
# Tickets one automation handles per run; the rest wait for the next run (every 5 minutes).
AUTOMATION_BATCH = 500

_FIRING = "gopaycare_rules_firing"


# ---------------------------------------------------------------- validation


def _name(value: str) -> str:
    name = (value or "").strip() if isinstance(value, str) else ""
    if not 1 <= len(name) <= 80:
        raise ValidationFailed("a name is 1 to 80 characters", field="name")
    return name


def _text(value: Any, field: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not 1 <= len(text) <= MAX_TEXT:
        raise ValidationFailed(f"a text is 1 to {MAX_TEXT} characters", field=field)
    return text


def _translations(value: Any, field: str) -> dict[str, str]:
    """One text per supported language, no more, no less."""
    if not isinstance(value, dict) or set(value) != set(LANGUAGES):
        raise ValidationFailed(f"give the text in each of {', '.join(LANGUAGES)}", field=field)
    return {lang: _text(value[lang], field) for lang in LANGUAGES}


def _one_of(value: Any, allowed: Iterable[str], field: str) -> str:
    allowed = tuple(allowed)
    if not isinstance(value, str) or value not in allowed:
        raise ValidationFailed(f"{field} must be one of {', '.join(allowed)}", field=field, value=value)
    return value


def _id(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValidationFailed(f"{field} must be a positive id", field=field)
    return value


def check_conditions(conditions: Any) -> list[dict[str, Any]]:
    if not isinstance(conditions, list):
        raise ValidationFailed("conditions must be a list", field="conditions")
    checked = []
    for condition in conditions:
        if not isinstance(condition, dict) or set(condition) != {"field", "op", "value"}:
            raise ValidationFailed('a condition is {"field", "op", "value"}', field="conditions")
        field = _one_of(condition["field"], FIELDS, "field")
        values, value = FIELDS[field], condition["value"]
        op = _one_of(condition["op"], VALUE_OPS if values is not None else TEXT_OPS, "op")
        if field == "tags":
            value = _tag(value) if isinstance(value, str) else _tag("")
        elif field == "subject":
            value = _text(value, "value")
        elif op == "in":
            if not isinstance(value, list) or not value:
                raise ValidationFailed("`in` needs a non-empty list of values", field="value")
            value = [_one_of(v, values or (), "value") for v in value]
        else:
            value = _one_of(value, values or (), "value")
        checked.append({"field": field, "op": op, "value": value})
    return checked


def check_actions(s: Session, actions: Any, *, allowed: Iterable[str] = ACTIONS) -> list[dict[str, Any]]:
    allowed = tuple(allowed)
    if not isinstance(actions, list):
        raise ValidationFailed("actions must be a list", field="actions")
    checked = []
    for action in actions:
        kind = action.get("type") if isinstance(action, dict) else None
        if kind not in allowed:
            raise ValidationFailed(f"an action type is one of {', '.join(allowed)}", field="actions", type=kind)
        param = ACTIONS[kind]
        if set(action) != {"type", param}:
            raise ValidationFailed(f"the {kind} action takes exactly {param!r}", field="actions")
        value = action[param]
        if kind == "set_priority":
            value = _one_of(value, PRIORITIES, "priority")
        elif kind == "set_area":
            value = _one_of(value, SERVICE_AREAS, "area")
        elif kind in ("add_tag", "remove_tag"):
            value = _tag(value) if isinstance(value, str) else _tag("")
        elif kind == "set_status":
            value = _one_of(value, AGENT_STATUSES, "status")
        elif kind == "add_note":
            value = _text(value, "text")
        elif kind == "send_reply":
            value = _translations(value, "text")
        elif kind == "assign_team":
            if s.get(Team, _id(value, "team_id")) is None:
                raise ValidationFailed("no such team", field="team_id", team_id=value)
        elif kind == "assign_agent":
            agent = s.get(Agent, _id(value, "agent_id"))
            if agent is None or not agent.active:
                raise ValidationFailed("no such active agent", field="agent_id", agent_id=value)
        checked.append({"type": kind, param: value})
    return checked


# ---------------------------------------------------------------- conditions


def matches(ticket: Ticket, condition: dict[str, Any]) -> bool:
    field, op, value = condition["field"], condition["op"], condition["value"]
    if field in ("tags", "subject"):
        found = value in ticket.tags if field == "tags" else value.casefold() in ticket.subject.casefold()
        return found if op == "contains" else not found
    actual = getattr(ticket, field)
    if op == "is":
        return bool(actual == value)
    if op == "is_not":
        return bool(actual != value)
    return actual in value


def conversation_of(s: Session, ticket: Ticket) -> Conversation | None:
    """The conversation a ticket is answered on (its latest one)."""
    return s.execute(select(Conversation).where(Conversation.ticket_id == ticket.id)
                     .order_by(Conversation.id.desc()).limit(1)).scalar_one_or_none()


def _status_since(status: str) -> ColumnElement[datetime]:
    """Since when a ticket has been in its current status: the time of the last status change
    (the audit log has it for every change made through `DeskContext.set_status`), or its
    creation. Updates that leave the status alone (a note, a reminder) do not restart it."""
    if status == "solved":
        return Ticket.solved_at
    last_change = (select(func.max(AuditEntry.at))
                   .where(AuditEntry.subject_type == "ticket", AuditEntry.subject_id == cast(Ticket.id, String),
                          AuditEntry.action == "ticket.status_changed")
                   .correlate(Ticket).scalar_subquery())
    return func.coalesce(last_change, Ticket.created_at, type_=Ticket.created_at.type)


class Rules:
    def __init__(self, ctx: DeskContext) -> None:
        self.ctx = ctx

    # ---------------------------------------------------------------- creating rules

    def create_trigger(self, name: str, *, event: str, conditions: list[dict[str, Any]],
                       actions: list[dict[str, Any]], position: int = 0) -> int:
        name = _name(name)
        _one_of(event, EVENTS, "event")
        checked_conditions = check_conditions(conditions)
        if isinstance(position, bool) or not isinstance(position, int) or position < 0:
            raise ValidationFailed("position is a whole number from 0", field="position")
        now = self.ctx.clock.now()
        with self.ctx.db.transaction() as s:
            checked_actions = check_actions(s, actions)
            if not checked_actions:
                raise ValidationFailed("a trigger needs at least one action", field="actions")
            trigger = Trigger(name=name, event=event, conditions=checked_conditions, actions=checked_actions,
                              position=position, active=True, created_at=now)
            s.add(trigger)
            s.flush()
            audit.record(s, at=now, actor=Actor.system(), action="trigger.created", subject_type="trigger",
                         subject_id=trigger.id, name=name, event=event)
            return trigger.id

    def create_macro(self, name: str, *, actions: list[dict[str, Any]], reply: dict[str, str]) -> int:
        name = _name(name)
        checked_reply = _translations(reply, "reply")
        now = self.ctx.clock.now()
        try:
            with self.ctx.db.transaction() as s:
                # The macro's reply is its `reply`, written by the agent who applies it.
                checked_actions = check_actions(s, actions, allowed=[a for a in ACTIONS if a != "send_reply"])
                if s.execute(select(Macro.id).where(Macro.name == name)).first() is not None:
                    raise Conflict("a macro with this name exists", code="macro_exists")
                macro = Macro(name=name, actions=checked_actions, reply=checked_reply, created_at=now)
                s.add(macro)
                s.flush()
                audit.record(s, at=now, actor=Actor.system(), action="macro.created", subject_type="macro",
                             subject_id=macro.id, name=name)
                return macro.id
        except IntegrityError:
            raise Conflict("a macro with this name exists", code="macro_exists") from None

    def create_automation(self, name: str, *, status: str, after_hours: int, actions: list[dict[str, Any]]) -> int:
        name = _name(name)
        _one_of(status, AUTOMATION_STATUSES, "status")
        if isinstance(after_hours, bool) or not isinstance(after_hours, int) or \
                not 1 <= after_hours <= MAX_AFTER_HOURS:
            raise ValidationFailed(f"after_hours is 1 to {MAX_AFTER_HOURS}", field="after_hours")
        now = self.ctx.clock.now()
        with self.ctx.db.transaction() as s:
            checked_actions = check_actions(s, actions)
            if not checked_actions:
                raise ValidationFailed("an automation needs at least one action", field="actions")
            automation = Automation(name=name, status=status, after_hours=after_hours, actions=checked_actions,
                                    active=True, created_at=now)
            s.add(automation)
            s.flush()
            audit.record(s, at=now, actor=Actor.system(), action="automation.created", subject_type="automation",
                         subject_id=automation.id, name=name, status=status, after_hours=after_hours)
            return automation.id

    # ---------------------------------------------------------------- triggers

    def fire(self, s: Session, event: str, ticket: Ticket, now: datetime) -> None:
        """Run the active triggers of `event` on `ticket`, inside the caller's unit of work."""
        firing: set[int] = s.info.setdefault(_FIRING, set())
        if ticket.id in firing:
            return  # an action of a running trigger changed the ticket: no second cycle
        triggers = list(s.scalars(select(Trigger).where(Trigger.event == event, Trigger.active.is_(True))
                                  .order_by(Trigger.position, Trigger.id)))
        if not triggers:
            return
        firing.add(ticket.id)
        try:
            changed = False
            for trigger in triggers:
                if not all(matches(ticket, c) for c in trigger.conditions):
                    continue
                applied = self._run(s, ticket, trigger.actions, now, actor=Actor.system(),
                                    reason=f"trigger {trigger.id}")
                for done in applied:
                    audit.record(s, at=now, actor=Actor.system(), action="trigger.applied", subject_type="ticket",
                                 subject_id=ticket.id, reason=f"trigger {trigger.id}", trigger_id=trigger.id,
                                 event=event, applied=done)
                changed = changed or bool(applied)
            if changed:
                self.ctx.search.index(s, ticket, now)
        finally:
            firing.discard(ticket.id)

    # ---------------------------------------------------------------- macros

    def apply_macro(self, viewer: Viewer, ticket_id: int, macro_id: int) -> int | None:
        """Apply a macro as `viewer`: its actions, then its reply in the ticket's language.

        A status change in the macro is made after the reply, so the customer reads the answer
        before anything the new status sends (the CSAT question on "solved"), and the reply counts
        for the SLA before the clocks stop. Returns the reply's message id, or None when the
        ticket has no conversation to answer on (the actions still apply)."""
        now = self.ctx.clock.now()
        actor = Actor.agent(viewer.agent.id)
        with self.ctx.db.transaction() as s:
            ticket = access_ticket(s, viewer, ticket_id, for_update=True)
            macro = s.get(Macro, macro_id)
            if macro is None:
                raise NotFound("macro not found", macro_id=macro_id)
            if ticket.status in ("closed", "merged"):
                raise Conflict(f"the ticket is {ticket.status}", code="ticket_closed", status=ticket.status)
            for action in macro.actions:
                if action["type"] == "assign_team" or (action["type"] == "assign_agent"
                                                       and action["agent_id"] != viewer.agent.id):
                    check_permission(viewer, "ticket.assign")
                if action["type"] == "set_status" and action["status"] == "closed" and ticket.status != "solved":
                    raise Conflict("only a solved ticket can be closed", code="invalid_transition",
                                   status=ticket.status)
            reason = f"macro {macro.id}"
            applied = self._run(s, ticket, [a for a in macro.actions if a["type"] != "set_status"], now,
                                actor=actor, reason=reason)
            message_id = self._agent_reply(s, ticket, macro.reply, viewer.agent.id, now)
            applied += self._run(s, ticket, [a for a in macro.actions if a["type"] == "set_status"], now,
                                 actor=actor, reason=reason)
            audit.record(s, at=now, actor=actor, action="macro.applied", subject_type="ticket", subject_id=ticket.id,
                         reason=reason, macro_id=macro.id, message_id=message_id, actions=applied)
            if any(a["type"] in _FIELD_ACTIONS for a in applied):
                self.fire(s, "ticket.updated", ticket, now)
            self.ctx.search.index(s, ticket, now)
            return message_id

    def _agent_reply(self, s: Session, ticket: Ticket, texts: dict[str, str], agent_id: int,
                     now: datetime) -> int | None:
        conversation = conversation_of(s, ticket)
        if conversation is None:
            return None
        message = Message(conversation_id=conversation.id, ticket_id=ticket.id, direction="out", author_type="agent",
                          author_id=agent_id, body=_in_language(texts, ticket.language), internal=False,
                          attachments=[], channel=conversation.channel, delivery_status="pending", created_at=now)
        s.add(message)
        conversation.handled_by = "human"
        conversation.last_message_at = now
        ticket.updated_at = now
        s.flush()
        self.ctx.after_agent_message(s, ticket, message, now)
        self._dispatch_after_commit(s, message.id)
        return message.id

    # ---------------------------------------------------------------- automations

    def run_automations(self, now: datetime) -> int:
        """Act on tickets that stayed in an automation's status for its hours: once per ticket and
        stay in that status. Each ticket is its own unit of work. Returns how many were acted on."""
        due: list[tuple[int, int, datetime]] = []
        with self.ctx.db.read() as s:
            for automation in s.scalars(select(Automation).where(Automation.active.is_(True))
                                        .order_by(Automation.id)):
                since = _status_since(automation.status)
                done = exists().where(AutomationRun.automation_id == automation.id,
                                      AutomationRun.ticket_id == Ticket.id, AutomationRun.status_since == since)
                rows = s.execute(select(Ticket.id, since).where(
                    Ticket.status == automation.status, since <= now - timedelta(hours=automation.after_hours), ~done,
                ).order_by(Ticket.id).limit(AUTOMATION_BATCH)).all()
                due += [(automation.id, ticket_id, status_since) for ticket_id, status_since in rows]
        acted = 0
        for automation_id, ticket_id, status_since in due:
            try:
                acted += self._run_automation(automation_id, ticket_id, status_since, now)
            except IntegrityError:
                pass  # another worker acted on this ticket at the same moment
            except Exception:  # one broken ticket must not stop the others; it is retried next run
                log.exception("automation failed", extra={"automation_id": automation_id, "ticket_id": ticket_id})
        return acted

    def _run_automation(self, automation_id: int, ticket_id: int, status_since: datetime, now: datetime) -> bool:
        with self.ctx.db.transaction() as s:
            automation = s.get(Automation, automation_id)
            ticket = s.execute(select(Ticket).where(Ticket.id == ticket_id).with_for_update()).scalar_one_or_none()
            if automation is None or not automation.active or ticket is None or ticket.status != automation.status:
                return False
            # Read again under the lock: the ticket may have changed since the scan.
            since = s.execute(select(_status_since(automation.status)).where(Ticket.id == ticket_id)).scalar_one()
            if since != status_since or s.get(AutomationRun, (automation_id, ticket_id, since)) is not None:
                return False
            s.add(AutomationRun(automation_id=automation_id, ticket_id=ticket_id, status_since=since, at=now))
            s.flush()
            reason = f"automation {automation_id}"
            applied = self._run(s, ticket, automation.actions, now, actor=Actor.system(), reason=reason)
            for done in applied:
                audit.record(s, at=now, actor=Actor.system(), action="automation.applied", subject_type="ticket",
                             subject_id=ticket.id, reason=reason, automation_id=automation_id, applied=done)
            if any(a["type"] in _FIELD_ACTIONS for a in applied):
                self.fire(s, "ticket.updated", ticket, now)
            if applied:
                self.ctx.search.index(s, ticket, now)
            return True

    # ---------------------------------------------------------------- the actions

    def _run(self, s: Session, ticket: Ticket, actions: list[dict[str, Any]], now: datetime, *, actor: Actor,
             reason: str) -> list[dict[str, Any]]:
        """Apply actions in order; returns what each one that changed something did. An action
        with nothing to do (the value is already set, no conversation to write on) is skipped."""
        applied: list[dict[str, Any]] = []
        changes: dict[str, list[Any]] = {}
        for action in actions:
            done = self._apply(s, ticket, action, now, actor=actor, reason=reason)
            if done is None:
                continue
            applied.append(done)
            if done["type"] in _FIELD_ACTIONS:
                field = _FIELD_ACTIONS[done["type"]]
                changes[field] = [changes.get(field, [done["old"]])[0], done["new"]]
        if changes:
            ticket.updated_at = now
            if "priority" in changes:
                self.ctx.sla.on_priority_change(s, ticket, now)
            self.ctx.emit(s, "ticket.updated", ticket, now, changes=changes)
        return applied

    def _apply(self, s: Session, ticket: Ticket, action: dict[str, Any], now: datetime, *, actor: Actor,
               reason: str) -> dict[str, Any] | None:
        kind = action["type"]
        if kind in ("set_priority", "set_area", "add_tag", "remove_tag"):
            field = _FIELD_ACTIONS[kind]
            old = getattr(ticket, field)
            if kind == "add_tag":
                new: Any = sorted(set(old) | {action["tag"]})
                if len(new) > MAX_TAGS:
                    return None
            elif kind == "remove_tag":
                new = [t for t in old if t != action["tag"]]
            else:
                new = action[ACTIONS[kind]]
            if new == old:
                return None
            setattr(ticket, field, new)
            return {"type": kind, "old": old, "new": new}
        if kind == "assign_team":
            old = ticket.team_id
            if old == action["team_id"] or s.get(Team, action["team_id"]) is None:
                return None
            self.ctx.routing.assign(s, ticket, ticket.assignee_id, now, actor=actor, reason=reason,
                                    team_id=action["team_id"])
            return {"type": kind, "old": old, "new": action["team_id"]}
        if kind == "assign_agent":
            agent = s.get(Agent, action["agent_id"])
            if ticket.assignee_id == action["agent_id"] or agent is None or not agent.active:
                return None
            self.ctx.routing.assign(s, ticket, action["agent_id"], now, actor=actor, reason=reason)
            return {"type": kind, "agent_id": action["agent_id"]}
        if kind == "set_status":
            old, new = ticket.status, action["status"]
            if old == new or old in ("closed", "merged") or (new == "closed" and old != "solved"):
                return None
            self.ctx.set_status(s, ticket, new, now, actor=actor, reason=reason)
            return {"type": kind, "old": old, "new": new}
        conversation = conversation_of(s, ticket)
        if conversation is None:
            return None
        note = kind == "add_note"
        by_agent = note and actor.type == "agent"
        message = Message(conversation_id=conversation.id, ticket_id=ticket.id, direction="out",
                          author_type="agent" if by_agent else "system",
                          author_id=int(actor.id) if by_agent and actor.id else None,
                          body=action["text"] if note else _in_language(action["text"], ticket.language),
                          internal=note, attachments=[], channel=conversation.channel,
                          delivery_status="internal" if note else "pending", created_at=now)
        s.add(message)
        ticket.updated_at = now
        if not note:
            conversation.last_message_at = now
        s.flush()
        self.ctx.emit_message(s, ticket, message, now)
        if not note:
            self._dispatch_after_commit(s, message.id)
        return {"type": kind, "message_id": message.id}

    def _dispatch_after_commit(self, s: Session, message_id: int) -> None:
        on_commit(s, lambda: self.ctx.dispatch_outbound(message_id))


# The actions that change a ticket field, and the field.
_FIELD_ACTIONS = {"set_priority": "priority", "set_area": "area", "add_tag": "tags", "remove_tag": "tags"}


def _in_language(texts: dict[str, str], language: str | None) -> str:
    return texts.get(normalize_language(language)) or texts[DEFAULT_LANGUAGE]

"""Rules: triggers (when an event happens and conditions hold, act), macros (an agent's one-click
set of actions plus a reply in the customer's language) and time-based automations (a ticket that
sat in a status for N hours gets actions, once per stay in that status).

All three share one action vocabulary (checked when a rule is created, `rule_checks.py`) and one
executor, which acts only through the desk's two write use cases: field, status and assignment
actions are one `TicketChange` (`changes.py`), notes and replies are posted (`posting.py`). So a
trigger's change ripples exactly like an agent's: SLA clocks, routing, search text, events.

Triggers run inside the unit of work of the change that fired them (a handler on the desk's events
calls `fire`). Their actions never fire triggers again: a change made by a running trigger
publishes events like any other, and a flag in the session stops `fire` from re-entering for the
same ticket. Triggers of one event run once, in `position` order, each seeing the ticket as the
earlier ones left it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, cast, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from ..platform import audit
from ..platform.audit import Actor, AuditEntry
from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import Conflict, NotFound, ValidationFailed
from ..platform.i18n import DEFAULT_LANGUAGE, normalize_language
from .access import Viewer, access_ticket, check_permission
from .changes import MAX_TAGS, TicketChange, TicketChanges
from .lifecycle import Status, can_move, check_move, check_open
from .models import Agent, Automation, AutomationRun, Macro, Team, Ticket, Trigger
from .posting import Author, Posting, conversation_of
from .rule_checks import (
    ACTIONS,
    AUTOMATION_STATUSES,
    EVENTS,
    MAX_AFTER_HOURS,
    check_actions,
    check_conditions,
    check_name,
    check_one_of,
    check_translations,
    matches,
)

log = logging.getLogger(__name__)

# Tickets one automation handles per run; the rest wait for the next run (every 5 minutes).
AUTOMATION_BATCH = 500
_FIRING = "gopaycare_rules_firing"
# The actions that change a ticket field, and the field.
_FIELD_ACTIONS = {"set_priority": "priority", "set_area": "area", "add_tag": "tags", "remove_tag": "tags"}


def _status_since(status: str) -> ColumnElement[datetime]:
    """Since when a ticket has been in its current status: the time of the last status change
    (the audit log has it for every change, all made through `TicketChanges.do_change`), or its
    creation. Updates that leave the status alone (a note, a reminder) do not restart it."""
    if status == "solved":
        return Ticket.solved_at
    last_change = (select(func.max(AuditEntry.at))
                   .where(AuditEntry.subject_type == "ticket", AuditEntry.subject_id == cast(Ticket.id, String),
                          AuditEntry.action == "ticket.status_changed")
                   .correlate(Ticket).scalar_subquery())
    return func.coalesce(last_change, Ticket.created_at, type_=Ticket.created_at.type)


class Rules:
    def __init__(self, db: Database, clock: Clock, changes: TicketChanges, posting: Posting) -> None:
        self.db = db
        self.clock = clock
        self.changes = changes
        self.posting = posting

    # ---------------------------------------------------------------- creating rules

    def create_trigger(self, name: str, *, event: str, conditions: list[dict[str, Any]],
                       actions: list[dict[str, Any]], position: int = 0) -> int:
        name = check_name(name)
        check_one_of(event, EVENTS, "event")
        checked_conditions = check_conditions(conditions)
        if isinstance(position, bool) or not isinstance(position, int) or position < 0:
            raise ValidationFailed("position is a whole number from 0", field="position")
        now = self.clock.now()
        with self.db.transaction() as s:
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
        name = check_name(name)
        checked_reply = check_translations(reply, "reply")
        now = self.clock.now()
        try:
            with self.db.transaction() as s:
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
        name = check_name(name)
        check_one_of(status, AUTOMATION_STATUSES, "status")
        if isinstance(after_hours, bool) or not isinstance(after_hours, int) or \
                not 1 <= after_hours <= MAX_AFTER_HOURS:
            raise ValidationFailed(f"after_hours is 1 to {MAX_AFTER_HOURS}", field="after_hours")
        now = self.clock.now()
        with self.db.transaction() as s:
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
        if ticket.id in firing or ticket.status == Status.MERGED:
            return  # an action of a running trigger changed the ticket (no second cycle); a merged one is history
        triggers = list(s.scalars(select(Trigger).where(Trigger.event == event, Trigger.active.is_(True))
                                  .order_by(Trigger.position, Trigger.id)))
        if not triggers:
            return
        firing.add(ticket.id)
        try:
            for trigger in triggers:
                if not all(matches(ticket, c) for c in trigger.conditions):
                    continue
                applied = self._run(s, ticket, trigger.actions, now, actor=Actor.system(),
                                    reason=f"trigger {trigger.id}")
                for done in applied:
                    audit.record(s, at=now, actor=Actor.system(), action="trigger.applied", subject_type="ticket",
                                 subject_id=ticket.id, reason=f"trigger {trigger.id}", trigger_id=trigger.id,
                                 event=event, applied=done)
        finally:
            firing.discard(ticket.id)

    # ---------------------------------------------------------------- macros

    def macros(self) -> list[Macro]:
        """Every macro by name (the console offers them one keystroke away)."""
        with self.db.read() as s:
            return list(s.scalars(select(Macro).order_by(Macro.name).limit(200)))

    def triggers(self) -> list[Trigger]:
        """Every trigger in the order they run (the admin page's list)."""
        with self.db.read() as s:
            return list(s.scalars(select(Trigger).order_by(Trigger.position, Trigger.id).limit(200)))

    def automations(self) -> list[Automation]:
        with self.db.read() as s:
            return list(s.scalars(select(Automation).order_by(Automation.id).limit(200)))

    def apply_macro(self, viewer: Viewer, ticket_id: int, macro_id: int) -> int | None:
        """Apply a macro as `viewer`: its actions, then its reply in the ticket's language.

        A status change in the macro is made after the reply, so the customer reads the answer
        before anything the new status sends (the CSAT question on "solved"), and the reply counts
        for the SLA before the clocks stop. Returns the reply's message id, or None when the
        ticket has no conversation to answer on (the actions still apply)."""
        now = self.clock.now()
        actor = Actor.agent(viewer.agent.id)
        with self.db.transaction() as s:
            ticket = access_ticket(s, viewer, ticket_id, for_update=True)
            macro = s.get(Macro, macro_id)
            if macro is None:
                raise NotFound("macro not found", macro_id=macro_id)
            check_open(ticket.status)
            for action in macro.actions:
                if action["type"] == "assign_team" or (action["type"] == "assign_agent"
                                                       and action["agent_id"] != viewer.agent.id):
                    check_permission(viewer, "ticket.assign")
                if action["type"] == "set_status" and action["status"] != ticket.status:
                    check_move(ticket.status, action["status"])
            reason = f"macro {macro.id}"
            applied = self._run(s, ticket, [a for a in macro.actions if a["type"] != "set_status"], now,
                                actor=actor, reason=reason)
            conversation = conversation_of(s, ticket)
            message_id = None
            if conversation is not None:
                message_id = self.posting.do_post(s, ticket, conversation, Author.agent(viewer.agent.id),
                                                  _in_language(macro.reply, ticket.language), now=now).id
            applied += self._run(s, ticket, [a for a in macro.actions if a["type"] == "set_status"], now,
                                 actor=actor, reason=reason)
            audit.record(s, at=now, actor=actor, action="macro.applied", subject_type="ticket", subject_id=ticket.id,
                         reason=reason, macro_id=macro.id, message_id=message_id, actions=applied)
            return message_id

    # ---------------------------------------------------------------- automations

    def run_automations(self, now: datetime) -> int:
        """Act on tickets that stayed in an automation's status for its hours: once per ticket and
        stay in that status. Each ticket is its own unit of work. Returns how many were acted on."""
        due: list[tuple[int, int, datetime]] = []
        with self.db.read() as s:
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
        with self.db.transaction() as s:
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
            return True

    # ---------------------------------------------------------------- the actions

    def _run(self, s: Session, ticket: Ticket, actions: list[dict[str, Any]], now: datetime, *, actor: Actor,
             reason: str) -> list[dict[str, Any]]:
        """Apply actions in order; returns what each one that changed something did. An action
        with nothing to do (the value is already set, no conversation to write on) is skipped.
        Consecutive field actions are one change of the ticket (one event, one audit row)."""
        applied: list[dict[str, Any]] = []
        fields = _fields_of(ticket)
        for action in actions:
            if action["type"] in _FIELD_ACTIONS:
                done = _field_action(fields, action)
            else:
                # What the field actions before it set is in place when it acts (a reply sees the area).
                self._change_fields(s, ticket, fields, now, actor=actor, reason=reason)
                done = self._apply(s, ticket, action, now, actor=actor, reason=reason)
                fields = _fields_of(ticket)  # as this action (and what it set off) left them
            if done is not None:
                applied.append(done)
        self._change_fields(s, ticket, fields, now, actor=actor, reason=reason)
        return applied

    def _change_fields(self, s: Session, ticket: Ticket, fields: dict[str, Any], now: datetime, *, actor: Actor,
                       reason: str) -> None:
        if fields != _fields_of(ticket):
            change = TicketChange(priority=fields["priority"], area=fields["area"], tags=tuple(fields["tags"]))
            self.changes.do_change(s, ticket, change, actor=actor, now=now, reason=reason)
            fields.update(_fields_of(ticket))  # the change's handlers (triggers) may have added to it

    def _apply(self, s: Session, ticket: Ticket, action: dict[str, Any], now: datetime, *, actor: Actor,
               reason: str) -> dict[str, Any] | None:
        kind = action["type"]
        if kind == "assign_team":
            old = ticket.team_id
            if old == action["team_id"] or Status(ticket.status).final or s.get(Team, action["team_id"]) is None:
                return None
            self.changes.do_change(s, ticket, TicketChange(team_id=action["team_id"]), actor=actor, now=now,
                                   reason=reason)
            return {"type": kind, "old": old, "new": action["team_id"]}
        if kind == "assign_agent":
            agent = s.get(Agent, action["agent_id"])
            if ticket.assignee_id == action["agent_id"] or agent is None or not agent.active \
                    or Status(ticket.status).final:
                return None
            self.changes.do_change(s, ticket, TicketChange(assignee_id=action["agent_id"]), actor=actor, now=now,
                                   reason=reason)
            return {"type": kind, "agent_id": action["agent_id"]}
        if kind == "set_status":
            old, new = ticket.status, action["status"]
            if old == new or not can_move(old, new):
                return None
            self.changes.do_change(s, ticket, TicketChange(status=new), actor=actor, now=now, reason=reason)
            return {"type": kind, "old": old, "new": new}
        conversation = conversation_of(s, ticket)
        if conversation is None:
            return None
        note = kind == "add_note"
        author = Author.agent(int(actor.id)) if note and actor.type == "agent" and actor.id else Author.system()
        message = self.posting.do_post(s, ticket, conversation, author,
                                       action["text"] if note else _in_language(action["text"], ticket.language),
                                       now=now, internal=note)
        return {"type": kind, "message_id": message.id}


def _fields_of(ticket: Ticket) -> dict[str, Any]:
    return {"priority": ticket.priority, "area": ticket.area, "tags": sorted(ticket.tags or [])}


def _field_action(fields: dict[str, Any], action: dict[str, Any]) -> dict[str, Any] | None:
    """Apply one field action to the pending values; what it did, or None when it changes nothing."""
    kind = action["type"]
    field = _FIELD_ACTIONS[kind]
    old = fields[field]
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
    fields[field] = new
    return {"type": kind, "old": old, "new": new}


def _in_language(texts: dict[str, str], language: str | None) -> str:
    return texts.get(normalize_language(language)) or texts[DEFAULT_LANGUAGE]

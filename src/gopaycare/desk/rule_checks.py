"""Checking rules before they are stored, and matching their conditions.

Triggers, macros and automations share one vocabulary of conditions and actions. Everything is
checked strictly when a rule is created: an unknown field, operator, action or value is refused
and nothing is stored, so a rule that is stored can always run.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from ..platform.errors import ValidationFailed
from ..platform.i18n import LANGUAGES
from ..wallet.rules import TIERS
from .changes import check_tag
from .lifecycle import SETTABLE, STATUSES, Status
from .models import CHANNELS, PRIORITIES, SERVICE_AREAS, Agent, Team, Ticket

EVENTS = ("ticket.created", "message.received", "ticket.updated", "ticket.status_changed")
# Each condition field with the values it can take (None: free text).
FIELDS: dict[str, tuple[str, ...] | None] = {
    "area": SERVICE_AREAS, "priority": PRIORITIES, "status": STATUSES, "channel": CHANNELS,
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
AUTOMATION_STATUSES = tuple(s.value for s in Status if not s.final)
MAX_AFTER_HOURS = 24 * 365
MAX_TEXT = 5_000


# ---------------------------------------------------------------- validation


def check_name(value: str) -> str:
    name = (value or "").strip() if isinstance(value, str) else ""
    if not 1 <= len(name) <= 80:
        raise ValidationFailed("a name is 1 to 80 characters", field="name")
    return name


def check_text(value: Any, field: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not 1 <= len(text) <= MAX_TEXT:
        raise ValidationFailed(f"a text is 1 to {MAX_TEXT} characters", field=field)
    return text


def check_translations(value: Any, field: str) -> dict[str, str]:
    """One text per supported language, no more, no less."""
    if not isinstance(value, dict) or set(value) != set(LANGUAGES):
        raise ValidationFailed(f"give the text in each of {', '.join(LANGUAGES)}", field=field)
    return {lang: check_text(value[lang], field) for lang in LANGUAGES}


def check_one_of(value: Any, allowed: Iterable[str], field: str) -> str:
    allowed = tuple(allowed)
    if not isinstance(value, str) or value not in allowed:
        raise ValidationFailed(f"{field} must be one of {', '.join(allowed)}", field=field, value=value)
    return value


def check_id(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 2**63 - 1:
        raise ValidationFailed(f"{field} must be a positive id", field=field)  # within BIGINT: never an overflow
    return value


def check_conditions(conditions: Any) -> list[dict[str, Any]]:
    if not isinstance(conditions, list):
        raise ValidationFailed("conditions must be a list", field="conditions")
    checked = []
    for condition in conditions:
        if not isinstance(condition, dict) or set(condition) != {"field", "op", "value"}:
            raise ValidationFailed('a condition is {"field", "op", "value"}', field="conditions")
        field = check_one_of(condition["field"], FIELDS, "field")
        values, value = FIELDS[field], condition["value"]
        op = check_one_of(condition["op"], VALUE_OPS if values is not None else TEXT_OPS, "op")
        if field == "tags":
            value = check_tag(value) if isinstance(value, str) else check_tag("")
        elif field == "subject":
            value = check_text(value, "value")
        elif op == "in":
            if not isinstance(value, list) or not value:
                raise ValidationFailed("`in` needs a non-empty list of values", field="value")
            value = [check_one_of(v, values or (), "value") for v in value]
        else:
            value = check_one_of(value, values or (), "value")
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
            value = check_one_of(value, PRIORITIES, "priority")
        elif kind == "set_area":
            value = check_one_of(value, SERVICE_AREAS, "area")
        elif kind in ("add_tag", "remove_tag"):
            value = check_tag(value) if isinstance(value, str) else check_tag("")
        elif kind == "set_status":
            value = check_one_of(value, SETTABLE, "status")
        elif kind == "add_note":
            value = check_text(value, "text")
        elif kind == "send_reply":
            value = check_translations(value, "text")
        elif kind == "assign_team":
            if s.get(Team, check_id(value, "team_id")) is None:
                raise ValidationFailed("no such team", field="team_id", team_id=value)
        elif kind == "assign_agent":
            agent = s.get(Agent, check_id(value, "agent_id"))
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

"""Hostile input on every route of the OpenAPI schema answers 4xx, never 5xx.

For each operation, each parameter (path, query, header) and each top-level body field in turn gets
a hostile value while the others hold plausible ones: integers beyond 64 bits, NUL characters,
100 000-character strings and values of the wrong type; then the whole body gets the wrong type.
On PostgreSQL a NUL or an over-long string that reached a text column, or an integer beyond
BIGINT, would be a 500; on SQLite an OverflowError.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import count
from typing import Any
from urllib.parse import quote

import pytest

from gopaycare.platform.audit import Actor

from .conftest import PASSWORD, PIN
from .helpers import open_socket

HUGE = 2**70
LONG = "x" * 100_000
LONG_URL_PART = "x" * 60_000  # httpx sends no URL component over 64 KiB
NUL = "a\x00b"
PHONE = "+6281234567890"

# Plausible values for fields whose schema alone cannot tell (the service checks them).
PLAUSIBLE: dict[str, Any] = {
    "channel": "chat", "identity_kind": "phone", "identity_value": PHONE, "body": "hello there",
    "language": "en", "lang": "en", "email": "ops@gopay.test", "password": PASSWORD, "pin": PIN,
    "status": "open", "event": "ticket.updated", "area": "general", "priority": "high",
    "reference": "GP261125AAAAAAAAAA", "reason": "checked with the customer", "text": "my payment failed",
    "identity": PHONE, "voter": "visitor-1", "timezone": "Asia/Jakarta", "rating": 5, "capacity": 3,
    "code": "HOST10", "campaign": "JAJAN10", "titles": {"en": "Food cashback"}, "percent": 10,
    "starts_at": "2026-11-24T03:00:00+00:00", "ends_at": "2026-12-25T03:00:00+00:00",
    "actions": [{"type": "add_tag", "tag": "seen"}], "hours": {"mon": [["09:00", "17:00"]]},
    "reply": {"zh-CN": "退款已处理。", "en": "Your refund is done.", "id": "Refund Anda sudah diproses."},
    "after_hours": 24, "first_response_minutes": 60, "next_response_minutes": 120, "resolution_minutes": 480,
}

# Optional fields without which the plausible request would be refused anyway.
ALSO_SENT = {"percent", "area"}


@dataclass
class Case:
    method: str
    path: str
    target: str
    params: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    has_body: bool = False

    def label(self) -> str:
        return f"{self.method.upper()} {self.path.split('?')[0][:120]} [{self.target}]"


class Spec:
    def __init__(self, spec: dict[str, Any], ids: dict[str, Any], values: dict[str, Any]) -> None:
        self.spec = spec
        self.ids = ids  # path parameters
        self.values = {**PLAUSIBLE, **values}  # query parameters and body fields
        self.keys = count(1)

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        options = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
        return self.resolve(options[0]) if options else schema

    def kind(self, schema: dict[str, Any]) -> str:
        schema = self.resolve(schema)
        if schema.get("format") == "date-time":
            return "datetime"
        return schema.get("type", "object" if "properties" in schema or "additionalProperties" in schema else "any")

    def plausible(self, name: str, schema: dict[str, Any]) -> Any:
        schema = self.resolve(schema)
        if "enum" in schema:
            return schema["enum"][0]
        if schema.get("pattern", "").startswith("^("):
            return schema["pattern"][2:].split("|")[0].rstrip(")$")
        if name in self.values:
            return self.values[name]
        if schema.get("default") not in (None, [], {}):
            return schema["default"]
        kind = self.kind(schema)
        if kind == "string":
            text = "plausible text"
            return text[: schema.get("maxLength", len(text))].ljust(schema.get("minLength", 0), "x")
        if kind == "datetime":
            return "2026-11-25T03:00:00+00:00"
        if kind == "integer":
            return max(1, schema.get("minimum", 1), schema.get("exclusiveMinimum", 0) + 1)
        if kind == "number":
            return 1.5
        if kind == "boolean":
            return True
        if kind == "array":
            return [self.plausible(name, schema.get("items", {}))] if schema.get("minItems") else []
        if kind == "object":
            extra = schema.get("additionalProperties")
            data = {k: self.plausible(k, v) for k, v in schema.get("properties", {}).items()
                    if k in schema.get("required", [])}
            if isinstance(extra, dict) and schema.get("minProperties"):
                data["en"] = self.plausible("en", extra)
            return data
        return "plausible"

    def operations(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for path, ops in self.spec["paths"].items():
            for method, op in ops.items():
                yield method, path, op

    def cases(self, hostile: dict[str, list[Any]]) -> Iterator[tuple[Case, Any]]:
        """For every operation and every parameter or body field, each hostile value of its kind."""
        for method, path, op in self.operations():
            params = op.get("parameters", [])
            body_schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            body = self.resolve(body_schema) if body_schema else None
            targets = [(p["in"], p["name"], p["schema"]) for p in params]
            targets += [("body", name, schema) for name, schema in (body or {}).get("properties", {}).items()]
            for where, name, schema in targets:
                for value in hostile.get(f"{where}:{self.kind(schema)}", hostile.get(self.kind(schema), [])):
                    if where in ("path", "query", "header") and not isinstance(value, str | int):
                        continue
                    yield self.case(method, path, params, body, (where, name, value)), value
            if body is not None:
                for value in hostile.get("whole body", []):
                    yield self.case(method, path, params, body, ("whole body", "", value)), value

    def case(self, method: str, path: str, params: list[dict[str, Any]], body: dict[str, Any] | None,
             target: tuple[str, str, Any]) -> Case:
        where, name, value = target
        c = Case(method, path, f"{where} {name}".strip(), has_body=body is not None)
        url = path
        for p in params:
            hostile = (p["in"], p["name"]) == (where, name)
            if p["in"] == "path":
                url = url.replace("{" + p["name"] + "}", quote(str(value if hostile else self.ids[p["name"]]),
                                                                safe=""))
            elif p["in"] == "query" and (hostile or p.get("required")):
                c.params[p["name"]] = value if hostile else self.plausible(p["name"], p["schema"])
            elif p["in"] == "header" and (hostile or p.get("required")):
                c.headers[p["name"]] = str(value) if hostile else f"hostile-{next(self.keys)}"
        c.path = url
        if body is not None:
            if where == "whole body":
                c.body = value
            else:
                c.body = {k: self.plausible(k, v) for k, v in body.get("properties", {}).items()
                          if k in body.get("required", []) or k in ALSO_SENT}
                if where == "body":
                    c.body[name] = value
        return c


@pytest.fixture
def api(client, svc, make_customer, make_merchant):
    """The app's own schema, and the ids of a small world to aim at: a customer with a payment, a
    ticket with a message, a second agent and a team."""
    for email, role in (("ops@gopay.test", "admin"), ("budi@gopay.test", "agent")):
        svc.agents.create(email, role, password="Agent-pass1")
    admin = svc.agents.create_token("ops@gopay.test")
    customer_id = make_customer(phone=PHONE, balance=100_000)
    merchant_id = make_merchant()
    payment = svc.payments.pay(customer_id, merchant_id, 5_000, PIN, "hostile-setup")
    got = svc.desk.conversations.receive(channel="chat", identity_kind="phone", identity_value=PHONE, body="hi")
    svc.desk.conversations.receive(channel="chat", identity_kind="phone", identity_value=PHONE, body="more")
    other = svc.desk.conversations.receive(channel="whatsapp", identity_kind="whatsapp", identity_value=PHONE,
                                           body="another")
    login = client.post("/api/v1/auth/login", json={"login": PHONE, "password": PASSWORD}).json()
    headers = {"Authorization": f"Bearer {admin}"}
    client.post("/api/v1/admin/promotions", headers=headers, json={**{k: PLAUSIBLE[k] for k in (
        "titles", "starts_at", "ends_at", "percent")}, "code": "JAJAN10"})
    ids = {"customer_id": customer_id, "reference": payment.reference, "ticket_id": got.ticket_id,
           "message_id": got.message_id, "conversation_id": got.conversation_id, "contact_id": 1,
           "agent_id": svc.agents.get_by_email("budi@gopay.test").id,
           "team_id": svc.agents.create_team("Payments", areas=["transaction"], languages=["en"]),
           "macro_id": svc.desk.rules.create_macro("Thanks", actions=[], reply=PLAUSIBLE["reply"]),
           "slug": "hostile-article", "code": "JAJAN10", "token": "cti-token-0123456789",
           "account_id": svc.channel_accounts.create(
               actor=Actor.system(), provider="telegram", name="care-bot", external_id="7000000001",
               secrets={"bot_token": "7000000001:AAH-token", "secret_token": "tg-secret"}).id, "account": "care-bot"}
    values = {"merchant_id": merchant_id, "reference": payment.reference, "into": other.ticket_id,
              "message_ids": [got.message_id], "login": "+6281999999999", "agent_id": ids["agent_id"]}
    tokens = {"agent": admin, "customer": login["token"]}
    return Spec(client.get("/openapi.json").json(), ids, values), tokens


def send(client, tokens, case: Case):
    token = tokens["customer"] if case.path.startswith("/api/v1/me/") else tokens["agent"]
    headers = {"Authorization": f"Bearer {token}", **case.headers}
    if case.has_body:
        return client.request(case.method, case.path, params=case.params, headers=headers, json=case.body)
    return client.request(case.method, case.path, params=case.params, headers=headers)


def refused_everywhere(client, tokens, spec: Spec, hostile: dict[str, list[Any]]) -> str:
    """What did not answer 4xx, one line each (empty when every case did)."""
    wrong = []
    cases = list(spec.cases(hostile))
    assert len(cases) > 10  # the schema was read
    for case, _ in cases:
        response = send(client, tokens, case)
        if not 400 <= response.status_code < 500:
            wrong.append(f"{case.label()} -> {response.status_code} {response.text[:160]}")
    return "\n".join(wrong)


def test_integers_beyond_64_bits_are_refused(client, api):
    spec, tokens = api
    hostile = {"integer": [HUGE, -HUGE]}

    assert refused_everywhere(client, tokens, spec, hostile) == ""


def test_nul_characters_are_refused(client, api):
    spec, tokens = api
    hostile = {"string": [NUL], "query:string": [NUL], "path:string": [NUL], "array": [[NUL]],
               "object": [{"k": NUL}, {"k\x00": "v"}, {"k": [{"deep": NUL}]}]}

    assert refused_everywhere(client, tokens, spec, hostile) == ""


def nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = {"k": [value]}
    return value


def test_deeply_nested_values_are_refused(client, api):
    spec, tokens = api
    hostile = {"object": [nested(200)], "array": [[nested(200)]]}

    assert refused_everywhere(client, tokens, spec, hostile) == ""


def test_over_long_strings_are_refused(client, api):
    spec, tokens = api
    hostile = {"string": [LONG], "query:string": [LONG_URL_PART], "path:string": [LONG_URL_PART],
               "array": [[LONG]]}

    assert refused_everywhere(client, tokens, spec, hostile) == ""


def test_values_of_the_wrong_type_are_refused(client, api):
    spec, tokens = api
    hostile = {"integer": ["twelve", 1.5, [1]], "boolean": ["maybe", {"a": 1}], "string": [{"a": 1}, 12, [1]],
               "array": ["x", {"a": 1}], "object": [[1, 2], "x"], "datetime": ["yesterday", [1]],
               "query:string": [], "path:string": [], "header:string": [],
               "whole body": [[], "text", 12, None]}

    assert refused_everywhere(client, tokens, spec, hostile) == ""


def test_the_event_socket_refuses_hostile_parameters(client, svc):
    from starlette.websockets import WebSocketDisconnect

    svc.agents.create("lead@gopay.test", "supervisor")
    token = svc.agents.create_token("lead@gopay.test")

    for bearer, query in ((token, {"after": HUGE}), (token, {"after": "twelve"}), (token, {"after": -1}),
                          ("a%00b", {}), (token, {"cursor": 5}), (token, {"ticket": "gpt_" + "x" * 5000})):
        with pytest.raises(WebSocketDisconnect) as refused, open_socket(client, "/api/v1/events/ws", bearer, **query):
            pass
        assert refused.value.code in (1008, 4401), query

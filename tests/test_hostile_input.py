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
from sqlalchemy import text

from gopaycare.platform.audit import Actor

from .conftest import PASSWORD, PIN, ledger_snapshot
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
    dispute = svc.disputes.open(customer_id, payment.reference, reason="not_delivered", description="never came",
                                idempotency_key="hostile-dispute")
    ids = {"customer_id": customer_id, "reference": payment.reference, "ticket_id": got.ticket_id,
           "dispute_id": dispute.id, "provider": "midtrans", "request_id": 1,
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


# ---------------------------------------------------------------- the probe's own cases, one per class
# Each was a 5xx (or a silent wrong answer) when the issue was filed; the sweeps above send plausible
# values for optional fields, so these aim at them directly.


def customer_token(client) -> str:
    return client.post("/api/v1/auth/login", json={"login": PHONE, "password": PASSWORD}).json()["token"]


@pytest.mark.parametrize("field,value", [
    ("amount", True), ("amount", "100"), ("amount", 100.0), ("amount", HUGE), ("amount", 2**63),
    ("merchant_id", 10**30), ("merchant_id", True), ("merchant_id", "1"),
])
def test_money_takes_plain_integers_only(client, svc, make_customer, make_merchant, field, value):
    make_customer(phone=PHONE, balance=100_000)
    body = {"merchant_id": make_merchant(), "amount": 1, "pin": PIN, field: value}
    before = ledger_snapshot(svc)

    answer = client.post("/api/v1/me/payments", json=body, headers={
        "Authorization": f"Bearer {customer_token(client)}", "Idempotency-Key": "strict-1"})

    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "validation_failed"
    assert ledger_snapshot(svc) == before


def test_device_details_longer_than_their_columns_still_log_in(client, svc, make_customer):
    make_customer(phone=PHONE)
    long_key, other_key = "k" * 200 + "1", "k" * 200 + "2"
    for key in (long_key, long_key, other_key):
        answer = client.post("/api/v1/auth/login", json={
            "login": PHONE, "password": PASSWORD, "device_key": key, "platform": "android" * 5,
            "os_version": "Android 14; build UP1A.231005.007 (" + "x" * 100 + ")", "app_version": "9" * 60})
        assert answer.status_code == 200, answer.text
    with svc.db.read() as s:
        keys = s.execute(text("SELECT device_key, os_version FROM customer_devices")).all()
    assert len(keys) == 2  # the same long key is the same device; another is another
    assert all(len(k) <= 64 and len(v) <= 32 for k, v in keys)


@pytest.mark.parametrize("body", [
    {"login": "+62812\x0034567890", "password": PASSWORD}, {"login": PHONE, "password": "Secret\x00pass1"},
    {"login": PHONE, "password": PASSWORD, "device_key": "dev\x00ice"},
    {"login": PHONE, "password": PASSWORD, "device_key": "device-1", "os_version": "14\x00"},
])
def test_nul_in_a_login_is_refused(client, make_customer, body):
    make_customer(phone=PHONE)
    answer = client.post("/api/v1/auth/login", json=body)
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "validation_failed"


def test_nul_in_a_chat_message_is_refused_and_the_socket_goes_on(client, svc, make_customer):
    make_customer(phone=PHONE)
    token = customer_token(client)
    rest = client.post("/api/v1/me/assistant", json={"body": "saldo\x00 hilang"},
                       headers={"Authorization": f"Bearer {token}"})
    assert rest.status_code == 422
    with open_socket(client, "/api/v1/me/chat/ws", token) as ws:
        ws.send_json({"type": "message", "client_id": "c-1", "body": "saldo\x00 hilang"})
        frame = ws.receive_json()
        assert frame["type"] == "error" and frame["code"] == "validation_failed"
    with svc.db.read() as s:
        assert s.execute(text("SELECT COUNT(*) FROM messages")).scalar_one() == 0


@pytest.mark.parametrize("cursor", ["garbage", "eyJ4IjoxfQ", "MTIz", "!!!!", "x" * 5000, "\u00e9\u4e2d",
                                    "eyJpZCI6IDEwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMH0"])
@pytest.mark.parametrize("path", ["/api/v1/tickets", "/api/v1/conversations"])
def test_malformed_cursors_are_refused(client, svc, path, cursor):
    svc.agents.create("lead@gopay.test", "supervisor")
    token = svc.agents.create_token("lead@gopay.test")
    answer = client.get(path, params={"cursor": cursor}, headers={"Authorization": f"Bearer {token}"})
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["error"]["code"]


@pytest.mark.parametrize("at", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "10000-01-01T00:00:00Z",
                                "9999-12-31T23:59:59", "-0001-01-01T00:00:00Z"])
def test_dates_at_the_edge_of_the_calendar_are_refused(client, svc, at):
    svc.agents.create("ops@gopay.test", "admin")
    headers = {"Authorization": f"Bearer {svc.agents.create_token('ops@gopay.test')}"}
    report = client.get("/api/v1/reports/containment", params={"since": at}, headers=headers)
    promo = client.post("/api/v1/admin/promotions", headers=headers, json={
        "code": "EDGE10", "titles": {"en": "Edge"}, "percent": 10, "starts_at": PLAUSIBLE["starts_at"], "ends_at": at})
    for answer in (report, promo):
        assert answer.status_code in (400, 404, 422), answer.text
    assert client.get("/api/v1/admin/promotions", headers=headers).json() == [] or "EDGE10" not in promo.text


def test_a_huge_after_on_the_chat_socket_is_a_clean_refusal(client, make_customer):
    from starlette.websockets import WebSocketDisconnect

    make_customer(phone=PHONE)
    token = customer_token(client)
    for query in ({"after": HUGE}, {"after": -1}, {"after": "x"}, {"conversation_id": HUGE}):
        with pytest.raises(WebSocketDisconnect) as refused, open_socket(client, "/api/v1/me/chat/ws", token, **query):
            pass
        assert refused.value.code in (1008, 4422), query


def test_an_event_cursor_beyond_the_newest_is_refused_not_left_waiting(client, svc):
    from starlette.websockets import WebSocketDisconnect

    svc.agents.create("lead@gopay.test", "supervisor")
    token = svc.agents.create_token("lead@gopay.test")
    svc.desk.conversations.receive(channel="chat", identity_kind="phone", identity_value=PHONE, body="hi")
    newest = client.get("/api/v1/events", headers={"Authorization": f"Bearer {token}"}).json()["last_id"]
    assert newest > 0

    ahead = client.get("/api/v1/events", params={"after": newest + 1000}, headers={"Authorization": f"Bearer {token}"})
    assert ahead.status_code == 409
    assert ahead.json()["error"]["code"] == "cursor_ahead" and ahead.json()["error"]["details"]["last_id"] == newest
    with pytest.raises(WebSocketDisconnect) as refused, \
            open_socket(client, "/api/v1/events/ws", token, after=newest + 1000):
        pass
    assert (refused.value.code, refused.value.reason) == (4409, "cursor_ahead")
    with open_socket(client, "/api/v1/events/ws", token, after=newest):
        pass  # the newest itself is a fine place to resume


def test_a_chat_cursor_beyond_the_conversation_is_refused_not_left_waiting(client, svc, make_customer, product_nlu):
    from starlette.websockets import WebSocketDisconnect

    svc._assistant = svc.make_assistant(product_nlu)
    make_customer(phone=PHONE)
    token = customer_token(client)
    sent = client.post("/api/v1/me/assistant", json={"body": "halo"}, headers={"Authorization": f"Bearer {token}"})
    conversation_id = sent.json()["conversation_id"]
    with pytest.raises(WebSocketDisconnect) as refused, open_socket(
            client, "/api/v1/me/chat/ws", token, conversation_id=conversation_id, after=999999):
        pass
    assert (refused.value.code, refused.value.reason) == (4409, "cursor_ahead")

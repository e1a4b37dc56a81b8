"""Body size limits by route class (enforced while the body streams in), security headers on every
answer, the error answers declared in the schema, and /docs and /metrics switched by settings."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
from typing import Any

import pytest
from sqlalchemy import text

from gopaycare.web.app import create_app
from tests.helpers import api_client

from .conftest import PASSWORD

CHUNK = 64 * 1024
PHONE = "+6281234567890"


def call_asgi(app: Any, method: str, path: str, *, chunks: int, declared: int | None) -> tuple[int, dict, int]:
    """One request straight into the ASGI app, its body `chunks` pieces of 64 KiB; the status, the
    answer's JSON and how many pieces the app asked for."""
    asked = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal asked
        asked += 1
        if asked > chunks:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": b"{" + b" " * (CHUNK - 2) + b"}" if asked == chunks
                else b" " * CHUNK, "more_body": asked < chunks}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"content-type", b"application/json"), (b"host", b"testserver")]
    if declared is not None:
        headers.append((b"content-length", str(declared).encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "headers": headers,
             "client": ("127.0.0.1", 5000), "server": ("testserver", 80), "root_path": ""}
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(body), asked


@pytest.fixture
def app(svc):
    return create_app(svc)


def test_a_10_mb_login_is_refused_before_a_byte_is_read(app):
    status, answer, asked = call_asgi(app, "POST", "/api/v1/auth/login", chunks=160, declared=160 * CHUNK)

    assert status == 413 and answer["error"]["code"] == "payload_too_large"
    assert answer["error"]["details"] == {"max_bytes": 16 * 1024, "route_class": "auth"}
    assert asked == 0


@pytest.mark.parametrize("path,most", [("/api/v1/auth/login", 16 * 1024), ("/api/v1/me/assistant", 64 * 1024),
                                       ("/api/v1/tickets/1/messages", 256 * 1024), ("/webhooks/telegram", 1_000_000)])
def test_a_body_without_a_length_is_cut_off_at_the_limit_of_its_route(app, svc, path, most):
    status, answer, asked = call_asgi(app, "POST", path, chunks=160, declared=None)

    assert status == 413 and answer["error"]["code"] == "payload_too_large", answer
    assert answer["error"]["details"]["max_bytes"] == most
    assert asked <= most // CHUNK + 1  # stopped at the first piece past the limit
    with svc.db.read() as s:
        assert s.execute(text("SELECT COUNT(*) FROM messages")).scalar_one() == 0


def test_bodies_within_their_limit_still_work(client, make_customer):
    make_customer(phone=PHONE)
    padded = json.dumps({"login": PHONE, "password": PASSWORD}) + " " * 15_000
    answer = client.post("/api/v1/auth/login", content=padded, headers={"content-type": "application/json"})
    assert answer.status_code == 200, answer.text


def csp(answer) -> dict[str, str]:
    return {d.split(" ", 1)[0]: d.split(" ", 1)[1] if " " in d else ""
            for d in (p.strip() for p in answer.headers["content-security-policy"].split(";"))}


@pytest.mark.parametrize("path", ["/", "/healthz", "/api/v1/tickets", "/api/v1/nowhere", "/openapi.json"])
def test_every_answer_has_the_security_headers(client, path):
    answer = client.get(path)

    policy = csp(answer)
    assert policy["default-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
    assert "script-src" not in policy and "'unsafe-inline'" not in answer.headers["content-security-policy"]
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["x-frame-options"] == "DENY"
    assert "strict-transport-security" not in answer.headers  # plain HTTP: HSTS would be ignored


def test_hsts_only_over_tls(svc):
    with api_client(svc) as tls:
        tls.base_url = tls.base_url.copy_with(scheme="https")
        answer = tls.get("https://testserver/healthz")
    assert answer.headers["strict-transport-security"] == f"max-age={365 * 24 * 3600}; includeSubDomains"


@pytest.mark.parametrize("path", ["/docs", "/docs/oauth2-redirect"])
def test_the_docs_run_only_their_own_scripts_named_by_hash(client, path):
    answer = client.get(path)

    policy = csp(answer)
    inline = re.findall(r"<script>(.*?)</script>", answer.text, re.S)
    assert inline  # the page's own initializer
    for source in inline:
        digest = base64.b64encode(hashlib.sha256(source.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy["script-src"]
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert policy["frame-ancestors"] == "'none'"
    src = re.findall(r'src="([^"]+)"', answer.text) + re.findall(r'href="([^"]+)"', answer.text)
    assert all(s.startswith("/") for s in src)  # everything it loads is ours ('self')


def test_docs_and_schema_can_be_turned_off(settings, clock):
    from gopaycare.container import build

    services = build(settings.model_copy(update={"docs_enabled": False}), clock=clock, immediate_jobs=True, senders={})
    try:
        with api_client(services) as off:
            assert off.get("/docs").status_code == 404
            assert off.get("/openapi.json").status_code == 404
            assert off.get("/healthz").status_code == 200
    finally:
        services.close()


@pytest.mark.parametrize("update,header,status", [
    ({"metrics_enabled": False}, None, 404),
    ({"metrics_token": "m" * 32}, None, 401),
    ({"metrics_token": "m" * 32}, "Bearer " + "x" * 32, 401),
    ({"metrics_token": "m" * 32}, "Bearer " + "m" * 32, 200),
    ({}, None, 200),
])
def test_metrics_can_be_turned_off_or_need_a_token(settings, clock, update, header, status):
    from gopaycare.container import build

    services = build(settings.model_copy(update=update), clock=clock, immediate_jobs=True, senders={})
    try:
        with api_client(services) as c:
            answer = c.get("/metrics", headers={"Authorization": header} if header else {})
    finally:
        services.close()
    assert answer.status_code == status
    if status == 200:
        assert "gopaycare_http_requests_total" in answer.text
    else:
        assert answer.json()["error"]["code"] in ("not_found", "unauthenticated")


def test_the_schema_declares_every_refusal_in_the_error_shape(client):
    spec = client.get("/openapi.json").json()
    missing = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status in ("401", "403", "404", "409", "413", "422", "429"):
                answer = operation["responses"].get(status, {})
                ref = answer.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
                if not ref.endswith("/ErrorOut"):
                    missing.append(f"{method.upper()} {path} {status}")
    assert missing == []
    assert "HTTPValidationError" not in spec["components"]["schemas"]  # FastAPI's own shape, never sent

"""The chat widget on another site (ADR 0025, web/cors.py): CORS on the widget's routes only, for the
listed origins only, never with credentials; the chat socket refuses an unlisted site's handshake.
SQLite only (the engine is not what is tested), one app for the module."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect

from gopaycare.container import build
from gopaycare.platform.clock import FakeClock
from gopaycare.platform.settings import SettingsError, load_settings
from tests.conftest import START
from tests.helpers import api_client

SHOP = "https://shop.example.com"
OTHER = "https://evil.example.net"
PREFLIGHT = {"access-control-request-method": "POST", "access-control-request-headers": "content-type"}


@pytest.fixture(scope="module")
def web(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    tmp = tmp_path_factory.mktemp("widget-cors")
    shutil.copy(sqlite_template, tmp / "test.db")
    settings = load_settings(database_url=f"sqlite:///{tmp / 'test.db'}", password_hash_profile="fast",
                             secret_key="test-secret", jobs_path=str(tmp / "jobs.db"), log_json=False,
                             widget_origins=f"{SHOP}, http://localhost:8000", visitor_tokens_per_minute=1000)
    services = build(settings, clock=FakeClock(START), immediate_jobs=True, senders={})
    services.wallet.bootstrap()
    with api_client(services) as client:
        yield client
    services.close()


def _cors(response: Any) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.lower().startswith("access-control-")}


def test_a_listed_origin_gets_cors_on_preflight_and_on_the_call_without_credentials(web):
    pre = web.options("/api/v1/chat/visitors", headers={"origin": SHOP, **PREFLIGHT})
    assert pre.status_code == 204
    assert pre.headers["access-control-allow-origin"] == SHOP
    assert "POST" in pre.headers["access-control-allow-methods"]
    assert "authorization" in pre.headers["access-control-allow-headers"]
    assert "access-control-allow-credentials" not in pre.headers
    assert "Origin" in pre.headers["vary"]

    call = web.post("/api/v1/chat/visitors", json={}, headers={"origin": SHOP})
    assert call.status_code == 201
    assert call.headers["access-control-allow-origin"] == SHOP
    assert "access-control-allow-credentials" not in call.headers
    token = call.json()["token"]
    # The rest of the widget's road answers the same origin: its words, its conversations, its ticket.
    texts = web.get("/widget/texts.json?lang=en", headers={"origin": SHOP})
    mine = web.get("/api/v1/me/conversations?limit=1", headers={"origin": SHOP, "authorization": f"Bearer {token}"})
    ticket = web.post("/api/v1/me/chat/ws/tickets", json={},
                      headers={"origin": SHOP, "authorization": f"Bearer {token}"})
    assert [(r.status_code, r.headers.get("access-control-allow-origin")) for r in (texts, mine, ticket)] == \
        [(200, SHOP), (200, SHOP), (201, SHOP)]
    # An error answer carries it too, so the widget can read why (here: no token).
    refused = web.get("/api/v1/me/conversations", headers={"origin": SHOP})
    assert (refused.status_code, refused.headers.get("access-control-allow-origin")) == (401, SHOP)


def test_an_unlisted_origin_gets_no_cors_header_and_nothing_is_issued_by_its_preflight(web):
    pre = web.options("/api/v1/chat/visitors", headers={"origin": OTHER, **PREFLIGHT})
    assert pre.status_code < 500 and not _cors(pre)
    call = web.post("/api/v1/chat/visitors", json={}, headers={"origin": OTHER})
    assert call.status_code == 201 and not _cors(call)  # the browser keeps the answer from the script
    # A method the widget does not call there is no preflight's either, even for a listed origin.
    wrong = web.options("/api/v1/chat/visitors", headers={"origin": SHOP, "access-control-request-method": "DELETE"})
    assert wrong.status_code < 500 and not _cors(wrong)


@pytest.mark.parametrize("path", ["/api/v1/tickets", "/api/v1/agent/me", "/api/v1/me/refunds", "/api/v1/me/wallet",
                                  "/account/chat/ticket", "/console", "/api/v1/merchant/refunds"])
def test_the_agent_api_and_every_other_route_never_answer_cors(web, path):
    pre = web.options(path, headers={"origin": SHOP, "access-control-request-method": "GET"})
    call = web.get(path, headers={"origin": SHOP})
    assert pre.status_code < 500 and call.status_code < 500
    assert not _cors(pre) and not _cors(call)


@pytest.mark.parametrize("origin", ["https://shop.example.com\x00", "https://" + "a" * 10_000 + ".com",
                                    SHOP + "/", SHOP.upper(), "null", "https://shop.example.com.evil.net", ""])
def test_a_hostile_origin_gets_no_headers_and_no_5xx(web, origin):
    for response in (web.options("/api/v1/chat/visitors", headers={"origin": origin, **PREFLIGHT}),
                     web.post("/api/v1/chat/visitors", json={}, headers={"origin": origin})):
        assert response.status_code < 500 and not _cors(response)


def _ticket(web: Any) -> str:
    token = web.post("/api/v1/chat/visitors", json={}).json()["token"]
    answer = web.post("/api/v1/me/chat/ws/tickets", json={}, headers={"authorization": f"Bearer {token}"})
    return answer.json()["ticket"]


def test_the_chat_socket_takes_a_listed_or_its_own_origin_and_refuses_any_other(web):
    ticket = _ticket(web)
    for hostile in (OTHER, "https://shop.example.com\x00", "h" * 10_000):
        with pytest.raises(WebSocketDisconnect) as refused:
            with web.websocket_connect(f"/api/v1/me/chat/ws?ticket={ticket}", headers={"origin": hostile}):
                pass
        assert refused.value.code in (4403, 1008)  # 1008: a NUL in a header is refused first (params.py)
    # Refused before the ticket was looked at: it still opens the socket once, from a listed site.
    with web.websocket_connect(f"/api/v1/me/chat/ws?ticket={ticket}", headers={"origin": SHOP}) as ws:
        ws.send_json({"type": "read", "up_to": 0})
    # This host's own pages and an app without an Origin go on as before.
    for headers in ({"origin": "http://testserver"}, {}):
        with web.websocket_connect(f"/api/v1/me/chat/ws?ticket={_ticket(web)}", headers=headers) as ws:
            ws.send_json({"type": "read", "up_to": 0})


@pytest.mark.parametrize("value", ["*", "https://shop.example.com/", "shop.example.com", "https://*.example.com",
                                   "ftp://shop.example.com", "https://shop.example.com/path"])
def test_the_setting_takes_exact_origins_only(value):
    with pytest.raises(SettingsError):
        load_settings(widget_origins=value)
    assert load_settings(widget_origins=" https://Shop.example.com ,http://[::1]:8000").widget_origins == \
        "https://shop.example.com,http://[::1]:8000"

"""Credentials (issue 12): no token in a WebSocket's URL, no credential in a log line, agent tokens
that expire and can be revoked, short customer sessions with a rotating refresh token and logout,
no caching of credential answers, the development secret key refused by `serve`, and agent login
with constant work, a lockout an admin lifts, and TOTP with recovery codes over the API."""

from __future__ import annotations

import json
import logging
import os
import socket
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pyotp
import pytest
from sqlalchemy import select
from starlette.websockets import WebSocketDisconnect

from gopaycare.desk.models import Agent, AgentRecoveryCode
from gopaycare.identity.models import CustomerSession, RefreshToken, SocketTicket
from gopaycare.platform import audit
from gopaycare.platform.errors import DomainError
from gopaycare.platform.logging import configure_logging
from gopaycare.platform.secret_key import check_serving_key, ensure_demo_key, key_path, with_stored_key
from gopaycare.platform.settings import DEV_SECRET_KEY, SettingsError, load_settings

from .conftest import PASSWORD
from .helpers import chat_frames, open_socket

PHONE = "+6281234567890"
AGENT_PASSWORD = "Agent-pass1"
EVENTS = "/api/v1/events/ws"
CHAT = "/api/v1/me/chat/ws"


@pytest.fixture
def tokens(svc):
    made = {}
    for email, role in (("lead@gopay.test", "supervisor"), ("ayu@gopay.test", "agent"), ("ops@gopay.test", "admin")):
        svc.agents.create(email, role, password=AGENT_PASSWORD)
        made[email.split("@")[0]] = svc.agents.create_token(email)
    return made


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def customer_login(client, make_customer, phone=PHONE):
    make_customer(phone=phone)
    response = client.post("/api/v1/auth/login", json={"login": phone, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response


def inbound(client, token, body="halo"):
    response = client.post("/api/v1/inbound", headers=auth(token), json={
        "channel": "chat", "identity_kind": "phone", "identity_value": PHONE, "body": body})
    assert response.status_code == 202, response.text


def audited(svc, subject_type, subject_id):
    with svc.db.read() as s:
        return [(e.action, e.actor_type, e.actor_id) for e in audit.history(s, subject_type, subject_id)]


def refused_code(client, path, token=None, **query):
    with pytest.raises(WebSocketDisconnect) as refused, open_socket(client, path, token, **query) as ws:
        ws.receive_json()
    return refused.value.code


# ---------------------------------------------------------------- WebSockets: no token in the URL


def test_a_token_in_a_sockets_url_is_refused_even_when_it_works(client, svc, tokens, make_customer):
    # Given a working agent token, a customer's session and a visitor's token
    session = customer_login(client, make_customer).json()["token"]
    visitor = client.post("/api/v1/chat/visitors", json={}).json()["token"]

    # When each is put in a socket's URL, as clients did before
    codes = [refused_code(client, f"{EVENTS}?token={tokens['lead']}"),
             refused_code(client, f"{CHAT}?token={session}"),
             refused_code(client, f"{CHAT}?token={visitor}"),
             refused_code(client, f"{CHAT}?visitor_token={visitor}", session),
             refused_code(client, f"{EVENTS}?access_token={tokens['lead']}")]

    # Then every socket is closed for a policy violation, before anything is sent
    assert codes == [1008] * 5


def test_the_event_stream_authenticates_by_its_first_message(client, svc, tokens):
    after = svc.desk.events.last_id()
    with client.websocket_connect(f"{EVENTS}?after={after}") as ws:
        ws.send_json({"type": "auth", "token": tokens["lead"]})
        inbound(client, tokens["ops"])
        event = ws.receive_json()
    assert event["id"] > after and event["kind"]


def test_the_chat_authenticates_by_its_first_message(client, svc, make_customer, bot):
    svc._assistant = bot
    session = customer_login(client, make_customer).json()["token"]
    with client.websocket_connect(CHAT) as ws:
        ws.send_json({"type": "auth", "token": session})
        ws.send_json({"type": "message", "client_id": "c-1", "body": "halo"})
        frames = chat_frames(ws, messages=1, acks=1)
    assert {"type": "ack", "client_id": "c-1"}.items() <= next(f for f in frames if f["type"] == "ack").items()


@pytest.mark.parametrize("first, code", [
    ("hello", 1008), (json.dumps({"type": "message", "body": "x"}), 1008), (json.dumps({"type": "auth"}), 1008),
    (json.dumps({"type": "auth", "token": 12}), 1008), (json.dumps({"type": "auth", "token": "x" * 5000}), 1008),
    (json.dumps({"type": "auth", "token": "nope"}), 4401), (json.dumps({"type": "auth", "token": "a\x00b"}), 4401),
])
def test_a_socket_whose_first_message_is_no_valid_auth_is_closed(client, svc, tokens, first, code):
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect(EVENTS) as ws:
        ws.send_text(first)
        ws.receive_json()
    assert closed.value.code == code


def test_a_socket_that_never_authenticates_is_closed_after_the_timeout(client, svc):
    svc.settings.socket_auth_timeout_seconds = 0.2
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect(CHAT) as ws:
        ws.receive_json()  # nothing sent: the server gives up
    assert (closed.value.code, closed.value.reason) == (1008, "auth_timeout")


def test_a_ticket_opens_the_event_stream_once_within_its_lifetime(client, svc, tokens):
    # Given a ticket asked for with the agent's token
    issued = client.post("/api/v1/events/ws/tickets", headers=auth(tokens["lead"]))
    ticket = issued.json()["ticket"]
    after = svc.desk.events.last_id()

    # When it opens the stream, then is tried again
    with client.websocket_connect(f"{EVENTS}?ticket={ticket}&after={after}") as ws:
        inbound(client, tokens["ops"])
        event = ws.receive_json()
    again = refused_code(client, f"{EVENTS}?ticket={ticket}")

    # Then it worked once, was not cached, and is spent; only its hash was stored
    assert issued.status_code == 201 and issued.headers["cache-control"] == "no-store"
    assert issued.json()["expires_in_seconds"] == 30 and ticket.startswith("gpt_")
    assert event["id"] > after
    assert again == 4401
    with svc.db.read() as s:
        assert ticket not in {t for (t,) in s.execute(select(SocketTicket.ticket_hash)).all()}


def test_a_ticket_expires_is_for_one_socket_kind_and_dies_with_its_token(client, svc, tokens, make_customer):
    def ticket(path, token):
        return client.post(path, headers=auth(token), json={}).json()["ticket"]

    late = ticket("/api/v1/events/ws/tickets", tokens["lead"])
    svc.clock.advance(seconds=31)
    expired = refused_code(client, f"{EVENTS}?ticket={late}")

    session = customer_login(client, make_customer).json()["token"]
    chat_ticket = ticket("/api/v1/me/chat/ws/tickets", session)
    wrong_kind = refused_code(client, f"{EVENTS}?ticket={chat_ticket}")

    revoked = ticket("/api/v1/events/ws/tickets", tokens["ayu"])
    svc.agents.revoke(tokens["ayu"])
    after_revoke = refused_code(client, f"{EVENTS}?ticket={revoked}")

    assert [expired, wrong_kind, after_revoke] == [4401, 4401, 4401]


def test_a_chat_ticket_opens_the_chat_for_a_customer_a_visitor_and_one_going_on(client, svc, make_customer):
    session = customer_login(client, make_customer).json()["token"]
    visitor = client.post("/api/v1/chat/visitors", json={}).json()["token"]
    for bearer, body in ((session, {}), (visitor, {}), (session, {"visitor_token": visitor})):
        issued = client.post("/api/v1/me/chat/ws/tickets", headers=auth(bearer), json=body)
        assert issued.status_code == 201 and issued.headers["cache-control"] == "no-store"
        with client.websocket_connect(f"{CHAT}?ticket={issued.json()['ticket']}") as ws:
            ws.send_json({"type": "read", "up_to": 0})  # answered by nothing: the socket is open
    refused = client.post("/api/v1/me/chat/ws/tickets", headers=auth(visitor), json={"visitor_token": visitor})
    assert refused.status_code == 422


@pytest.mark.parametrize("body", [{"visitor_token": "x" * 201}, {"visitor_token": 12}, {"visitor_token": "a\x00b"},
                                  {"visitor_token": "gpv.forged"}, [], "text"])
def test_hostile_ticket_requests_are_refused_and_store_nothing(client, svc, make_customer, body):
    session = customer_login(client, make_customer).json()["token"]
    response = client.post("/api/v1/me/chat/ws/tickets", headers=auth(session), json=body)
    assert 400 <= response.status_code < 500 and response.json()["error"]["code"]
    with svc.db.read() as s:
        assert s.execute(select(SocketTicket)).first() is None


def test_tickets_need_a_working_credential_and_the_streams_permission(client, svc, tokens):
    assert client.post("/api/v1/events/ws/tickets").status_code == 401
    assert client.post("/api/v1/events/ws/tickets", headers=auth("nope")).status_code == 401
    assert client.post("/api/v1/me/chat/ws/tickets", json={}).status_code == 401
    # an agent's token is no customer's session
    assert client.post("/api/v1/me/chat/ws/tickets", headers=auth(tokens["lead"]), json={}).status_code == 401
    svc.agents.create_role("reader", [])
    svc.agents.create("reader@gopay.test", "reader")
    reader = svc.agents.create_token("reader@gopay.test")
    assert client.post("/api/v1/events/ws/tickets", headers=auth(reader)).status_code == 403


# ---------------------------------------------------------------- logs


@contextmanager
def root_logging() -> Iterator[None]:
    """The product's logging, with uvicorn's loggers as a fresh process has them: a server started earlier in
    this worker with uvicorn's own log config (the browser tests') leaves them at WARNING, with handlers of
    their own on a stream pytest has since closed, and not propagating to ours."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    uvicorns = [logging.getLogger(name) for name in ("uvicorn", "uvicorn.error", "uvicorn.access")]
    saved_uvicorns = [(lg.handlers[:], lg.level, lg.propagate, lg.disabled) for lg in uvicorns]
    for lg in uvicorns:
        lg.handlers[:], lg.level, lg.propagate, lg.disabled = [], logging.NOTSET, True, False
    configure_logging("INFO", json_output=True)
    try:
        yield
    finally:
        root.handlers[:], root.level = saved
        for lg, (handlers, level, propagate, disabled) in zip(uvicorns, saved_uvicorns, strict=True):
            lg.handlers[:], lg.level, lg.propagate, lg.disabled = handlers, level, propagate, disabled


def test_no_token_ticket_or_code_reaches_a_real_servers_log(svc, tokens, capfd, make_customer):
    """A real uvicorn (access log on, as a proxy setup would have it) on a loopback port: its own log
    lines for sockets and requests go through the one filter."""
    import uvicorn
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    from gopaycare.web.app import create_app

    make_customer(phone=PHONE)
    with root_logging():
        # The socket is bound here, on a port the kernel picks, and handed to uvicorn: the two engines'
        # runs of this test on two xdist workers once shared a fixed port and read each other's logs.
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        config = uvicorn.Config(create_app(svc, run_jobs_in_process=False), log_config=None, access_log=True,
                                lifespan="off")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
        thread.start()
        try:
            for _ in range(100):
                if server.started:
                    break
                time.sleep(0.1)
            assert server.started
            import httpx

            base = f"http://127.0.0.1:{port}"
            ticket = httpx.post(f"{base}/api/v1/events/ws/tickets", headers=auth(tokens["lead"])).json()["ticket"]
            with connect(f"ws://127.0.0.1:{port}{EVENTS}?ticket={ticket}&after=0", open_timeout=10):
                pass
            with pytest.raises(InvalidStatus):  # refused before it is accepted: HTTP 403
                connect(f"ws://127.0.0.1:{port}{EVENTS}?token={tokens['ayu']}", open_timeout=10)
            login = httpx.post(f"{base}/api/v1/auth/login", json={"login": PHONE, "password": PASSWORD}).json()
            httpx.get(f"{base}/api/v1/me/wallet?code=123456&pin=147258", headers=auth(login["token"]))
            logging.getLogger("gopaycare.test").info("retrying with Bearer %s and %s", login["refresh_token"],
                                                    tokens["ops"])
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            listener.close()
    err = capfd.readouterr().err

    assert "WebSocket" in err and "/api/v1/events/ws" in err and "/api/v1/me/wallet" in err  # the lines are there
    for secret in (ticket, tokens["lead"], tokens["ayu"], tokens["ops"], login["token"], login["refresh_token"],
                   "123456", "147258"):
        assert secret not in err
    assert "[redacted]" in err


# ---------------------------------------------------------------- agents' tokens: expiry, revocation


def test_api_tokens_expire_after_90_days_and_login_sessions_after_12_hours(client, svc, tokens):
    session = client.post("/api/v1/agent/login", json={"email": "ayu@gopay.test", "password": AGENT_PASSWORD})
    assert session.headers["cache-control"] == "no-store"
    svc.clock.advance(hours=11, minutes=59)
    assert client.get("/api/v1/agent/me", headers=auth(session.json()["token"])).status_code == 200
    svc.clock.advance(minutes=1)
    assert client.get("/api/v1/agent/me", headers=auth(session.json()["token"])).status_code == 401

    svc.clock.advance(days=89, hours=11)  # the API token made at the start: 89 days, 23 hours old
    assert client.get("/api/v1/agent/me", headers=auth(tokens["lead"])).status_code == 200
    svc.clock.advance(hours=1)
    assert client.get("/api/v1/agent/me", headers=auth(tokens["lead"])).status_code == 401


def test_an_agent_revokes_their_own_token_and_an_admin_revokes_all_of_an_agents(client, svc, tokens):
    # An agent logs out: that token stops, their other one does not
    second = svc.agents.create_token("ayu@gopay.test")
    assert client.post("/api/v1/agent/logout", headers=auth(tokens["ayu"])).status_code == 204
    assert client.get("/api/v1/agent/me", headers=auth(tokens["ayu"])).status_code == 401
    assert client.get("/api/v1/agent/me", headers=auth(second)).status_code == 200

    # An admin revokes the rest: the open socket closes at once
    ayu = svc.agents.get_by_email("ayu@gopay.test").id
    with open_socket(client, EVENTS, second, after=svc.desk.events.last_id()) as ws:
        revoked = client.post(f"/api/v1/admin/agents/{ayu}/tokens/revoke", headers=auth(tokens["ops"]))
        with pytest.raises(WebSocketDisconnect) as closed:
            for _ in range(20):
                ws.receive_json()
    assert revoked.json() == {"revoked": 1}
    assert closed.value.code == 4401
    assert client.get("/api/v1/agent/me", headers=auth(second)).status_code == 401
    assert ("token.revoked_all", "agent", str(svc.agents.get_by_email("ops@gopay.test").id)) \
        in audited(svc, "agent", ayu)


def test_revoking_an_agents_tokens_needs_agents_manage_and_a_real_agent(client, svc, tokens):
    ayu = svc.agents.get_by_email("ayu@gopay.test").id
    assert client.post(f"/api/v1/admin/agents/{ayu}/tokens/revoke", headers=auth(tokens["lead"])).status_code == 403
    assert client.post(f"/api/v1/admin/agents/{ayu}/tokens/revoke").status_code == 401
    assert client.post("/api/v1/admin/agents/999999/tokens/revoke", headers=auth(tokens["ops"])).status_code == 404
    for bad in (2**70, "x", -1):
        assert client.post(f"/api/v1/admin/agents/{bad}/tokens/revoke", headers=auth(tokens["ops"])).status_code == 422
    assert client.get("/api/v1/agent/me", headers=auth(tokens["ayu"])).status_code == 200  # nothing changed


# ---------------------------------------------------------------- customers' sessions


def test_a_customer_session_lasts_an_hour_and_a_refresh_token_renews_it_once(client, svc, make_customer):
    login = customer_login(client, make_customer)
    first = login.json()
    assert login.headers["cache-control"] == "no-store"
    assert first["refresh_token"].startswith("gpr_") and first["refresh_token"] != first["token"]

    svc.clock.advance(seconds=3600)
    assert client.get("/api/v1/me/wallet", headers=auth(first["token"])).status_code == 401

    renewed = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    second = renewed.json()
    assert renewed.status_code == 200 and renewed.headers["cache-control"] == "no-store"
    assert client.get("/api/v1/me/wallet", headers=auth(second["token"])).status_code == 200
    assert second["refresh_token"] != first["refresh_token"]
    # the refresh token was stored only as a hash
    with svc.db.read() as s:
        hashes = {h for (h,) in s.execute(select(RefreshToken.token_hash)).all()}
    assert first["refresh_token"] not in hashes and len(hashes) == 2


def test_a_refresh_token_used_twice_ends_its_whole_family(client, svc, make_customer):
    first = customer_login(client, make_customer).json()
    second = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}).json()

    # When the spent token comes back (a copy in someone else's hands)
    replay = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})

    # Then it is refused, and the family's live access and refresh tokens stop too
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "refresh_invalid"
    assert client.get("/api/v1/me/wallet", headers=auth(second["token"])).status_code == 401
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}).status_code == 401
    assert ("session.refresh_reused", "system", None) in audited(svc, "customer", first["customer_id"])


def test_refresh_tokens_end_after_30_days_and_with_a_lock(client, svc, make_customer):
    first = customer_login(client, make_customer).json()
    svc.clock.advance(days=30)
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}).status_code == 401

    other = customer_login(client, make_customer, phone="+6281277776666").json()
    for _ in range(svc.settings.max_failed_logins):  # wrong PINs while signed in lock (docs/adr/0018)
        try:
            svc.identity.verify_pin(other["customer_id"], "000000")
        except DomainError:
            pass
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": other["refresh_token"]}).status_code == 401


def test_logout_ends_the_session_and_its_refresh_token(client, svc, make_customer):
    first = customer_login(client, make_customer).json()
    assert client.post("/api/v1/auth/logout", headers=auth(first["token"])).status_code == 204
    assert client.get("/api/v1/me/wallet", headers=auth(first["token"])).status_code == 401
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}).status_code == 401
    assert client.post("/api/v1/auth/logout", headers=auth(first["token"])).status_code == 401
    assert client.post("/api/v1/auth/logout").status_code == 401


@pytest.mark.parametrize("body", [{"refresh_token": "gpr_" + "x" * 300}, {"refresh_token": "a\x00b"},
                                  {"refresh_token": 12}, {"refresh_token": None}, {}, [], "text"])
def test_hostile_refresh_requests_are_4xx_and_change_nothing(client, svc, make_customer, body):
    first = customer_login(client, make_customer).json()
    response = client.post("/api/v1/auth/refresh", json=body)
    assert 400 <= response.status_code < 500 and response.json()["error"]["code"]
    with svc.db.read() as s:
        assert len(s.execute(select(CustomerSession)).all()) == 1
    assert client.get("/api/v1/me/wallet", headers=auth(first["token"])).status_code == 200


# ---------------------------------------------------------------- the secret key


def test_serve_refuses_the_development_key_unless_told_it_is_a_dev_machine(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from gopaycare.cli import main

    monkeypatch.chdir(tmp_path)
    for name in ("SECRET_KEY", "ALLOW_DEV_SECRET_KEY"):
        monkeypatch.delenv(f"GOPAYCARE_{name}", raising=False)
    result = CliRunner().invoke(main, ["serve", "--port", "18124"],
                                env={"GOPAYCARE_DATABASE_URL": f"sqlite:///{tmp_path}/serve.db"})

    assert result.exit_code != 0 and "GOPAYCARE_SECRET_KEY is not set" in result.output
    assert not (tmp_path / "serve.db").exists()  # refused before anything was done
    with pytest.raises(SettingsError):
        check_serving_key(load_settings(database_url="sqlite:///x.db"))
    check_serving_key(load_settings(database_url="sqlite:///x.db", allow_dev_secret_key=True))
    check_serving_key(load_settings(database_url="sqlite:///x.db", secret_key="s" * 40))


def test_the_demo_makes_its_key_once_beside_its_database_for_this_user_only(tmp_path):
    settings = load_settings(database_url=f"sqlite:///{tmp_path}/demo.db")
    assert settings.secret_key == DEV_SECRET_KEY

    made = ensure_demo_key(settings)
    again = ensure_demo_key(settings)
    path = key_path(settings)

    assert path == tmp_path / "demo.db.secret-key"
    assert made.secret_key != DEV_SECRET_KEY and len(made.secret_key) >= 48
    assert again.secret_key == made.secret_key == with_stored_key(settings).secret_key  # the CLI reads it
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    # a key that is set wins over the stored one
    given = load_settings(database_url=settings.database_url, secret_key="k" * 40)
    assert with_stored_key(given).secret_key == "k" * 40


# ---------------------------------------------------------------- agent login


def test_agent_login_does_the_same_work_for_an_unknown_email(svc, monkeypatch):
    svc.agents.create("ayu@gopay.test", "agent", password=AGENT_PASSWORD)
    svc.agents.create("gone@gopay.test", "agent", password=AGENT_PASSWORD)
    svc.agents.deactivate(svc.agents.get_by_email("gone@gopay.test").id, actor=audit.Actor.system())
    svc.agents.create("nopass@gopay.test", "agent")
    calls = []
    real = svc.agents.hasher.verify
    monkeypatch.setattr(svc.agents.hasher, "verify",
                        lambda stored, secret: calls.append(stored) or real(stored, secret))

    answers = []
    for email in ("ayu@gopay.test", "nobody@gopay.test", "gone@gopay.test", "nopass@gopay.test", "not-an-email"):
        calls.clear()
        try:
            svc.agents.login(email, "wrong-password")
        except Exception as exc:  # noqa: BLE001 - the answer is compared
            answers.append((type(exc).__name__, exc.code, str(exc)))
        assert len(calls) == 1 and calls[0], email  # one real argon2 verification, whoever it is
    assert len(set(answers)) == 1


def test_wrong_passwords_lock_an_agent_until_an_admin_unlocks_it(client, svc, tokens):
    def login(password):
        return client.post("/api/v1/agent/login", json={"email": "ayu@gopay.test", "password": password})

    wrong = [login("wrong-password") for _ in range(5)]
    locked_right = login(AGENT_PASSWORD)
    locked_wrong = login("wrong-password")
    unknown = client.post("/api/v1/agent/login", json={"email": "nobody@gopay.test", "password": "wrong-password"})

    assert {r.status_code for r in wrong} == {401}
    assert locked_right.status_code == 403 and locked_right.json()["error"]["code"] == "account_locked"
    # without the password, a locked account answers exactly as an unknown email
    assert (locked_wrong.status_code, locked_wrong.json()["error"]) == (unknown.status_code, unknown.json()["error"])

    ayu = svc.agents.get_by_email("ayu@gopay.test").id
    assert client.post(f"/api/v1/admin/agents/{ayu}/unlock", headers=auth(tokens["lead"])).status_code == 403
    assert client.post(f"/api/v1/admin/agents/{2**70}/unlock", headers=auth(tokens["ops"])).status_code == 422
    assert client.post(f"/api/v1/admin/agents/{ayu}/unlock", headers=auth(tokens["ops"])).status_code == 204
    assert login(AGENT_PASSWORD).status_code == 200
    trail = audited(svc, "agent", ayu)
    assert ("agent.locked", "system", None) in trail
    assert ("agent.unlocked", "agent", str(svc.agents.get_by_email("ops@gopay.test").id)) in trail


@pytest.mark.parametrize("body", [
    {"email": "a@b.c", "password": "x" * 129}, {"email": "x" * 255, "password": "p"},
    {"email": "a\x00@b.c", "password": "p"}, {"email": 12, "password": "p"}, {"email": "a@b.c"},
    {"email": "a@b.c", "password": "p", "totp_code": "1" * 65}, {"email": "a@b.c", "password": "p", "recovery_code": 5},
])
def test_hostile_agent_logins_are_4xx_and_count_nothing(client, svc, tokens, body):
    response = client.post("/api/v1/agent/login", json=body)
    assert 400 <= response.status_code < 500 and response.json()["error"]["code"]
    with svc.db.read() as s:
        assert all(a.failed_logins == 0 for a in s.scalars(select(Agent)))


# ---------------------------------------------------------------- two-step login over the API


def test_totp_enrolment_confirmation_recovery_codes_and_disabling(client, svc, tokens):
    me = auth(tokens["ayu"])
    clock = svc.clock

    def login(**codes):
        return client.post("/api/v1/agent/login", json={"email": "ayu@gopay.test", "password": AGENT_PASSWORD,
                                                        **codes})

    # Enrolment: a secret and its otpauth URI, not cached; login does not ask for codes yet
    enrolled = client.post("/api/v1/agent/me/two-step", headers=me)
    assert enrolled.status_code == 201 and enrolled.headers["cache-control"] == "no-store"
    secret, uri = enrolled.json()["secret"], enrolled.json()["otpauth_uri"]
    assert uri.startswith("otpauth://totp/") and "ayu%40gopay.test" in uri and secret in uri
    assert login().status_code == 200

    # Confirmation: a wrong code changes nothing; the right one answers ten recovery codes
    assert client.post("/api/v1/agent/me/two-step/confirm", headers=me, json={"code": "000000"}).status_code == 422
    confirmed = client.post("/api/v1/agent/me/two-step/confirm", headers=me,
                            json={"code": pyotp.TOTP(secret).at(clock.now())})
    codes = confirmed.json()["recovery_codes"]
    assert confirmed.headers["cache-control"] == "no-store" and len(set(codes)) == 10
    with svc.db.read() as s:
        stored = {h for (h,) in s.execute(select(AgentRecoveryCode.code_hash)).all()}
    assert not any(code in stored or code.replace("-", "") in stored for code in codes)

    # Login now asks for a code; a code works once (replay refused), a recovery code works once
    assert login().json()["error"]["code"] == "totp_required"
    clock.advance(seconds=60)
    code = pyotp.TOTP(secret).at(clock.now())
    assert login(totp_code=code).status_code == 200
    assert login(totp_code=code).status_code == 401
    assert login(recovery_code=codes[0].upper()).status_code == 200
    assert login(recovery_code=codes[0]).status_code == 401
    assert client.get("/api/v1/agent/me/two-step", headers=me).json() == {
        "enabled": True, "pending": False, "recovery_codes_left": 9}
    assert client.post("/api/v1/agent/me/two-step", headers=me).status_code == 409  # on already

    # Disabling needs a code; then login asks for none
    assert client.post("/api/v1/agent/me/two-step/disable", headers=me, json={"totp_code": "123456"}).status_code == 422
    assert client.post("/api/v1/agent/me/two-step/disable", headers=me,
                       json={"recovery_code": codes[1]}).status_code == 204
    assert login().status_code == 200


def test_an_admin_resets_a_lost_authenticator_audited(client, svc, tokens):
    ayu = svc.agents.get_by_email("ayu@gopay.test").id
    svc.agents.enroll_totp(ayu)
    assert client.post(f"/api/v1/admin/agents/{ayu}/two-step/reset", headers=auth(tokens["ayu"])).status_code == 403
    assert client.post(f"/api/v1/admin/agents/{ayu}/two-step/reset", headers=auth(tokens["ops"])).status_code == 204
    assert client.post("/api/v1/agent/login", json={"email": "ayu@gopay.test",
                                                    "password": AGENT_PASSWORD}).status_code == 200
    ops = str(svc.agents.get_by_email("ops@gopay.test").id)
    assert ("agent.totp_reset", "agent", ops) in audited(svc, "agent", ayu)


def test_two_step_endpoints_need_a_working_agent_token_and_refuse_hostile_bodies(client, svc, tokens):
    for method, path in (("get", "/api/v1/agent/me/two-step"), ("post", "/api/v1/agent/me/two-step"),
                         ("post", "/api/v1/agent/me/two-step/confirm"), ("post", "/api/v1/agent/me/two-step/disable"),
                         ("post", "/api/v1/agent/logout")):
        assert getattr(client, method)(path, headers=auth("nope")).status_code == 401, path
    me = auth(tokens["ayu"])
    client.post("/api/v1/agent/me/two-step", headers=me)
    for body in ({"code": "1" * 65}, {"code": 123456}, {"code": "12\x0034"}, {}, []):
        response = client.post("/api/v1/agent/me/two-step/confirm", headers=me, json=body)
        assert 400 <= response.status_code < 500 and response.json()["error"]["code"]
    assert client.get("/api/v1/agent/me/two-step", headers=me).json()["enabled"] is False



def test_the_console_sign_in_shares_the_lockout(svc):
    from .helpers import api_client
    from .test_pages import sign_in

    svc.agents.create("ayu@gopay.test", "agent", password=AGENT_PASSWORD)
    with api_client(svc) as browser:
        browser.headers["accept-language"] = "en"
        wrong = [sign_in(browser, "ayu@gopay.test", "wrong-password").status_code for _ in range(5)]
        locked = sign_in(browser, "ayu@gopay.test", AGENT_PASSWORD)
    assert wrong == [401] * 5
    assert locked.status_code == 403 and "this account is locked" in locked.text
    assert "gpc_session" not in locked.headers.get("set-cookie", "")

"""The agent console's pages (web/pages/): sign-in, CSRF, languages, inbox views, the ticket view,
reveal and the safe actions, each through the same services and permissions as the API."""

from __future__ import annotations

import re
from typing import Any

import pyotp
import pytest
from sqlalchemy import func, select

from gopaycare.desk.models import Message
from gopaycare.identity.models import Customer
from gopaycare.platform.audit import AuditEntry
from tests.conftest import PASSWORD
from tests.helpers import api_client, codes_to

XSS = "<img src=x onerror=alert(1)>"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def sign_in(client: Any, email: str, password: str = "demo-pass-1", **extra: str) -> Any:
    token = csrf_of(client.get("/console/login").text)
    return client.post("/console/login", data={"csrf": token, "email": email, "password": password, **extra},
                       follow_redirects=False)


@pytest.fixture
def console(svc):
    """A page client: a fresh browser with its own cookies."""
    def open_browser() -> Any:
        return api_client(svc)

    return open_browser


@pytest.fixture
def people(svc, make_customer):
    svc.agents.create("lead@gopay.test", "supervisor", password="demo-pass-1", name="Lead")
    agent = svc.agents.create("ayu@gopay.test", "agent", password="demo-pass-1", name="Ayu")
    customer = make_customer(name="Siti Rahayu", balance=50_000, phone="+6281298765432")
    received = svc.desk.conversations.receive(channel="whatsapp", identity_kind="whatsapp",
                                              identity_value="+6281298765432",
                                              body=f"{XSS} my number is 0812-9876-5432, please help",
                                              area="account")
    return {"agent": agent, "customer": customer, "ticket": received.ticket_id}


def page_of(client: Any, path: str) -> Any:
    response = client.get(path)
    assert response.status_code == 200, response.text[:500]
    return response


# ---------------------------------------------------------------- sign-in, session, CSRF, language


def test_sign_in_sets_a_strict_http_only_session_and_needs_the_csrf_token(svc, console, people):
    with console() as browser:
        refused = browser.post("/console/login", data={"email": "lead@gopay.test", "password": "demo-pass-1"},
                               follow_redirects=False)
        assert refused.status_code == 403 and "gpc_session" not in refused.cookies
        wrong = sign_in(browser, "lead@gopay.test", "not-the-password")
        assert wrong.status_code == 401 and "gpc_session" not in browser.cookies
        signed = sign_in(browser, "lead@gopay.test")
        assert signed.status_code == 303 and signed.headers["location"] == "/console/inbox"
        cookie = next(h for h in signed.headers.get_list("set-cookie") if h.startswith("gpc_session="))
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
        # The cookie's token is an ordinary agent session: the API takes it as a bearer token too.
        token = browser.cookies["gpc_session"]
        assert svc.agents.authenticate(token).email == "lead@gopay.test"


def test_the_session_cookie_is_secure_over_tls(console, people):
    with console() as browser:
        browser.base_url = "https://testserver"
        signed = sign_in(browser, "lead@gopay.test")
        cookie = next(h for h in signed.headers.get_list("set-cookie") if h.startswith("gpc_session="))
        assert "Secure" in cookie


def test_an_agent_with_totp_signs_in_with_the_code(svc, console, people):
    secret = svc.agents.enroll_totp(people["agent"].id)
    with console() as browser:
        asked = sign_in(browser, "ayu@gopay.test")
        assert asked.status_code == 401 and 'id="totp_code"' in asked.text and "autofocus" in asked.text
        wrong = sign_in(browser, "ayu@gopay.test", totp_code="000000")
        assert wrong.status_code == 401 and "gpc_session" not in browser.cookies
        signed = sign_in(browser, "ayu@gopay.test", totp_code=pyotp.TOTP(secret).at(svc.clock.now()))
        assert signed.status_code == 303


def test_pages_follow_accept_language_and_the_switch(console, people):
    with console() as browser:
        assert "客服登录" in browser.get("/console/login").text  # default zh-CN
        english = browser.get("/console/login", headers={"accept-language": "en-US,en;q=0.9"})
        assert "Agent sign-in" in english.text and english.headers["content-language"] == "en"
        indonesian = browser.get("/console/login", headers={"accept-language": "fr;q=1, id;q=0.8, en;q=0.5"})
        assert "Masuk agen" in indonesian.text
        switched = browser.get("/console/login?lang=en", headers={"accept-language": "zh-CN"})
        assert "Agent sign-in" in switched.text and browser.cookies["gpc_lang"] == "en"
        assert "Agent sign-in" in browser.get("/console/login", headers={"accept-language": "zh-CN"}).text


def test_pages_load_no_inline_script_or_style(console, people):
    with console() as browser:
        sign_in(browser, "lead@gopay.test")
        for path in ("/console/login", "/console/inbox", f"/console/tickets/{people['ticket']}", "/"):
            html = browser.get(path).text
            assert "<style" not in html and " style=" not in html
            assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
            assert not re.search(r"\son[a-z]+=", html.replace("onerror=alert(1)", "")), path


def test_signed_out_pages_go_to_sign_in_and_partials_answer_401(console, people):
    with console() as browser:
        assert browser.get("/console/inbox", follow_redirects=False).headers["location"] == "/console/login"
        partial = browser.get("/console/inbox", headers={"hx-request": "true"}, follow_redirects=False)
        assert partial.status_code == 401
        browser.cookies.set("gpc_session", "gps_forged")
        assert browser.get("/console/inbox", follow_redirects=False).status_code == 303


def test_sign_out_revokes_the_session(svc, console, people):
    with console() as browser:
        sign_in(browser, "lead@gopay.test")
        token = browser.cookies["gpc_session"]
        html = page_of(browser, "/console/inbox").text
        browser.post("/console/logout", data={"csrf": csrf_of(html)}, follow_redirects=False)
        with pytest.raises(Exception, match="token"):
            svc.agents.authenticate(token)


# ---------------------------------------------------------------- inbox, search, escaping, masking


def test_inbox_views_show_the_same_tickets_as_the_api(svc, console, people):
    ticket = people["ticket"]
    with console() as browser:
        sign_in(browser, "lead@gopay.test")
        for view in ("unassigned", "view=channel&channel=whatsapp", "view=area&area=account"):
            query = view if "=" in view else f"view={view}"
            assert f'data-ticket="{ticket}"' in page_of(browser, f"/console/inbox?{query}").text, view
        assert f'data-ticket="{ticket}"' not in page_of(browser, "/console/inbox?view=channel&channel=email").text
        assert f'data-ticket="{ticket}"' not in page_of(browser, "/console/inbox?view=mine").text
        rows = browser.get("/console/inbox?view=unassigned", headers={"hx-request": "true"})
        assert rows.status_code == 200 and "<html" not in rows.text and f'data-ticket="{ticket}"' in rows.text
        found = page_of(browser, "/console/search?q=help").text
        assert f'data-ticket="{ticket}"' in found


def test_customer_text_is_escaped_and_masked_everywhere(console, people):
    with console() as browser:
        sign_in(browser, "lead@gopay.test")
        for path in ("/console/inbox?view=unassigned", f"/console/tickets/{people['ticket']}"):
            html = page_of(browser, path).text
            assert XSS not in html and "&lt;img src=x onerror=alert(1)&gt;" in html, path
            assert "0812-9876-5432" not in html and "9876" not in html.split("<main", 1)[1].split("customer-title")[0]


def test_an_agent_cannot_open_a_ticket_outside_their_reach(console, people, svc, make_customer):
    other_team = svc.agents.create_team("Refunds", areas=["refund_dispute"], languages=["en"])
    hidden = svc.desk.conversations.receive(channel="email", identity_kind="email", identity_value="x@example.com",
                                            body="private matter").ticket_id
    # Assigned to someone else in another team: outside an agent's reach (unassigned ones are not).
    lead = svc.agents.get_by_email("lead@gopay.test")
    svc.desk.tickets.assign(svc.desk.viewer(lead), hidden, agent_id=lead.id, team_id=other_team)
    with console() as browser:
        sign_in(browser, "ayu@gopay.test")
        refused = browser.get(f"/console/tickets/{hidden}")
        assert refused.status_code == 404 and "private matter" not in refused.text
        assert browser.get(f"/console/tickets/{hidden}/actions/solve").status_code in (403, 404)
        assert f'data-ticket="{hidden}"' not in page_of(browser, "/console/inbox?view=channel&channel=email").text


def test_the_ticket_page_shows_the_customer_panel_masked(console, people):
    with console() as browser:
        sign_in(browser, "ayu@gopay.test")
        html = page_of(browser, f"/console/tickets/{people['ticket']}").text
        assert "Siti Rahayu" in html and "Rp50.000" in html
        assert "+6281298765432" not in html
        assert 'action="/console/tickets/' + str(people["ticket"]) + '/reveal"' not in html  # no pii.reveal


def test_reveal_needs_the_permission_and_a_reason_and_is_audited(svc, console, people):
    ticket = people["ticket"]
    with console() as browser:
        sign_in(browser, "ayu@gopay.test")
        token = csrf_of(page_of(browser, f"/console/tickets/{ticket}").text)
        refused = browser.post(f"/console/tickets/{ticket}/reveal", data={"csrf": token, "reason": "customer asked"})
        assert refused.status_code == 403 and "+6281298765432" not in refused.text
    with console() as browser:
        sign_in(browser, "lead@gopay.test")
        token = csrf_of(page_of(browser, f"/console/tickets/{ticket}").text)
        short = browser.post(f"/console/tickets/{ticket}/reveal", data={"csrf": token, "reason": "x"})
        assert short.status_code == 422
        shown = browser.post(f"/console/tickets/{ticket}/reveal", data={"csrf": token, "reason": "caller verified"})
        assert shown.status_code == 200 and "+6281298765432" in shown.text
    with svc.db.read() as s:
        reasons = list(s.scalars(select(AuditEntry.reason).where(AuditEntry.action == "pii.revealed")))
    assert reasons == ["caller verified"]


# ---------------------------------------------------------------- replies and actions


def _messages(svc, ticket: int) -> int:
    with svc.db.read() as s:
        return s.scalar(select(func.count()).select_from(Message).where(Message.ticket_id == ticket))


def test_reply_and_note_go_through_the_desk_and_need_csrf(svc, console, people):
    ticket = people["ticket"]
    with console() as browser:
        sign_in(browser, "ayu@gopay.test")
        token = csrf_of(page_of(browser, f"/console/tickets/{ticket}").text)
        before = _messages(svc, ticket)
        forged = browser.post(f"/console/tickets/{ticket}/reply", data={"body": "hello"})
        assert forged.status_code == 403 and _messages(svc, ticket) == before
        wrong = browser.post(f"/console/tickets/{ticket}/reply", data={"body": "hello", "csrf": "0" * 64})
        assert wrong.status_code == 403 and _messages(svc, ticket) == before
        sent = browser.post(f"/console/tickets/{ticket}/reply", data={"csrf": token, "body": "We are on it"},
                            follow_redirects=False)
        assert sent.status_code == 303
        noted = browser.post(f"/console/tickets/{ticket}/reply", headers={"x-csrf-token": token},
                             data={"body": "checked the ledger", "internal": "1"}, follow_redirects=False)
        assert noted.status_code == 303
    messages = svc.desk.conversations.messages(svc.desk.viewer(people["agent"]), ticket)
    assert [(m.body, m.internal, m.channel) for m in messages[-2:]] == [
        ("We are on it", False, "whatsapp"), ("checked the ledger", True, "whatsapp")]


def _lock(svc, phone: str) -> None:
    """Wrong PINs while signed in lock an account (wrong passwords only pause logins: ADR 0018)."""
    customer_id = svc.identity.find_by_login(phone).id
    for _ in range(svc.settings.max_failed_logins):
        with pytest.raises(Exception):  # noqa: B017 - any refusal: the point is the count
            svc.identity.verify_pin(customer_id, "000000")


def _locked(svc, customer_id: int) -> bool:
    with svc.db.read() as s:
        return s.get(Customer, customer_id).locked_at is not None


def test_unlock_after_verification_checks_the_answers_and_notes_the_result(svc, console, people):
    ticket, customer = people["ticket"], people["customer"]
    _lock(svc, "+6281298765432")
    id_last4 = svc.identity.get(customer).id_last4
    with console() as browser:
        sign_in(browser, "ayu@gopay.test")  # an agent: no account.unlock
        html = page_of(browser, f"/console/tickets/{ticket}").text
        assert "actions/unlock" not in html
        refused = browser.post(f"/console/tickets/{ticket}/actions/unlock", data={
            "csrf": csrf_of(html), "name": "Siti Rahayu", "id_last4": id_last4, "recent_amount": "50000"})
        assert refused.status_code == 403 and _locked(svc, customer)
    with console() as browser:
        sign_in(browser, "lead@gopay.test")
        html = page_of(browser, f"/console/tickets/{ticket}").text
        assert f"/console/tickets/{ticket}/actions/unlock" in html
        confirm = page_of(browser, f"/console/tickets/{ticket}/actions/unlock").text
        assert "Siti Rahayu" in confirm and 'name="id_last4"' in confirm
        token = csrf_of(confirm)
        wrong = browser.post(f"/console/tickets/{ticket}/actions/unlock", data={
            "csrf": token, "name": "Siti Rahayu", "id_last4": id_last4, "recent_amount": "12345"})
        assert wrong.status_code == 403 and _locked(svc, customer)
        done = browser.post(f"/console/tickets/{ticket}/actions/unlock", data={
            "csrf": token, "name": "siti  rahayu", "id_last4": id_last4, "recent_amount": "50000"})
        assert done.status_code == 200 and not _locked(svc, customer)
        assert "Rp50.000" in done.text and "internal" in done.text
    svc.identity.login_with_password("+6281298765432", PASSWORD)
    with svc.db.read() as s:
        unlocked = s.scalars(select(AuditEntry).where(AuditEntry.action == "account.unlocked")).one()
    assert unlocked.actor_type == "agent" and unlocked.details["via"] == "knowledge_checked_by_agent"


def test_freeze_resend_assign_and_solve(svc, console, people):
    ticket, customer = people["ticket"], people["customer"]
    with console() as browser:
        sign_in(browser, "ayu@gopay.test")
        token = csrf_of(page_of(browser, f"/console/tickets/{ticket}").text)
        empty = browser.post(f"/console/tickets/{ticket}/actions/freeze", data={"csrf": token, "reason": " "})
        assert empty.status_code == 422 and not svc.identity.get(customer).frozen
        frozen = browser.post(f"/console/tickets/{ticket}/actions/freeze", data={"csrf": token,
                                                                               "reason": "phone stolen"})
        assert frozen.status_code == 200 and svc.identity.get(customer).frozen
        sent = browser.post(f"/console/tickets/{ticket}/actions/resend_code", data={"csrf": token})
        assert sent.status_code == 200 and codes_to(svc, "+6281298765432")
        taken = browser.post(f"/console/tickets/{ticket}/actions/assign", data={"csrf": token})
        assert taken.status_code == 200
        other = browser.post(f"/console/tickets/{ticket}/actions/assign",
                             data={"csrf": token, "email": "lead@gopay.test"})
        assert other.status_code == 403  # giving it to someone else needs ticket.assign
        assert f'data-ticket="{ticket}"' in page_of(browser, "/console/inbox?view=mine").text
        solved = browser.post(f"/console/tickets/{ticket}/actions/solve", data={"csrf": token})
        assert solved.status_code == 200
    viewer = svc.desk.viewer(people["agent"])
    assert svc.desk.tickets.get(viewer, ticket).status == "solved"
    assert svc.desk.tickets.get(viewer, ticket).assignee_id == people["agent"].id
    notes = [m.body for m in svc.desk.conversations.messages(viewer, ticket) if m.internal]
    assert any("phone stolen" in n for n in notes) and any("0812" in n for n in notes)


def test_presence_toggle(svc, console, people):
    with console() as browser:
        sign_in(browser, "ayu@gopay.test")
        token = csrf_of(page_of(browser, "/console/inbox").text)
        moved = browser.post("/console/presence", data={"csrf": token, "presence": "online",
                                                         "next": "https://evil.example/"}, follow_redirects=False)
        assert moved.status_code == 303 and moved.headers["location"] == "/console/inbox"
        assert svc.agents.get(people["agent"].id).presence == "online"
        bad = browser.post("/console/presence", data={"csrf": token, "presence": "asleep"})
        assert bad.status_code == 422 and svc.agents.get(people["agent"].id).presence == "online"


# ---------------------------------------------------------------- hostile input


def test_hostile_input_is_refused_with_4xx_and_changes_nothing(svc, console, people):
    ticket = people["ticket"]
    with console() as browser:
        sign_in(browser, "lead@gopay.test")
        token = csrf_of(page_of(browser, f"/console/tickets/{ticket}").text)
        before = _messages(svc, ticket)
        for path in ("/console/tickets/99999999999999999999999", "/console/tickets/-1", "/console/tickets/1e9",
                     f"/console/tickets/{ticket}/actions/drop_tables"):
            assert browser.get(path).status_code == 404, path
        for query in ("view=everything", "view=channel&channel=fax", "view=area&area=%00",
                      "view=team&team=99999999999999999999", "cursor=" + "A" * 500):
            assert browser.get(f"/console/inbox?{query}").status_code == 422, query
        assert browser.get("/console/search?q=" + "x" * 300).status_code == 422
        cases = [{"body": "a\x00b"}, {"body": "x" * 20_000}, {"body": "x" * 5001}, {"body": ""}]
        for data in cases:
            answer = browser.post(f"/console/tickets/{ticket}/reply", data={"csrf": token, **data})
            assert 400 <= answer.status_code < 500, data
        huge = browser.post(f"/console/tickets/{ticket}/reply", content=b"body=" + b"x" * 70_000,
                            headers={"content-type": "application/x-www-form-urlencoded", "x-csrf-token": token})
        assert huge.status_code == 413
        json_body = browser.post(f"/console/tickets/{ticket}/reply", json={"body": "hi"},
                                 headers={"x-csrf-token": token})
        assert json_body.status_code == 422
        for macro in ("abc", "9" * 30, "-3"):
            assert browser.post(f"/console/tickets/{ticket}/macro",
                                data={"csrf": token, "macro_id": macro}).status_code in (404, 422), macro
        assert browser.post(f"/console/tickets/{ticket}/actions/unlock", data={
            "csrf": token, "name": "Siti", "id_last4": "1234", "recent_amount": "9" * 40}).status_code == 422
        assert _messages(svc, ticket) == before


# ---------------------------------------------------------------- the live socket


def test_the_console_socket_takes_the_session_cookie_from_this_origin_only(svc, console, people):
    from starlette.websockets import WebSocketDisconnect

    with console() as browser:
        sign_in(browser, "lead@gopay.test")
        after = svc.desk.events.last_id()
        with pytest.raises(WebSocketDisconnect) as cross_site:
            with browser.websocket_connect(f"/console/events/ws?after={after}",
                                           headers={"origin": "https://evil.example"}) as ws:
                ws.receive_json()
        assert cross_site.value.code == 4403
        with browser.websocket_connect(f"/console/events/ws?after={after}",
                                       headers={"origin": "http://testserver"}) as ws:
            svc.desk.conversations.receive(channel="whatsapp", identity_kind="whatsapp",
                                           identity_value="+6281298765432", body="are you there?")
            event = ws.receive_json()
            assert event["ticket_id"] == people["ticket"] and event["id"] > after
    with console() as stranger, pytest.raises(WebSocketDisconnect) as unsigned:
        with stranger.websocket_connect("/console/events/ws", headers={"origin": "http://testserver"}) as ws:
            ws.receive_json()
    assert unsigned.value.code == 4401

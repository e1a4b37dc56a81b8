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


# ---------------------------------------------------------------- refund (maker-checker), cashback, merge, split

SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the engine is not what is tested


def _notes(svc, agent, ticket: int) -> list[str]:
    return [m.body for m in svc.desk.conversations.messages(svc.desk.viewer(agent), ticket) if m.internal]


@pytest.fixture
def under_review(svc, people, make_merchant):
    """Siti's Rp 700.000 refund request on her ticket, under review (above the maker-checker threshold)."""
    customer = people["customer"]
    svc.wallet.topup(customer, 1_000_000, "card", "refund-topup")
    merchant = make_merchant("Toko Sepatu")
    payment = svc.wallet.pay_merchant(customer, merchant, 700_000, "refund-pay")
    request = svc.refunds.submit(customer, payment.reference, reason_code="goods_not_received",
                                 reason="never arrived, call me on 0812-9876-5432", idempotency_key="rr-1",
                                 ticket_id=people["ticket"])
    svc.refunds.merchant_decline(merchant, request.id, reason="we shipped it")
    assert svc.refunds.get(request.id).status == "under_review"
    svc.agents.create("rina@gopay.test", "supervisor", password="demo-pass-1", name="Rina")
    return request.id


@SQLITE_ONLY
def test_a_refund_is_proposed_by_one_agent_and_approved_by_another(svc, console, people, under_review):
    ticket, refund = people["ticket"], under_review
    path = f"/console/tickets/{ticket}/actions/refund_"
    with console() as ayu:
        sign_in(ayu, "ayu@gopay.test")
        panel = page_of(ayu, f"/console/tickets/{ticket}").text
        assert f'refund_propose?refund={refund}"' in panel and "refund_approve?" not in panel  # no approve right
        token = csrf_of(panel)
        confirm = page_of(ayu, f"{path}propose?refund={refund}").text
        assert "Maker-checker" in confirm or "双人复核" in confirm
        assert "0812****5432" in confirm and "9876" not in confirm  # the customer's reason, masked
        # Without the permission: 403, and nothing changes.
        assert ayu.get(f"{path}approve?refund={refund}").status_code == 403
        denied = ayu.post(f"{path}approve", data={"csrf": token, "refund_id": str(refund), "reason": "looks fine"})
        assert denied.status_code == 403 and svc.refunds.get(refund).status == "under_review"
        # Without the CSRF token: 403, nothing proposed.
        forged = ayu.post(f"{path}propose", data={"refund_id": str(refund), "reason": "no tracking"})
        assert forged.status_code == 403 and svc.refunds.get(refund).proposed_by is None
        proposed = ayu.post(f"{path}propose", data={"csrf": token, "refund_id": str(refund), "reason": "no tracking"},
                            follow_redirects=False)
        assert proposed.status_code == 303 and "done=refund_propose" in proposed.headers["location"]
    assert svc.refunds.get(refund).proposed_by == people["agent"].id
    with console() as lead:
        sign_in(lead, "lead@gopay.test")
        token = csrf_of(page_of(lead, f"/console/tickets/{ticket}").text)
        # A changed request needs a new proposal: 409, said as such, nothing approved.
        svc.refunds.change_amount(people["agent"].id, refund, 650_000, reason="one pair kept")
        changed = lead.post(f"{path}approve", data={"csrf": token, "refund_id": str(refund), "reason": "approve"},
                            headers={"accept-language": "en"})
        assert changed.status_code == 409 and changed.headers["x-error-code"] == "changed_since_proposal"
        assert "must be proposed again" in changed.text and svc.refunds.get(refund).status == "under_review"
        # The maker cannot be the checker: 403 with a clear message, nothing approved.
        lead.post(f"{path}propose", data={"csrf": token, "refund_id": str(refund), "reason": "amount fixed"})
        same = lead.post(f"{path}approve", data={"csrf": token, "refund_id": str(refund), "reason": "approve"},
                         headers={"accept-language": "en"})
        assert same.status_code == 403 and same.headers["x-error-code"] == "same_agent"
        assert "you cannot also approve it" in same.text and svc.refunds.get(refund).status == "under_review"
    with console() as rina:
        sign_in(rina, "rina@gopay.test")
        token = csrf_of(page_of(rina, f"/console/tickets/{ticket}").text)
        assert "Lead" in page_of(rina, f"{path}approve?refund={refund}").text  # who proposed it
        approved = rina.post(f"{path}approve", data={"csrf": token, "refund_id": str(refund), "reason": "checked"})
        assert approved.status_code == 200
    done = svc.refunds.get(refund)
    assert done.status in ("approved", "processing", "refunded") and done.decided_by.startswith("agent:")
    notes = _notes(svc, people["agent"], ticket)
    assert len([n for n in notes if f"RR{refund}" in n]) == 3  # two proposals and the approval, on the timeline


@SQLITE_ONLY
def test_refund_actions_refuse_hostile_and_foreign_ids(svc, console, people, under_review, make_customer,
                                                       make_merchant):
    ticket, refund = people["ticket"], under_review
    other = make_customer(balance=900_000)
    theirs = svc.refunds.submit(other, svc.wallet.pay_merchant(other, make_merchant("Lain"), 600_000, "o-1").reference,
                                reason_code="goods_not_received", reason="not here", idempotency_key="o-1")
    path = f"/console/tickets/{ticket}/actions/refund_propose"
    with console() as lead:
        sign_in(lead, "lead@gopay.test")
        token = csrf_of(page_of(lead, f"/console/tickets/{ticket}").text)
        for raw in (str(theirs.id), "9" * 30, "-1", "abc", ""):
            assert lead.get(f"{path}?refund={raw}").status_code == 404, raw
            assert lead.post(path, data={"csrf": token, "refund_id": raw, "reason": "fine"}).status_code == 404, raw
        for reason in ("a\x00b", "x" * 501, "", "no"):
            answer = lead.post(path, data={"csrf": token, "refund_id": str(refund), "reason": reason})
            assert answer.status_code == 422, reason
        assert lead.post(path, json={"refund_id": refund, "reason": "fine"}, headers={"x-csrf-token": token}
                         ).status_code == 422
    assert svc.refunds.get(refund).proposed_by is None and svc.refunds.get(theirs.id).proposed_by is None


@SQLITE_ONLY
def test_a_supervisor_grants_a_cashback_from_the_panel(svc, console, people, make_merchant):
    from datetime import timedelta

    from gopaycare.platform.audit import Actor
    from tests.conftest import START

    ticket, customer = people["ticket"], people["customer"]
    svc.promotions.create("JAJAN10", {"en": "Food cashback", "zh-CN": "美食返现", "id": "Cashback kuliner"},
                          START - timedelta(days=1), START + timedelta(days=30), percent=10, max_cashback=10_000,
                          rules={"min_amount": 25_000}, actor=Actor.agent(1))
    small = svc.wallet.pay_merchant(customer, make_merchant("Bakmi GM", "food"), 20_000, "p-small")
    svc.promotions.award(customer, small.reference)
    path = f"/console/tickets/{ticket}/actions/cashback"
    before = svc.wallet.summary(customer).balance
    with console() as ayu:
        sign_in(ayu, "ayu@gopay.test")
        token = csrf_of(page_of(ayu, f"/console/tickets/{ticket}").text)
        assert ayu.get(f"{path}?reference={small.reference}").status_code == 403
        assert ayu.post(path, data={"csrf": token, "reference": small.reference, "campaign": "JAJAN10",
                                    "reason": "told the minimum was 20.000"}).status_code == 403
    assert svc.wallet.summary(customer).balance == before
    with console() as lead:
        sign_in(lead, "lead@gopay.test")
        panel = page_of(lead, f"/console/tickets/{ticket}").text
        token = csrf_of(panel)
        assert f"actions/cashback?reference={small.reference}" in panel
        confirm = page_of(lead, f"{path}?reference={small.reference}").text
        assert "JAJAN10" in confirm and "+6281298765432" not in confirm
        for bad in ({"reference": "TX-NOT-HERS"}, {"reference": small.reference, "campaign": "x" * 41},
                    {"reference": small.reference, "reason": "a\x00b"}):
            data = {"csrf": token, "reference": small.reference, "campaign": "JAJAN10", "reason": "goodwill", **bad}
            assert lead.post(path, data=data).status_code in (404, 422), bad
        assert svc.wallet.summary(customer).balance == before
        granted = lead.post(path, data={"csrf": token, "reference": small.reference, "campaign": "JAJAN10",
                                        "reason": "told the minimum was 20.000"})
        assert granted.status_code == 200
        again = lead.post(path, data={"csrf": token, "reference": small.reference, "campaign": "JAJAN10",
                                      "reason": "twice"}, headers={"accept-language": "en"})
        assert again.status_code == 409 and "already decided" in again.text
    assert svc.wallet.summary(customer).balance == before + 2_000
    assert any("JAJAN10" in n and small.reference in n for n in _notes(svc, people["agent"], ticket))


@SQLITE_ONLY
def test_split_then_merge_back_with_the_permission(svc, console, people, make_customer):
    ticket = people["ticket"]
    second = svc.desk.conversations.receive(channel="whatsapp", identity_kind="whatsapp",
                                            identity_value="+6281298765432", body="also my PIN, 0812-9876-5432")
    assert second.ticket_id == ticket
    with console() as ayu:
        sign_in(ayu, "ayu@gopay.test")
        token = csrf_of(page_of(ayu, f"/console/tickets/{ticket}").text)
        confirm = page_of(ayu, f"/console/tickets/{ticket}/actions/split").text
        assert f'name="message_{second.message_id}"' in confirm and "9876" not in confirm  # masked bodies
        for bad in ({}, {"message_99999999999999999999999": "1"}, {f"message_{second.message_id}": "1",
                                                                   "subject": "x" * 201}):
            assert ayu.post(f"/console/tickets/{ticket}/actions/split", data={"csrf": token, **bad}
                            ).status_code in (404, 422), bad
        split = ayu.post(f"/console/tickets/{ticket}/actions/split", follow_redirects=False,
                         data={"csrf": token, f"message_{second.message_id}": "1", "subject": "PIN"})
        assert split.status_code == 303
        new = int(re.search(r"/console/tickets/(\d+)\?done=split", split.headers["location"]).group(1))
        # Ayu has no ticket.merge: 403, nothing merged.
        assert ayu.post(f"/console/tickets/{new}/actions/merge", data={"csrf": token, "into": str(ticket),
                                                                        "reason": "same case"}).status_code == 403
    lead_view = svc.desk.viewer(svc.agents.get_by_email("lead@gopay.test"))
    assert svc.desk.tickets.get(lead_view, new).status != "merged"
    stranger = svc.desk.conversations.receive(channel="whatsapp", identity_kind="whatsapp",
                                              identity_value="+6281311110000", body="hello").ticket_id
    with console() as lead:
        sign_in(lead, "lead@gopay.test")
        token = csrf_of(page_of(lead, f"/console/tickets/{new}").text)
        assert f'value="{ticket}"' in page_of(lead, f"/console/tickets/{new}/actions/merge").text
        other = lead.post(f"/console/tickets/{new}/actions/merge", data={"csrf": token, "into": str(stranger),
                                                                          "reason": "same case"})
        assert other.status_code == 409 and other.headers["x-error-code"] == "different_contacts"
        for into in ("9" * 30, "abc", str(new)):
            refused = lead.post(f"/console/tickets/{new}/actions/merge",
                                data={"csrf": token, "into": into, "reason": "same"})
            assert refused.status_code in (404, 422), into
        merged = lead.post(f"/console/tickets/{new}/actions/merge", follow_redirects=False,
                           data={"csrf": token, "into": str(ticket), "reason": "same case after all"})
        assert merged.status_code == 303 and merged.headers["location"].startswith(f"/console/tickets/{ticket}?")
    assert svc.desk.tickets.get(lead_view, new).status == "merged"
    assert "ticket.merged_from" in page_of_lead_history(svc, lead_view, ticket)


def page_of_lead_history(svc, viewer, ticket: int) -> list[str]:
    return [e.action for e in svc.desk.tickets.history(viewer, ticket)]


@SQLITE_ONLY
def test_the_header_shows_load_and_capacity_and_offers_notifications(svc, console, people):
    svc.desk.tickets.assign(svc.desk.viewer(people["agent"]), people["ticket"], agent_id=people["agent"].id,
                            reason="test")
    with console() as ayu:
        sign_in(ayu, "ayu@gopay.test")
        html = page_of(ayu, "/console/inbox").text
        assert 'id="load"' in html and "1 / 5" in html
        assert 'id="notify-enable" hidden' in html and f'data-me="{people["agent"].id}"' in html


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))


def test_a_customers_files_are_on_the_timeline_and_open_only_for_agents_who_may_open_the_ticket(
        svc, console, people, make_customer):
    customer = make_customer(phone="+6281277776666")
    kept = svc.files.save(PNG, origin="chat", declared_type="image/png", name="KTP 3171012345678901.png",
                          customer_id=customer)
    refused = {"state": "refused", "reason": "type_not_allowed", "name": "tool.exe"}
    ticket = svc.desk.conversations.receive(channel="chat", identity_kind="phone", identity_value="+6281277776666",
                                            body="here is my receipt", attachments=[kept.entry(), refused]).ticket_id
    other = svc.files.save(PNG + b"other", origin="chat", declared_type="image/png", name="b.png",
                           customer_id=customer)
    path = f"/console/tickets/{ticket}/files/{kept.id}"
    with console() as browser:
        assert browser.get(path, follow_redirects=False).status_code in (303, 401)  # signed out: no file
        sign_in(browser, "lead@gopay.test")
        timeline = page_of(browser, f"/console/tickets/{ticket}").text
        assert f'href="{path}"' in timeline and "3171012345678901" not in timeline  # the name is masked too
        assert "tool.exe · 已拒收（未保存）" in timeline  # the default language, Chinese
        got = browser.get(path)
        assert got.status_code == 200 and got.content == PNG and got.headers["content-type"] == "image/png"
        # A file of no message of this ticket, an odd id, a huge one: 404 like a missing file.
        for bad in (f"/console/tickets/{ticket}/files/{other.id}", f"/console/tickets/{ticket}/files/2%00",
                    f"/console/tickets/{ticket}/files/{2**70}", f"/console/tickets/{ticket}/files/{'9' * 5000}",
                    f"/console/tickets/{2**70}/files/{kept.id}", f"/console/tickets/{ticket}/files/%C2%B2",
                    "/console/tickets/%C2%B2", f"/console/tickets/{ticket}/actions/refund_propose?refund=%C2%B2"):
            assert browser.get(bad).status_code == 404, bad
    # An agent who may not open the ticket gets no file either.
    other_team = svc.agents.create_team("Refunds", areas=["refund_dispute"], languages=["en"])
    lead = svc.agents.get_by_email("lead@gopay.test")
    svc.desk.tickets.assign(svc.desk.viewer(lead), ticket, agent_id=lead.id, team_id=other_team)
    with console() as browser:
        sign_in(browser, "ayu@gopay.test")
        assert browser.get(path).status_code == 404

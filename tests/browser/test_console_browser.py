"""The agent console in a real browser: Playwright driving Debian's chromium against the app served by
uvicorn on loopback, on the demo story's data, under a strict Content-Security-Policy.

Journeys: an agent signs in, sees a ticket arrive live, replies; an agent unlocks a locked account
after verifying the customer. Every console page is screenshot at desktop and phone width (into
GOPAYCARE_SCREENSHOTS or a tmp dir), and axe-core finds no serious or critical violation.

Skipped, with the reason, when /usr/bin/chromium is absent, unless GOPAYCARE_REQUIRE_BROWSER=1
(.ci/run sets it and installs chromium and fonts-noto-cjk).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
PORTS = range(18400, 18500)  # this suite's loopback range
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
CSP = "default-src 'self'"

if not Path(CHROMIUM).exists():
    if os.environ.get("GOPAYCARE_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"GOPAYCARE_REQUIRE_BROWSER=1 but {CHROMIUM} is missing (apt-get install chromium)")
    pytest.skip(f"browser tests need {CHROMIUM} (apt-get install chromium fonts-noto-cjk)", allow_module_level=True)

from playwright.sync_api import Browser, Page, expect  # noqa: E402

# A real browser on a shared machine: more than the suite's 120 s default, still bounded.
pytestmark = pytest.mark.timeout(300)


def _free_port() -> int:
    # Each xdist worker starts at its own place in the range, so two never race for one port.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:]
    offset = (int(worker) * 10 if worker.isdigit() else 0) % len(PORTS)
    for port in [*PORTS[offset:], *PORTS[:offset]]:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 18400-18499")


class StrictCsp:
    """What the global security-headers middleware will send: the pages must work under it."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def with_csp(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"content-security-policy", CSP.encode()))
            await send(message)

        await self.app(scope, receive, with_csp if scope["type"] == "http" else send)


def story_services(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory, name: str) -> tuple[Any, Any]:
    """The services on a fresh copy of the migrated database, seeded with the demo story, the knowledge base
    loaded as serve and demo do (the ticket view offers the articles)."""
    from gopaycare.container import build
    from gopaycare.demo.story import seed_story
    from gopaycare.kb.service import ensure_loaded
    from gopaycare.platform.settings import load_settings

    folder = tmp_path_factory.mktemp(name)
    shutil.copy(sqlite_template, folder / f"{name}.db")
    settings = load_settings(database_url=f"sqlite:///{folder / f'{name}.db'}", password_hash_profile="fast",
                             secret_key="browser-test-secret", jobs_path=str(folder / "jobs.db"), log_json=False,
                             inbound_smtp_enabled=False)
    svc = build(settings, immediate_jobs=True, senders={})
    svc.wallet.bootstrap()
    people = seed_story(svc, svc.clock.now())
    ensure_loaded(svc.kb)
    return svc, people


@contextmanager
def serving(app: Any, port: int) -> Iterator[None]:
    """The app under a strict CSP, served by uvicorn on a loopback port for the block's length."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(StrictCsp(app), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the server did not start"
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def served(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from gopaycare.web.app import create_app

    svc, people = story_services(sqlite_template, tmp_path_factory, "console")
    port = _free_port()
    try:
        with serving(create_app(svc), port):
            yield {"svc": svc, "people": people, "url": f"http://127.0.0.1:{port}"}
    finally:
        svc.close()


def open_page(browser: Browser, *, lang: str = "en", size: dict[str, int] = DESKTOP, **options: Any) -> Page:
    context = browser.new_context(viewport=size, locale=lang, extra_http_headers={"accept-language": lang}, **options)
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 and
            "/console/login" not in r.url else None)
    page.problems = problems  # type: ignore[attr-defined]
    return page


def sign_in(page: Page, url: str, email: str = "supervisor@gopay.test") -> None:
    page.goto(f"{url}/console/login")
    page.get_by_label(re.compile("Email|邮箱")).fill(email)
    page.get_by_label(re.compile("Password|密码")).fill("demo-password")
    page.get_by_role("button", name=re.compile("Sign in|登录")).click()
    expect(page).to_have_url(re.compile(r"/console/inbox"))


def no_problems(page: Page) -> None:
    """No script error and no CSP violation (chromium reports both on the console)."""
    assert page.problems == [], page.problems  # type: ignore[attr-defined]


def test_an_agent_sees_a_ticket_arrive_live_and_replies(served: dict[str, Any], browser: Browser) -> None:
    svc, url = served["svc"], served["url"]
    page = open_page(browser)
    sign_in(page, url)
    page.goto(f"{url}/console/inbox?view=channel&channel=whatsapp")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "online")
    hostile = "<img src=x onerror=alert(1)> my GoPay balance vanished"
    ticket = svc.desk.conversations.receive(channel="whatsapp", identity_kind="whatsapp",
                                            identity_value="+6281311112222", body=hostile, language="en").ticket_id
    row = page.locator(f'tr[data-ticket="{ticket}"]')
    expect(row).to_be_visible()  # no reload: the event stream told the page
    expect(row).to_contain_text("<img src=x onerror=alert(1)>")  # shown as text, never as an image
    assert page.locator("#inbox img").count() == 0
    row.get_by_role("link").click()
    expect(page).to_have_url(re.compile(f"/console/tickets/{ticket}"))
    page.wait_for_load_state("networkidle")
    page.keyboard.press("r")  # the shortcut focuses the reply box
    expect(page.locator("#reply-body")).to_be_focused()
    page.keyboard.type("Hi John, we are checking your balance now.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#timeline")).to_contain_text("Hi John, we are checking your balance now.")
    replies = [m for m in svc.desk.conversations.messages(svc.desk.viewer(svc.agents.get_by_email(
        "supervisor@gopay.test")), ticket) if m.author_type == "agent"]
    assert [(m.body, m.channel, m.internal) for m in replies] == [
        ("Hi John, we are checking your balance now.", "whatsapp", False)]
    no_problems(page)
    page.context.close()


def test_an_agent_unlocks_a_locked_account_after_verification(served: dict[str, Any], browser: Browser) -> None:
    svc, url = served["svc"], served["url"]
    lina = served["people"]["lina"]
    assert svc.identity.get(lina).locked
    amount = next(t.amount for t in svc.wallet.list_transactions(lina, limit=50, status="succeeded"))
    page = open_page(browser)
    sign_in(page, url)
    page.get_by_role("searchbox").fill("锁定")
    page.keyboard.press("Enter")
    page.locator("tr.ticket-row a.ticket-link").first.click()
    expect(page.locator(".customer")).to_contain_text("李娜")
    page.get_by_role("link", name="Unlock after verification").click()
    expect(page.locator("#confirm-form")).to_be_visible()  # htmx loaded the confirmation in place
    expect(page.locator(".confirm")).to_contain_text("李娜")
    page.get_by_label("The customer's full name").fill("李娜")
    page.get_by_label("Last 4 digits of the ID number").fill("0004")
    page.get_by_label(re.compile("Amount of a transaction")).fill(str(amount))
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#done")).to_contain_text("unlocked")
    expect(page.locator("#timeline")).to_contain_text("the account is unlocked")
    assert not svc.identity.get(lina).locked
    no_problems(page)
    page.context.close()


def test_an_agent_proposes_a_refund_and_a_second_agent_approves_it(served: dict[str, Any], browser: Browser) -> None:
    svc, url = served["svc"], served["url"]
    kadek = served["people"]["kadek"]
    merchant = svc.wallet.add_merchant("Toko Jurnal", "shopping")
    payment = svc.wallet.pay_merchant(kadek, merchant, 700_000, "browser-refund-pay")
    refund = svc.refunds.submit(kadek, payment.reference, reason_code="goods_not_received",
                                reason="sepatu tidak datang", idempotency_key="browser-refund-1")
    svc.refunds.merchant_decline(merchant, refund.id, reason="we shipped it")
    ticket = svc.refunds.get(refund.id).ticket_id
    ayu = svc.agents.get_by_email("agent@gopay.test")
    lead = svc.agents.get_by_email("supervisor@gopay.test")
    # The maker: an agent who may propose, not approve. Notifications allowed, waiting in the inbox.
    page = open_page(browser, permissions=["notifications"])
    sign_in(page, url, "agent@gopay.test")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "online")
    expect(page.locator("#load")).to_be_visible()
    svc.desk.tickets.assign(svc.desk.viewer(lead), ticket, agent_id=ayu.id, reason="refund review")
    expect(page.locator("body")).to_have_attribute("data-notified", str(ticket))  # the browser notification
    page.goto(f"{url}/console/tickets/{ticket}")
    row = page.locator(f'li[data-refund="{refund.id}"]')
    assert row.locator("[data-row-action=refund_approve]").count() == 0  # no refund.approve: not offered
    row.get_by_role("link", name="Propose approval").click()
    expect(page.locator("#maker-checker")).to_contain_text("Maker-checker")
    page.get_by_label(re.compile("Reason for the decision")).fill("no tracking number from the merchant")
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#done")).to_contain_text("second agent")
    expect(page.locator("#timeline")).to_contain_text(f"RR{refund.id}")
    assert svc.refunds.get(refund.id).proposed_by == ayu.id
    no_problems(page)
    page.context.close()
    # The checker: a supervisor, in another browser (axe checks the page with its confirmation open;
    # the script is injected by the test, so this context alone bypasses the CSP).
    page = open_page(browser, bypass_csp=True)
    sign_in(page, url)
    page.goto(f"{url}/console/tickets/{ticket}")
    page.locator(f'li[data-refund="{refund.id}"]').get_by_role("link", name="Approve refund").click()
    expect(page.locator("#maker-checker")).to_contain_text(f"Proposed by {ayu.name}")
    assert serious_violations(page) == []
    page.get_by_label(re.compile("Reason for the decision")).fill("merchant has no proof of delivery")
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#done")).to_contain_text("approved")
    expect(page.locator(f'li[data-refund="{refund.id}"]')).to_contain_text("refunded")
    assert svc.refunds.get(refund.id).status == "refunded"
    no_problems(page)
    page.context.close()


CONSOLE_PAGES = [
    ("login", "/console/login", False),
    ("inbox", "/console/inbox?view=all", True),
    ("inbox-sla", "/console/inbox?view=sla", True),
    ("search", "/console/search?q=payment", True),
    ("dashboard", "/console/dashboard", True),
    ("reports", "/console/reports", True),
    ("ticket", None, True),
    ("confirm-freeze", "confirm", True),
    ("confirm-split", "confirm-split", True),
]


def _path(served: dict[str, Any], path: str | None) -> str:
    if path in (None, "confirm", "confirm-split"):
        svc = served["svc"]
        lead = svc.desk.viewer(svc.agents.get_by_email("supervisor@gopay.test"))
        from gopaycare.desk.inbox import TicketFilter

        ticket = next(t for t in svc.desk.inbox.tickets(lead, TicketFilter(area="transaction"), limit=50).items
                      if t.channel == "chat")
        return f"/console/tickets/{ticket.id}" + {"confirm": "/actions/freeze", "confirm-split": "/actions/split"}\
            .get(path or "", "")
    return path


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_every_console_page_renders_at_desktop_and_phone_width(served: dict[str, Any], browser: Browser,
                                                               shots: Path, lang: str) -> None:
    for width, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page = open_page(browser, lang=lang, size=size)
        sign_in(page, served["url"])
        for name, path, _ in CONSOLE_PAGES:
            if name == "login":
                page.context.clear_cookies()
            page.goto(served["url"] + _path(served, path))
            page.wait_for_load_state("networkidle")
            assert page.locator("html").get_attribute("lang") == lang
            # Nothing wider than the screen: a phone never scrolls sideways.
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{name} at {width}: {overflow}px wider than the screen"
            page.screenshot(path=str(shots / f"console-{name}-{lang}-{width}.png"), full_page=True)
            if name == "login":
                sign_in(page, served["url"])
        no_problems(page)
        page.context.close()


ADMIN_PAGES = ("teams", "macros", "kb", "sla", "promotions", "rules")


def test_admin_pages_render_at_desktop_and_phone_width_with_no_serious_violation(
        served: dict[str, Any], browser: Browser, shots: Path) -> None:
    """The admin pages (pages/admin.py), as the demo's admin: screenshots in zh-CN at both widths, axe in en."""
    for width, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page = open_page(browser, lang="zh-CN", size=size)
        sign_in(page, served["url"], "admin@gopay.test")
        for name in ADMIN_PAGES:
            page.goto(f"{served['url']}/console/admin/{name}")
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"admin {name} at {width}: {overflow}px wider than the screen"
            page.screenshot(path=str(shots / f"console-admin-{name}-zh-CN-{width}.png"), full_page=True)
        no_problems(page)
        page.context.close()
    page = open_page(browser, bypass_csp=True)
    sign_in(page, served["url"], "admin@gopay.test")
    found = {}
    for name in ADMIN_PAGES:
        page.goto(f"{served['url']}/console/admin/{name}")
        serious = serious_violations(page)
        if serious:
            found[name] = serious
    page.context.close()
    assert found == {}


def serious_violations(page: Page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])})" for v in result["violations"]
            if v["impact"] in ("serious", "critical")]


def test_console_pages_have_no_serious_accessibility_violation(served: dict[str, Any], browser: Browser) -> None:
    # axe is injected by the test (never served): this context alone bypasses the CSP to run it.
    page = open_page(browser, bypass_csp=True)
    sign_in(page, served["url"])
    found: dict[str, list[str]] = {}
    for name, path, _ in CONSOLE_PAGES:
        if name == "login":
            continue
        page.goto(served["url"] + _path(served, path))
        serious = serious_violations(page)
        if serious:
            found[name] = serious
        if name == "ticket":  # one keystroke puts the first knowledge-base answer into the reply
            first = page.locator("[data-insert]").first.get_attribute("data-insert")
            page.locator("body").press("1")
            expect(page.locator("#reply-body")).to_have_value(first or "")
            expect(page.locator("#reply-body")).to_be_focused()
    page.context.clear_cookies()
    page.goto(served["url"] + "/console/login")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    login = [v["id"] for v in result["violations"] if v["impact"] in ("serious", "critical")]
    if login:
        found["login"] = login
    assert found == {}
    page.context.close()


def test_a_merchant_answers_a_dispute_on_its_page(served: dict[str, Any], browser: Browser) -> None:
    """The merchant page (docs/adr/0027): the demo merchant signs in with its key, finds the dispute
    waiting for it with its due date, answers with evidence; no script error or CSP violation, and axe
    finds nothing serious."""
    from gopaycare.demo.refund_story import MERCHANT_KEY

    svc, url = served["svc"], served["url"]
    waiting = next(d for d in svc.disputes.queue(status="needs_response"))
    page = open_page(browser)
    page.goto(f"{url}/merchant/login?lang=en")
    page.get_by_label("Merchant API key").fill(MERCHANT_KEY)
    page.get_by_role("button", name="Merchant sign-in").click()
    expect(page).to_have_url(re.compile(r"/merchant/cases"))
    expect(page.get_by_text("waiting for your response")).to_be_visible()
    page.get_by_role("link", name=f"DP{waiting.id}").click()
    page.get_by_label("Kind of evidence").select_option("shipping_proof")
    page.get_by_label("Details").fill("JNE 0099, delivered to the front desk")
    page.get_by_role("button", name="Send the evidence").click()
    expect(page.get_by_text("JNE 0099, delivered to the front desk")).to_be_visible()
    assert svc.disputes.find(waiting.id).status == "under_review"
    no_problems(page)
    checked = open_page(browser, bypass_csp=True)
    checked.context.add_cookies(page.context.cookies())
    for path in ("/merchant/cases", f"/merchant/disputes/{waiting.id}", "/merchant/login"):
        checked.goto(url + path)
        assert serious_violations(checked) == [], path
    page.context.close()
    checked.context.close()

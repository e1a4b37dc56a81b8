"""The customer side in a real browser (docs/adr/0025-customer-pages.md): Playwright driving Debian's
chromium against the app served by uvicorn on loopback, on the demo story's data and the product's
assistant, under a strict Content-Security-Policy.

Journeys: (a) on a host page with nothing but the widget's script tag, a logged-in wallet user
(recognised by the token: their app conversation goes on) asks why their payment failed (a quick-reply
button), the bot answers from their account, they attach a file and ask for a human, an agent opens it
in the console and replies there, the reply shows in the widget, the agent solves the ticket and the
customer rates it; the bot's numbered choices become buttons; a visitor chats without a login;
(b) a customer signs in, applies for a refund from the history page and follows it on "My requests".
Each main page is screenshot at desktop and phone width (into GOPAYCARE_SCREENSHOTS or a tmp dir) and
axe-core finds no serious or critical violation.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.responses import HTMLResponse
from playwright.sync_api import Browser, Page, expect  # noqa: E402, I001

from tests.browser.test_console_browser import (
    AXE,
    DESKTOP,
    PHONE,
    no_problems,
    open_page,
    serving,
    story_services,
)
from tests.browser.test_console_browser import sign_in as console_sign_in

pytestmark = pytest.mark.timeout(300)
PORTS = range(18420, 18450)  # this module's part of the helper's loopback range
WANG, JOHN, CHEN = "+6281234567890", "+6281311112222", "+6281266667777"
PASSWORD = "GoPay2026!"
# A 1x1 PNG.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def _free_port() -> int:
    for port in PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 18420-18449")


@pytest.fixture(scope="module")
def served(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory, product_nlu: Any) -> Iterator[dict]:
    from gopaycare.web.app import create_app

    svc, people = story_services(sqlite_template, tmp_path_factory, "customer")
    svc._assistant = svc.make_assistant(product_nlu)
    port = _free_port()
    app = create_app(svc)
    served: dict[str, Any] = {"svc": svc, "people": people, "url": f"http://127.0.0.1:{port}", "host": ""}

    @app.get("/test/host", include_in_schema=False)
    def host() -> HTMLResponse:  # the test's host page (never in the product)
        return HTMLResponse(served["host"])

    try:
        with serving(app, port):
            yield served
    finally:
        svc.close()


def host_page(page: Page, served: dict, token: str, lang: str = "en") -> None:
    """A page of the app's web view with the widget's one script tag and nothing else (served by the
    test's server, so the browser treats it as the loopback page it is)."""
    served["host"] = (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>GoPay app</title>'
                      '<meta name="viewport" content="width=device-width, initial-scale=1">'
                      '<link rel="icon" href="/static/console/favicon.svg">'
                      f'<script src="{served["url"]}/static/widget/widget.js" defer data-lang="{lang}" '
                      f'data-token="{token}"></script></head><body><h1>GoPay</h1></body></html>')
    page.goto(f"{served['url']}/test/host")


def sign_in(page: Page, url: str, phone: str) -> None:
    page.goto(f"{url}/account/login?lang=en")
    page.get_by_label("Phone number").fill(phone)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/account$"))


def test_a_customer_chats_in_the_widget_the_bot_answers_then_an_agent(served: dict, browser: Browser,
                                                                      shots: Path) -> None:
    url, svc = served["url"], served["svc"]
    with httpx.Client(base_url=url, timeout=20) as api:
        token = api.post("/api/v1/auth/login", json={"login": WANG, "password": PASSWORD}).json()["token"]
        agent = api.post("/api/v1/agent/login", json={"email": "supervisor@gopay.test",
                                                      "password": "demo-password"}).json()["token"]
        page = open_page(browser, lang="en", size=PHONE)
        host_page(page, served, token)
        page.get_by_role("button", name="Chat with us").click()
        log = page.locator(".gpc-w-log")
        # Recognised by the token: the conversation Wang began in the app goes on (its first message is there).
        expect(log.locator("[data-seq='1']")).to_contain_text("付款失败了")
        # Bot first, with quick replies: the real reason of Wang's failed payment (Bukaloka, Rp150.000, balance).
        page.locator(".gpc-w-quick").get_by_role("button", name="Why did my payment fail?").click()
        # (In English: the demo's earlier turns on this conversation were in Chinese.)
        fact = log.locator("[data-author=bot]", has_text="Bukaloka").filter(has_text="balance")
        expect(fact.last).to_contain_text("150.000", timeout=20_000)
        page.screenshot(path=str(shots / "customer-widget-en-phone.png"))
        # Hostile text is text.
        page.get_by_placeholder("Type your question…").fill("<img src=x onerror=alert(1)>")
        page.get_by_role("button", name="Send").click()
        expect(log.locator("[data-author=contact]").last).to_contain_text("<img src=x onerror=alert(1)>")
        assert page.locator(".gpc-w-log img").count() == 0
        # A screenshot for the human, through the existing attachments API; it goes with the next message.
        page.locator("#gpc-w-file").set_input_files(files=[{"name": "receipt.png", "mimeType": "image/png",
                                                            "buffer": PNG}])
        expect(page.locator(".gpc-w-note")).to_contain_text("receipt.png")
        answers = log.locator("[data-author=bot]").count()
        page.get_by_role("button", name="Talk to a human").click()
        expect(log.locator("[data-author=contact]").last).to_contain_text("human agent")
        expect(log.locator("[data-author=contact]").last.get_by_role("link")).to_contain_text("receipt.png")
        expect(log.locator("[data-author=bot]")).not_to_have_count(answers, timeout=20_000)  # the handover's answer

        conversation = int(page.evaluate("localStorage.getItem('gpc-w:customer:conversation')"))
        from gopaycare.desk.models import Conversation
        with svc.db.read() as s:
            ticket = s.get(Conversation, conversation).ticket_id
        # The agent, in the console, finds the request and the file on the ticket's timeline and replies there.
        headers = {"authorization": f"Bearer {agent}"}
        console = open_page(browser, lang="en")
        console_sign_in(console, url)
        console.goto(f"{url}/console/tickets/{ticket}")
        expect(console.locator("#timeline")).to_contain_text("human agent")
        expect(console.locator("#timeline")).to_contain_text("receipt.png")
        console.wait_for_load_state("networkidle")
        console.keyboard.press("r")  # the shortcut focuses the reply box
        expect(console.locator("#reply-body")).to_be_focused()
        console.keyboard.type("Hi, this is Putri from GoPay: please top up Rp50.000 and pay again.")
        console.get_by_role("button", name="Send").click()
        expect(console.locator("#timeline")).to_contain_text("this is Putri")
        no_problems(console)
        console.context.close()
        expect(log.locator("[data-author=agent]").last).to_contain_text("this is Putri", timeout=15_000)
        # Solved: the survey question comes, the customer rates with one tap.
        solved = api.post(f"/api/v1/tickets/{ticket}/status", headers=headers, json={"status": "solved"})
        assert solved.status_code == 200, solved.text
        page.get_by_role("button", name="5 / 5").click(timeout=15_000)
        expect(page.locator(".gpc-w-rate")).to_contain_text("Thanks for rating")
        deadline = time.monotonic() + 10
        while _rated(svc, ticket) != 5 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _rated(svc, ticket) == 5
        page.set_viewport_size(DESKTOP)
        page.screenshot(path=str(shots / "customer-widget-en-desktop.png"))
        no_problems(page)
        page.context.close()


def test_the_bots_numbered_choices_become_quick_reply_buttons(served: dict, browser: Browser) -> None:
    url = served["url"]
    with httpx.Client(base_url=url, timeout=20) as api:
        token = api.post("/api/v1/auth/login", json={"login": CHEN, "password": PASSWORD}).json()["token"]
    page = open_page(browser, lang="en", size=PHONE)
    host_page(page, served, token)
    page.get_by_role("button", name="Chat with us").click()
    page.locator(".gpc-w-quick").get_by_role("button", name="I want a refund").click()
    # "These payments can be refunded; reply with a number: 1. … 2. …": each number is a button.
    first = page.locator(".gpc-w-quick button", has_text=re.compile(r"^1\. "))
    expect(first).to_be_visible(timeout=20_000)
    answers = page.locator(".gpc-w-log [data-author=bot]").count()
    first.click()
    expect(page.locator(".gpc-w-log [data-author=contact]").last).to_contain_text("1")
    expect(page.locator(".gpc-w-log [data-author=bot]")).not_to_have_count(answers, timeout=20_000)
    no_problems(page)
    page.context.close()


def test_a_visitor_chats_without_a_login(served: dict, browser: Browser) -> None:
    page = open_page(browser, lang="id", size=PHONE)
    page.goto(f"{served['url']}/widget/demo")
    page.get_by_role("button", name="Chat dengan kami").click()  # the browser's language: Indonesian
    page.locator(".gpc-w-quick").get_by_role("button", name="Saya mau refund").click()
    # Anonymous to the assistant until they prove who they are: it asks for the registered number.
    expect(page.locator(".gpc-w-log [data-author=bot]").last).to_contain_text("nomor HP", timeout=20_000)
    assert page.evaluate("localStorage.getItem('gpc-w:visitor')").startswith("gpv.")
    no_problems(page)
    page.context.close()


def _rated(svc: Any, ticket: int) -> int | None:
    from sqlalchemy import select

    from gopaycare.desk.models import CsatSurvey
    with svc.db.read() as s:
        return s.scalar(select(CsatSurvey.rating).where(CsatSurvey.ticket_id == ticket))


def test_a_customer_applies_for_a_refund_from_the_history_and_follows_it(served: dict, browser: Browser) -> None:
    url = served["url"]
    page = open_page(browser, lang="en", size=PHONE)
    sign_in(page, url, JOHN)
    row = page.locator("li.txn", has=page.get_by_role("link", name="Apply for refund")).first
    reference = row.locator("code").inner_text()
    expect(row.locator(".reason")).to_contain_text("timed out")
    row.get_by_role("link", name="Apply for refund").click()
    expect(page.locator("main")).to_contain_text(reference)
    page.get_by_label("Reason").select_option("duplicate_charge")
    page.get_by_label("Details").fill("charged but the order never came")
    page.get_by_role("button", name="Submit").click()
    expect(page).to_have_url(re.compile(r"/account/requests#refund-\d+"))
    card = page.locator("li[id^=refund-]", has_text=reference).first
    expect(card).to_contain_text("Refund request #")
    assert card.locator(".steps li").count() >= 1
    # The widget on the signed-in pages is John's own chat (the page hands it socket tickets): it goes on
    # in his conversation, the one the refund was filed on.
    page.get_by_role("button", name="Chat with us").click()
    expect(page.locator(".gpc-w-log [data-seq]").first).to_be_visible()
    page.goto(f"{url}/account/history?lang=id")
    assert page.locator(f"a[href$='reference={reference}']").count() == 0  # open request: no second button
    no_problems(page)
    page.context.close()


CUSTOMER_PAGES = [("help", "/help"), ("article", "/help/articles/login-trouble"), ("search", "/help/search?q=refund"),
                  ("guide", "/help/guides/refund"), ("contact", "/help/contact"), ("login", "/account/login"),
                  ("history", "/account/history"), ("requests", "/account/requests"),
                  ("promotions", "/account/promotions")]


def test_every_customer_page_fits_a_phone_and_a_desktop(served: dict, browser: Browser, shots: Path) -> None:
    url = served["url"]
    for width, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page = open_page(browser, lang="zh-CN", size=size)
        sign_in(page, url, JOHN)  # after the refund journey: "My requests" has a refund with its steps
        page.goto(f"{url}/help?lang=zh-CN")
        refund = page.request.get(f"{url}/account/history").text()
        found = re.search(r'/account/refunds/new\?reference=(GP[0-9A-Z]+)', refund)
        pages = CUSTOMER_PAGES + ([("refund", found.group(0))] if found else [])
        for name, path in pages:
            page.goto(url + path)
            expect(page.locator(".gpc-w-launch")).to_be_visible()  # the widget has its words
            assert page.locator("html").get_attribute("lang") == "zh-CN"
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{name} at {width}: {overflow}px wider than the screen"
            page.screenshot(path=str(shots / f"customer-{name}-zh-CN-{width}.png"), full_page=True)
        no_problems(page)
        page.context.close()


def test_customer_pages_have_no_serious_accessibility_violation(served: dict, browser: Browser) -> None:
    page = open_page(browser, bypass_csp=True)
    sign_in(page, served["url"], CHEN)
    found: dict[str, list[str]] = {}
    for name, path in CUSTOMER_PAGES:
        page.goto(served["url"] + path)
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        serious = [f"{v['id']}: {v['help']} ({len(v['nodes'])})" for v in result["violations"]
                   if v["impact"] in ("serious", "critical")]
        if serious:
            found[name] = serious
    assert found == {}
    page.context.close()

"""The customer pages (web/pages/account.py, help.py; docs/adr/0025-customer-pages.md): the help center,
sign-in, "My account" (history, refund form, my requests, promotions) and the widget's words, on the
demo story's data. A customer sees only their own data (404 otherwise); every form refuses a missing
CSRF token and hostile input with a 4xx and changes nothing; customer text shows as text."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import api_client

XSS = "<img src=x onerror=alert(1)>"
CHEN, JOHN = "+6281266667777", "+6281311112222"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


@pytest.fixture(scope="module")
def story(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The demo story once for the module (the pages only read it, but for the refunds the tests file)."""
    from gopaycare.container import build
    from gopaycare.demo.story import seed_story
    from gopaycare.kb.service import ensure_loaded
    from gopaycare.platform.settings import load_settings

    folder = tmp_path_factory.mktemp("customer-pages")
    shutil.copy(sqlite_template, folder / "pages.db")
    settings = load_settings(database_url=f"sqlite:///{folder / 'pages.db'}", password_hash_profile="fast",
                             secret_key="pages-secret", jobs_path=str(folder / "jobs.db"), log_json=False,
                             inbound_smtp_enabled=False)
    svc = build(settings, immediate_jobs=True, senders={})
    svc.wallet.bootstrap()
    ids = seed_story(svc, svc.clock.now())
    ensure_loaded(svc.kb)
    try:
        yield {"svc": svc, "ids": ids}
    finally:
        svc.close()


def browser(story: dict[str, Any]) -> Any:
    return api_client(story["svc"])


def signed_in(story: dict[str, Any], phone: str) -> Any:
    client = browser(story)
    token = csrf_of(client.get("/account/login").text)
    response = client.post("/account/login", data={"csrf": token, "login": phone, "password": "GoPay2026!"},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/account"
    return client


def failed_provider_payment(story: dict[str, Any], who: str) -> str:
    """A payment of `who` the refund service says is eligible (John's: debited, the provider failed)."""
    svc = story["svc"]
    customer = story["ids"][who]
    for txn in svc.wallet.list_transactions(customer, limit=50):
        if txn.kind == "payment" and svc.refunds.eligibility(customer, txn.reference).eligible:
            return txn.reference
    raise AssertionError(f"{who} has no refundable payment")


def refunds_of(story: dict[str, Any], who: str) -> list[Any]:
    return story["svc"].refunds.list(story["ids"][who])


# ---------------------------------------------------------------- the help center


def test_help_center_pages_in_three_languages_without_inline_script(story):
    with browser(story) as client:
        zh = client.get("/help")
        assert zh.status_code == 200 and zh.headers["content-language"] == "zh-CN" and "账户管理" in zh.text
        en = client.get("/help", headers={"accept-language": "en-US,en;q=0.9"})
        assert en.headers["content-language"] == "en" and "Refunds and disputes" in en.text
        switched = client.get("/help?lang=id")
        assert "Ajukan refund" in switched.text and client.cookies.get("gpc_lang") == "id"
        for path in ("/help/contact", "/help/guides/login", "/help/guides/payment", "/help/guides/refund",
                     "/help/guides/app", "/help/search?q=refund", "/widget/demo", "/account/login"):
            page = client.get(path)
            assert page.status_code == 200, path
            # Strict CSP: every script is a file of ours, no inline style or handler.
            assert not re.search(r"<script(?![^>]*\bsrc=)", page.text) and " style=" not in page.text, path
            assert not re.search(r"\son[a-z]+=", page.text), path
        contact = client.get("/help/contact?lang=en").text
        assert all(word in contact for word in ("Hotline", "Email", "WhatsApp", "Telegram", "WeChat", "08:00"))
        words = client.get("/widget/texts.json?lang=en").json()
        assert words["texts"]["human"] == "Talk to a human" and words["lang"] == "en"
        assert client.get("/widget/texts.json?lang=xx").json()["lang"] == "zh-CN"


def test_search_and_articles_escape_and_refuse_what_is_not_there(story):
    with browser(story) as client:
        found = client.get("/help/search", params={"q": "refund", "lang": "en"}).text
        slug = re.search(r'/help/articles/([a-z0-9-]+)', found).group(1)
        assert client.get(f"/help/articles/{slug}").status_code == 200
        hostile = client.get("/help/search", params={"q": XSS})
        assert hostile.status_code == 200 and XSS not in hostile.text and "&lt;img src=x" in hostile.text
        assert client.get("/help/search", params={"q": "x" * 201}).status_code == 422
        assert client.get("/help/search", params={"q": "a\x00b"}).status_code == 200
        for bad in ("no-such-article", "UPPER", "x" * 300, "%00"):
            assert client.get(f"/help/articles/{bad}").status_code == 404, bad
        assert client.get("/help/guides/nope").status_code == 404


def test_was_this_helpful_needs_the_csrf_token_and_counts_once_per_browser(story):
    svc = story["svc"]
    slug = svc.kb.catalog("en")[0].slug
    before = svc.kb.get(slug, "en")
    with browser(story) as client:
        token = csrf_of(client.get(f"/help/articles/{slug}?lang=en").text)
        refused = client.post(f"/help/articles/{slug}/vote", data={"helpful": "yes", "lang": "en"})
        assert refused.status_code == 403 and refused.headers["x-error-code"] == "csrf_failed"
        for form in ({"helpful": "maybe"}, {"helpful": "yes\x00"}, {"helpful": "yes", "lang": "x" * 20000}):
            bad = client.post(f"/help/articles/{slug}/vote", data={"csrf": token, **form})
            assert 400 <= bad.status_code < 500, form
        assert client.post("/help/articles/NOPE/vote", data={"csrf": token, "helpful": "yes"}).status_code == 404
        assert svc.kb.get(slug, "en").helpful == before.helpful  # nothing counted
        for _ in range(2):
            voted = client.post(f"/help/articles/{slug}/vote", data={"csrf": token, "helpful": "yes", "lang": "en"},
                                follow_redirects=False)
            assert voted.status_code == 303
        assert svc.kb.get(slug, "en").helpful == before.helpful + 1


# ---------------------------------------------------------------- sign-in


def test_sign_in_needs_csrf_and_the_right_password_and_sets_a_strict_cookie(story):
    with browser(story) as client:
        assert client.get("/account", follow_redirects=False).headers["location"] == "/account/login"
        refused = client.post("/account/login", data={"login": CHEN, "password": "GoPay2026!"})
        assert refused.status_code == 403 and "gpc_customer" not in client.cookies
        token = csrf_of(client.get("/account/login").text)
        wrong = client.post("/account/login", data={"csrf": token, "login": XSS, "password": "nope"})
        assert wrong.status_code == 401 and XSS not in wrong.text and "&lt;img" in wrong.text
        for form in ({"login": "a\x00"}, {"login": "x" * 300}, {"password": "p" * 20000}):
            bad = client.post("/account/login", data={"csrf": token, "login": CHEN, "password": "x", **form})
            assert 400 <= bad.status_code < 500 and "gpc_customer" not in client.cookies, form
        ok = client.post("/account/login", data={"csrf": token, "login": CHEN, "password": "GoPay2026!"},
                         follow_redirects=False)
        cookie = next(h for h in ok.headers.get_list("set-cookie") if h.startswith("gpc_customer="))
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        # The cookie is an ordinary customer session: the API takes it as a bearer token too.
        assert story["svc"].identity.authenticate(client.cookies["gpc_customer"]) == story["ids"]["chen"]
        page = client.get("/account/history")
        assert client.post("/account/logout").status_code == 403  # no token: still signed in
        assert client.get("/account/history").status_code == 200
        out = client.post("/account/logout", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
        assert out.status_code == 303
        assert client.get("/account/history", follow_redirects=False).status_code == 303


# ---------------------------------------------------------------- my account


def test_history_shows_failure_reasons_and_apply_for_refund_in_each_language(story):
    reference = failed_provider_payment(story, "john")
    with signed_in(story, JOHN) as client:
        for lang, words in (("zh-CN", "申请退款"), ("en", "Apply for refund"), ("id", "Ajukan refund")):
            page = client.get(f"/account/history?lang={lang}").text
            assert words in page and f"/account/refunds/new?reference={reference}" in page, lang
        assert "The payment provider timed out" in client.get("/account/history?lang=en").text
    with signed_in(story, CHEN) as client:
        page = client.get("/account/history?lang=en").text
        assert "Wrong PIN." in page and "Declined by our risk checks." in page
        assert reference not in page  # John's payment is not in Chen's history


def test_a_customer_sees_only_their_own_data(story):
    johns = failed_provider_payment(story, "john")
    before = len(refunds_of(story, "john"))
    with signed_in(story, CHEN) as client:
        form = client.get("/account/history").text
        token = csrf_of(form)
        assert client.get(f"/account/refunds/new?reference={johns}").status_code == 404
        taken = client.post("/account/refunds", data={"csrf": token, "reference": johns, "reason_code": "other",
                                                      "reason": "not mine", "key": "k-steal"})
        assert taken.status_code == 404
        assert "John" not in client.get("/account/requests").text
    assert len(refunds_of(story, "john")) == before


def test_the_refund_form_refuses_hostile_input_and_files_a_good_request(story):
    reference = failed_provider_payment(story, "john")
    before = len(refunds_of(story, "john"))
    with signed_in(story, JOHN) as client:
        page = client.get(f"/account/refunds/new?reference={reference}&lang=en")
        assert page.status_code == 200 and "Submit" in page.text
        token = csrf_of(page.text)
        good = {"csrf": token, "reference": reference, "reason_code": "other", "reason": XSS, "key": "k-1"}
        assert client.post("/account/refunds", data={**good, "csrf": ""}).status_code == 403
        assert client.post("/account/refunds", data={**good, "csrf": "0" * 64}).status_code == 403
        for change in ({"reason_code": "steal"}, {"amount": "9" * 40}, {"amount": "-5"}, {"amount": "abc"},
                       {"reason": "x" * 1001}, {"reason": "a\x00b"}, {"reference": "GP" + "9" * 60},
                       {"reference": ""}, {"key": ""}, {"reason": "x" * 20000}):
            refused = client.post("/account/refunds", data={**good, **change})
            assert 400 <= refused.status_code < 500, change
        assert client.post("/account/refunds", content=b"{}", headers={"content-type": "application/json",
                                                                       "x-csrf-token": token}).status_code == 422
        for bad in ("GP" + "9" * 60, "a\x00", "NOPE"):
            assert 400 <= client.get("/account/refunds/new", params={"reference": bad}).status_code < 500
        assert len(refunds_of(story, "john")) == before  # nothing filed
        filed = client.post("/account/refunds", data=good, follow_redirects=False)
        assert filed.status_code == 303 and filed.headers["location"].startswith("/account/requests#refund-")
        again = client.post("/account/refunds", data=good, follow_redirects=False)  # a double click: one request
        assert again.headers["location"] == filed.headers["location"]
        mine = client.get("/account/requests?lang=en")
        assert mine.status_code == 200 and reference in mine.text
        assert XSS not in mine.text and "&lt;img src=x onerror=alert(1)&gt;" in mine.text
        # The payment now has an open request: no button on that row any more.
        assert f"reference={reference}" not in client.get("/account/history").text
    assert len(refunds_of(story, "john")) == before + 1


def test_promotions_page_lists_running_campaigns(story):
    with signed_in(story, CHEN) as client:
        page = client.get("/account/promotions?lang=en")
        assert page.status_code == 200 and "Food cashback" in page.text


# ---------------------------------------------------------------- the widget on the signed-in pages


def test_the_widget_on_signed_in_pages_gets_socket_tickets_and_uploads_with_the_csrf_header(story):
    svc = story["svc"]
    with browser(story) as client:
        assert client.post("/account/chat/ticket").status_code == 401  # signed out
    with signed_in(story, CHEN) as client:
        page = client.get("/account/history").text
        assert 'data-session="/account/chat/ticket"' in page
        token = csrf_of(page)
        assert client.post("/account/chat/ticket").status_code == 403
        assert client.post("/account/chat/ticket", headers={"x-csrf-token": "f" * 64}).status_code == 403
        issued = client.post("/account/chat/ticket", headers={"x-csrf-token": token})
        assert issued.status_code == 200 and issued.json()["ticket"].startswith("gpt_")
        going_on = issued.json()["conversation_id"]
        with client.websocket_connect(f"/api/v1/me/chat/ws?ticket={issued.json()['ticket']}"
                                      + (f"&conversation_id={going_on}" if going_on else "")) as ws:
            ws.send_json({"type": "typing"})  # the socket opened as Chen
        png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
        kind = {"content-type": "image/png"}
        assert client.post("/account/chat/attachments?name=a.png", content=png, headers=kind).status_code == 403
        refused = client.post("/account/chat/attachments?name=" + "x" * 300, content=png,
                              headers={**kind, "x-csrf-token": token})
        assert refused.status_code == 422
        big = client.post("/account/chat/attachments?name=a.png", content=b"x" * (svc.files.limits.max_bytes + 1),
                          headers={**kind, "x-csrf-token": token})
        assert big.status_code == 413
        saved = client.post("/account/chat/attachments?name=a.png", content=png,
                            headers={**kind, "x-csrf-token": token})
        assert saved.status_code == 201, saved.text
        assert svc.files.get(saved.json()["id"]).customer_id == story["ids"]["chen"]

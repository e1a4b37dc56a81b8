"""The console's admin pages (web/pages/configure.py): agents and teams, macros, knowledge-base articles,
SLA calendars and policies, promotions, triggers and automations — each form through the API's model
and service, gated by the API's permission, CSRF-checked, hostile input a 4xx with the form again.

One app for the module (SQLite: the engine is not what is tested); each test uses its own names."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from gopaycare.container import build
from gopaycare.platform.audit import AuditEntry
from gopaycare.platform.clock import FakeClock
from gopaycare.platform.settings import load_settings
from tests.conftest import START
from tests.helpers import api_client

PASSWORD = "demo-pass-1"


@pytest.fixture(scope="module")
def svc(sqlite_template, tmp_path_factory) -> Iterator[Any]:
    folder = tmp_path_factory.mktemp("admin_pages")
    shutil.copy(sqlite_template, folder / "test.db")
    settings = load_settings(database_url=f"sqlite:///{folder / 'test.db'}", password_hash_profile="fast",
                             secret_key="test-secret", jobs_path=str(folder / "jobs.db"), log_json=False)
    services = build(settings, clock=FakeClock(START), immediate_jobs=True, senders={})
    services.wallet.bootstrap()
    services.agents.create("admin@gopay.test", "admin", password=PASSWORD, name="Admin")
    services.agents.create("plain@gopay.test", "agent", password=PASSWORD, name="Plain")
    yield services
    services.close()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def signed_in(svc: Any, email: str) -> Any:
    client = api_client(svc)
    client.__enter__()
    token = csrf_of(client.get("/console/login").text)
    done = client.post("/console/login", data={"csrf": token, "email": email, "password": PASSWORD},
                       follow_redirects=False)
    assert done.status_code == 303, done.text[:300]
    return client


@pytest.fixture(scope="module")
def admin(svc) -> Iterator[Any]:
    client = signed_in(svc, "admin@gopay.test")
    yield client
    client.__exit__(None, None, None)


@pytest.fixture(scope="module")
def plain(svc) -> Iterator[Any]:
    client = signed_in(svc, "plain@gopay.test")
    yield client
    client.__exit__(None, None, None)


def post(client: Any, path: str, data: dict[str, str], *, page: str | None = None) -> Any:
    token = csrf_of(client.get(page or path.rsplit("/", 1)[0]).text)
    return client.post(path, data={"csrf": token, **data}, follow_redirects=False)


def audits(svc: Any) -> int:
    with svc.db.read() as s:
        return s.scalar(select(func.count()).select_from(AuditEntry))


def count(client: Any, path: str, marker: str) -> int:
    return client.get(path).text.count(marker)


# ---------------------------------------------------------------- each page does what its API route does


def test_agents_and_teams_create_join_role_and_deactivate(svc, admin):
    page = admin.get("/console/admin/teams")
    assert page.status_code == 200 and "admin@gopay.test" in page.text and 'name="csrf"' in page.text
    done = post(admin, "/console/admin/teams/agent", {"email": "new@gopay.test", "name": "Baru", "role": "agent",
                                                      "capacity": "4", "lang_id": "1", "area_transaction": "1"})
    assert done.status_code == 303 and done.headers["location"].endswith("done=agent_created")
    new = svc.agents.get_by_email("new@gopay.test")
    assert (new.role, new.capacity, new.languages, new.areas) == ("agent", 4, ("id",), ("transaction",))
    with svc.db.read() as s:  # audited as the service audits it for every road
        assert s.scalars(select(AuditEntry).where(AuditEntry.action == "agent.created",
                                                  AuditEntry.subject_id == str(new.id))).one()
    assert post(admin, "/console/admin/teams/team", {"name": "Payments ID", "area_transaction": "1",
                                                     "lang_id": "1"}).status_code == 303
    team = next(t for t in svc.agents.teams() if t["name"] == "Payments ID")
    assert post(admin, "/console/admin/teams/member", {"team_id": str(team["id"]),
                                                       "agent_id": str(new.id)}).status_code == 303
    assert next(t for t in svc.agents.teams() if t["id"] == team["id"])["members"] == [new.id]
    assert post(admin, "/console/admin/teams/role", {"name": "auditor", "perm_reports.view": "1"}).status_code == 303
    # Deactivate: GET confirms (nothing changes), POST does it as the API does (offline, then off, audited).
    confirm = admin.get(f"/console/admin/teams/agents/{new.id}/deactivate")
    assert confirm.status_code == 200 and "new@gopay.test" in confirm.text
    assert dict((a.id, on) for a, on in svc.agents.roster())[new.id] is True
    assert post(admin, "/console/admin/teams/deactivate", {"agent_id": str(new.id)},
                page=f"/console/admin/teams/agents/{new.id}/deactivate").status_code == 303
    assert dict((a.id, on) for a, on in svc.agents.roster())[new.id] is False
    with svc.db.read() as s:
        row = s.scalars(select(AuditEntry).where(AuditEntry.action == "agent.deactivated",
                                                 AuditEntry.subject_id == str(new.id))).one()
    assert row.actor_id == str(svc.agents.get_by_email("admin@gopay.test").id)


def test_macro_page_creates_a_macro_with_replies_in_three_languages(svc, admin):
    done = post(admin, "/console/admin/macros/macro", {"name": "Top-up delay", "reply_zh-CN": "您好，充值正在处理中。",
                                                      "reply_en": "Hello, your top-up is on its way.",
                                                      "reply_id": "Halo, top-up Anda sedang diproses.",
                                                      "actions": '[{"type": "add_tag", "tag": "topup"}]'})
    assert done.status_code == 303, re.findall(r"admin-error\">([^<]*)", done.text)
    macro = next(m for m in svc.desk.rules.macros() if m.name == "Top-up delay")
    assert macro.reply["zh-CN"] == "您好，充值正在处理中。" and macro.actions
    assert "Top-up delay" in admin.get("/console/admin/macros").text


def test_kb_page_creates_and_edits_an_article_in_each_language(svc, admin):
    data = {"slug": "admin-page-article", "area": "transaction", "intents": "",
            "title_zh-CN": "付款失败怎么办", "body_zh-CN": "请检查余额。",
            "title_en": "A payment failed", "body_en": "Check the balance.",
            "title_id": "Pembayaran gagal", "body_id": "Periksa saldo."}
    done = post(admin, "/console/admin/kb/article", data)
    assert done.status_code == 303 and done.headers["location"].endswith("done=article_created")
    assert svc.kb.get("admin-page-article", "id").title == "Pembayaran gagal"
    editing = admin.get("/console/admin/kb?slug=admin-page-article")
    assert "Check the balance." in editing.text
    again = post(admin, "/console/admin/kb/article", {"slug": "admin-page-article", "title_en": "A payment failed",
                                                      "body_en": "Check the balance, then retry."})
    assert again.status_code == 303 and again.headers["location"].endswith("done=article_saved")
    assert svc.kb.get("admin-page-article", "en").body == "Check the balance, then retry."
    assert svc.kb.get("admin-page-article", "zh-CN").body == "请检查余额。"  # untouched language stays
    assert len(svc.kb.versions("admin-page-article", "en")) == 2


def test_sla_page_creates_a_calendar_and_a_policy(svc, admin):
    done = post(admin, "/console/admin/sla/calendar", {"name": "Jakarta office", "timezone": "Asia/Jakarta",
                                                      "hours": '{"mon": [["08:00", "17:00"]]}',
                                                      "holidays": "2026-12-25"})
    assert done.status_code == 303, re.findall(r"admin-error\">([^<]*)", done.text)
    done = post(admin, "/console/admin/sla/policy", {"name": "VIP", "first_response_minutes": "15",
                                                    "next_response_minutes": "30", "resolution_minutes": "240",
                                                    "priority": "urgent", "customer_tier": "plus"})
    assert done.status_code == 303, re.findall(r"admin-error\">([^<]*)", done.text)
    listed = admin.get("/console/admin/sla").text
    assert "Jakarta office" in listed and "VIP" in listed and "08:00" in listed


def test_promotions_page_creates_a_campaign_and_pauses_it(svc, admin):
    done = post(admin, "/console/admin/promotions/campaign", {
        "code": "ADMINPAGE", "title_zh-CN": "返现", "title_en": "Cashback", "title_id": "Cashback",
        "starts_at": "2026-11-25T00:00", "ends_at": "2026-12-31T00:00", "percent": "10", "max_cashback": "20000",
        "budget": "1000000"})
    assert done.status_code == 303, re.findall(r"admin-error\">([^<]*)", done.text)
    campaign = svc.promotions.get("ADMINPAGE")
    assert campaign.status == "active" and campaign.starts_at.astimezone(svc.settings.tz).hour == 0  # typed in WIB
    before = audits(svc)
    assert post(admin, "/console/admin/promotions/status", {"code": "ADMINPAGE", "status": "paused"}).status_code == 303
    assert svc.promotions.get("ADMINPAGE").status == "paused" and audits(svc) > before


def test_rules_page_creates_a_trigger_and_an_automation(svc, admin):
    done = post(admin, "/console/admin/rules/trigger", {
        "name": "Urgent refunds", "event": "ticket.created",
        "conditions": '[{"field": "area", "op": "is", "value": "refund_dispute"}]',
        "actions": '[{"type": "set_priority", "priority": "urgent"}]'})
    assert done.status_code == 303, re.findall(r"admin-error\">([^<]*)", done.text)
    done = post(admin, "/console/admin/rules/automation", {
        "name": "Close pending", "status": "pending_customer", "after_hours": "72",
        "actions": '[{"type": "set_status", "status": "solved"}]'})
    assert done.status_code == 303, re.findall(r"admin-error\">([^<]*)", done.text)
    listed = admin.get("/console/admin/rules").text
    assert "Urgent refunds" in listed and "Close pending" in listed


# ---------------------------------------------------------------- permissions, CSRF, hostile input


@pytest.mark.parametrize("path", ["/console/admin/teams", "/console/admin/macros", "/console/admin/kb",
                                  "/console/admin/sla", "/console/admin/promotions", "/console/admin/rules"])
def test_an_agent_without_the_permission_gets_403_and_nothing_changes(svc, admin, plain, path):
    assert plain.get(path).status_code == 403
    token = csrf_of(plain.get("/console/inbox").text)
    before = audits(svc), len(svc.agents.roster()), len(svc.desk.rules.macros())
    form = {"teams": "agent", "macros": "macro", "kb": "article", "sla": "policy", "promotions": "campaign",
            "rules": "trigger"}[path.rsplit("/", 1)[1]]
    refused = plain.post(f"{path}/{form}", data={"csrf": token, "email": "sneak@gopay.test", "role": "admin",
                                                 "name": "sneak", "reply_en": "x", "slug": "sneak",
                                                 "area": "transaction", "title_en": "x", "body_en": "x"},
                         follow_redirects=False)
    assert refused.status_code == 403
    assert (audits(svc), len(svc.agents.roster()), len(svc.desk.rules.macros())) == before
    assert 'href="/console/admin"' not in plain.get("/console/inbox").text  # no link to a page that says no


def test_each_manage_permission_opens_only_its_own_pages(svc, plain):
    svc.agents.create("super@gopay.test", "supervisor", password=PASSWORD, name="Super")
    supervisor = signed_in(svc, "super@gopay.test")  # macro.manage and promotion.manage, not agents/rules
    try:
        assert supervisor.get("/console/admin", follow_redirects=False).headers["location"] == "/console/admin/macros"
        assert supervisor.get("/console/admin/teams").status_code == 403
        assert supervisor.get("/console/admin/rules").status_code == 403
        nav = supervisor.get("/console/admin/promotions").text
        assert 'href="/console/admin/kb"' in nav and 'href="/console/admin/teams"' not in nav
        assert supervisor.get("/console/admin/nothing-here").status_code == 404
    finally:
        supervisor.__exit__(None, None, None)
    assert plain.get("/console/admin/teams/agents/1/deactivate").status_code == 403
    assert plain.get("/console/admin", follow_redirects=False).status_code == 403


def test_every_form_needs_the_csrf_token(svc, admin):
    before = len(svc.agents.roster())
    refused = admin.post("/console/admin/teams/agent", data={"email": "nocsrf@gopay.test", "role": "agent"},
                         follow_redirects=False)
    assert refused.status_code == 403 and refused.headers["x-error-code"] == "csrf_failed"
    assert len(svc.agents.roster()) == before


HOSTILE = [
    ("teams", "agent", {"email": "huge@gopay.test", "role": "agent", "capacity": "9" * 40}),
    ("teams", "agent", {"email": "x@gopay.test", "role": "no-such-role"}),
    ("teams", "member", {"team_id": "99999999999999999999", "agent_id": "1"}),
    ("teams", "member", {"team_id": "abc", "agent_id": "1"}),
    ("teams", "deactivate", {"agent_id": str(2**63 - 1)}),
    ("macros", "macro", {"name": "nul", "reply_en": "a\x00b"}),
    ("macros", "macro", {"name": "long", "reply_en": "x" * 100_000}),
    ("macros", "macro", {"name": "badjson", "reply_en": "hi", "actions": "[" * 5000}),
    ("macros", "macro", {"name": "wrongtype", "reply_en": "hi", "actions": '{"type": 5}'}),
    ("macros", "macro", {"name": "", "reply_en": "hi"}),
    ("kb", "article", {"slug": "hostile", "area": "transaction", "title_en": "t", "body_en": "b" * 9000,
                       "intents": ",".join(["x"] * 30)}),
    ("kb", "article", {"slug": "hostile-2", "title_en": "t", "body_en": "b"}),
    ("sla", "calendar", {"name": "c", "hours": '{"mon": 5}'}),
    ("sla", "policy", {"name": "p", "first_response_minutes": "99999999999999", "next_response_minutes": "1",
                       "resolution_minutes": "1"}),
    ("promotions", "campaign", {"code": "HUGE", "title_en": "x", "starts_at": "2026-11-25T00:00",
                                "ends_at": "not a date"}),
    ("promotions", "campaign", {"code": "HUGE2", "title_en": "x", "starts_at": "2026-11-25T00:00",
                                "ends_at": "2026-12-25T00:00", "percent": "-" + "9" * 30}),
    ("promotions", "status", {"code": "NOPE", "status": "active"}),
    ("rules", "trigger", {"name": "t", "event": "no.such", "actions": "[]"}),
    ("rules", "trigger", {"name": "t", "event": "ticket.created",
                          "actions": '[{"type": "assign_team", "team_id": 99999999999999999999999}]'}),
    ("rules", "trigger", {"name": "t2", "event": "ticket.created", "conditions": '[{"field": 1}]',
                          "actions": '[{"type": "assign_agent", "agent_id": 1e400}]'}),
    ("macros", "macro", {"name": "m2", "reply_zh-CN": "a", "reply_en": "b", "reply_id": "c",
                         "actions": '[{"type": "assign_agent", "agent_id": -99999999999999999999}]'}),
    ("sla", "calendar", {"name": "tz", "timezone": "Not/AZone", "hours": '{"mon": [["08:00", "17:00"]]}'}),
    ("sla", "calendar", {"name": "hh", "hours": '{"mon": [["99:99", "17:00"]]}', "holidays": "not-a-date"}),
    ("sla", "policy", {"name": "p2", "first_response_minutes": "1", "next_response_minutes": "1",
                       "resolution_minutes": "1", "calendar_id": "9223372036854775807"}),
    ("promotions", "campaign", {"code": "RULES", "title_en": "x", "starts_at": "2026-11-25T00:00",
                                "ends_at": "2026-12-25T00:00", "percent": "5", "rules": '{"min_amount": 1e999}'}),
    ("promotions", "campaign", {"code": "BACK", "title_en": "x", "starts_at": "2026-12-25T00:00",
                                "ends_at": "2026-11-25T00:00", "percent": "5"}),
    ("teams", "agent", {"email": "dup@gopay.test" * 30, "role": "agent"}),
    ("teams", "role", {"name": "admin", "perm_customer.view": "1"}),
    ("rules", "automation", {"name": "a", "status": "pending_customer", "after_hours": "1" * 19, "actions": "[1, 2]"}),
]


def test_hostile_input_is_a_4xx_with_the_form_again_and_nothing_changes(svc, admin):
    for section, form, data in HOSTILE:
        before = audits(svc), len(svc.agents.roster()), len(svc.desk.rules.macros())
        answer = post(admin, f"/console/admin/{section}/{form}", data, page=f"/console/admin/{section}")
        assert 400 <= answer.status_code < 500, (section, form, answer.status_code, answer.text[:300])
        assert 'id="admin-error"' in answer.text and 'name="csrf"' in answer.text, (section, form, answer.text[-500:])
        assert (audits(svc), len(svc.agents.roster()), len(svc.desk.rules.macros())) == before, (section, form)
    # A wrong content type, and a body over the limit, are the page again too.
    token = csrf_of(admin.get("/console/admin/macros").text)
    odd = admin.post("/console/admin/macros/macro", content=b'{"csrf": "%s"}' % token.encode(),
                     headers={"content-type": "application/json"})
    assert odd.status_code == 422 and 'id="admin-error"' in odd.text
    for slug in ("%00", "x" * 5000, "../../etc", "<b>"):
        assert admin.get(f"/console/admin/kb?slug={slug}").status_code == 200
    big = admin.post("/console/admin/macros/macro", data={"csrf": token, "reply_en": "x" * 70_000})
    assert big.status_code == 413 and 'id="admin-error"' in big.text


def test_the_inbox_links_the_admin_pages_for_an_admin(admin):
    assert 'href="/console/admin"' in admin.get("/console/inbox").text
    assert admin.get("/console/admin", follow_redirects=False).headers["location"] == "/console/admin/teams"


def test_the_pages_are_in_three_languages_and_escape_what_was_typed(svc, admin):
    zh = admin.get("/console/admin/macros?lang=zh-CN").text
    assert "快捷回复" in zh
    assert "Makro" in admin.get("/console/admin/macros?lang=id").text
    assert "Macros" in admin.get("/console/admin/macros?lang=en").text
    shown = post(admin, "/console/admin/macros/macro", {"name": "<img src=x onerror=alert(1)>", "reply_en": "",
                                                       "actions": "nope"}, page="/console/admin/macros")
    assert shown.status_code == 422 and "<img src=x" not in shown.text and "&lt;img src=x" in shown.text

"""Help desk benchmark: inbox and search latency at a million tickets, and tickets created per second.

What it measures. The agents' inbox (`svc.desk.inbox.tickets`) is what every agent's screen polls:
"my open tickets", "unassigned tickets of an area", "SLA breaching soon", and the next page of each
through its keyset cursor. Search (`svc.desk.search.search`) is what they type into the search box.
Both are called through the real service layer, with a `Viewer` from `svc.desk.viewer` (a supervisor
sees every ticket; an ordinary agent sees hers, the unassigned ones and her teams'), each query
--queries times after a warm-up, with a random agent / area / search text each time, and p50, p95
and p99 of the wall time of the call (Python, SQLAlchemy and PostgreSQL) are reported. The aim is
p95 < 50 ms for every inbox query at 1,000,000 tickets; search is reported beside it. The
PostgreSQL plan (EXPLAIN ANALYZE) of the slowest query is printed, so the index it uses is visible.

Intake: `svc.desk.conversations.receive` (a customer's first chat message from a new phone number:
contact, identity, conversation, ticket, SLA clocks, triggers, routing, search text, events) from 1
and 8 threads for --seconds each; tickets per second and p50/p95.

How. A fresh database `gopaycare_bench_desk` gets the project's migrations and four SLA policies
(through the service). Everything else is written with COPY, as the use cases would have left it:
~200 agents (agents and supervisors, areas and languages spread, some online), one team per service
area, 0.6 contacts per ticket (one identity each: phone, WhatsApp, email, Telegram, WeChat), and
--tickets tickets over the last 90 days (ids in time order): ~70% closed/solved, 10% open, 8% new,
7% pending_customer, 5% on_hold, recent ones still active; ~70% assigned to a skilled agent; running
SLA clocks (sla_next_due_at from -2 h to +24 h, state active/warning/breached) on new/open/on_hold;
one conversation and 1 to 3 messages per ticket (the customer's message, the agent's reply, a
follow-up) from templates in Chinese, English and Bahasa Indonesia, a linked GP... reference on
about a third of them, and the `ticket_search` text exactly as `TicketSearchIndex.index` builds it
(segmented once per template with `platform.text.search_tokens`; the reference is spliced in).
Not seeded: wallet customers (contacts are not linked to any), sla_targets / sla_events, audit
rows and desk events of the seeded tickets, triggers: none of them is read by the measured queries.

To load fast, the loaded tables' secondary indexes and unique and foreign-key constraints are
dropped first and put back afterwards (exactly as the migrations made them, read back from the
catalog), two builds at a time; re-adding the foreign keys makes PostgreSQL check that every id
written is consistent. Sequences are advanced (setval), then VACUUM ANALYZE, then a CHECKPOINT.

The database is dropped at the end unless --keep.

    .venv/bin/python bench/desk.py [--tickets 1000000] [--agents 200] [--seconds 10] [--queries 300] \
        [--pg-admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--json PATH] [--keep]
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import os
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from common import (
    DEFAULT_ADMIN_URL,
    LoadResult,
    WorkerOutcome,
    checkpoint,
    copy_rows,
    database_url,
    drop_database,
    migrated_database,
    percentile,
    positive_counts,
    run_together,
)
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from tqdm import tqdm

from gopaycare.container import Services, build
from gopaycare.demo.bulk import ID_FIRST, ID_LAST, ZH_GIVEN, ZH_SURNAMES
from gopaycare.desk.access import Viewer
from gopaycare.desk.containment import containment
from gopaycare.desk.inbox import TicketFilter
from gopaycare.migrations import upgrade
from gopaycare.platform.rollup import day_start, report_day
from gopaycare.platform.settings import load_settings
from gopaycare.platform.text import search_tokens

BENCH_DB = "gopaycare_bench_desk"
AIM_MS = 50.0
LIMIT = 25
WINDOW = timedelta(days=90)
CHUNK = 20_000  # tickets per COPY round
CONTACTS_PER_TICKET = 0.6

# ---------------------------------------------------------------- the mix

STATUS_MIX = (("closed", 55), ("solved", 15), ("open", 10), ("new", 8), ("pending_customer", 7), ("on_hold", 5))
# Share of each status with an assignee: new tickets mostly wait in the queue (~70% overall).
ASSIGNED = {"closed": 0.75, "solved": 0.75, "open": 0.8, "new": 0.2, "pending_customer": 0.9, "on_hold": 0.9}
# Active tickets are recent: their age is exponential with this mean (days); closed/solved are spread
# evenly over the 90 days.
ACTIVE_AGE_DAYS = {"new": 2.0, "open": 6.0, "pending_customer": 5.0, "on_hold": 10.0}
SLA_RUNNING = ("new", "open", "on_hold")
AREA_MIX = (("transaction", 30), ("account", 20), ("refund_dispute", 15), ("tech_support", 15), ("promotion", 10),
            ("general", 10))
PRIORITY_MIX = (("low", 15), ("normal", 60), ("high", 20), ("urgent", 5))
LANGUAGE_MIX = (("id", 50), ("zh-CN", 35), ("en", 15))
IDENTITY_MIX = (("phone", 55), ("whatsapp", 25), ("email", 12), ("telegram", 4), ("wechat", 4))
CHANNEL_OF = {"whatsapp": "whatsapp", "email": "email", "telegram": "telegram", "wechat": "wechat"}  # phone: chat/phone
TAGS = ("vip", "repeat_contact", "bank_delay", "fraud_suspect", "app_v5")
LANGUAGES = ("zh-CN", "en", "id")
AREAS = tuple(a for a, _ in AREA_MIX)

REF_MARK = "GPREFMARK"  # where a transaction reference goes in a template; one token, "gprefmark"
AMOUNTS = ("25.000", "50.000", "100.000", "150.000", "250.000", "1.000.000")

# The customer's first message, by (area, language). {ref}: a GP... reference, {amount}: rupiah.
FIRST_MESSAGES: dict[str, dict[str, tuple[str, ...]]] = {
    "account": {
        "zh-CN": ("我的账户被冻结了，无法登录", "收不到验证码，怎么办", "我想修改绑定的手机号",
                  "账户被锁定了，请帮我解锁", "忘记支付密码了，怎么重置"),
        "en": ("my account is locked, please help", "OTP not received, cannot login", "how do I change my phone number",
               "my account was frozen without reason", "forgot my PIN, how to reset"),
        "id": ("akun saya terblokir, tolong dibantu", "kode OTP tidak masuk", "cara ganti nomor HP di akun",
               "akun saya dibekukan tanpa alasan", "lupa PIN, bagaimana cara reset"),
    },
    "transaction": {
        "zh-CN": ("我的付款失败了，但是钱被扣了", "转账到银行卡一直没到账", "交易{ref}显示失败，余额已扣除 Rp{amount}",
                  "充值没到账", "扫码付款一直在处理中", "充值 Rp{amount} 还没到账，订单号{ref}"),
        "en": ("top up not credited", "payment {ref} failed but money was deducted Rp{amount}",
               "transfer to bank account pending for hours", "QR payment stuck in processing",
               "top up Rp{amount} not credited to my balance"),
        "id": ("saldo belum masuk", "saldo belum masuk setelah top up Rp{amount}",
               "pembayaran {ref} gagal tapi saldo terpotong", "transfer ke rekening bank belum sampai",
               "bayar pakai QRIS gagal", "top up Rp{amount} belum masuk, ref {ref}"),
    },
    "refund_dispute": {
        "zh-CN": ("退款还没到账，已经等了三天", "商家同意退款但是我没收到钱", "订单{ref}要求退款",
                  "重复扣款了，请退回 Rp{amount}"),
        "en": ("refund not received yet", "merchant approved my refund but I got nothing",
               "I was charged twice for {ref}", "please refund Rp{amount} for {ref}"),
        "id": ("refund belum diproses", "refund dari merchant belum masuk",
               "saldo terpotong dua kali untuk transaksi {ref}", "minta refund Rp{amount} untuk transaksi {ref}"),
    },
    "tech_support": {
        "zh-CN": ("应用一直闪退", "App打不开，一直白屏", "更新以后无法扫码", "收不到推送通知"),
        "en": ("app keeps crashing", "app keeps crashing after update", "cannot scan QR after update",
               "the app is stuck on a white screen"),
        "id": ("aplikasi terus keluar sendiri", "aplikasi tidak bisa dibuka", "tidak bisa scan QR setelah update",
               "tidak bisa login ke aplikasi"),
    },
    "promotion": {
        "zh-CN": ("优惠券用不了", "返现活动的奖励没有收到", "新用户优惠没有生效"),
        "en": ("voucher cannot be used", "cashback from promo not credited", "new user promo did not apply"),
        "id": ("voucher tidak bisa dipakai", "promo cashback belum diterima", "cashback Rp{amount} belum masuk"),
    },
    "general": {
        "zh-CN": ("请问怎么升级到Plus账户", "客服电话是多少", "怎么注销账户"),
        "en": ("how do I upgrade to Plus", "please close my account", "what are the transfer limits"),
        "id": ("cara upgrade ke akun Plus", "mohon tutup akun saya", "berapa limit transfer per hari"),
    },
}
REPLIES = {
    "zh-CN": ("您好，我们正在核实您的问题，请稍候。", "您好，款项已退回您的余额，请查收。", "请提供交易截图，谢谢。"),
    "en": ("Hi, we are checking this for you, please wait.", "The amount has been returned to your balance.",
           "Could you send a screenshot of the transaction?"),
    "id": ("Halo Kak, kami sedang mengecek kendala ini, mohon ditunggu ya.", "Dana sudah dikembalikan ke saldo Kakak.",
           "Mohon kirimkan tangkapan layar transaksinya ya Kak."),
}
FOLLOW_UPS = {
    "zh-CN": ("还没有解决", "谢谢，已经收到了", "请尽快处理"),
    "en": ("still not resolved", "thanks, received it", "please process it quickly"),
    "id": ("masih belum masuk kak", "terima kasih, sudah masuk", "tolong dipercepat ya"),
}
SEARCHES = {
    "search: Chinese": ("我的付款失败了", "退款", "充值没到账", "验证码", "闪退", "重复扣款", "优惠券"),
    "search: English/Indonesian": ("top up not credited", "saldo belum masuk", "refund belum diproses",
                                   "app keeps crashing", "kode OTP tidak masuk", "payment failed", "voucher"),
}


# ---------------------------------------------------------------- options


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=1_000_000, help="tickets to seed")
    parser.add_argument("--agents", type=int, default=200, help="agents to seed (about 1 in 10 a supervisor)")
    parser.add_argument("--seconds", type=float, default=10, help="measured seconds per ticket-creation run")
    parser.add_argument("--queries", type=int, default=300, help="measured calls per query kind")
    parser.add_argument("--threads", type=positive_counts, default=[1, 8],
                        help="ticket-creation thread counts, e.g. 1,8")
    parser.add_argument("--pg-admin-url", default=DEFAULT_ADMIN_URL,
                        help="a superuser URL on the server to benchmark (any existing database)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    parser.add_argument("--reuse", action="store_true",
                        help="measure on the database a --keep run left (migrated to the newest schema), no seeding")
    parser.add_argument("--scan-queries", type=int, default=10,
                        help="calls of the old containment scan, measured beside the dashboard's counters")
    parser.add_argument("--seed", type=int, default=7, help="random seed for the data and the query parameters")
    args = parser.parse_args(argv)
    if args.tickets < 1000 or args.agents < 20 or args.seconds <= 0 or args.queries < 1:
        parser.error("--tickets >= 1000, --agents >= 20, --seconds > 0 and --queries >= 1")
    return args




# ---------------------------------------------------------------- databases










# ---------------------------------------------------------------- seeding helpers


class Mix:
    """Weighted choice with one random() and a bisect (random.choices is slower per call)."""

    def __init__(self, pairs: Sequence[tuple[Any, float]]) -> None:
        self.values = [v for v, _ in pairs]
        self.cumulative = list(itertools.accumulate(w for _, w in pairs))
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random) -> Any:
        return self.values[bisect.bisect_right(self.cumulative, rng.random() * self.total)]


@dataclass(frozen=True)
class Phrase:
    """A message text (maybe with REF_MARK) and its search tokens, segmented once."""

    text: str
    tokens: str

    @property
    def has_ref(self) -> bool:
        return REF_MARK in self.text

    def render(self, ref: str | None) -> tuple[str, str]:
        if ref is None or not self.has_ref:
            return self.text, self.tokens
        return self.text.replace(REF_MARK, ref), self.tokens.replace(REF_MARK.lower(), ref.lower())


def _phrases(templates: Sequence[str]) -> list[Phrase]:
    out = []
    for template in templates:
        for amount in (AMOUNTS if "{amount}" in template else (None,)):
            body = template.format(ref=REF_MARK, amount=amount)
            out.append(Phrase(body, search_tokens(body)))
    return out


class Texts:
    """Every template segmented once (jieba is ~0.1 ms a message: too slow for millions)."""

    def __init__(self) -> None:
        self.first = {(area, lang): _phrases(texts) for area, by_lang in FIRST_MESSAGES.items()
                      for lang, texts in by_lang.items()}
        self.replies = {lang: _phrases(texts) for lang, texts in REPLIES.items()}
        self.follow_ups = {lang: _phrases(texts) for lang, texts in FOLLOW_UPS.items()}
        self.tags = {tag: search_tokens(tag) for tag in TAGS}

    def self_check(self, rng: random.Random) -> None:
        """The spliced tokens must be what `search_tokens` gives for the rendered text."""
        for phrases in self.first.values():
            for phrase in phrases:
                body, tokens = phrase.render(_reference(rng, datetime(2026, 11, 25)))
                if search_tokens(body) != tokens:
                    raise AssertionError(f"token splicing differs for {body!r}: {tokens!r}")


def _reference(rng: random.Random, at: datetime) -> str:
    return "GP" + at.strftime("%y%m%d") + f"{rng.getrandbits(40):010X}"


def _person(rng: random.Random, language: str) -> str:
    if language == "zh-CN":
        return rng.choice(ZH_SURNAMES) + rng.choice(ZH_GIVEN)
    return f"{rng.choice(ID_FIRST)} {rng.choice(ID_LAST)}"




AGENT_COLUMNS = ("id", "email", "name", "role", "password_hash", "active", "presence", "capacity", "languages", "areas",
                 "last_assigned_at", "created_at")
TEAM_COLUMNS = ("id", "name", "areas", "languages", "created_at")
CONTACT_COLUMNS = ("id", "name", "language", "created_at")
IDENTITY_COLUMNS = ("id", "contact_id", "kind", "value", "verified", "created_at")
TICKET_COLUMNS = ("id", "contact_id", "subject", "area", "priority", "status", "channel", "language", "customer_tier",
                  "assignee_id", "team_id", "tags", "custom_fields", "handled_by_bot", "created_at", "updated_at",
                  "first_response_at", "solved_at", "closed_at", "sla_policy_id", "sla_next_due_at", "sla_state",
                  "sla_paused_at")
CONVERSATION_COLUMNS = ("id", "contact_id", "channel", "ticket_id", "status", "handled_by", "contained",
                        "last_message_at", "created_at")
MESSAGE_COLUMNS = ("id", "conversation_id", "ticket_id", "direction", "author_type", "author_id", "body", "internal",
                   "attachments", "channel", "delivery_status", "created_at")
LINK_COLUMNS = ("id", "ticket_id", "kind", "reference", "created_at")
SEARCH_COLUMNS = ("ticket_id", "tokens", "updated_at")
# Tables loaded in bulk: their secondary indexes and constraints are rebuilt after the load.
BULK_TABLES = ("contacts", "contact_identities", "tickets", "conversations", "messages", "ticket_links",
               "ticket_search")
ID_TABLES = ("agents", "teams", "contacts", "contact_identities", "tickets", "conversations", "messages",
             "ticket_links")
COUNTED_TABLES = ("agents", "teams", "team_members", *BULK_TABLES)


@dataclass
class AgentRow:
    id: int
    role: str
    areas: list[str]
    languages: list[str]
    team_id: int | None


@dataclass
class Seeded:
    agents: list[AgentRow]
    team_ids: dict[str, int]
    references: list[str]
    counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------- seeding


class Seeder:
    def __init__(self, services: Services, args: argparse.Namespace) -> None:
        self.svc = services
        self.args = args
        self.rng = random.Random(args.seed)
        self.now = services.clock.now()
        self.texts = Texts()
        self.texts.self_check(random.Random(args.seed))
        self.policies: dict[str, int] = {}

    def run(self) -> Seeded:
        timings: dict[str, float] = {}
        began = time.perf_counter()
        self.policies = self._sla_policies()
        agents, team_ids = self._agents_and_teams()
        timings["agents_teams_policies"] = time.perf_counter() - began

        step = time.perf_counter()
        saved = self._drop_constraints_and_indexes()
        timings["drop_indexes"] = time.perf_counter() - step

        step = time.perf_counter()
        contacts = self._contacts()
        timings["copy_contacts"] = time.perf_counter() - step

        step = time.perf_counter()
        references = self._tickets(agents, team_ids, contacts)
        timings["copy_tickets"] = time.perf_counter() - step

        step = time.perf_counter()
        self._rebuild(saved)
        timings["rebuild_indexes_and_constraints"] = time.perf_counter() - step

        step = time.perf_counter()
        # The dashboard's daily counters, from the rows with the functions the live counting uses
        # (`gopaycare recount`): COPY bypasses the units of work that keep them.
        self.svc.desk.reports.recount()
        timings["recount_dashboard_counters"] = time.perf_counter() - step

        step = time.perf_counter()
        self._finish()
        timings["setval_vacuum_analyze"] = time.perf_counter() - step
        timings["total"] = time.perf_counter() - began
        seeded = Seeded(agents, team_ids, references, timings=timings)
        seeded.counts = self._counts()
        return seeded

    # ------------------------------------------------------------ small tables

    def _sla_policies(self) -> dict[str, int]:
        """One policy per priority, 24x7, through the service (as an admin would set them up)."""
        minutes = {"urgent": (15, 30, 240), "high": (30, 60, 480), "normal": (60, 240, 1440),
                   "low": (240, 480, 2880)}
        return {priority: self.svc.desk.sla.create_policy(
            f"{priority.title()} priority", priority=priority, first_response_minutes=first,
            next_response_minutes=nxt, resolution_minutes=resolution, warn_before_minutes=15)
            for priority, (first, nxt, resolution) in minutes.items()}

    def _agents_and_teams(self) -> tuple[list[AgentRow], dict[str, int]]:
        rng, now = self.rng, self.now
        team_ids = {area: n + 1 for n, area in enumerate(AREAS)}
        team_langs = {"account": ["zh-CN", "id", "en"], "transaction": ["id", "en"], "refund_dispute": ["zh-CN", "id"],
                      "tech_support": ["en", "id", "zh-CN"], "promotion": ["id", "zh-CN"], "general": []}
        teams = [(tid, f"{area.replace('_', ' ').title()} team", json.dumps([area]), json.dumps(team_langs[area]),
                  now - timedelta(days=400)) for area, tid in team_ids.items()]
        agents: list[AgentRow] = []
        rows, members = [], []
        for n in range(self.args.agents):
            agent_id = n + 1
            role = "supervisor" if n % 10 == 9 else "agent"
            primary = "zh-CN" if rng.random() < 0.4 else "id"
            languages = [primary] + (["en"] if rng.random() < 0.6 else [])
            if rng.random() < 0.1:
                languages = []  # speaks whatever comes (a generalist)
            areas = rng.sample(AREAS, rng.choice((1, 1, 2, 2, 3))) if rng.random() < 0.9 else []
            team_id = team_ids[areas[0]] if areas else team_ids["general"]
            presence = "online" if rng.random() < 0.35 else ("away" if rng.random() < 0.15 else "offline")
            name = _person(rng, primary)
            rows.append((agent_id, f"agent{agent_id}@desk.gopaycare.example", name, role, None, True, presence,
                         rng.randint(3, 8), json.dumps(languages), json.dumps(areas), None,
                         now - timedelta(days=rng.randint(30, 700))))
            members.append((team_id, agent_id))
            agents.append(AgentRow(agent_id, role, areas, languages, team_id))
        with self.svc.db.engine.begin() as conn:
            copy_rows(conn, "teams", TEAM_COLUMNS, teams)
            copy_rows(conn, "agents", AGENT_COLUMNS, rows)
            copy_rows(conn, "team_members", ("team_id", "agent_id"), members)
        return agents, team_ids

    # ------------------------------------------------------------ indexes and constraints around the load

    def _drop_constraints_and_indexes(self) -> dict[str, list[str]]:
        with self.svc.db.engine.begin() as conn:
            constraints = conn.execute(text(
                "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid::regclass::text = ANY(:tables) AND contype IN ('f', 'u') ORDER BY contype, conname"),
                {"tables": list(BULK_TABLES)}).all()
            indexes = conn.execute(text(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                "WHERE i.indrelid::regclass::text = ANY(:tables) AND NOT i.indisprimary AND NOT EXISTS ("
                "  SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x'))"),
                {"tables": list(BULK_TABLES)}).all()
            for table, name, _, _ in constraints:  # foreign keys first ('f' sorts before 'u')
                conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
            for name, _ in indexes:
                conn.execute(text(f"DROP INDEX {name}"))
        add = [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
               for table, name, _, definition in constraints]
        return {"indexes": [definition for _, definition in indexes],
                "unique": [a for a, c in zip(add, constraints, strict=True) if c[2] == "u"],
                "foreign": [a for a, c in zip(add, constraints, strict=True) if c[2] == "f"]}

    def _rebuild(self, saved: dict[str, list[str]]) -> None:
        """Indexes and unique constraints two at a time (2 cores; the GIN index, the longest, first),
        then the foreign keys, which PostgreSQL validates against the loaded rows."""
        engine = self.svc.db.engine.execution_options(isolation_level="AUTOCOMMIT")

        def run(statement: str) -> None:
            with engine.connect() as conn:
                conn.execute(text("SET maintenance_work_mem = '1GB'"))
                conn.execute(text("SET work_mem = '256MB'"))
                conn.execute(text(statement))

        builds = sorted(saved["indexes"] + saved["unique"],
                        key=lambda s: ("gin" not in s.lower(), "messages" not in s, "tickets" not in s))
        bar = tqdm(total=len(builds) + len(saved["foreign"]), unit="index", desc="indexes, constraints")
        with ThreadPoolExecutor(max_workers=2) as pool:
            for _ in pool.map(run, builds):
                bar.update()
        for statement in saved["foreign"]:
            run(statement)
            bar.update()
        bar.close()

    def _finish(self) -> None:
        engine = self.svc.db.engine.execution_options(isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for table in ID_TABLES:
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT MAX(id) FROM {table}))"))

        def vacuum(table: str) -> None:
            with engine.connect() as conn:
                conn.execute(text("SET maintenance_work_mem = '1GB'"))
                conn.execute(text(f"VACUUM (ANALYZE) {table}"))

        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(vacuum, ("messages", "tickets", "ticket_search", "conversations", "contact_identities",
                                   "contacts", "ticket_links", "agents", "teams", "team_members", "sla_policies",
                                   "daily_counts")))

    def _counts(self) -> dict[str, int]:
        with self.svc.db.engine.connect() as conn:
            return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in COUNTED_TABLES}

    # ------------------------------------------------------------ contacts

    def _contacts(self) -> list[tuple[str, str]]:
        """(language, identity kind) per contact; contact n has id n + 1."""
        rng, now = self.rng, self.now
        count = max(1, int(self.args.tickets * CONTACTS_PER_TICKET))
        languages, kinds = Mix(LANGUAGE_MIX), Mix(IDENTITY_MIX)
        out: list[tuple[str, str]] = []
        bar = tqdm(total=count, unit="contacts", desc="contacts")
        with self.svc.db.engine.begin() as conn:
            for start in range(0, count, CHUNK * 2):
                contacts, identities = [], []
                for n in range(start, min(count, start + CHUNK * 2)):
                    cid = n + 1
                    language = languages.pick(rng)
                    kind = kinds.pick(rng)
                    if kind == "wechat" and language != "zh-CN":
                        kind = "phone"
                    created = now - WINDOW - timedelta(seconds=rng.randrange(300 * 86400))
                    value = {"phone": f"+62812{cid:08d}", "whatsapp": f"+62813{cid:08d}",
                             "email": f"customer{cid}@mail.example", "telegram": f"tg{cid}",
                             "wechat": f"wx_{cid:08d}"}[kind]
                    contacts.append((cid, _person(rng, language) if rng.random() < 0.8 else None, language, created))
                    identities.append((cid, cid, kind, value, kind in ("phone", "whatsapp"), created))
                    out.append((language, kind))
                copy_rows(conn, "contacts", CONTACT_COLUMNS, contacts)
                copy_rows(conn, "contact_identities", IDENTITY_COLUMNS, identities)
                bar.update(len(contacts))
        bar.close()
        return out

    # ------------------------------------------------------------ tickets and everything under them

    def _tickets(self, agents: list[AgentRow], team_ids: dict[str, int],
                 contacts: list[tuple[str, str]]) -> list[str]:
        rng = self.rng
        n = self.args.tickets
        # Status first, then an age that fits it; ids follow creation time (oldest ticket, id 1).
        status_mix = Mix(STATUS_MIX)
        statuses = [status_mix.pick(rng) for _ in range(n)]
        window = WINDOW.total_seconds()
        ages = [min(window, rng.expovariate(1 / (ACTIVE_AGE_DAYS[s] * 86400))) if s in ACTIVE_AGE_DAYS
                else rng.random() * window for s in statuses]
        order = sorted(range(n), key=ages.__getitem__, reverse=True)
        # Every contact gets at least one ticket; the rest are repeat customers.
        owners = list(range(1, len(contacts) + 1)) + [rng.randrange(1, len(contacts) + 1)
                                                      for _ in range(n - len(contacts))]
        rng.shuffle(owners)
        pools = self._skill_pools(agents)
        team_of = {a.id: a.team_id for a in agents}
        references: list[str] = []
        ids = {"message": 1, "link": 1}
        bar = tqdm(total=n, unit="tickets", desc="tickets")
        with self.svc.db.engine.begin() as conn:
            for start in range(0, n, CHUNK):
                rows: dict[str, list[tuple[Any, ...]]] = {k: [] for k in
                                                          ("tickets", "conversations", "messages", "links", "search")}
                for i in range(start, min(n, start + CHUNK)):
                    k = order[i]
                    self._ticket(i + 1, statuses[k], ages[k], owners[i], contacts[owners[i] - 1], pools, team_of,
                                 team_ids, ids, rows, references)
                copy_rows(conn, "tickets", TICKET_COLUMNS, rows["tickets"])
                copy_rows(conn, "conversations", CONVERSATION_COLUMNS, rows["conversations"])
                copy_rows(conn, "messages", MESSAGE_COLUMNS, rows["messages"])
                copy_rows(conn, "ticket_links", LINK_COLUMNS, rows["links"])
                copy_rows(conn, "ticket_search", SEARCH_COLUMNS, rows["search"])
                bar.update(len(rows["tickets"]))
        bar.close()
        return references

    @staticmethod
    def _skill_pools(agents: list[AgentRow]) -> dict[tuple[str, str], list[int]]:
        pools = {}
        for area in AREAS:
            for lang in LANGUAGES:
                fit = [a.id for a in agents if (not a.areas or area in a.areas) and
                       (not a.languages or lang in a.languages)]
                pools[(area, lang)] = fit or [a.id for a in agents]
        return pools

    def _ticket(self, tid: int, status: str, age: float, contact_id: int, contact: tuple[str, str],
                pools: dict[tuple[str, str], list[int]], team_of: dict[int, int | None], team_ids: dict[str, int],
                ids: dict[str, int], rows: dict[str, list[tuple[Any, ...]]], references: list[str]) -> None:
        rng, now = self.rng, self.now
        language, kind = contact
        area = _AREAS.pick(rng)
        priority = _PRIORITIES.pick(rng)
        channel = CHANNEL_OF.get(kind) or ("chat" if rng.random() < 0.75 else "phone")
        created = now - timedelta(seconds=age)
        assignee = rng.choice(pools[(area, language)]) if rng.random() < ASSIGNED[status] else None
        team_id = team_of[assignee] if assignee else (team_ids[area] if rng.random() < 0.8 else None)
        tags = [rng.choice(TAGS)] if rng.random() < 0.1 else []
        closed_like = status in ("closed", "solved")
        bot = closed_like and assignee is None and rng.random() < 0.5

        phrase = rng.choice(self.texts.first[(area, language)])
        ref = _reference(rng, created) if phrase.has_ref else None
        body, body_tokens = phrase.render(ref)
        subject = body.splitlines()[0][:200]

        # The thread: the customer's message, the agent's (or bot's) reply, maybe a follow-up.
        left = max(1.0, age)
        times = [created]
        first_response = None
        if status != "new":
            first_response = created + timedelta(seconds=min(left * 0.5, rng.expovariate(1 / 1800)))
            times.append(first_response)
            if rng.random() < 0.5:
                times.append(first_response + timedelta(seconds=min(left * 0.4, rng.expovariate(1 / 7200))))
        elif rng.random() < 0.3:
            times.append(created + timedelta(seconds=min(left * 0.9, rng.expovariate(1 / 600))))
        last = times[-1]
        solved_at = closed_at = None
        if closed_like:
            solved_at = last + timedelta(seconds=min((now - last).total_seconds() * 0.5, rng.expovariate(1 / 86400)))
            if status == "closed":
                closed_at = solved_at + timedelta(seconds=min((now - solved_at).total_seconds(), 3 * 86400))
            updated = closed_at or solved_at
        else:
            updated = last + timedelta(seconds=rng.random() * (now - last).total_seconds() * 0.5)

        sla_due = sla_paused = None
        if status in SLA_RUNNING:
            sla_due = now + timedelta(seconds=rng.uniform(-2 * 3600, 24 * 3600))
            sla_state = "breached" if sla_due < now else ("warning" if sla_due < now + timedelta(minutes=15)
                                                          else "active")
        elif status == "pending_customer":
            sla_state, sla_paused = "paused", updated
        else:
            sla_state = "breached" if rng.random() < 0.15 else "met"

        rows["tickets"].append((
            tid, contact_id, subject, area, priority, status, channel, language,
            "plus" if rng.random() < 0.3 else "basic", assignee, team_id, json.dumps(tags), "{}", bot, created,
            updated, first_response, solved_at, closed_at, self.policies[priority], sla_due, sla_state, sla_paused))
        rows["conversations"].append((
            tid, contact_id, channel, tid, "closed" if closed_like else "open", "bot" if bot else "human",
            (True if bot else False) if closed_like else None, last, created))

        token_parts = [body_tokens]  # the subject (the first line of the message)
        if tags:
            token_parts.append(self.texts.tags[tags[0]])
        if ref:
            rows["links"].append((ids["link"], tid, "refund" if area == "refund_dispute" else "transaction", ref,
                                  created))
            ids["link"] += 1
            token_parts.append(ref.lower())
            if len(references) < 5000:
                references.append(ref)
        token_parts.append(body_tokens)
        for n, at in enumerate(times):
            if n == 0:
                text_, tokens, inbound = body, body_tokens, True
            elif n == 1 and status != "new":
                text_, tokens = rng.choice(self.texts.replies[language]).render(None)
                inbound = False
                token_parts.append(tokens)
            else:
                text_, tokens = rng.choice(self.texts.follow_ups[language]).render(None)
                inbound = True
                token_parts.append(tokens)
            author_type = "contact" if inbound else ("bot" if bot else "agent")
            author = contact_id if inbound else (None if bot else (assignee or rng.choice(pools[(area, language)])))
            rows["messages"].append((
                ids["message"], tid, tid, "in" if inbound else "out", author_type, author, text_, False, "[]",
                channel, "received" if inbound else "delivered", at))
            ids["message"] += 1
        rows["search"].append((tid, " ".join(p for p in token_parts if p), updated))


_AREAS = Mix(AREA_MIX)
_PRIORITIES = Mix(PRIORITY_MIX)


# ---------------------------------------------------------------- measuring queries


@dataclass
class Sample:
    ms: float
    rows: int
    params: dict[str, Any]


@dataclass
class QueryResult:
    name: str
    viewer: str
    inbox: bool
    samples: list[Sample] = field(default_factory=list, repr=False)
    plan: list[str] = field(default_factory=list, repr=False)

    def percentile(self, q: int) -> float:
        return percentile([s.ms for s in self.samples], q)

    @property
    def slowest(self) -> Sample:
        return max(self.samples, key=lambda s: s.ms)

    def row(self) -> dict[str, Any]:
        p95 = self.percentile(95)
        return {"query": self.name, "viewer": self.viewer, "runs": len(self.samples),
                "avg_rows": round(statistics.fmean(s.rows for s in self.samples), 1),
                "p50_ms": round(self.percentile(50), 2), "p95_ms": round(p95, 2),
                "p99_ms": round(self.percentile(99), 2),
                "max_ms": round(self.slowest.ms, 2), "aim": ("ok" if p95 < AIM_MS else "MISS") if self.inbox else "-"}


class StatementSpy:
    """Keeps the last SQL statement the application sent (on this thread), for EXPLAIN."""

    def __init__(self, engine: Engine) -> None:
        self.local = threading.local()
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if getattr(self.local, "on", False):
            self.local.last = (statement, parameters)

    def capture(self, call: Callable[[], Any]) -> tuple[str, Any]:
        self.local.on, self.local.last = True, None
        try:
            call()
        finally:
            self.local.on = False
        if self.local.last is None:
            raise RuntimeError("the call sent no SQL")
        return self.local.last


class QueryBench:
    def __init__(self, services: Services, seeded: Seeded, seed: int) -> None:
        self.svc = services
        self.inbox = services.desk.inbox
        self.search = services.desk.search
        self.rng = random.Random(seed + 1)
        self.spy = StatementSpy(services.db.engine)
        views = {a.id: services.desk.viewer(services.agents.get(a.id)) for a in seeded.agents}
        self.supervisors = [v for v in views.values() if v.sees_all]
        self.agents = [v for v in views.values() if not v.sees_all]
        self.references = seeded.references
        if not self.supervisors or not self.agents:
            raise RuntimeError("need both supervisors and ordinary agents")

    # Each kind: (name, viewer label, counts for the aim, params(rng) -> dict, call(params) -> rows)
    def kinds(self) -> list[tuple[str, str, bool, Callable[[random.Random], dict[str, Any]],
                                  Callable[[dict[str, Any]], int]]]:
        sup, agent = self.supervisors, self.agents
        mine = TicketFilter(assignee="me", status=("new", "open"), order="updated")
        breaching = TicketFilter(sla="breaching_soon")

        def unassigned(area: str) -> TicketFilter:
            return TicketFilter(assignee="none", area=area, status=("new", "open"), order="created")

        def page(p: dict[str, Any], f: TicketFilter) -> int:
            return len(self.inbox.tickets(p["viewer"], f, limit=LIMIT, cursor=p.get("cursor")).items)

        def second_page_params(rng: random.Random) -> dict[str, Any]:
            viewer, area = rng.choice(sup), rng.choice(AREAS)
            first = self.inbox.tickets(viewer, unassigned(area), limit=LIMIT)
            return {"viewer": viewer, "area": area, "cursor": first.next_cursor}

        def search(p: dict[str, Any]) -> int:
            return len(self.search.search(p["viewer"], p["q"], limit=20))

        kinds = [
            ("my open tickets", "agent", True, lambda r: {"viewer": r.choice(agent)}, lambda p: page(p, mine)),
            ("my open tickets", "supervisor", True, lambda r: {"viewer": r.choice(sup)}, lambda p: page(p, mine)),
            ("unassigned by area", "supervisor", True, lambda r: {"viewer": r.choice(sup), "area": r.choice(AREAS)},
             lambda p: page(p, unassigned(p["area"]))),
            ("unassigned by area", "agent", True, lambda r: {"viewer": r.choice(agent), "area": r.choice(AREAS)},
             lambda p: page(p, unassigned(p["area"]))),
            ("SLA breaching soon", "supervisor", True, lambda r: {"viewer": r.choice(sup)},
             lambda p: page(p, breaching)),
            ("SLA breaching soon", "agent", True, lambda r: {"viewer": r.choice(agent)}, lambda p: page(p, breaching)),
            ("unassigned by area, page 2", "supervisor", True, second_page_params,
             lambda p: page(p, unassigned(p["area"]))),
        ]
        for name, texts in SEARCHES.items():
            kinds.append((name, "supervisor", False,
                          lambda r, texts=texts: {"viewer": r.choice(sup), "q": r.choice(texts)}, search))
        if self.references:
            kinds.append(("search: GP reference", "supervisor", False,
                          lambda r: {"viewer": r.choice(sup), "q": r.choice(self.references)}, search))
        # The supervisor dashboard (ADR 0026): each report from the daily counters over a random
        # range ending on a random recent day, and the live board.
        reports, board = self.svc.desk.reports, self.svc.desk.board
        last = report_day(self.svc.clock.now())

        def report_range(days: int) -> Callable[[random.Random], dict[str, Any]]:
            def params(rng: random.Random) -> dict[str, Any]:
                until = last - timedelta(days=rng.randrange(0, 7))
                return {"since": until - timedelta(days=days - 1), "until": until}
            return params

        def report(p: dict[str, Any]) -> int:
            return len(reports.report(p["since"], p["until"]).by_day)

        kinds += [
            ("dashboard report, 7 days", "supervisor", False, report_range(7), report),
            ("dashboard report, 30 days", "supervisor", False, report_range(30), report),
            ("dashboard report, 90 days", "supervisor", False, report_range(90), report),
            ("dashboard live board", "supervisor", False, lambda r: {}, lambda p: len(board.now().queues)),
        ]
        return kinds

    def run(self, queries: int) -> list[QueryResult]:
        warmup = max(5, queries // 10)
        results = []
        for name, viewer, inbox, params, call in self.kinds():
            result = QueryResult(name, viewer, inbox)
            for n in range(warmup + queries):
                p = params(self.rng)
                began = time.perf_counter()
                rows = call(p)
                ms = (time.perf_counter() - began) * 1000
                if n >= warmup:
                    result.samples.append(Sample(ms, rows, p))
            result.plan = self.explain(call, result.slowest.params)
            results.append(result)
            print(f"  {name} ({viewer}): p50 {result.percentile(50):.1f} ms, p95 {result.percentile(95):.1f} ms")
        return results

    def explain(self, call: Callable[[dict[str, Any]], int], params: dict[str, Any]) -> list[str]:
        """EXPLAIN ANALYZE of the SQL the call sends, with the parameters of its slowest run."""
        statement, parameters = self.spy.capture(lambda: call(params))
        with self.svc.db.engine.connect() as conn:
            rows = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {statement}", parameters).all()
            conn.rollback()
        return [r[0] for r in rows]


def describe(params: dict[str, Any]) -> str:
    out = []
    for key, value in params.items():
        if key == "viewer":
            v: Viewer = value
            out.append(f"agent {v.agent.id} ({v.agent.role}, teams {list(v.team_ids)})")
        elif key == "cursor":
            out.append("cursor of page 1" if value else "no cursor")
        else:
            out.append(f"{key}={value!r}")
    return ", ".join(out)


# ---------------------------------------------------------------- ticket creation


class Intake:
    """Customers' first chat messages from new phone numbers (+62857 + a counter, unused by the seed)."""

    MAX_PER_RUN = 200_000

    def __init__(self, services: Services, texts: Texts, seed: int) -> None:
        self.receive = services.desk.conversations.receive
        self.phrases = [(lang, p) for (_, lang), phrases in texts.first.items() for p in phrases]
        self.numbers = itertools.count(1)  # next() is atomic under the GIL
        self.seed = seed

    def _one(self, rng: random.Random) -> bool:
        language, phrase = rng.choice(self.phrases)
        body, _ = phrase.render(_reference(rng, datetime.now()) if phrase.has_ref else None)
        got = self.receive(channel="chat", identity_kind="phone", identity_value=f"+62857{next(self.numbers):08d}",
                           body=body, language=language)
        return got.new_ticket

    def run(self, threads: int, seconds: float) -> LoadResult:
        budget = self.MAX_PER_RUN // threads

        def client(index: int) -> WorkerOutcome:
            rng = random.Random(self.seed * 1000 + threads * 100 + index)
            outcome = WorkerOutcome()
            deadline = time.perf_counter() + seconds
            for _ in range(budget):
                if time.perf_counter() >= deadline:
                    break
                began = time.perf_counter()
                try:
                    new = self._one(rng)
                except Exception as exc:  # counted and reported, never hidden
                    outcome.failures[type(exc).__name__] += 1
                    continue
                if new:
                    outcome.latencies_ms.append((time.perf_counter() - began) * 1000)
                else:
                    outcome.failures["not_a_new_ticket"] += 1
            outcome.finished = time.perf_counter()
            return outcome

        return run_together(threads, client)


# ---------------------------------------------------------------- report


def print_queries(results: list[QueryResult], tickets: int) -> None:
    rows = [r.row() for r in results]
    header = f"{'query':<30} {'viewer':<10} {'runs':>5} {'rows':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} " \
             f"{'max ms':>8} {'aim':>4}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['query']:<30} {r['viewer']:<10} {r['runs']:>5} {r['avg_rows']:>5.0f} {r['p50_ms']:>8.2f} "
              f"{r['p95_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['max_ms']:>8.2f} {r['aim']:>4}")
    inbox = [r for r in rows if r["aim"] != "-"]
    misses = [f"{r['query']} ({r['viewer']})" for r in inbox if r["aim"] != "ok"]
    verdict = "met" if not misses else "NOT met by " + ", ".join(misses)
    print(f"aim: p95 < {AIM_MS:g} ms for every inbox query at {tickets:,} tickets -> {verdict}")


def print_plans(results: list[QueryResult]) -> list[QueryResult]:
    """The plans of the slowest query, of the slowest inbox query, and of every inbox query that
    misses the aim (each with the parameters of its slowest run)."""
    slowest = max(results, key=lambda r: r.percentile(95))
    slowest_inbox = max((r for r in results if r.inbox), key=lambda r: r.percentile(95))
    shown = [slowest]
    for r in [slowest_inbox] + [r for r in results if r.inbox and r.percentile(95) >= AIM_MS]:
        if r not in shown:
            shown.append(r)
    for r in shown:
        print(f"\nEXPLAIN ANALYZE of '{r.name}' ({r.viewer}; p95 {r.percentile(95):.1f} ms), "
              f"slowest run: {describe(r.slowest.params)}")
        for line in r.plan:
            print("  " + line)
    return shown


def print_intake(results: list[LoadResult]) -> None:
    header = f"{'threads':>7} {'tickets/s':>10} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'created':>8} {'failed':>6}"
    print(header)
    print("-" * len(header))
    for r in results:
        print(f"{r.workers:>7} {r.per_second:>10.1f} {r.percentile(50):>8.2f} {r.percentile(95):>8.2f} "
              f"{r.percentile(99):>8.2f} {r.done:>8} {sum(r.failures.values()):>6}")
    for r in results:
        if r.failures:
            print(f"  failures at {r.workers} threads: {r.failures}")


def reused(services: Services) -> Seeded:
    """What the queries need of a database a --keep run seeded: its agents and some references."""
    with services.db.engine.connect() as conn:
        agents = [AgentRow(i, role, [], [], None) for i, role in conn.execute(text("SELECT id, role FROM agents"))]
        references = list(conn.execute(text("SELECT reference FROM ticket_links ORDER BY id DESC LIMIT 2000"))
                          .scalars())
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                  for t in ("tickets", "conversations", "daily_counts")}
    return Seeded(agents, {}, references, counts=counts)


def old_containment(services: Services, calls: int) -> list[float]:
    """The containment report as it was (a scan of every conversation joined to its ticket, the
    route GET /api/v1/reports/containment still calls), beside the dashboard's counters."""
    until = report_day(services.clock.now())
    since = until - timedelta(days=29)
    samples = []
    for _ in range(calls + 2):
        began = time.perf_counter()
        containment(services.db, day_start(since), day_start(until + timedelta(days=1)))
        samples.append((time.perf_counter() - began) * 1000)
    samples = samples[2:]
    print(f"\ncontainment by scan (30 days, the API's /reports/containment), {calls} calls: "
          f"p50 {percentile(samples, 50):.1f} ms, p95 {percentile(samples, 95):.1f} ms")
    return samples


# ---------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    admin = create_engine(args.pg_admin_url, isolation_level="AUTOCOMMIT")
    services: Services | None = None
    try:
        began = time.perf_counter()
        if args.reuse:
            app_url = database_url(args.pg_admin_url, BENCH_DB)
            upgrade(app_url)
        else:
            app_url = migrated_database(admin, args.pg_admin_url, BENCH_DB)
        settings = load_settings(database_url=app_url, password_hash_profile="fast")
        services = build(settings, immediate_jobs=True, senders={})
        seeder = Seeder(services, args)
        if args.reuse:
            seeded = reused(services)
            print(f"reusing {BENCH_DB} as a --keep run left it")
        else:
            print(f"migrated {BENCH_DB} in {time.perf_counter() - began:.1f} s; seeding {args.tickets:,} tickets")
            seeded = seeder.run()
            print(f"seeded in {seeded.timings['total']:.1f} s (" + ", ".join(
                f"{k} {v:.1f} s" for k, v in seeded.timings.items() if k != "total") + ")")
        print("rows: " + ", ".join(f"{t} {n:,}" for t, n in seeded.counts.items()))
        with services.db.engine.connect() as conn:
            size = conn.execute(text("SELECT pg_size_pretty(pg_database_size(current_database()))")).scalar_one()
        print(f"database size {size}")

        checkpoint(admin)
        print(f"\ninbox and search: {args.queries} calls per query after a warm-up, limit {LIMIT} (search 20)")
        queries = QueryBench(services, seeded, args.seed).run(args.queries)
        print(f"\n{os.cpu_count()} CPUs shared by PostgreSQL and Python; {args.tickets:,} tickets, "
              f"{args.agents} agents\n")
        print_queries(queries, args.tickets)
        shown = print_plans(queries)
        old_containment(services, args.scan_queries)

        checkpoint(admin)
        print(f"\nticket creation: receive() on the chat channel from new phone numbers, {args.seconds:g} s per run")
        intake = Intake(services, seeder.texts, args.seed)
        if args.reuse:  # the numbers an earlier run created exist: go on after them
            with services.db.engine.connect() as conn:
                taken = conn.execute(text("SELECT count(*) FROM contact_identities WHERE value LIKE '+62857%'"))
                intake.numbers = itertools.count(taken.scalar_one() + 1)
        for _ in range(20):  # warm-up: connections, jieba, statement caches
            intake._one(random.Random(0))
        creations = []
        for threads in args.threads:
            creations.append(intake.run(threads, args.seconds))
            print(f"  {threads} threads: {creations[-1].per_second:.1f} tickets/s")
        print()
        print_intake(creations)
        if args.json:
            write_json(args, seeded, queries, shown, creations)
        return 1 if any(r.failures for r in creations) else 0
    finally:
        if services is not None:
            services.close()
        if not args.keep:
            drop_database(admin, BENCH_DB)
        else:
            print(f"kept database {BENCH_DB}")
        admin.dispose()


def write_json(args: argparse.Namespace, seeded: Seeded, queries: list[QueryResult], shown: list[QueryResult],
               creations: list[LoadResult]) -> None:
    payload = {
        "when": datetime.now().astimezone().isoformat(timespec="seconds"),
        "settings": {k: v for k, v in vars(args).items() if k not in ("json", "pg_admin_url")},
        "cpus": os.cpu_count(), "aim_p95_ms": AIM_MS,
        "seeding": {"seconds": {k: round(v, 1) for k, v in seeded.timings.items()}, "rows": seeded.counts},
        "queries": [r.row() | {"plan": r.plan, "slowest_run": describe(r.slowest.params)} for r in queries],
        "plans_shown": [f"{r.name} ({r.viewer})" for r in shown],
        "ticket_creation": [{"threads": r.workers, "tickets_per_s": round(r.per_second, 1),
                             "p50_ms": round(r.percentile(50), 2), "p95_ms": round(r.percentile(95), 2),
                             "p99_ms": round(r.percentile(99), 2), "created": r.done, "failures": r.failures,
                             "seconds": round(r.seconds, 2)} for r in creations],
    }
    with open(args.json, "w", encoding="utf-8") as out:
        json.dump(payload, out, indent=2, default=str)
    print(f"results written to {args.json}")


if __name__ == "__main__":
    sys.exit(main())

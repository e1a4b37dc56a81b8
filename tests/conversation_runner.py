"""Plays the YAML conversations of tests/conversations/ (format: its README.md) against the demo, through
the real HTTP API, each on a fresh copy of the seeded demo database.

    stage = Stage(workdir, nlu)           # seeds the demo story once (a SQLite file), then copies it
    result = stage.play(conversation)      # -> Result(failures=[...], latencies=[seconds per turn])

Used by tests/test_conversations.py (pass/fail per conversation, a pass rate per language) and by
bench/conversations.py (per-turn latency). The conversation is judged only on what it says it expects:
facts in the replies, the intent, the handoff, codes sent, the account's state, the reply language.
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

# Wednesday 25 November 2026, 10:00 in Jakarta: the demo's "now" (the same as tests/conftest.py).
DEMO_NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
LANGUAGES = ("zh-CN", "en", "id")
CHANNELS = ("whatsapp", "app", "visitor")
TURN_KEYS = {"user", "intent", "expect", "expect_any", "absent", "handoff", "codes_sent", "account", "silent",
             "reply_lang", "refund_requests", "balance_change", "disputes"}
CONVERSATION_KEYS = {"name", "customer", "lang", "area", "channel", "tags", "turns", "phone_of"}
AREAS = ("account", "transaction", "refund_dispute", "tech_support", "promotion", "general")
ADMIN = ("admin@gopay.test", "demo-password")
_CJK = re.compile(r"[\u3400-\u9fff]")
# Words only an Indonesian / English sentence of the assistant's carries (its replies are whole sentences).
_ID_WORDS = re.compile(r"(?<![a-z])(anda|saya|kami|yang|tidak|sudah|untuk|dengan|bisa|ini|itu|akan|atau|dan)"
                       r"(?![a-z])", re.IGNORECASE)
_EN_WORDS = re.compile(r"(?<![a-z])(you|your|the|is|was|we|to|and|it|of|please|can)(?![a-z])", re.IGNORECASE)


class ConversationError(ValueError):
    """A conversation file that does not follow the format (README.md)."""


@dataclass(frozen=True)
class Expect:
    user: str
    intent: str | list[str] | None = None
    expect: list[str] = field(default_factory=list)
    expect_any: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    handoff: bool | None = None
    codes_sent: int | None = None
    account: dict[str, bool] = field(default_factory=dict)
    silent: bool = False
    reply_lang: str | None = None
    refund_requests: int | None = None
    balance_change: int | None = None
    disputes: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Conversation:
    name: str
    file: str
    customer: str
    lang: str
    area: str
    channel: str
    tags: list[str]
    turns: list[Expect]
    # A visitor's: the demo customer whose phone the visitor gives (it receives the codes, `{code}` and
    # `{phone}` are theirs, and `codes_sent` / `account` check their account).
    phone_of: str | None = None

    @property
    def id(self) -> str:
        return f"{Path(self.file).stem}: {self.name}"


@dataclass
class Result:
    conversation: Conversation
    failures: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _people() -> list[Any]:
    """The demo's customers: the story's people and Kadek Wirawan (the refunds' and disputes' cases)."""
    from gopaycare.demo.refund_story import CUSTOMER
    from gopaycare.demo.story import PEOPLE, Person

    name, phone, email, language, id_number = CUSTOMER
    return [*PEOPLE, Person("kadek", name, phone, email, language, "plus", id_number)]


def load(directory: Path | str) -> list[Conversation]:
    """Every conversation of every *.yaml file in `directory`, checked against the format."""
    customers = {p.key for p in _people()} | {"visitor"}
    found: list[Conversation] = []
    for path in sorted(Path(directory).glob("*.yaml")):
        items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        if not isinstance(items, list):
            raise ConversationError(f"{path.name}: a list of conversations expected")
        for item in items:
            where = f"{path.name}: {item.get('name', '?') if isinstance(item, dict) else item!r}"
            if not isinstance(item, dict) or set(item) - CONVERSATION_KEYS or not item.get("turns"):
                raise ConversationError(f"{where}: unknown keys or no turns")
            channel = item.get("channel", "visitor" if item.get("customer") == "visitor" else "whatsapp")
            if item.get("customer") not in customers or item.get("lang") not in LANGUAGES \
                    or channel not in CHANNELS or item.get("area") not in AREAS:
                raise ConversationError(f"{where}: customer, lang, channel or area not one of the known ones")
            turns = []
            for turn in item["turns"]:
                if not isinstance(turn, dict) or "user" not in turn or set(turn) - TURN_KEYS:
                    raise ConversationError(f"{where}: a turn needs `user` and only the known keys: {turn!r}")
                if not isinstance(turn["user"], str):  # YAML reads yes, no, 0004 as a bool or a number
                    raise ConversationError(f"{where}: quote the customer's words: {turn['user']!r}")
                turns.append(Expect(
                    user=str(turn["user"]), intent=turn.get("intent"), expect=_as_list(turn.get("expect")),
                    expect_any=_as_list(turn.get("expect_any")), absent=_as_list(turn.get("absent")),
                    handoff=turn.get("handoff"), codes_sent=turn.get("codes_sent"), account=turn.get("account") or {},
                    silent=bool(turn.get("silent", False)), reply_lang=turn.get("reply_lang"),
                    refund_requests=turn.get("refund_requests"), balance_change=turn.get("balance_change"),
                    disputes=turn.get("disputes") or {}))
            phone_of = item.get("phone_of")
            if phone_of is not None and (item.get("customer") != "visitor" or phone_of not in customers - {"visitor"}):
                raise ConversationError(f"{where}: phone_of names a demo customer, for a visitor only")
            found.append(Conversation(str(item["name"]), path.name, item["customer"], item["lang"], item["area"],
                                      channel, _as_list(item.get("tags")), turns, phone_of))
    names = [c.id for c in found]
    if len(names) != len(set(names)):
        raise ConversationError("two conversations of one file share a name")
    return found


def reply_language(text: str) -> str | None:
    """The language a reply of the assistant is in (None: too little text to say)."""
    if len(_CJK.findall(text)) >= 4:
        return "zh-CN"
    ind, eng = len(_ID_WORDS.findall(text)), len(_EN_WORDS.findall(text))
    if ind == eng == 0:
        return None
    return "id" if ind > eng else "en"


class Stage:
    """The demo story seeded once into a SQLite file under `workdir`; each conversation plays on its own
    copy, with its own services and HTTP client, at the demo's clock."""

    def __init__(self, workdir: Path | str, nlu: Any, *, immediate_jobs: bool = True) -> None:
        """`immediate_jobs`: jobs (deliveries, notifications) run inside the request, as the tests have
        them; False queues them for a worker that is not started, as a served turn only enqueues them."""
        self.workdir, self.nlu, self.count, self.immediate_jobs = Path(workdir), nlu, 0, immediate_jobs
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.template = self.workdir / "demo-template.db"
        self._seed()
        # Every conversation plays on the same file path, copied from the template, through one engine
        # (disposed between conversations, so no connection sees the old file): a serving process keeps
        # one warm engine (its compiled statements) for all its conversations, and so does the stage.
        self.path = self.workdir / "conversation.db"
        self._db: Any = None

    def _settings(self, path: Path) -> Any:
        from gopaycare.platform.settings import load_settings

        return load_settings(database_url=f"sqlite:///{path}", password_hash_profile="fast", secret_key="test-secret",
                             jobs_path=str(path.with_suffix(".jobs")), log_json=False, log_level="WARNING")

    def _seed(self) -> None:
        from gopaycare.container import build
        from gopaycare.demo.story import seed_story
        from gopaycare.migrations import upgrade
        from gopaycare.platform.clock import FakeClock

        upgrade(f"sqlite:///{self.template}")
        services = build(self._settings(self.template), clock=FakeClock(DEMO_NOW), immediate_jobs=True, senders={})
        try:
            services.wallet.bootstrap()
            seed_story(services, DEMO_NOW)
        finally:
            services.close()

    def play(self, conversation: Conversation) -> Result:
        from gopaycare.container import build
        from gopaycare.platform.clock import FakeClock
        from gopaycare.platform.db import Database
        from tests.helpers import api_client

        self.count += 1
        path = self.path
        self._fresh_copy(path)
        settings = self._settings(path)
        if self._db is None:
            self._db = Database(settings.database_url)
        services = build(settings, clock=FakeClock(DEMO_NOW), immediate_jobs=self.immediate_jobs, senders={},
                         db=self._db)
        services.wallet.bootstrap()
        services._assistant = services.make_assistant(self.nlu)
        result = Result(conversation)
        try:
            with api_client(services) as client:
                _Player(services, client, conversation, result).run()
        finally:
            services.close()  # disposes the engine's pool: the next conversation's file is a new one
        return result

    def _fresh_copy(self, path: Path) -> None:
        self._remove(path)
        shutil.copy(self.template, path)

    @staticmethod
    def _remove(path: Path) -> None:
        for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), path.with_suffix(".jobs")):
            stale.unlink(missing_ok=True)

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()
        self._remove(self.path)


class _Player:
    def __init__(self, svc: Any, client: Any, conversation: Conversation, result: Result) -> None:
        self.svc, self.client, self.c, self.result = svc, client, conversation, result
        self.person = next((p for p in _people() if p.key == (conversation.phone_of or conversation.customer)), None)
        self.customer_id = svc.identity.find_by_login(self.person.phone).id if self.person else None

    def run(self) -> None:
        post = self._poster()
        for number, turn in enumerate(self.c.turns, 1):
            text = self._fill(turn.user)
            before = self._state()
            started = time.perf_counter()
            response = post(text)
            self.result.latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                self.result.failures.append(
                    f"turn {number} {text!r}: HTTP {response.status_code} {response.text[:200]}")
                return
            answer = response.json()
            replies = "\n".join(answer["replies"])
            self.result.transcript += [f"> {text}", *(f"< {r}" for r in answer["replies"]),
                                       f"  [intent {answer['intent']}, handed off {answer['handed_off']}]"]
            for failure in self._judge(turn, answer, replies, before):
                self.result.failures.append(f"turn {number} {text!r}: {failure}")

    def _poster(self) -> Any:
        client = self.client
        if self.c.channel == "whatsapp":
            login = client.post("/api/v1/agent/login", json={"email": ADMIN[0], "password": ADMIN[1]})
            headers = {"authorization": f"Bearer {login.json()['token']}"}
            phone = self.person.phone if self.person else ""
            return lambda text: client.post("/api/v1/assistant/messages", headers=headers, json={
                "channel": "whatsapp", "identity_kind": "whatsapp", "identity_value": phone, "body": text})
        if self.c.channel == "app":
            from gopaycare.demo.story import DEMO_PASSWORD

            login = client.post("/api/v1/auth/login", json={"login": self.person.phone, "password": DEMO_PASSWORD})
            token = login.json()["token"]
        else:
            token = client.post("/api/v1/chat/visitors", json={}).json()["token"]
        headers = {"authorization": f"Bearer {token}"}
        return lambda text: client.post("/api/v1/me/assistant", headers=headers, json={"body": text})

    def _fill(self, text: str) -> str:
        """{code}: the latest one-time code sent to the demo customer's phone; {phone}: that phone."""
        if "{code}" in text:
            codes = self._codes()
            found = re.findall(r"(?<!\d)\d{6}(?!\d)", codes[-1].body) if codes else []
            text = text.replace("{code}", found[-1] if found else "000000")
        return text.replace("{phone}", self.person.phone if self.person else "")

    def _codes(self) -> list[Any]:
        if self.person is None:
            return []
        return [m for m in self.svc.outbox.messages_to(self.person.phone) if m.purpose != "reply"]

    def _state(self) -> dict[str, Any]:
        if self.customer_id is None:
            return {}
        return {"codes": len(self._codes()), "balance": self.svc.wallet.summary(self.customer_id).balance}

    def _judge(self, turn: Expect, answer: dict[str, Any], replies: str, before: dict[str, Any]) -> list[str]:
        wrong: list[str] = []
        folded = replies.casefold()
        if turn.intent is not None:
            allowed = turn.intent if isinstance(turn.intent, list) else [turn.intent]
            if answer["intent"] not in allowed:
                wrong.append(f"intent {answer['intent']}, expected {allowed}")
        missing = [f for f in turn.expect if f.casefold() not in folded]
        if missing:
            wrong.append(f"missing {missing}")
        if turn.expect_any and not any(f.casefold() in folded for f in turn.expect_any):
            wrong.append(f"none of {turn.expect_any}")
        present = [f for f in turn.absent if f.casefold() in folded]
        if present:
            wrong.append(f"must not say {present}")
        if turn.handoff is not None and answer["handed_off"] is not turn.handoff:
            wrong.append(f"handed off {answer['handed_off']}, expected {turn.handoff}")
        if turn.silent and replies:
            wrong.append("expected no reply")
        if not turn.silent and not replies.strip():
            wrong.append("no reply")
        language = turn.reply_lang or self.c.lang
        said = reply_language(replies) if replies and not turn.silent else None
        if said is not None and said != language:
            wrong.append(f"replied in {said}, expected {language}")
        if self.customer_id is not None:
            after = self._state()
            if turn.codes_sent is not None and after["codes"] - before["codes"] != turn.codes_sent:
                wrong.append(f"{after['codes'] - before['codes']} codes sent, expected {turn.codes_sent}")
            if turn.balance_change is not None and after["balance"] - before["balance"] != turn.balance_change:
                wrong.append(f"balance changed by {after['balance'] - before['balance']}, "
                             f"expected {turn.balance_change}")
            if turn.account:
                customer = self.svc.identity.get(self.customer_id)
                for flag, value in turn.account.items():
                    if getattr(customer, flag) is not value:
                        wrong.append(f"account {flag} is {getattr(customer, flag)}, expected {value}")
            if turn.disputes:
                cases = self.svc.disputes.list(self.customer_id)
                for status, count in turn.disputes.items():
                    found = len(cases) if status == "all" else sum(c.status == status for c in cases)
                    if found != count:
                        wrong.append(f"{found} disputes {status}, expected {count}")
            if turn.refund_requests is not None:
                count = len(self.svc.refunds.list(self.customer_id))
                if count != turn.refund_requests:
                    wrong.append(f"{count} refund requests, expected {turn.refund_requests}")
        return wrong


def pass_rates(results: list[tuple[str, bool]]) -> dict[str, tuple[int, int]]:
    """(passed, played) per language."""
    rates: dict[str, tuple[int, int]] = {}
    for lang, passed in results:
        ok, total = rates.get(lang, (0, 0))
        rates[lang] = (ok + passed, total + 1)
    return rates


def format_rates(rates: dict[str, tuple[int, int]]) -> str:
    parts = [f"{lang} {ok}/{total} ({100 * ok / total:.1f}%)" for lang, (ok, total) in sorted(rates.items())]
    ok, total = sum(v[0] for v in rates.values()), sum(v[1] for v in rates.values())
    if total:
        parts.append(f"all {ok}/{total} ({100 * ok / total:.1f}%)")
    return "conversations passed: " + ", ".join(parts)

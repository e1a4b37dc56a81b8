"""The knowledge base: shipped articles cover every intent in three languages, loading is idempotent,
edits add versions, votes count once per voter, and the hybrid search finds the right article for
what customers really type. Public routes need no login; editing needs macro.manage."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from sqlalchemy import func, select

from gopaycare.kb.content import AREAS, parse_article, read_directory
from gopaycare.kb.models import Article, ArticleIndex, ArticleVersion, ArticleVote
from gopaycare.kb.search import plain_text, query_terms, stem
from gopaycare.kb.service import ARTICLES_DIR, FILE_AUTHOR, ensure_loaded
from gopaycare.platform.audit import AuditEntry
from gopaycare.platform.errors import NotFound, ValidationFailed
from gopaycare.platform.i18n import LANGUAGES
from gopaycare.platform.text import segment
from tests.helpers import api_client, race

SPEC = Path(__file__).resolve().parents[1] / "src" / "gopaycare" / "assistant" / "data" / "intents.yaml"
INTENTS = (
    "account_login_failed", "account_password_reset", "account_locked", "account_otp_not_received",
    "account_update_info", "account_security_alert", "txn_payment_failed", "txn_not_received", "txn_limit",
    "txn_topup", "txn_history", "refund_apply", "refund_status", "dispute_open", "tech_app_crash",
    "tech_app_slow", "tech_app_update", "promo_current", "promo_cashback_missing", "contact_channels",
    "human_handoff", "greeting", "thanks", "goodbye", "out_of_scope",
)
SOURCES = read_directory(ARTICLES_DIR)
SHIPPED_VERSIONS = sum(len(a.texts) for a in SOURCES)


@pytest.fixture
def kb(svc):
    ensure_loaded(svc.kb)
    return svc.kb


def count(svc, model) -> int:
    with svc.db.read() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


# ---------------------------------------------------------------- the shipped content (no database)


def test_the_intent_list_matches_the_spec():
    assert set(yaml.safe_load(SPEC.read_text(encoding="utf-8"))["intents"]) == set(INTENTS)


def test_every_article_has_three_languages_of_real_length_and_links_that_resolve():
    slugs = {a.slug for a in SOURCES}
    for article in SOURCES:
        assert set(article.texts) == set(LANGUAGES), article.slug
        for lang, (title, body) in article.texts.items():
            plain = plain_text(body)
            words = len([w for w in segment(plain) if not w.isdigit()]) if lang == "zh-CN" else len(
                re.findall(r"\w+", plain))
            assert 80 <= words <= 300, (article.slug, lang, words)
            assert title and "kb:" not in plain
            if lang == "zh-CN":
                assert re.search("[\u4e00-\u9fff]", title + body)
            for target in re.findall(r"\]\(kb:([^)]+)\)", body):
                assert target in slugs, (article.slug, lang, target)
    assert {a.area for a in SOURCES} == set(AREAS)


def test_the_brief_is_covered_service_areas_channels_and_procedures():
    by_slug = {a.slug: a for a in SOURCES}
    for slug in ("services-overview", "contact-us", "channel-in-app-chat", "channel-phone-hotline",
                 "channel-email", "channel-social-media", "login-trouble", "payment-failed", "refund-apply",
                 "app-fault"):
        assert slug in by_slug
    overview = by_slug["services-overview"].texts
    for word in ("账户管理", "交易问题", "退款及争议", "技术支持", "推广与活动"):
        assert word in overview["zh-CN"][1]
    social = by_slug["channel-social-media"].texts["en"][1]
    for name in ("WhatsApp", "Telegram", "WeChat", "Facebook", "Instagram"):
        assert name in social
    hotline = by_slug["channel-phone-hotline"].texts["en"][1]
    assert "IVR" in hotline and "callback" in hotline


def _in_order(text: str, *steps: str) -> bool:
    """The steps appear in this order, from the numbered list on (the introduction may name them)."""
    at = text.find("1. ")
    for step in steps:
        at = text.find(step, at)
        if at < 0:
            return False
        at += len(step)
    return True


def test_the_four_procedures_keep_the_briefs_order():
    by_slug = {a.slug: a.texts for a in SOURCES}
    login, payment = by_slug["login-trouble"], by_slug["payment-failed"]
    refund, fault = by_slug["refund-apply"], by_slug["app-fault"]
    assert _in_order(login["zh-CN"][1], "区分大小写", "忘记密码", "锁定", "身份验证", "验证码", "网络")
    assert _in_order(login["en"][1], "case-sensitive", "Forgot password", "locked", "verify your identity",
                     "code", "connection")
    assert _in_order(login["id"][1], "huruf besar", "Lupa kata sandi", "terkunci", "verifikasi identitas",
                     "kode", "koneksi")
    assert _in_order(payment["zh-CN"][1], "余额", "充值", "网络", "日交易限额", "00:00", "重启")
    assert _in_order(payment["en"][1], "balance", "top up", "connection", "daily limit", "00:00", "Restart")
    assert _in_order(payment["id"][1], "saldo", "isi saldo", "koneksi", "batas transaksi harian", "00.00",
                     "Mulai ulang")
    assert _in_order(refund["zh-CN"][1], "交易记录", "找到这笔交易", "申请退款", "退款原因", "提交", "审核", "跟踪进度",
                     "审核未通过", "联系客服")
    assert _in_order(refund["en"][1], "transaction history", "Find the transaction", "Apply for refund", "reason",
                     "Submit", "Review", "Track", "Rejected", "Contact us")
    assert _in_order(fault["zh-CN"][1], "操作系统", "清除缓存", "卸载并重新安装", "联系客服")
    assert _in_order(fault["en"][1], "operating system", "cache", "Uninstall and reinstall", "Contact us")
    assert _in_order(fault["id"][1], "sistem operasi", "cache", "pasang ulang", "Hubungi kami")


def test_published_limits_and_safety_rules_are_stated():
    texts = {a.slug: a.texts for a in SOURCES}
    limits = texts["transaction-limits"]["en"][1]
    for amount in ("Rp 2.000.000", "Rp 20.000.000", "Rp 40.000.000", "00:00"):
        assert amount in limits
    assert "5 minutes" in texts["verification-code-not-received"]["en"][1]
    assert "Never share" in texts["verification-code-not-received"]["en"][1]
    assert "GoPay Plus" in texts["money-not-received"]["en"][1]


def test_bad_files_are_refused_with_the_reason(tmp_path):
    good = (ARTICLES_DIR / "account" / "login-trouble.md").read_text(encoding="utf-8")
    cases = {
        "no front matter": good.split("---\n", 2)[2],
        "unknown area": good.replace("area: account", "area: billing"),
        "unknown key": good.replace("area: account", "area: account\ncolour: red"),
        "no title": good.replace("# I can't log in to my GoPay account\n", ""),
        "unknown language": good.replace("<!-- lang: id -->", "<!-- lang: fr -->"),
        "language twice": good.replace("<!-- lang: id -->", "<!-- lang: en -->"),
    }
    for name, text in cases.items():
        with pytest.raises(ValidationFailed):
            parse_article(text, source=name)
    # a file whose slug differs from its name is refused, and nothing of the directory is used
    (tmp_path / "account").mkdir()
    (tmp_path / "account" / "other-name.md").write_text(good, encoding="utf-8")
    with pytest.raises(ValidationFailed, match="must match"):
        read_directory(tmp_path)


def test_query_analysis():
    assert stem("crashing") == stem("crashes") == stem("crashed") == stem("crash") == "crash"
    assert stem("aplikasinya") == "aplikasi"
    assert set(query_terms("how do I reset my PIN")) == {"reset", "pin"}
    assert query_terms("你好") == {} and query_terms("hi there") == {}


# ---------------------------------------------------------------- loading and versions


def test_every_intent_has_an_article_in_all_three_languages(kb):
    for intent in INTENTS:
        for lang in LANGUAGES:
            view = kb.by_intent(intent, lang)
            assert view is not None, intent
            assert (view.language, view.fallback) == (lang, False), (intent, lang)
            assert intent in view.intents and view.body.strip()
    assert kb.by_intent("no_such_intent", "en") is None
    assert kb.by_intent("refund_status", "en").slug == "refund-status"  # listed first there, second elsewhere


def test_loading_twice_adds_no_versions(svc):
    first = ensure_loaded(svc.kb)
    versions, audits = count(svc, ArticleVersion), count(svc, AuditEntry)
    again = ensure_loaded(svc.kb)

    assert (first.articles, first.created, first.new_versions) == (len(SOURCES), len(SOURCES), SHIPPED_VERSIONS)
    assert (again.created, again.new_versions, again.changed) == (0, 0, False)
    assert (count(svc, ArticleVersion), count(svc, AuditEntry)) == (versions, audits) == (SHIPPED_VERSIONS, audits)
    assert count(svc, ArticleIndex) == SHIPPED_VERSIONS


def test_a_changed_file_adds_a_version_of_that_language_only(svc, clock, tmp_path):
    root = tmp_path / "articles"
    shutil.copytree(ARTICLES_DIR, root)
    svc.kb.load_directory(root)
    path = root / "transaction" / "top-up.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("A top-up usually arrives within minutes",
                                 "A top-up usually arrives within a few minutes"), encoding="utf-8")
    clock.advance(minutes=5)

    report = svc.kb.load_directory(root)

    assert (report.created, report.new_versions) == (0, 1)
    en, zh = svc.kb.get("top-up", "en"), svc.kb.get("top-up", "zh-CN")
    assert (en.version, zh.version) == (2, 1)
    assert "within a few minutes" in en.body and en.author == FILE_AUTHOR
    assert [v.version for v in svc.kb.versions("top-up", "en")] == [1, 2]
    # a file saved with Windows line ends and trailing spaces is the same text
    path.write_text(path.read_text(encoding="utf-8").replace("\n", "  \r\n"), encoding="utf-8")
    assert svc.kb.load_directory(root).new_versions == 0


def test_front_matter_changes_update_the_article_without_a_version(svc, tmp_path):
    root = tmp_path / "articles"
    shutil.copytree(ARTICLES_DIR, root)
    svc.kb.load_directory(root)
    path = root / "transaction" / "gopay-plus.md"
    path.write_text(path.read_text(encoding="utf-8").replace("intents: []", "intents: [txn_limit]\nstatus: archived"),
                    encoding="utf-8")

    report = svc.kb.load_directory(root)

    assert (report.updated_articles, report.new_versions) == (1, 0)
    with pytest.raises(NotFound):
        svc.kb.get("gopay-plus", "en")
    assert "gopay-plus" not in [h.slug for h in svc.kb.search("GoPay Plus upgrade KTP", limit=10)]


def test_editing_adds_a_version_and_get_returns_the_newest(kb, svc, clock):
    clock.advance(hours=1)
    saved = kb.create_or_update("top-up", "transaction", ["txn_topup"], {
        "en": ("How to top up", "Top up from your bank's app to your virtual account.")}, author="agent:7")
    again = kb.create_or_update("top-up", "transaction", ["txn_topup"], {
        "en": ("How to top up", "Top up from your bank's app to your virtual account.  \n")}, author="agent:7")

    view = kb.get("top-up", "en")
    assert (saved.created, saved.changed, again.changed) == (False, {"en": 2}, {})
    assert (view.version, view.title, view.author) == (2, "How to top up", "agent:7")
    assert view.updated_at == clock.now()
    assert kb.get("top-up", "id").version == 1
    assert [v.title for v in kb.versions("top-up", "en")] == ["How to top up your GoPay balance", "How to top up"]
    # the agent's edit survives a restart: the file has not changed since it was imported
    assert ensure_loaded(svc.kb).new_versions == 0
    assert kb.get("top-up", "en").version == 2


def test_a_new_article_falls_back_to_zh_cn_then_en(kb):
    kb.create_or_update("qris-abroad", "transaction", [], {"en": ("Paying abroad", "QRIS works in a few countries.")},
                        author="agent:1")
    view = kb.get("qris-abroad", "id")
    assert (view.language, view.requested_language, view.fallback, view.languages) == ("en", "id", True, ("en",))
    kb.create_or_update("qris-abroad", "transaction", [], {"zh-CN": ("境外付款", "QRIS 可以在部分国家使用。")},
                        author="agent:1")
    assert kb.get("qris-abroad", "id").language == "zh-CN"
    assert kb.get("qris-abroad").language == "zh-CN"
    with pytest.raises(NotFound):
        kb.get("no-such-article", "en")


def test_bad_edits_change_nothing(kb, svc):
    before = (count(svc, ArticleVersion), kb.get("top-up", "en").version)
    bad = [
        dict(slug="Top Up!", area="transaction", intents=[], texts={"en": ("t", "b")}),
        dict(slug="top-up", area="billing", intents=[], texts={"en": ("t", "b")}),
        dict(slug="top-up", area="transaction", intents=["Not An Intent"], texts={"en": ("t", "b")}),
        dict(slug="top-up", area="transaction", intents=[], texts={}),
        dict(slug="top-up", area="transaction", intents=[], texts={"en": ("ok", "fine"), "fr": ("t", "b")}),
        dict(slug="top-up", area="transaction", intents=[], texts={"en": ("", "body")}),
        dict(slug="top-up", area="transaction", intents=[], texts={"en": ("title", "   ")}),
        dict(slug="top-up", area="transaction", intents=[], texts={"en": ("x" * 201, "body")}),
    ]
    for args in bad:
        with pytest.raises(ValidationFailed):
            kb.create_or_update(author="agent:1", **args)
    with pytest.raises(ValidationFailed):
        kb.create_or_update("top-up", "transaction", [], {"en": ("t", "b")}, author=" ")
    assert (count(svc, ArticleVersion), kb.get("top-up", "en").version) == before
    assert kb.get("top-up", "en").area == "transaction"


def test_two_starts_at_once_load_the_articles_once(svc):
    results = race(lambda: ensure_loaded(svc.kb), lambda: ensure_loaded(svc.kb))

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r.created for r in results) == len(SOURCES)
    assert count(svc, ArticleVersion) == SHIPPED_VERSIONS
    assert count(svc, Article) == len(SOURCES)


# ---------------------------------------------------------------- votes


def test_one_vote_per_voter_and_language_changeable(kb, svc):
    kb.vote("payment-failed", "en", "visitor-1", True)
    kb.vote("payment-failed", "en", "visitor-2", True)
    kb.vote("payment-failed", "en", "visitor-2", True)  # the same vote again
    counts = kb.vote("payment-failed", "en", "visitor-3", False)
    assert (counts.helpful, counts.not_helpful) == (2, 1)

    changed = kb.vote("payment-failed", "en", "visitor-1", False)
    other_language = kb.vote("payment-failed", "zh-CN", "visitor-1", True)

    assert (changed.helpful, changed.not_helpful) == (1, 2)
    assert (other_language.helpful, other_language.not_helpful) == (1, 0)
    view = kb.get("payment-failed", "en")
    assert (view.helpful, view.not_helpful) == (1, 2)
    assert count(svc, ArticleVote) == 4


def test_bad_votes_change_nothing(kb, svc):
    kb.vote("top-up", "id", "v1", True)
    for args in (("top-up", "fr", "v2", True), ("top-up", "id", "", True), ("top-up", "id", "x" * 81, True),
                 ("top-up", "id", "v2", "yes")):
        with pytest.raises(ValidationFailed):
            kb.vote(*args)
    with pytest.raises(NotFound):
        kb.vote("no-such-article", "id", "v2", True)
    kb.create_or_update("english-only", "general", [], {"en": ("E", "Only English.")}, author="agent:1")
    with pytest.raises(NotFound):
        kb.vote("english-only", "id", "v2", True)
    assert count(svc, ArticleVote) == 1


# ---------------------------------------------------------------- search

# (query, language of the reader or None, the article that must be in the top 3)
REALISTIC_QUERIES = [
    ("忘记密码", None, "reset-password-pin"),
    ("忘记密码了怎么办", "zh-CN", "reset-password-pin"),
    ("登录不上去,一直提示密码错误", "zh-CN", "login-trouble"),
    ("收不到验证码", "zh-CN", "verification-code-not-received"),
    ("付款失败了", "zh-CN", "payment-failed"),
    ("转账对方没收到", "zh-CN", "money-not-received"),
    ("我要申请退款", "zh-CN", "refund-apply"),
    ("退款到哪一步了", "zh-CN", "refund-status"),
    ("打开就闪退", "zh-CN", "app-fault"),
    ("客服电话", None, "channel-phone-hotline"),
    ("客服电话", "zh-CN", "contact-us"),
    ("lupa PIN", None, "reset-password-pin"),
    ("lupa PIN gopay", "id", "reset-password-pin"),
    ("akun saya terblokir", "id", "account-locked"),
    ("kode OTP tidak masuk", "id", "verification-code-not-received"),
    ("saldo belum masuk", None, "money-not-received"),
    ("pembayaran gagal terus", "id", "payment-failed"),
    ("batas transaksi harian", "id", "transaction-limits"),
    ("aplikasinya lemot", "id", "app-slow"),
    ("saya ditipu penjual", "id", "dispute-open"),
    ("cashback belum masuk", "id", "cashback-missing"),
    ("refund status", None, "refund-status"),
    ("where is my refund", "en", "refund-status"),
    ("app keeps crashing", None, "app-fault"),
    ("my payment keeps failing", "en", "payment-failed"),
    ("I hit the daily limit", "en", "transaction-limits"),
    ("top up not credited", "en", "money-not-received"),
    ("I don't recognize this charge", "en", "dispute-open"),
    ("what's your support email", "en", "channel-email"),
    ("WhatsApp Telegram", "en", "channel-social-media"),
]


def test_search_finds_the_right_article_for_realistic_queries(kb):
    misses = []
    for query, lang, expected in REALISTIC_QUERIES:
        top = [h.slug for h in kb.search(query, lang=lang, limit=3)]
        if expected not in top:
            misses.append((query, lang, expected, top))
    assert not misses


def test_search_answers_in_the_readers_language_with_a_snippet(kb):
    hits = kb.search("saldo belum masuk", lang="zh-CN", limit=3)
    assert hits[0].slug == "money-not-received"
    assert hits[0].lang == "zh-CN" and hits[0].title == kb.get("money-not-received", "zh-CN").title

    [hit] = kb.search("lupa PIN", lang="id", limit=1)
    assert hit.lang == "id" and "PIN" in hit.snippet and "txn" not in hit.snippet
    assert hit.intents == ("account_password_reset",) and hit.area == "account"
    assert 0 < hit.score < 1.5
    assert kb.search("", lang="en") == [] and kb.search("   the of and") == []


def test_the_intent_boosts_the_article_that_answers_it(kb):
    plain = [h.slug for h in kb.search("我的账户好像被盗了", lang="zh-CN", limit=3)]
    boosted = kb.search("我的账户好像被盗了", lang="zh-CN", limit=3, intent="account_security_alert")
    assert "account-security" in plain
    assert boosted[0].slug == "account-security"
    # an intent alone still finds its articles (the assistant's query may have no usable words)
    assert kb.search("", lang="en", intent="human_handoff")[0].slug == "talk-to-a-person"


def test_search_sees_edits_at_once(kb):
    assert "promotions" not in [h.slug for h in kb.search("QRIS Jepang", lang="id")]
    kb.create_or_update("promotions", "promotion", ["promo_current"], {
        "id": ("Promo QRIS di Jepang", "Bayar dengan QRIS di Jepang dan dapatkan cashback 10%.")}, author="agent:3")
    assert kb.search("QRIS Jepang", lang="id", limit=1)[0].slug == "promotions"


def test_search_limits_are_checked(kb):
    for limit in (0, 51):
        with pytest.raises(ValidationFailed):
            kb.search("refund", limit=limit)


# A toy embedder: one dimension per concept, counting the concept's words. Real ones come from the NLU.
CONCEPTS = [
    ("崩溃", "闪退", "crash", "keluar sendiri", "force close"),
    ("退款", "refund", "money back", "pengembalian dana"),
    ("验证码", "otp", "verification code", "kode verifikasi"),
]


def toy_embedder(calls: list[int]):
    def embed(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        out = np.zeros((len(texts), len(CONCEPTS) + 1), dtype=np.float32)
        for i, text in enumerate(texts):
            low = text.lower()
            for j, words in enumerate(CONCEPTS):
                out[i, j] = sum(low.count(w) for w in words)
            out[i, -1] = 0.1
        return out

    return embed


def test_embeddings_are_stored_and_find_what_words_miss(kb, svc):
    assert kb.search("崩溃", lang="zh-CN") == []  # no article uses this word for "crash"
    calls: list[int] = []
    kb.set_embedder(toy_embedder(calls))

    with svc.db.read() as s:
        stored = s.execute(select(func.count()).select_from(ArticleIndex)
                           .where(ArticleIndex.embedding.is_not(None))).scalar_one()
    assert stored == SHIPPED_VERSIONS and calls == [SHIPPED_VERSIONS]

    hits = kb.search("崩溃", lang="zh-CN", limit=3)
    assert hits[0].slug == "app-fault" and hits[0].lang == "zh-CN"
    assert kb.search("app keeps crashing", lang="en", limit=1)[0].slug == "app-fault"
    assert calls == [SHIPPED_VERSIONS, 1, 1]  # documents embedded once; each query once

    kb.create_or_update("app-fault", "tech_support", ["tech_app_crash"], {
        "en": ("The app crashes", "If the app crashes, update it, clear the cache, reinstall, then contact us.")},
        author="agent:2")
    assert calls[-1] == 1  # only the changed text is embedded again
    kb.set_embedder(None)
    assert kb.search("崩溃", lang="zh-CN") == []


# ---------------------------------------------------------------- over HTTP


@pytest.fixture
def client(svc, kb):
    with api_client(svc) as c:
        yield c


@pytest.fixture
def tokens(svc):
    made = {}
    for email, role in (("lead@gopay.test", "supervisor"), ("ayu@gopay.test", "agent")):
        svc.agents.create(email, role, password="Agent-pass1")
        made[email.split("@")[0]] = svc.agents.create_token(email)
    return made


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def test_the_help_center_needs_no_login(client):
    found = client.get("/api/v1/kb/search", params={"q": "lupa PIN", "lang": "id", "limit": 3})
    article = client.get("/api/v1/kb/articles/reset-password-pin", params={"lang": "id"})
    voted = client.post("/api/v1/kb/articles/reset-password-pin/votes",
                        json={"lang": "id", "helpful": True, "voter": "anon-5f2a"})
    contents = client.get("/api/v1/kb/articles", params={"lang": "en"})

    assert found.status_code == 200 and found.json()["items"][0]["slug"] == "reset-password-pin"
    body = article.json()
    assert (body["lang"], body["fallback"], body["version"], body["format"]) == ("id", False, 1, "markdown")
    assert body["title"].startswith("Lupa kata sandi") and "author" not in body
    assert voted.json() == {"slug": "reset-password-pin", "lang": "id", "helpful": 1, "not_helpful": 0}
    assert client.get("/api/v1/kb/articles/reset-password-pin", params={"lang": "id"}).json()["votes"] == {
        "helpful": 1, "not_helpful": 0}
    areas = contents.json()["areas"]
    assert [a["area"] for a in areas] == list(AREAS)
    assert sum(len(a["items"]) for a in areas) == len(SOURCES)


def test_public_errors_follow_the_conventions(client, svc):
    missing = client.get("/api/v1/kb/articles/nope")
    bad_vote = client.post("/api/v1/kb/articles/top-up/votes", json={"lang": "fr", "helpful": True, "voter": "a"})
    bad_voter = client.post("/api/v1/kb/articles/top-up/votes", json={"lang": "en", "helpful": True, "voter": "a b"})
    bad_limit = client.get("/api/v1/kb/search", params={"q": "refund", "limit": 0})

    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "article_not_found")
    assert (bad_vote.status_code, bad_vote.json()["error"]["code"]) == (422, "validation_failed")
    assert bad_voter.status_code == 422 and bad_limit.status_code == 422
    assert count(svc, ArticleVote) == 0


def test_editing_needs_macro_manage_and_adds_a_version(client, tokens, svc):
    edit = {"texts": {"en": {"title": "Top up your balance", "body": "Use a virtual account from your bank."}}}
    anonymous = client.put("/api/v1/kb/articles/top-up", json=edit)
    agent = client.put("/api/v1/kb/articles/top-up", json=edit, headers=auth(tokens["ayu"]))
    assert (anonymous.status_code, agent.status_code) == (401, 403)
    assert client.get("/api/v1/kb/articles/top-up", params={"lang": "en"}).json()["version"] == 1

    saved = client.put("/api/v1/kb/articles/top-up", json=edit, headers=auth(tokens["lead"]))

    assert saved.status_code == 200, saved.text
    assert (saved.json()["created"], saved.json()["changed"]) == (False, {"en": 2})
    shown = client.get("/api/v1/kb/articles/top-up", params={"lang": "en"}).json()
    assert (shown["version"], shown["title"], shown["area"], shown["intents"]) == (
        2, "Top up your balance", "transaction", ["txn_topup"])
    history = client.get("/api/v1/kb/articles/top-up/versions", params={"lang": "en"},
                         headers=auth(tokens["lead"])).json()["items"]
    lead = svc.agents.authenticate(tokens["lead"])
    assert [(v["version"], v["author"]) for v in history] == [(1, FILE_AUTHOR), (2, f"agent:{lead.id}")]
    with svc.db.read() as s:
        trail = s.scalars(select(AuditEntry).where(AuditEntry.action == "kb.article_saved",
                                                   AuditEntry.subject_id == "top-up")).all()
    assert [(e.actor_type, e.actor_id) for e in trail][-1] == ("agent", str(lead.id))


def test_bad_edits_over_http_change_nothing(client, tokens, svc):
    before = count(svc, ArticleVersion)
    lead = auth(tokens["lead"])
    cases = [
        {"texts": {}},
        {"texts": {"fr": {"title": "Titre", "body": "Texte"}}},
        {"texts": {"en": {"title": "", "body": "Body"}}},
        {"texts": {"en": {"title": "Title", "body": "Body"}}, "area": "billing"},
        {"texts": {"en": {"title": "Title", "body": "Body"}}, "intents": ["Bad Name"]},
        {"texts": {"en": {"title": "Title", "body": "Body"}, "id": {"title": "Judul"}}},
    ]
    for case in cases:
        response = client.put("/api/v1/kb/articles/top-up", json=case, headers=lead)
        assert response.status_code == 422, (case, response.text)
    new_without_area = client.put("/api/v1/kb/articles/brand-new", json=cases[2] | {
        "texts": {"en": {"title": "T", "body": "B"}}}, headers=lead)
    bad_slug = client.put("/api/v1/kb/articles/Bad_Slug", json={"texts": {"en": {"title": "T", "body": "B"}},
                                                                "area": "general"}, headers=lead)
    assert (new_without_area.status_code, bad_slug.status_code) == (422, 422)
    assert count(svc, ArticleVersion) == before
    assert client.get("/api/v1/kb/articles/brand-new").status_code == 404


def test_an_agent_can_create_an_article(client, tokens):
    created = client.put("/api/v1/kb/articles/qris-abroad", headers=auth(tokens["lead"]), json={
        "area": "transaction", "intents": ["txn_payment_failed"],
        "texts": {"en": {"title": "Paying abroad with QRIS", "body": "QRIS works in a growing list of countries."}}})
    assert created.status_code == 200 and created.json()["created"] is True
    assert client.get("/api/v1/kb/search", params={"q": "QRIS abroad", "lang": "id"}).json()["items"][0] == {
        "slug": "qris-abroad", "lang": "en", "title": "Paying abroad with QRIS", "score": pytest.approx(0.6, abs=0.4),
        "snippet": "QRIS works in a growing list of countries.", "intents": ["txn_payment_failed"],
        "area": "transaction"}


def test_a_failing_embedder_leaves_keyword_search_working(kb, caplog):
    def broken(texts):
        raise RuntimeError("model server down")

    with pytest.raises(RuntimeError):
        kb.set_embedder(broken)
    kb.create_or_update("top-up", "transaction", ["txn_topup"], {"en": ("Top up", "Use a virtual account.")},
                        author="agent:1")

    assert kb.search("lupa PIN", lang="id", limit=1)[0].slug == "reset-password-pin"
    assert "model server down" in caplog.text

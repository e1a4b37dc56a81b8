"""Rate limits (platform/ratelimit.py, web/ratelimits.py): per client address, per account and per
destination, a cost budget on code sends, 429 with Retry-After and a JSON code, in memory and in
Redis. Each test is the abuse the issue found, replayed: 60 wrong logins, 30 SMS codes to 30
numbers, 50 knowledge-base votes with made-up voter ids, all from one address."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from sqlalchemy import func, select

from gopaycare.container import Services, build
from gopaycare.identity.models import Customer
from gopaycare.platform.errors import RateLimited
from gopaycare.platform.outbox import OutboxMessage
from gopaycare.platform.ratelimit import Check, Limiter
from gopaycare.platform.settings import RateLimits, SettingsError, load_settings
from gopaycare.web.app import create_app

from .conftest import PASSWORD, REDIS_URL, need_service

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PHONE = "+6281234560001"


@pytest.fixture
def limited_svc(settings, clock) -> Iterator[Any]:
    """Builder: services whose rate limits are the defaults with some replaced (closed at the end)."""
    built: list[Services] = []

    def make(**limits: Any) -> Services:
        services = build(settings.model_copy(update={"rate_limits": RateLimits(**limits)}), clock=clock,
                         immediate_jobs=True, senders={})
        services.wallet.bootstrap()
        built.append(services)
        return services

    yield make
    for services in built:
        services.close()


def _client(svc: Services, address: str = "198.51.100.7") -> TestClient:
    return TestClient(create_app(svc), client=(address, 40000))


def _register(svc: Services, phone: str, email: str | None = None) -> int:
    return svc.identity.register(phone=phone, name="Limit Tester", email=email, password=PASSWORD, pin="258147",
                                 language="en").id


def _assert_429(response: Any, rule: str) -> dict[str, Any]:
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert error["code"] == "rate_limited"
    assert error["details"]["limit"] == rule
    wait = int(response.headers["Retry-After"])
    assert 1 <= wait <= 3600 * 24 and wait == error["details"]["retry_after_seconds"]
    return error


def _sms_count(svc: Services) -> int:
    with svc.db.read() as s:
        return s.execute(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.channel == "sms"))\
            .scalar_one()


# ---------------------------------------------------------------- the limiter itself


def test_a_rule_counts_per_key_and_refuses_past_its_limit_with_the_wait():
    limiter = Limiter(RateLimits(login_per_ip="3/minute"), secret="s")
    for _ in range(3):
        limiter.check([Check("login_per_ip", "10.0.0.1")])

    with pytest.raises(RateLimited) as refused:
        limiter.check([Check("login_per_ip", "10.0.0.1")])

    assert refused.value.code == "rate_limited" and refused.value.details["limit"] == "login_per_ip"
    assert 1 <= refused.value.details["retry_after_seconds"] <= 60
    limiter.check([Check("login_per_ip", "10.0.0.2")])  # another address has its own count


def test_a_cost_spends_a_budget_faster_and_a_refusal_spends_nothing_after_it():
    limiter = Limiter(RateLimits(code_budget_per_ip="30/hour", code_budget_global="1000/hour",
                                 code_cost_sms=10, code_cost_email=1), secret="s")
    sms = limiter.cost_of_code("sms")
    for _ in range(3):
        limiter.check([Check("code_budget_per_ip", "ip", sms), Check("code_budget_global", "all", sms)])

    with pytest.raises(RateLimited):
        limiter.check([Check("code_budget_per_ip", "ip", sms), Check("code_budget_global", "all", sms)])
    with pytest.raises(RateLimited):  # not even one email: the budget is spent
        limiter.check([Check("code_budget_per_ip", "ip", limiter.cost_of_code("email"))])
    # The refused SMS did not reach the global budget: 30 units of it spent, not 40.
    for _ in range(97):
        limiter.check([Check("code_budget_global", "all", 10)])
    with pytest.raises(RateLimited):
        limiter.check([Check("code_budget_global", "all", 10)])


def test_the_store_keeps_no_phone_number_in_clear():
    limiter = Limiter(RateLimits(), secret="s")
    limiter.check([Check("login_per_account", PHONE)])
    stored = " ".join(map(str, [*limiter.storage.events, *limiter.storage.storage]))  # type: ignore[attr-defined]
    assert "login_per_account" in stored
    assert "6281234560001" not in stored and "81234560001" not in stored


def test_a_rate_limit_setting_that_does_not_parse_stops_the_start():
    with pytest.raises(SettingsError) as bad:
        load_settings(rate_limits={"login_per_ip": "ten a minute"})
    assert "GOPAYCARE_RATE_LIMITS__LOGIN_PER_IP" in str(bad.value)
    assert load_settings(rate_limits={"login_per_ip": "5/second;50/hour"}).rate_limits.login_per_ip == \
        "5/second;50/hour"


# ---------------------------------------------------------------- Redis


@pytest.fixture
def redis_limiter() -> Iterator[Limiter]:
    need_service("Redis", "127.0.0.1", 6379)
    namespace = f"gopaycare-test-{uuid.uuid4().hex}"
    limiter = Limiter(RateLimits(login_per_account="2/minute"), secret="s", redis_url=REDIS_URL, namespace=namespace)
    yield limiter
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{namespace}*"):
        client.delete(key)
    client.close()


@pytest.mark.redis
def test_in_redis_the_count_is_shared_by_every_process(redis_limiter):
    # A second limiter on the same Redis and namespace stands for another server process.
    other = Limiter(RateLimits(login_per_account="2/minute"), secret="s", redis_url=REDIS_URL,
                    namespace=redis_limiter.storage.key_prefix.rsplit(":", 1)[0])  # type: ignore[attr-defined]
    redis_limiter.check([Check("login_per_account", PHONE)])
    other.check([Check("login_per_account", PHONE)])

    with pytest.raises(RateLimited) as refused:
        redis_limiter.check([Check("login_per_account", PHONE)])
    assert refused.value.details["retry_after_seconds"] >= 1

    client = redis.Redis.from_url(REDIS_URL)
    keys = [k.decode() for k in client.scan_iter(f"{other.storage.key_prefix}*")]  # type: ignore[attr-defined]
    client.close()
    assert keys and not any("6281234560001" in k for k in keys)


@pytest.mark.redis
def test_services_use_redis_for_limits_when_redis_is_set(settings, clock):
    need_service("Redis", "127.0.0.1", 6379)
    namespace = f"gopaycare-test-{uuid.uuid4().hex}"
    services = build(settings.model_copy(update={"redis_url": REDIS_URL, "jobs_queue": namespace}), clock=clock,
                     immediate_jobs=True, senders={})
    try:
        assert type(services.limiter.storage).__name__ == "RedisStorage"
        assert type(Limiter(RateLimits(), secret="s").storage).__name__ == "MemoryStorage"
    finally:
        services.limiter.reset()
        services.close()


def test_when_redis_does_not_answer_requests_go_through(caplog):
    limiter = Limiter(RateLimits(login_per_ip="1/minute"), secret="s", redis_url="redis://127.0.0.1:1/0")
    limiter.check([Check("login_per_ip", "ip")])
    limiter.check([Check("login_per_ip", "ip")])  # not refused: the soft lock still guards accounts
    assert "rate limit storage unavailable" in caplog.text


# ---------------------------------------------------------------- over HTTP


def test_sixty_wrong_logins_from_one_address_are_refused_after_the_limit(limited_svc):
    svc = limited_svc(login_per_ip="20/minute", login_per_account="100/minute")
    for n in range(30):
        _register(svc, f"+62812000{n:05d}")
    with _client(svc) as client:
        answers = [client.post("/api/v1/auth/login", json={"login": f"+62812000{n % 30:05d}", "password": "nope"})
                   for n in range(60)]
        other_address = _client(svc, "203.0.113.9").post(
            "/api/v1/auth/login", json={"login": "+6281200000025", "password": PASSWORD})

    assert [a.status_code for a in answers[:20]] == [401] * 20
    for refused in answers[20:]:
        _assert_429(refused, "login_per_ip")
    assert other_address.status_code == 200  # the limit is the address's, not the account's
    with svc.db.read() as s:  # refused attempts were not even counted against the accounts
        assert sum(s.execute(select(Customer.login_failures)).scalars()) == 20


def test_one_account_attacked_from_many_addresses_is_limited_per_account(limited_svc):
    svc = limited_svc(login_per_account="4/minute")
    _register(svc, PHONE)
    answers = [_client(svc, f"198.51.100.{n}").post("/api/v1/auth/login", json={"login": login, "password": "x"})
               for n, login in enumerate(["+6281234560001", "081234560001", "6281234560001", "0812-3456-0001",
                                          "+62 812 3456 0001"])]

    assert [a.status_code for a in answers[:4]] == [401] * 4
    _assert_429(answers[4], "login_per_account")  # every spelling of the number is one account


def test_the_limit_answers_alike_for_an_account_that_does_not_exist(limited_svc):
    svc = limited_svc(login_per_account="2/minute")
    _register(svc, PHONE)
    with _client(svc) as client:
        known = [client.post("/api/v1/auth/login", json={"login": PHONE, "password": "x"}) for _ in range(3)]
        unknown = [client.post("/api/v1/auth/login", json={"login": "+6281299990000", "password": "x"})
                   for _ in range(3)]
    assert [a.status_code for a in known] == [a.status_code for a in unknown] == [401, 401, 429]
    assert known[2].json()["error"] == unknown[2].json()["error"]


def test_requests_the_schema_refuses_are_counted_too(limited_svc):
    svc = limited_svc(login_per_ip="3/minute")
    with _client(svc) as client:
        answers = [client.post("/api/v1/auth/login", content=body, headers={"content-type": "application/json"})
                   for body in (b"[1, 2]", b'{"login": 12}', b'{"password": "x"}', b"{}")]
    assert [a.status_code for a in answers[:3]] == [422] * 3
    _assert_429(answers[3], "login_per_ip")


def test_thirty_sms_codes_to_thirty_numbers_stop_at_the_address_budget(limited_svc):
    svc = limited_svc(code_budget_per_ip="100/hour", code_cost_sms=10, code_cost_email=1,
                      code_requests_per_ip="100/minute")
    for n in range(30):
        _register(svc, f"+62812000{n:05d}", email=f"u{n}@example.com")
    with _client(svc) as client:
        answers = [client.post("/api/v1/auth/reset-codes",
                               json={"login": f"+62812000{n:05d}", "what": "password"}) for n in range(30)]
        email = client.post("/api/v1/auth/reset-codes", json={"login": "u29@example.com", "what": "password",
                                                               "channel": "email"})

    assert [a.status_code for a in answers[:10]] == [202] * 10
    for refused in answers[10:]:
        _assert_429(refused, "code_budget_per_ip")
    assert _sms_count(svc) == 10  # ten SMS paid for, not thirty
    _assert_429(email, "code_budget_per_ip")  # the budget is spent: even an email (cost 1) waits


def test_emails_cost_less_than_sms_in_the_same_budget(limited_svc):
    svc = limited_svc(code_budget_per_ip="25/hour", code_cost_sms=10, code_cost_email=1)
    for n in range(22):
        _register(svc, f"+62812000{n:05d}", email=f"u{n}@example.com")
    with _client(svc) as client:
        sms = [client.post("/api/v1/auth/reset-codes", json={"login": f"+62812000{n:05d}", "what": "pin"})
               for n in range(2)]
        emails = [client.post("/api/v1/auth/reset-codes", json={"login": f"u{n}@example.com", "what": "pin",
                                                                  "channel": "email"}) for n in range(2, 8)]
    assert [a.status_code for a in sms + emails] == [202] * 7 + [429]  # 20 + 5 units, then the sixth email


def test_codes_to_one_destination_follow_the_resend_rule_for_any_login(limited_svc):
    svc = limited_svc()
    _register(svc, PHONE)
    with _client(svc) as client:
        known = [client.post("/api/v1/auth/reset-codes", json={"login": PHONE, "what": "password"})
                 for _ in range(2)]
        unknown = [client.post("/api/v1/auth/reset-codes", json={"login": "+6281299990000", "what": "password"})
                   for _ in range(2)]
    assert [a.status_code for a in known] == [a.status_code for a in unknown] == [202, 429]
    _assert_429(known[1], "code_requests_per_destination")
    assert known[1].json()["error"]["details"].keys() == unknown[1].json()["error"]["details"].keys()


def test_the_global_budget_bounds_everyone_together(limited_svc):
    svc = limited_svc(code_budget_global="20/hour", code_cost_sms=10)
    for n in range(3):
        _register(svc, f"+62812000{n:05d}")
    answers = [_client(svc, f"198.51.100.{n}").post("/api/v1/auth/reset-codes",
                                                     json={"login": f"+62812000{n:05d}", "what": "password"})
               for n in range(3)]
    assert [a.status_code for a in answers[:2]] == [202, 202]
    _assert_429(answers[2], "code_budget_global")


def test_reset_guesses_are_limited_per_account(limited_svc):
    svc = limited_svc(reset_per_account="3/minute")
    _register(svc, PHONE)
    with _client(svc) as client:
        answers = [client.post("/api/v1/auth/reset", json={"login": PHONE, "what": "password", "code": "000000",
                                                           "new_secret": "Another-pass1"}) for _ in range(4)]
    assert [a.status_code for a in answers[:3]] == [422] * 3
    _assert_429(answers[3], "reset_per_account")


def test_agent_login_is_limited_per_address_and_per_account(limited_svc):
    svc = limited_svc(agent_login_per_account="3/minute", agent_login_per_ip="5/minute")
    svc.agents.create("li.hua@gopay.test", "agent", password="demo-password-1")
    with _client(svc) as client:
        same = [client.post("/api/v1/agent/login", json={"email": "LI.HUA@gopay.test", "password": "wrong"})
                for _ in range(4)]
        others = [client.post("/api/v1/agent/login", json={"email": f"x{n}@gopay.test", "password": "wrong"})
                  for n in range(2)]
    assert [a.status_code for a in same[:3]] == [401] * 3
    _assert_429(same[3], "agent_login_per_account")
    assert others[0].status_code == 401
    _assert_429(others[1], "agent_login_per_ip")


def test_fifty_votes_with_made_up_voter_ids_count_three(limited_svc):
    svc = limited_svc(kb_votes_per_article_ip="3/hour", kb_votes_per_ip="100/hour")
    svc.kb.create_or_update("limits-test", "general", [], {"en": ("Limits", "An article to vote on.")},
                            author="agent:1")
    with _client(svc) as client:
        answers = [client.post("/api/v1/kb/articles/limits-test/votes",
                               json={"voter": f"made-up-{n}", "helpful": False, "lang": "en"}) for n in range(50)]
    assert [a.status_code for a in answers[:3]] == [200] * 3
    for refused in answers[3:]:
        _assert_429(refused, "kb_votes_per_article_ip")
    # Another address still votes, and finds the three counted, not fifty.
    other = _client(svc, "203.0.113.1").post("/api/v1/kb/articles/limits-test/votes",
                                               json={"voter": "someone-else", "helpful": True, "lang": "en"})
    assert other.json() == {"slug": "limits-test", "lang": "en", "helpful": 1, "not_helpful": 3}


def test_votes_on_many_articles_from_one_address_stop_at_its_limit(limited_svc):
    svc = limited_svc(kb_votes_per_ip="4/hour")
    for n in range(5):
        svc.kb.create_or_update(f"limits-{n}", "general", [], {"en": ("Limits", "An article to vote on.")},
                                author="agent:1")
    with _client(svc) as client:
        answers = [client.post(f"/api/v1/kb/articles/limits-{n}/votes",
                               json={"voter": "v", "helpful": True, "lang": "en"}) for n in range(5)]
    assert [a.status_code for a in answers[:4]] == [200] * 4
    _assert_429(answers[4], "kb_votes_per_ip")

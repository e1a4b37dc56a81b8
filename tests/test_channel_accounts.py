"""Channel accounts in the database: two WhatsApp numbers and two Telegram bots, each verified with its
own secret and answered with its own credentials (fake Graph and Bot APIs on loopback that know each
account's token); the admin API (admins only, secrets write-only, changes audited without them,
hostile input refused with nothing changed); secrets sealed at rest, and a key rotation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import re
import struct
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from sqlalchemy import select, text

from gopaycare.channels.accounts import PURPOSE, ChannelAccount
from gopaycare.platform.audit import Actor, AuditEntry
from gopaycare.platform.logging import configure_logging
from gopaycare.platform.secrets import SecretBox, SecretUnreadable
from tests.fake_api import FakeApi, serve
from tests.helpers import api_client, assisted_services

NUMBERS = {"jakarta": ("106540352242922", "EAAG-jakarta-token", "jakarta-app-secret"),
           "surabaya": ("106540352242999", "EAAG-surabaya-token", "surabaya-app-secret")}
BOTS = {"care-bot": ("7000000001", "7000000001:AAH-care-bot-token", "care-bot-secret"),
        "promo-bot": ("7000000002", "7000000002:AAH-promo-bot-token", "promo-bot-secret")}
PAGE = ("104000000000001", "17841400000000001", "EAAB-page-token", "page-app-secret")  # page, Instagram, token
OFFICIAL = ("wx1234567890abcdef", "wx-app-secret-0123", "wx-server-token",
            base64.b64encode(hashlib.sha256(b"aes").digest()).decode().rstrip("="))  # app id, secret, token, AES
SECRETS = [value for _, *secrets in [*NUMBERS.values(), *BOTS.values()] for value in secrets] + [
    PAGE[2], PAGE[3], *OFFICIAL[1:]]
PHONE = "+6281234567890"


class Providers:
    """Meta's Graph API and Telegram's Bot API: each number sends only with its own access token,
    each bot with its own token."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []  # (number or bot, recipient)

    def __call__(self, request) -> tuple[int, dict[str, Any]]:
        if request.path.startswith("/cgi-bin/token"):
            wanted = f"appid={OFFICIAL[0]}&secret={OFFICIAL[1]}"
            return 200, {"access_token": "WX_TOKEN", "expires_in": 7200} if wanted in request.path else {
                "errcode": 40013}
        if request.path.startswith("/cgi-bin/message/custom/send?access_token=WX_TOKEN"):
            self.sent.append((OFFICIAL[0], request.json()["touser"]))
            return 200, {"errcode": 0}
        if re.fullmatch(r"/v\d+\.\d+/me/messages", request.path):
            if request.headers.get("authorization") != f"Bearer {PAGE[2]}":
                return 401, {"error": {"message": "Invalid OAuth access token.", "code": 190}}
            self.sent.append((PAGE[0], request.json()["recipient"]["id"]))
            return 200, {"message_id": f"m_OUT{len(self.sent)}"}
        bot = re.fullmatch(r"/bot(\d+):[^/]+/sendMessage", request.path)
        if bot:
            known = {token: name for name, (_, token, _) in BOTS.items()}
            token = request.path[4:].split("/")[0]
            if token not in known:
                return 401, {"ok": False, "description": "Unauthorized"}
            self.sent.append((known[token], str(request.json()["chat_id"])))
            return 200, {"ok": True, "result": {"message_id": len(self.sent)}}
        number = re.fullmatch(r"/v\d+\.\d+/(\d+)/messages", request.path)
        tokens = {number_id: token for number_id, token, _ in NUMBERS.values()}
        if not number or request.headers.get("authorization") != f"Bearer {tokens.get(number.group(1))}":
            return 401, {"error": {"message": "Invalid OAuth access token.", "code": 190}}
        self.sent.append((number.group(1), request.json()["to"]))
        return 200, {"messages": [{"id": f"wamid.OUT{len(self.sent)}"}]}


@pytest.fixture
def providers() -> Iterator[tuple[FakeApi, Providers]]:
    answers = Providers()
    with serve(answers) as api:
        yield api, answers


@pytest.fixture
def acc_settings(settings, providers):
    api, _ = providers
    return settings.model_copy(update={"whatsapp_api_base": api.base_url, "telegram_api_base": api.base_url,
                                       "messenger_api_base": api.base_url, "wechat_api_base": api.base_url})


@pytest.fixture
def acc_svc(acc_settings, clock, product_nlu) -> Iterator[Any]:
    with assisted_services(acc_settings, clock, product_nlu) as services:
        yield services


@pytest.fixture
def acc_client(acc_svc) -> Iterator[Any]:
    with api_client(acc_svc) as client:
        yield client


@pytest.fixture
def admin(acc_svc) -> dict[str, str]:
    acc_svc.agents.create("ops@gopay.test", "admin")
    return {"Authorization": f"Bearer {acc_svc.agents.create_token('ops@gopay.test')}"}


def whatsapp_account(name: str) -> dict[str, Any]:
    number_id, access_token, app_secret = NUMBERS[name]
    return {"provider": "whatsapp", "name": name, "external_id": number_id,
            "secrets": {"access_token": access_token, "app_secret": app_secret, "verify_token": f"{name}-verify"}}


def telegram_account(name: str) -> dict[str, Any]:
    bot_id, bot_token, secret_token = BOTS[name]
    return {"provider": "telegram", "name": name, "external_id": bot_id,
            "secrets": {"bot_token": bot_token, "secret_token": secret_token}}


def create(client, headers, body: dict[str, Any]) -> dict[str, Any]:
    answer = client.post("/api/v1/admin/channel-accounts", headers=headers, json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def wa_message(number: str, wamid: str, body: str, phone: str = PHONE) -> bytes:
    value = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": NUMBERS[number][0]},
             "messages": [{"from": phone.lstrip("+"), "id": wamid, "type": "text", "text": {"body": body}}]}
    return json.dumps({"object": "whatsapp_business_account",
                       "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": value}]}]}).encode()


def post_whatsapp(client, raw: bytes, secret: str):
    signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return client.post("/webhooks/whatsapp", content=raw, headers={"X-Hub-Signature-256": signature,
                                                                  "Content-Type": "application/json"})


def tg_update(chat_id: int, message_id: int, body: str) -> dict[str, Any]:
    return {"update_id": message_id, "message": {"message_id": message_id, "text": body,
                                                 "chat": {"id": chat_id, "type": "private"},
                                                 "from": {"id": chat_id, "is_bot": False, "first_name": "Budi"}}}


def conversations(svc) -> list[Any]:
    from gopaycare.desk.models import Conversation

    with svc.db.read() as s:
        return list(s.scalars(select(Conversation).order_by(Conversation.id)))


def test_two_whatsapp_numbers_each_verified_with_its_own_secret_and_answered_from_its_own_number(
        acc_svc, acc_client, admin, providers):
    _, answers = providers
    jakarta, surabaya = (create(acc_client, admin, whatsapp_account(n)) for n in ("jakarta", "surabaya"))

    first = post_whatsapp(acc_client, wa_message("jakarta", "wamid.J1", "my payment failed"), NUMBERS["jakarta"][2])
    second = post_whatsapp(acc_client, wa_message("surabaya", "wamid.S1", "my payment failed"),
                           NUMBERS["surabaya"][2])

    assert first.json() == second.json() == {"stored": 1, "duplicates": 0}
    by_account = {c.channel_account_id: c for c in conversations(acc_svc)}
    assert set(by_account) == {jakarta["id"], surabaya["id"]}
    assert by_account[jakarta["id"]].channel_thread == NUMBERS["jakarta"][0]
    sent_from = {number for number, to in answers.sent if to == PHONE.lstrip("+")}
    assert sent_from == {NUMBERS["jakarta"][0], NUMBERS["surabaya"][0]}
    replies = [m for m in acc_svc.outbox.latest(limit=50) if m.purpose == "reply"]
    assert {m.account_id for m in replies} == {jakarta["id"], surabaya["id"]} and {m.status for m in replies} == {
        "sent"}


@pytest.mark.parametrize("signed_with", ["surabaya-app-secret", "settings-or-guess", None])
def test_a_body_naming_one_number_signed_by_another_stores_nothing(acc_svc, acc_client, admin, providers,
                                                                   signed_with):
    for name in NUMBERS:
        create(acc_client, admin, whatsapp_account(name))
    raw = wa_message("jakarta", "wamid.F1", "hi")
    if signed_with is None:
        answer = acc_client.post("/webhooks/whatsapp", content=raw)
    else:
        answer = post_whatsapp(acc_client, raw, signed_with)
    assert answer.status_code == (401 if signed_with is None else 403)
    assert acc_svc.intake.events() == [] and providers[1].sent == []


def test_a_number_of_none_of_our_accounts_is_skipped(acc_svc, acc_client, admin):
    create(acc_client, admin, whatsapp_account("jakarta"))
    raw = wa_message("jakarta", "wamid.U1", "hi").replace(NUMBERS["jakarta"][0].encode(), b"999")
    answer = post_whatsapp(acc_client, raw, NUMBERS["jakarta"][2])
    assert (answer.status_code, answer.json()["stored"]) == (200, 0)


def test_the_handshake_answers_each_accounts_verify_token(acc_client, admin):
    assert acc_client.get("/webhooks/whatsapp", params={"hub.mode": "subscribe", "hub.verify_token": "x",
                                                        "hub.challenge": "1"}).status_code == 404
    for name in NUMBERS:
        create(acc_client, admin, whatsapp_account(name))
    ok = [acc_client.get("/webhooks/whatsapp", params={"hub.mode": "subscribe", "hub.verify_token": f"{n}-verify",
                                                       "hub.challenge": "42"}) for n in NUMBERS]
    wrong = acc_client.get("/webhooks/whatsapp", params={"hub.mode": "subscribe", "hub.verify_token": "guess",
                                                         "hub.challenge": "42"})
    assert [(a.status_code, a.text) for a in ok] == [(200, "42")] * 2 and wrong.status_code == 403


def test_two_telegram_bots_by_path_each_with_its_secret_answer_through_their_own_token(
        acc_svc, acc_client, admin, providers):
    _, answers = providers
    care, promo = (create(acc_client, admin, telegram_account(n)) for n in BOTS)
    assert care["webhook"] == "/webhooks/telegram/care-bot"
    chat = 55500001

    for name in BOTS:  # the same person, the same chat id and message id, on two bots
        answer = acc_client.post(f"/webhooks/telegram/{name}", json=tg_update(chat, 7, "my payment failed"),
                                 headers={"X-Telegram-Bot-Api-Secret-Token": BOTS[name][2]})
        assert answer.json() == {"stored": 1, "duplicates": 0}
    forged = acc_client.post("/webhooks/telegram/care-bot", json=tg_update(chat, 8, "hi"),
                             headers={"X-Telegram-Bot-Api-Secret-Token": BOTS["promo-bot"][2]})
    unknown = acc_client.post("/webhooks/telegram/other-bot", json=tg_update(chat, 9, "hi"),
                              headers={"X-Telegram-Bot-Api-Secret-Token": BOTS["care-bot"][2]})
    settings_route = acc_client.post("/webhooks/telegram", json=tg_update(chat, 10, "hi"),
                                     headers={"X-Telegram-Bot-Api-Secret-Token": BOTS["care-bot"][2]})

    assert (forged.status_code, unknown.status_code, settings_route.status_code) == (403, 404, 404)
    assert len(acc_svc.intake.events()) == 2
    assert {c.channel_account_id for c in conversations(acc_svc)} == {care["id"], promo["id"]}
    assert {bot for bot, to in answers.sent if to == str(chat)} == {"care-bot", "promo-bot"}


def test_a_disabled_account_hears_nothing_and_its_replies_fail_visibly(acc_svc, acc_client, admin, providers):
    account = create(acc_client, admin, whatsapp_account("jakarta"))
    post_whatsapp(acc_client, wa_message("jakarta", "wamid.D1", "my payment failed"), NUMBERS["jakarta"][2])
    sent_before = len(providers[1].sent)

    disabled = acc_client.post(f"/api/v1/admin/channel-accounts/{account['id']}/disable", headers=admin)
    assert (disabled.status_code, disabled.json()["enabled"]) == (200, False)
    heard = post_whatsapp(acc_client, wa_message("jakarta", "wamid.D2", "hello?"), NUMBERS["jakarta"][2])
    assert heard.status_code == 404 and len(acc_svc.intake.events()) == 1

    [ticket_id] = {c.ticket_id for c in conversations(acc_svc)}
    lead = acc_svc.agents.create("lead@gopay.test", "supervisor")
    acc_svc.desk.conversations.reply(acc_svc.desk.viewer(lead), ticket_id, "We are looking into it.")
    [last] = [m for m in acc_svc.outbox.latest(limit=1)]
    assert last.status == "failed" and "disabled" in last.last_error
    assert len(providers[1].sent) == sent_before


def test_new_tickets_of_an_account_wait_in_its_teams_queue(acc_svc, acc_client, admin):
    team_id = acc_svc.agents.create_team("Surabaya", areas=[], languages=[])
    create(acc_client, admin, {**whatsapp_account("surabaya"), "team_id": team_id})
    post_whatsapp(acc_client, wa_message("surabaya", "wamid.T1", "my payment failed"), NUMBERS["surabaya"][2])
    from gopaycare.desk.models import Ticket

    with acc_svc.db.read() as s:
        [ticket] = s.scalars(select(Ticket))
    assert ticket.team_id == team_id


def test_a_page_account_hears_its_page_and_its_instagram_and_answers_with_its_token(
        acc_svc, acc_client, admin, providers):
    page_id, instagram_id, page_token, app_secret = PAGE
    account = create(acc_client, admin, {"provider": "messenger", "name": "main-page", "external_id": page_id,
                                         "secrets": {"page_token": page_token, "app_secret": app_secret},
                                         "options": {"instagram_account_id": instagram_id}})
    for kind, entry_id, sender in (("page", page_id, "6543210987654321"), ("instagram", instagram_id, "345678")):
        raw = json.dumps({"object": kind, "entry": [{"id": entry_id, "messaging": [{
            "sender": {"id": sender}, "recipient": {"id": entry_id},
            "message": {"mid": f"m_{kind}", "text": "my payment failed"}}]}]}).encode()
        signature = "sha256=" + hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()
        answer = acc_client.post("/webhooks/messenger", content=raw, headers={"X-Hub-Signature-256": signature})
        assert answer.json() == {"stored": 1, "duplicates": 0}
    assert {c.channel_account_id for c in conversations(acc_svc)} == {account["id"]}
    assert {to for page, to in providers[1].sent if page == page_id} == {"6543210987654321", "345678"}


def wechat_sealed(xml: bytes) -> str:
    key = base64.b64decode(OFFICIAL[3] + "=")
    plain = os.urandom(16) + struct.pack(">I", len(xml)) + xml + OFFICIAL[0].encode()
    pad = 32 - len(plain) % 32
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain + bytes([pad]) * pad) + encryptor.finalize()).decode()


def test_a_wechat_account_in_safe_mode_by_its_path(acc_svc, acc_client, admin, providers):
    app_id, app_secret, token, aes_key = OFFICIAL
    account = create(acc_client, admin, {"provider": "wechat", "name": "official", "external_id": app_id,
                                         "secrets": {"token": token, "app_secret": app_secret, "aes_key": aes_key}})
    openid = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
    encrypt = wechat_sealed((f"<xml><ToUserName>gh_0123456789ab</ToUserName><FromUserName>{openid}</FromUserName>"
                             "<MsgType>text</MsgType><Content>我的付款失败了</Content><MsgId>1001</MsgId></xml>").encode())
    stamp, nonce = str(int(time.time())), "77"
    params = {"timestamp": stamp, "nonce": nonce, "encrypt_type": "aes", "msg_signature": hashlib.sha1("".join(
        sorted((token, stamp, nonce, encrypt))).encode()).hexdigest()}
    body = f"<xml><ToUserName>gh_0123456789ab</ToUserName><Encrypt>{encrypt}</Encrypt></xml>".encode()

    settings_route = acc_client.post("/webhooks/wechat", content=body, params=params)
    answer = acc_client.post("/webhooks/wechat/official", content=body, params=params)

    assert settings_route.status_code == 404 and (answer.status_code, answer.text) == (200, "success")
    [event] = acc_svc.intake.events()
    assert (event.event().account, event.event().provider_message_id) == (account["id"], f"{app_id}:1001")
    assert (app_id, openid) in providers[1].sent


# ---------------------------------------------------------------- the admin API


@pytest.fixture
def app_logging(caplog) -> Iterator[Any]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("DEBUG", json_output=True)
    root.addHandler(caplog.handler)
    yield caplog
    root.handlers[:] = handlers
    root.setLevel(level)


def audit_entries(svc) -> list[AuditEntry]:
    with svc.db.read() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.subject_type == "channel_account")
                              .order_by(AuditEntry.id)))


def test_secrets_never_appear_in_answers_logs_or_the_audit(acc_svc, acc_client, admin, app_logging):
    created = create(acc_client, admin, whatsapp_account("jakarta"))
    created_bot = create(acc_client, admin, telegram_account("care-bot"))
    changed = acc_client.patch(f"/api/v1/admin/channel-accounts/{created['id']}", headers=admin, json={
        "secrets": {"access_token": "EAAG-rotated-token", "verify_token": None}, "options": {
            "template_name": "care_followup"}})
    listed = acc_client.get("/api/v1/admin/channel-accounts", headers=admin)
    one = acc_client.get(f"/api/v1/admin/channel-accounts/{created['id']}", headers=admin)
    post_whatsapp(acc_client, wa_message("jakarta", "wamid.L1", "my payment failed"), NUMBERS["jakarta"][2])

    assert changed.status_code == 200 and changed.json()["secrets"] == {
        "access_token": True, "app_secret": True, "verify_token": False}
    assert created_bot["secrets"] == {"bot_token": True, "secret_token": True}
    assert one.json() == changed.json() and len(listed.json()["items"]) == 2
    audit = audit_entries(acc_svc)
    assert [e.action for e in audit] == ["channel_account.created"] * 2 + ["channel_account.updated"]
    assert audit[-1].details["secrets_changed"] == ["access_token", "verify_token"]
    with acc_svc.db.read() as s:
        stored = " ".join(row.secrets_sealed for row in s.scalars(select(ChannelAccount)))
    visible = " ".join([json.dumps(created), json.dumps(created_bot), changed.text, listed.text, one.text,
                        app_logging.text, json.dumps([e.details for e in audit]), stored])
    for secret in [*SECRETS, "EAAG-rotated-token", "jakarta-verify"]:
        assert secret not in visible


@pytest.mark.parametrize("role", ["agent", "supervisor", None])
def test_only_admins_see_or_change_accounts(acc_svc, acc_client, admin, role):
    account = create(acc_client, admin, whatsapp_account("jakarta"))
    headers = {}
    if role:
        acc_svc.agents.create(f"{role}@gopay.test", role)
        headers = {"Authorization": f"Bearer {acc_svc.agents.create_token(f'{role}@gopay.test')}"}
    base = "/api/v1/admin/channel-accounts"
    answers = [acc_client.get(base, headers=headers), acc_client.get(f"{base}/{account['id']}", headers=headers),
               acc_client.post(base, headers=headers, json=whatsapp_account("surabaya")),
               acc_client.patch(f"{base}/{account['id']}", headers=headers, json={"enabled": False}),
               acc_client.post(f"{base}/{account['id']}/disable", headers=headers)]
    assert {a.status_code for a in answers} == {403 if role else 401}
    listed = acc_client.get(base, headers=admin).json()["items"]
    assert [(a["name"], a["enabled"]) for a in listed] == [("jakarta", True)]
    assert len(audit_entries(acc_svc)) == 1


HUGE = 2**70


@pytest.mark.parametrize("body", [
    {"team_id": HUGE}, {"team_id": -1}, {"team_id": "twelve"}, {"team_id": 987654},
    {"name": "a\x00b"}, {"name": "x" * 100_000}, {"name": "Has Spaces"}, {"name": "settings"}, {"name": 12},
    {"provider": "sms"}, {"provider": ["whatsapp"]}, {"external_id": "not-digits"}, {"external_id": "1" * 100_000},
    {"external_id": "1\x002"}, {"secrets": {"access_token": "a\x00b"}}, {"secrets": {"access_token": "x" * 100_000}},
    {"secrets": {"access_token": "has space"}}, {"secrets": {"bot_token": "1:abc"}}, {"secrets": "token"},
    {"secrets": {"app_secret": "only-one"}}, {"secrets": {"access_token": 12, "app_secret": "s"}},
    {"options": {"template_name": "Bad Name"}}, {"options": {"template_languages": {"fr": "fr"}}},
    {"options": {"instagram_account_id": "1"}}, {"options": [1]}, {"enabled": "maybe"}, {"extra": 1},
])
def test_hostile_account_input_answers_4xx_and_changes_nothing(acc_svc, acc_client, admin, body):
    answer = acc_client.post("/api/v1/admin/channel-accounts", headers=admin,
                             json={**whatsapp_account("jakarta"), **body})
    assert 400 <= answer.status_code < 500, answer.text
    assert acc_client.get("/api/v1/admin/channel-accounts", headers=admin).json()["items"] == []
    assert audit_entries(acc_svc) == []


@pytest.mark.parametrize("body", [
    {"team_id": HUGE}, {"external_id": "x\x00"}, {"secrets": {"app_secret": None}}, {"secrets": {"bot_token": "1:a"}},
    {"secrets": {"aes_key": "short"}}, {"options": {"template_languages": {"en": "not a code"}}}, {"enabled": [1]},
    {"name": "renamed"}, [], "text",
])
def test_a_hostile_update_answers_4xx_and_changes_nothing(acc_svc, acc_client, admin, body):
    account = create(acc_client, admin, whatsapp_account("jakarta"))
    with acc_svc.db.read() as s:
        before = s.execute(text("SELECT * FROM channel_accounts")).all()
    for path in (f"/api/v1/admin/channel-accounts/{account['id']}", "/api/v1/admin/channel-accounts/" + str(HUGE),
                 "/api/v1/admin/channel-accounts/0"):
        answer = acc_client.patch(path, headers=admin, json=body)
        assert 400 <= answer.status_code < 500, answer.text
    with acc_svc.db.read() as s:
        assert s.execute(text("SELECT * FROM channel_accounts")).all() == before
    assert len(audit_entries(acc_svc)) == 1


@pytest.mark.parametrize("name", ["a\x00b", "x" * 60_000, "UPPER", "../etc"])
def test_a_hostile_account_name_in_a_webhook_path_answers_4xx(acc_svc, acc_client, name):
    name = quote(name, safe="")
    answers = [acc_client.post(f"/webhooks/telegram/{name}", json=tg_update(1, 1, "hi"),
                               headers={"X-Telegram-Bot-Api-Secret-Token": "x"}),
               acc_client.post(f"/webhooks/wechat/{name}", content=b"<xml/>")]
    assert all(400 <= a.status_code < 500 for a in answers)
    assert acc_svc.intake.events() == []


def test_a_duplicate_name_or_number_is_a_conflict(acc_client, admin):
    create(acc_client, admin, whatsapp_account("jakarta"))
    same_name = acc_client.post("/api/v1/admin/channel-accounts", headers=admin,
                                json={**whatsapp_account("surabaya"), "name": "jakarta"})
    same_number = acc_client.post("/api/v1/admin/channel-accounts", headers=admin,
                                  json={**whatsapp_account("surabaya"), "external_id": NUMBERS["jakarta"][0]})
    assert same_name.status_code == same_number.status_code == 409


# ---------------------------------------------------------------- sealed at rest


def test_secrets_are_sealed_with_an_authenticated_cipher_bound_to_their_row(acc_svc, acc_client, admin):
    for name in NUMBERS:
        create(acc_client, admin, whatsapp_account(name))
    with acc_svc.db.read() as s:
        jakarta, surabaya = s.scalars(select(ChannelAccount).order_by(ChannelAccount.id))
    box = SecretBox("test-secret", PURPOSE)
    opened = json.loads(box.open(jakarta.secrets_key_id, jakarta.secrets_sealed, "channel_account:whatsapp:jakarta"))
    assert opened["access_token"] == NUMBERS["jakarta"][1] and jakarta.secrets_key_id == box.key_id

    with pytest.raises(SecretUnreadable):  # another row's sealed secrets do not open as this row's
        box.open(surabaya.secrets_key_id, surabaya.secrets_sealed, "channel_account:whatsapp:jakarta")
    tampered = jakarta.secrets_sealed[:-4] + ("AAAA" if not jakarta.secrets_sealed.endswith("AAAA") else "BBBB")
    with pytest.raises(SecretUnreadable):
        box.open(jakarta.secrets_key_id, tampered, "channel_account:whatsapp:jakarta")
    with pytest.raises(SecretUnreadable):  # the same secret key, another purpose: another key
        SecretBox("test-secret", "another-purpose").open(jakarta.secrets_key_id, jakarta.secrets_sealed,
                                                         "channel_account:whatsapp:jakarta")
    again = box.seal(b"same", "ctx")
    assert again != box.seal(b"same", "ctx")  # a fresh nonce each time


def test_after_a_key_rotation_the_old_key_still_opens_until_resealed(acc_settings, clock, product_nlu, providers):
    with assisted_services(acc_settings, clock, product_nlu) as svc, api_client(svc) as client:
        svc.agents.create("ops@gopay.test", "admin")
        headers = {"Authorization": f"Bearer {svc.agents.create_token('ops@gopay.test')}"}
        old_key_id = create(client, headers, whatsapp_account("jakarta"))["key_id"]

    rotated = acc_settings.model_copy(update={"secret_key": "the-new-secret", "previous_secret_keys": ["test-secret"]})
    with assisted_services(rotated, clock, product_nlu) as svc, api_client(svc) as client:
        heard = post_whatsapp(client, wa_message("jakarta", "wamid.R1", "my payment failed"), NUMBERS["jakarta"][2])
        assert heard.json()["stored"] == 1
        assert svc.channel_accounts.reseal() == 1 and svc.channel_accounts.reseal() == 0
        [info] = svc.channel_accounts.list()
        assert info.key_id != old_key_id and info.key_id == svc.channel_accounts.box.key_id

    new_only = acc_settings.model_copy(update={"secret_key": "the-new-secret"})
    with assisted_services(new_only, clock, product_nlu) as svc, api_client(svc) as client:
        heard = post_whatsapp(client, wa_message("jakarta", "wamid.R2", "and my balance"), NUMBERS["jakarta"][2])
        assert heard.json()["stored"] == 1

    forgotten = acc_settings.model_copy(update={"secret_key": "a-third-secret"})
    with assisted_services(forgotten, clock, product_nlu) as svc, api_client(svc) as client:
        heard = post_whatsapp(client, wa_message("jakarta", "wamid.R3", "hello"), NUMBERS["jakarta"][2])
        assert heard.status_code == 404  # its secrets do not open: the account is not used
        [info] = svc.channel_accounts.list()
        assert not any(info.secrets_set.values()) and svc.channel_accounts.reseal() == 0

        _, access_token, app_secret = NUMBERS["jakarta"]  # the admin gives them again
        svc.channel_accounts.update(info.id, actor=Actor.system(),
                                    secrets={"access_token": access_token, "app_secret": app_secret})
        heard = post_whatsapp(client, wa_message("jakarta", "wamid.R4", "hello again"), app_secret)
        assert heard.json()["stored"] == 1

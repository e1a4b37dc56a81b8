"""WeChat Official Account: the signed server-URL check, XML messages stored once by MsgId and
answered "success" at once, and the assistant's answer through a fake customer-service message API
on loopback that checks the access token (taken once, renewed when WeChat says it expired) and the
request's shape."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import struct
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from gopaycare.channels.wechat import signature_of
from gopaycare.platform.errors import NotFound
from gopaycare.platform.logging import configure_logging
from tests.fake_api import FakeApi, serve
from tests.helpers import api_client, assisted_services

TOKEN = "wx-server-token"
APP_ID = "wx1234567890abcdef"
APP_SECRET = "wx-app-secret-0123456789"
ACCOUNT = "gh_0123456789ab"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
CJK = re.compile(r"[\u4e00-\u9fff]")


class WeChatApi:
    """The fake WeChat API: access tokens for our app id and secret, and custom/send with them."""

    def __init__(self) -> None:
        self.tokens_given = 0
        self.expire_next = False  # the next send answers 42001 (the token expired early)
        self.errcode: tuple[int, str] | None = None
        self.sent: list[dict[str, Any]] = []

    @property
    def current(self) -> str:
        return f"ACCESS_TOKEN_{self.tokens_given}"

    def __call__(self, request) -> tuple[int, dict[str, Any]]:
        url = urlsplit(request.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if request.method == "GET" and url.path == "/cgi-bin/token":
            if query != {"grant_type": "client_credential", "appid": APP_ID, "secret": APP_SECRET}:
                return 200, {"errcode": 40013, "errmsg": "invalid appid"}
            self.tokens_given += 1
            return 200, {"access_token": self.current, "expires_in": 7200}
        if request.method != "POST" or url.path != "/cgi-bin/message/custom/send":
            return 404, {"errcode": 404, "errmsg": "not found"}
        if query.get("access_token") != self.current or self.expire_next:
            self.expire_next = False
            return 200, {"errcode": 42001, "errmsg": "access_token expired"}
        if b"\\u" in request.body:  # WeChat shows escapes as they are written
            return 200, {"errcode": 40008, "errmsg": "invalid message type"}
        body = request.json()
        if (body.get("msgtype") != "text" or body.get("touser") != OPENID
                or len(body["text"]["content"].encode()) > 2048):
            return 200, {"errcode": 40003, "errmsg": "invalid openid"}
        if self.errcode:
            code, message = self.errcode
            return 200, {"errcode": code, "errmsg": message}
        self.sent.append(body)
        return 200, {"errcode": 0, "errmsg": "ok"}


@pytest.fixture
def wechat_api() -> Iterator[tuple[FakeApi, WeChatApi]]:
    answers = WeChatApi()
    with serve(answers) as api:
        yield api, answers


@pytest.fixture
def wx_svc(settings, clock, wechat_api, product_nlu) -> Iterator[Any]:
    api, _ = wechat_api
    with assisted_services(settings.model_copy(update={
        "wechat_token": TOKEN, "wechat_app_id": APP_ID, "wechat_app_secret": APP_SECRET,
        "wechat_api_base": api.base_url}), clock, product_nlu) as services:
        yield services


@pytest.fixture
def wx_client(wx_svc) -> Iterator[Any]:
    with api_client(wx_svc) as client:
        yield client


def xml_message(msg_id: Any, content: str, *, kind: str = "text", sender: str = OPENID, extra: str = "") -> bytes:
    body = f"<Content><![CDATA[{content}]]></Content>" if kind == "text" else ""
    return (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{sender}]]></FromUserName>"
            f"<CreateTime>1765000000</CreateTime><MsgType><![CDATA[{kind}]]></MsgType>{body}{extra}"
            f"<MsgId>{msg_id}</MsgId></xml>").encode()


def signed(timestamp: int | None = None, nonce: str = "1514829341", token: str = TOKEN) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {"signature": signature_of(token, stamp, nonce), "timestamp": stamp, "nonce": nonce}


def post(client, raw: bytes, params: dict[str, str] | None = None):
    # WeChat adds the follower's openid to the query (outside the signature), as here.
    params = {**signed(), "openid": OPENID} if params is None else params
    return client.post("/webhooks/wechat", content=raw, params=params,
                       headers={"Content-Type": "text/xml"})


def conversations(svc, client) -> list[dict[str, Any]]:
    try:
        svc.agents.get_by_email("lead@gopay.test")
    except NotFound:
        svc.agents.create("lead@gopay.test", "supervisor")
    token = svc.agents.create_token("lead@gopay.test")
    answer = client.get("/api/v1/conversations", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    return answer.json()["items"]


def replies(svc) -> list[Any]:
    return [m for m in svc.outbox.latest(limit=50) if m.channel == "wechat" and m.purpose == "reply"]


def test_the_server_url_check_echoes_echostr_only_when_signed_with_our_token(wx_client):
    ok = wx_client.get("/webhooks/wechat", params={**signed(), "echostr": "5837397520"})
    forged = wx_client.get("/webhooks/wechat", params={**signed(token="guess"), "echostr": "5837397520"})
    missing = wx_client.get("/webhooks/wechat", params={"echostr": "5837397520"})
    assert (ok.status_code, ok.text) == (200, "5837397520")
    assert forged.status_code == 403 and missing.status_code == 401


def test_a_chinese_message_is_stored_once_and_answered_in_chinese_through_custom_send(
        wx_svc, wx_client, wechat_api):
    _, answers = wechat_api
    first = post(wx_client, xml_message(23637352235060880, "我的付款为什么失败了"))
    again = post(wx_client, xml_message(23637352235060880, "我的付款为什么失败了"))  # WeChat's retry

    assert (first.status_code, first.text) == (200, "success") and again.text == "success"
    assert len(wx_svc.intake.events()) == 1
    [conversation] = conversations(wx_svc, wx_client)
    assert conversation["channel"] == "wechat"
    assert answers.sent and all(body["touser"] == OPENID for body in answers.sent)
    assert CJK.search(answers.sent[0]["text"]["content"])
    assert {m.status for m in replies(wx_svc)} == {"sent"}

    post(wx_client, xml_message(23637352235060881, "还有我的余额"))
    assert answers.tokens_given == 1  # the access token is kept until it expires

    compatible_mode = {**signed(), "openid": OPENID, "encrypt_type": "aes", "msg_signature": "0" * 40}
    extra = "<Encrypt><![CDATA[c2FmZQ==]]></Encrypt>"
    answer = post(wx_client, xml_message(23637352235060889, "我的余额", extra=extra), compatible_mode)
    assert answer.text == "success" and len(wx_svc.intake.events()) == 3


def test_an_expired_token_is_renewed_and_the_reply_sent_once(wx_svc, wx_client, wechat_api):
    _, answers = wechat_api
    post(wx_client, xml_message(23637352235060882, "my payment failed"))
    assert answers.tokens_given == 1
    answers.expire_next = True
    post(wx_client, xml_message(23637352235060883, "it was this morning"))
    assert answers.tokens_given == 2
    [latest] = replies(wx_svc)[:1]
    assert (latest.status, latest.attempts) == ("sent", 1)


def test_after_48_hours_of_silence_the_reply_fails_at_once(wx_svc, wx_client, wechat_api):
    _, answers = wechat_api
    answers.errcode = (45015, "response out of time limit or subscription is canceled")
    post(wx_client, xml_message(23637352235060884, "my payment failed"))
    [reply] = replies(wx_svc)[-1:]
    assert (reply.status, reply.attempts) == ("failed", 1) and "45015" in reply.last_error


def test_wechat_busy_is_tried_again_later(wx_svc, wx_client, wechat_api, clock):
    _, answers = wechat_api
    answers.errcode = (-1, "system error")
    post(wx_client, xml_message(23637352235060885, "my payment failed"))
    [reply] = replies(wx_svc)[-1:]
    assert (reply.status, reply.attempts) == ("queued", 1)
    answers.errcode = None
    clock.advance(seconds=31)
    wx_svc.tasks["sweep_outbox"]()
    [reply] = [m for m in replies(wx_svc) if m.id == reply.id]
    assert reply.status == "sent"


@pytest.fixture
def app_logging(caplog) -> Iterator[Any]:
    """Logging as the application sets it up (platform/logging.py), read through caplog."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("INFO", json_output=True)
    root.addHandler(caplog.handler)
    yield caplog
    root.handlers[:] = handlers
    root.setLevel(level)


def test_the_access_token_and_the_secret_never_reach_the_logs(wx_svc, wx_client, wechat_api, app_logging):
    _, answers = wechat_api
    answers.errcode = (45015, "response out of time limit")
    post(wx_client, xml_message(23637352235060886, "my payment failed"))
    caplog = app_logging
    assert "delivery failed" in caplog.text  # the sender's own log line is there, without the URL
    [reply] = replies(wx_svc)[-1:]
    assert answers.tokens_given == 1
    for secret in (answers.current, APP_SECRET):
        assert secret not in caplog.text and secret not in (reply.last_error or "")


@pytest.mark.parametrize(("params", "status"), [
    ({}, 401), ({**signed(), "signature": "0" * 40}, 403), (signed(token="another-token"), 403),
    (signed(timestamp=int(time.time()) - 3600), 403), ({**signed(), "timestamp": "x"}, 403)])
def test_an_unsigned_forged_or_replayed_call_stores_nothing(wx_svc, wx_client, wechat_api, params, status):
    answer = post(wx_client, xml_message(23637352235060887, "hi"), params)
    assert answer.status_code == status
    assert wx_svc.intake.events() == [] and wechat_api[0].requests == []


BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
                  b"<xml><Content>&lol2;</Content></xml>")
XXE = b'<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><Content>&xxe;</Content></xml>'


@pytest.mark.parametrize("raw", [b"not xml", b"{}", b"\x00\xff", b"<other/>", BILLION_LAUGHS, XXE,
                                 b"<xml><Encrypt><![CDATA[abc]]></Encrypt></xml>", b"<xml>" * 20_000])
def test_a_body_that_is_not_a_plain_wechat_message_answers_4xx(wx_svc, wx_client, raw):
    answer = post(wx_client, raw)
    assert 400 <= answer.status_code < 500
    assert wx_svc.intake.events() == []


@pytest.mark.parametrize("raw", [
    xml_message("not-a-number", "hi"), xml_message(10**40, "hi"), xml_message(1, "hi", sender="x"),
    xml_message(2, "hi", sender="o" * 500), xml_message("", "hi"),
    b"<xml><ToUserName>gh</ToUserName><FromUserName>" + OPENID.encode() + b"</FromUserName>"
    b"<MsgType>event</MsgType><Event>subscribe</Event></xml>",
    b"<xml><MsgId><a>1</a></MsgId></xml>",
])
def test_hostile_or_foreign_messages_are_ignored_never_5xx(wx_svc, wx_client, raw):
    answer = post(wx_client, raw)
    assert (answer.status_code, answer.text) == (200, "success")
    assert wx_svc.intake.events() == []


def test_a_huge_payload_is_refused(wx_svc, wx_client):
    answer = post(wx_client, b"<xml>" + b" " * 70_000 + b"</xml>")
    assert answer.status_code == 413 and wx_svc.intake.events() == []


def test_an_image_keeps_its_media_id_and_odd_text_is_stored_clean(wx_svc, wx_client):
    post(wx_client, xml_message(3001, "", kind="image", extra="<PicUrl>http://x/p.jpg</PicUrl><MediaId>MEDIA_1</MediaId>"))
    post(wx_client, xml_message(3002, "余额 " + "x" * 30_000))
    [image, long] = sorted(wx_svc.intake.events(), key=lambda e: e.id)
    assert image.event().body == "[image]"
    assert image.event().attachments == [{"type": "image", "provider_id": "MEDIA_1", "mime_type": None,
                                          "filename": None, "state": "pending"}]
    assert len(long.event().body) <= 20_000


def test_without_its_settings_the_webhook_is_off(client):
    assert client.post("/webhooks/wechat", content=xml_message(1, "hi"), params=signed()).status_code == 404
    assert client.get("/webhooks/wechat", params={**signed(), "echostr": "1"}).status_code == 404


def test_json_is_sent_as_utf8(wechat_api):
    """The sender writes Chinese as UTF-8, not as \\u escapes WeChat would show as they are."""
    from gopaycare.channels.wechat import WeChatSender
    from gopaycare.platform.outbox import OutboxMessage

    api, answers = wechat_api
    sender = WeChatSender(api.base_url, APP_ID, APP_SECRET)
    sender.send(OutboxMessage(id=1, channel="wechat", destination=OPENID, body="你好" * 700, purpose="reply"))
    assert len(answers.sent) == 3 and all(len(b["text"]["content"].encode()) <= 2048 for b in answers.sent)
    assert json.loads(api.requests[-1].body)["text"]["content"] == "你好" * 100


# ---------------------------------------------------------------- safe mode (AES)

AES_KEY = base64.b64encode(hashlib.sha256(b"test aes key").digest()).decode().rstrip("=")  # 43 characters


def seal(xml: bytes, *, aes_key: str = AES_KEY, app_id: str = APP_ID) -> str:
    """WeChat's sealing, written out here from its documentation: 16 random bytes, the XML's length
    (4 bytes, big endian), the XML and the app id, PKCS#7-padded to 32 bytes, AES-256-CBC with the
    key's first 16 bytes as IV."""
    key = base64.b64decode(aes_key + "=")
    plain = os.urandom(16) + struct.pack(">I", len(xml)) + xml + app_id.encode()
    pad = 32 - len(plain) % 32
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain + bytes([pad]) * pad) + encryptor.finalize()).decode()


def safe_call(encrypt: str, *, token: str = TOKEN, msg_signature: str | None = None) -> tuple[bytes, dict[str, str]]:
    stamp, nonce = str(int(time.time())), "1320562132"
    digest = hashlib.sha1("".join(sorted((token, stamp, nonce, encrypt))).encode()).hexdigest()
    body = f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    return body.encode(), {**signed(int(stamp), nonce, token), "openid": OPENID, "encrypt_type": "aes",
                           "msg_signature": msg_signature or digest}


@pytest.fixture
def safe_svc(settings, clock, wechat_api, product_nlu) -> Iterator[Any]:
    api, _ = wechat_api
    with assisted_services(settings.model_copy(update={
        "wechat_token": TOKEN, "wechat_app_id": APP_ID, "wechat_app_secret": APP_SECRET, "wechat_aes_key": AES_KEY,
        "wechat_api_base": api.base_url}), clock, product_nlu) as services:
        yield services


@pytest.fixture
def safe_client(safe_svc) -> Iterator[Any]:
    with api_client(safe_svc) as client:
        yield client


def test_a_safe_mode_message_is_opened_stored_and_answered_with_a_plain_success(safe_svc, safe_client, wechat_api):
    _, answers = wechat_api
    raw, params = safe_call(seal(xml_message(23637352235060900, "我的付款为什么失败了")))

    answer = post(safe_client, raw, params)

    assert (answer.status_code, answer.text) == (200, "success")
    [event] = safe_svc.intake.events()
    message = event.event()
    assert (message.body, message.identity_value, message.provider_message_id) == (
        "我的付款为什么失败了", OPENID, "23637352235060900")
    assert answers.sent and CJK.search(answers.sent[0]["text"]["content"])


def test_in_compatible_mode_the_sealed_copy_is_the_one_read(safe_svc, safe_client):
    sealed = seal(xml_message(23637352235060901, "真的内容"))
    raw, params = safe_call(sealed)
    compatible = raw.replace(b"</xml>", b"<MsgType>text</MsgType><Content>forged in clear</Content></xml>")
    assert post(safe_client, compatible, params).text == "success"
    [event] = safe_svc.intake.events()
    assert event.event().body == "真的内容"


@pytest.mark.parametrize(("case", "status"), [
    ("forged msg_signature", 403), ("signed with another token", 403), ("sealed for another app id", 403),
    ("sealed with another key", 422), ("not base64", 422), ("no msg_signature in safe mode", 403),
    ("a plain body under the plain signature in safe mode", 403), ("replayed an hour later", 403)])
def test_a_forged_or_foreign_safe_mode_message_stores_nothing(safe_svc, safe_client, wechat_api, case, status):
    xml = xml_message(23637352235060902, "hi")
    encrypt = {"sealed for another app id": seal(xml, app_id="wx0000000000000000"),
               "sealed with another key": seal(xml, aes_key="B" * 43),
               "not base64": "%%%not-base64%%%"}.get(case, seal(xml))
    raw, params = safe_call(encrypt, token="another-token" if case == "signed with another token" else TOKEN,
                            msg_signature="0" * 40 if case == "forged msg_signature" else None)
    if case == "no msg_signature in safe mode":
        params.pop("msg_signature")
    if case == "a plain body under the plain signature in safe mode":  # the signature covers no body
        raw, params = xml.encode() if isinstance(xml, str) else xml, {**signed(), "openid": OPENID}
    if case == "replayed an hour later":
        stamp = str(int(time.time()) - 3600)
        params = {**params, **signed(int(stamp), params["nonce"]), "msg_signature": hashlib.sha1("".join(sorted(
            (TOKEN, stamp, params["nonce"], encrypt))).encode()).hexdigest()}
    answer = post(safe_client, raw, params)
    assert answer.status_code == status, answer.text
    assert safe_svc.intake.events() == [] and wechat_api[0].requests == []


def test_an_aes_key_without_an_app_id_is_refused_at_start():
    from gopaycare.platform.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="GOPAYCARE_WECHAT_AES_KEY"):
        load_settings(wechat_token=TOKEN, wechat_aes_key=AES_KEY)
    with pytest.raises(SettingsError):
        load_settings(wechat_token=TOKEN, wechat_app_id=APP_ID, wechat_aes_key="short")

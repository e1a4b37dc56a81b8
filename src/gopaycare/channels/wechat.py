"""WeChat Official Account (微信公众号): the webhook (plain-text, compatible and safe mode) and the
customer-service sender.

Inbound: WeChat signs each call with `signature = sha1(sorted(token, timestamp, nonce))` in the
query string (the same check answers the server-URL handshake, which echoes `echostr`). The body is
XML: `<xml><ToUserName>` (our account's id, kept as the thread) `<FromUserName>` (the follower's
openid: the contact's `wechat` identity) `<MsgType>`, `<Content>` or media ids, `<MsgId>`. WeChat
retries a call three times when it is not answered within 5 seconds, so the message is stored once
by MsgId and the answer is "success" at once; the real answer goes through the customer-service
message API. The signature covers no body (WeChat's design in plain-text mode), so a call older than
MAX_AGE_SECONDS is refused, to keep a captured signed URL from being replayed for long. In safe mode
(an EncodingAESKey given: GOPAYCARE_WECHAT_AES_KEY or the account's `aes_key`) the message is sealed
in `<Encrypt>` and `msg_signature` covers it (wechat_crypto.py); the "success" answer stays plain.

XML is parsed with the standard library's expat after refusing any DTD (`<!DOCTYPE`, `<!ENTITY`),
which is what XXE and entity-expansion attacks need, and with the body bounded (MAX_XML_BYTES).

Outbound: an access token from `GET {api_base}cgi-bin/token?grant_type=client_credential&appid=…
&secret=…`, kept until shortly before it expires, then `POST {api_base}cgi-bin/message/custom/send?
access_token=…` with `{"touser", "msgtype": "text", "text": {"content"}}`. WeChat answers HTTP 200
with an `errcode`: 45015 (the follower has not written for 48 hours) cannot pass; 40001 / 42001 /
40014 (token expired or invalid) take a new token and try once more. The token and the secret are
in URLs (WeChat's API): httpx's request logs are off (platform/logging.py) and errors name no URL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import httpx

from ..platform.errors import NotFound, PermissionDenied, TooLarge, Unauthenticated, ValidationFailed
from ..platform.outbox import DeliveryError, DeliveryRefused, OutboxMessage
from . import wechat_crypto
from .accounts import Account, ChannelAccounts
from .intake import Event, InboundMessage
from .sending import pieces, response_json
from .webhook import text

CHANNEL = "wechat"
MAX_XML_BYTES = 64_000  # a WeChat message is a few hundred bytes; a text at most 2,048 bytes of content
MAX_AGE_SECONDS = 300
MAX_TEXT = 600  # custom/send takes 2,048 bytes of content: 600 characters even when all are Chinese
TOKEN_MARGIN_SECONDS = 300  # a token is taken again this long before WeChat says it expires
TOKEN_EXPIRED = {40001, 40014, 42001}
RETRY_CODES = {-1, 45009, 45011}  # system busy, daily quota, calls too frequent
MEDIA = ("image", "voice", "video", "shortvideo", "file")
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_OPENID = re.compile(r"[A-Za-z0-9_-]{6,64}")


def signature_of(token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted((token, timestamp, nonce))).encode()).hexdigest()


class WeChatWebhook:
    """The settings' official account posts to `/webhooks/wechat`, a channel account's to
    `/webhooks/wechat/{account name}` (its server URL), each checked with its own token; an account
    with an EncodingAESKey takes safe-mode (and compatible-mode) messages sealed with it."""

    def __init__(self, accounts: ChannelAccounts, now: Callable[[], float] = time.time) -> None:
        self.accounts = accounts
        self.now = now

    def account(self, name: str | None) -> Account:
        found = self.accounts.named(CHANNEL, name) if name else self.accounts.implicit.get(CHANNEL)
        if found is None or not found.secret("token"):
            raise NotFound("no such WeChat account is configured")
        return found

    def check(self, account: Account, signature: str | None, timestamp: str | None, nonce: str | None) -> None:
        if not signature or not timestamp or not nonce:
            raise Unauthenticated("the signature is missing")
        expected = signature_of(account.secret("token") or "", timestamp, nonce)
        if not hmac.compare_digest(signature.strip().lower().encode(), expected.encode()):
            raise PermissionDenied("the signature does not match")
        self._fresh(timestamp)

    def _fresh(self, timestamp: str) -> None:
        if not timestamp.isdecimal() or abs(self.now() - int(timestamp)) > MAX_AGE_SECONDS:
            raise PermissionDenied("the signed call is too old or from the future")

    def challenge(self, signature: str | None, timestamp: str | None, nonce: str | None, echostr: str | None,
                  account_name: str | None = None) -> str:
        """The server-URL check: `echostr` echoed when the signature is ours."""
        self.check(self.account(account_name), signature, timestamp, nonce)
        if not echostr or not echostr.isprintable():
            raise PermissionDenied("the echostr is missing or not text")
        return echostr

    def events(self, raw: bytes, signature: str | None, timestamp: str | None, nonce: str | None,
               msg_signature: str | None = None, account_name: str | None = None) -> list[Event]:
        account = self.account(account_name)
        aes_key = account.secret("aes_key")
        if aes_key:
            # With an EncodingAESKey only the sealed copy counts: the plain `signature` covers no
            # body, so a request without `msg_signature` could carry anything under a copied one.
            if msg_signature is None:
                raise PermissionDenied("this account is in safe mode: the msg_signature is missing")
            fields = self._opened(account, aes_key, raw, msg_signature, timestamp, nonce)
        else:
            self.check(account, signature, timestamp, nonce)
            fields = _xml_fields(raw)
            if "Encrypt" in fields and "MsgType" not in fields:
                raise ValidationFailed("a safe-mode message, and this account has no EncodingAESKey",
                                       field="body")
        sender, to, msg_id = fields.get("FromUserName", ""), fields.get("ToUserName", ""), fields.get("MsgId", "")
        if not (_OPENID.fullmatch(sender) and to and msg_id.isdecimal() and len(msg_id) <= 24):
            return []  # an event (subscribe, menu click: no MsgId), or a message that is not WeChat's
        body, attachments = _content(fields)
        # MsgIds are the official account's own: another account's may repeat them.
        prefix = f"{account.external_id}:" if account.id is not None else ""
        return [InboundMessage(channel=CHANNEL, identity_kind="wechat", identity_value=sender, body=body,
                               provider_message_id=f"{prefix}{msg_id}", thread=to[:128], attachments=attachments,
                               account=account.id)]

    def _opened(self, account: Account, aes_key: str, raw: bytes, msg_signature: str, timestamp: str | None,
                nonce: str | None) -> dict[str, str]:
        """Safe mode: `msg_signature` covers the sealed message, which is opened with the account's
        EncodingAESKey and must have been sealed for its app id."""
        if not timestamp or not nonce:
            raise Unauthenticated("the signature is missing")
        encrypt = _xml_fields(raw).get("Encrypt")
        if not encrypt:
            raise ValidationFailed("a safe-mode call carries <Encrypt>", field="body")
        wechat_crypto.check_msg_signature(msg_signature, account.secret("token") or "", timestamp, nonce, encrypt)
        self._fresh(timestamp)
        return _xml_fields(wechat_crypto.open_message(aes_key, account.external_id or "", encrypt))


def _xml_fields(raw: bytes) -> dict[str, str]:
    """The message's fields (the root's children) as text; a clear 4xx for anything else."""
    if len(raw) > MAX_XML_BYTES:
        raise TooLarge(f"the payload is larger than {MAX_XML_BYTES} bytes")
    if _DTD.search(raw):
        raise ValidationFailed("a document type or entity declaration is not accepted", field="body")
    try:
        root = ET.fromstring(raw)
    except (ET.ParseError, ValueError):
        raise ValidationFailed("the payload is not XML", field="body") from None
    if root.tag != "xml":
        raise ValidationFailed("the payload is not a WeChat message", field="body")
    return {child.tag: text(child.text, 20_000).strip() for child in root if isinstance(child.tag, str)}


def _content(fields: dict[str, str]) -> tuple[str, list[dict[str, Any]]]:
    kind = fields.get("MsgType", "")[:20]
    if kind == "text":
        return fields.get("Content") or "[text]", []
    if kind in MEDIA:
        attachment = {"type": kind, "provider_id": fields.get("MediaId", "")[:128] or None,
                      "mime_type": None, "filename": None, "state": "pending"}
        # A voice message may come with WeChat's own transcription.
        return fields.get("Recognition", "")[:4000] or f"[{kind}]", [attachment]
    if kind == "location":
        return f"[location] {fields.get('Label', '')[:200]} {fields.get('Location_X', '')[:20]}," \
               f"{fields.get('Location_Y', '')[:20]}".strip(), []
    if kind == "link":
        return f"[link] {fields.get('Title', '')[:200]} {fields.get('Url', '')[:1000]}".strip(), []
    return f"[{kind or 'unsupported'}]", []


class WeChatSender:
    def __init__(self, api_base: str, app_id: str, app_secret: str, timeout: float = 10.0,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.base = api_base.rstrip("/") + "/"
        self.app_id, self.app_secret = app_id, app_secret
        self.timeout = timeout
        self.now = now
        self._token: tuple[str, float] | None = None  # the access token and when to take a new one
        self._lock = threading.Lock()

    def send(self, message: OutboxMessage) -> str | None:
        if not _OPENID.fullmatch(message.destination):
            raise DeliveryRefused("a WeChat recipient is a follower's openid")
        for piece in pieces(message.body, MAX_TEXT):
            self._send_text(message.destination, piece)
        return None  # custom/send gives no message id

    def _send_text(self, openid: str, content: str) -> None:
        payload = {"touser": openid, "msgtype": "text", "text": {"content": content}}
        for attempt in (1, 2):
            token = self.access_token(renew=attempt == 2)
            answer = self._call("POST", "cgi-bin/message/custom/send", {"access_token": token}, payload)
            code = answer.get("errcode", 0)
            if code == 0:
                return
            detail = f"WeChat answered errcode {code} ({text(answer.get('errmsg'), 200)})"
            if code in TOKEN_EXPIRED and attempt == 1:
                continue  # another server may have taken a new token, or it expired early: once more
            if code in RETRY_CODES or code in TOKEN_EXPIRED:
                raise DeliveryError(detail)
            raise DeliveryRefused(detail)  # 45015: 48 hours since the follower wrote; 40003: no such openid

    def access_token(self, *, renew: bool = False) -> str:
        with self._lock:
            if renew or self._token is None or self.now() >= self._token[1]:
                answer = self._call("GET", "cgi-bin/token", {"grant_type": "client_credential",
                                                             "appid": self.app_id, "secret": self.app_secret})
                token, expires_in = answer.get("access_token"), answer.get("expires_in")
                if not isinstance(token, str) or not token:
                    # A wrong app id or secret, or our IP not on the account's allow-list (40164).
                    raise DeliveryError(f"WeChat gave no access token (errcode {answer.get('errcode')}: "
                                        f"{text(answer.get('errmsg'), 200)})")
                lifetime = expires_in if isinstance(expires_in, int) and not isinstance(expires_in, bool) else 7200
                self._token = (token, self.now() + max(lifetime - TOKEN_MARGIN_SECONDS, 60))
            return self._token[0]

    def _call(self, method: str, path: str, params: dict[str, str], payload: Any = None) -> dict[str, Any]:
        # UTF-8 as it is: WeChat shows "\u4f60" escapes to the follower as they are written.
        body = json.dumps(payload, ensure_ascii=False).encode() if payload is not None else None
        try:
            response = httpx.request(method, self.base + path, params=params, content=body, timeout=self.timeout,
                                     headers={"Content-Type": "application/json; charset=utf-8"} if body else None)
        except httpx.HTTPError as exc:  # its message may hold the URL, and so the token: not kept
            raise DeliveryError(f"WeChat unreachable: {type(exc).__name__}") from None
        if response.status_code >= 300:
            raise DeliveryError(f"WeChat answered HTTP {response.status_code}")
        return response_json(response)

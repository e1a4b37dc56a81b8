"""The providers' webhooks: verify, store what they say, answer at once (channels/intake.py).

The body is read raw because signatures are over the exact bytes. A channel whose settings are not
given answers 404; a missing signature or secret 401, a wrong one 403; nothing is stored then.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from ...channels.intake import Event
from ...channels.webhook import MAX_PAYLOAD_BYTES
from ...platform.errors import NotFound, TooLarge
from ..deps import Svc
from ..schemas.webhooks import WebhookOut

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
HookT = TypeVar("HookT")


def _on(hook: HookT | None, channel: str) -> HookT:
    if hook is None:
        raise NotFound(f"the {channel} channel is not configured")
    return hook


async def _raw(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_PAYLOAD_BYTES:
        raise TooLarge(f"the payload is larger than {MAX_PAYLOAD_BYTES} bytes")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_PAYLOAD_BYTES:
            raise TooLarge(f"the payload is larger than {MAX_PAYLOAD_BYTES} bytes")
    return raw


async def _store(svc: Svc, events: list[Event]) -> WebhookOut:
    return WebhookOut.of(await run_in_threadpool(svc.intake.accept, events))


@router.get("/whatsapp", response_class=PlainTextResponse)
def whatsapp_handshake(svc: Svc, mode: Annotated[str | None, Query(alias="hub.mode", max_length=32)] = None,
                       token: Annotated[str | None, Query(alias="hub.verify_token", max_length=256)] = None,
                       challenge: Annotated[str | None, Query(alias="hub.challenge", max_length=256)] = None) -> str:
    """Meta's subscription check: the challenge echoed when the verify token is ours."""
    return _on(svc.webhooks.whatsapp, "whatsapp").challenge(mode, token, challenge)


@router.post("/whatsapp")
async def whatsapp(request: Request, svc: Svc,
                   signature: Annotated[str | None, Header(alias="X-Hub-Signature-256", max_length=100)] = None
                   ) -> WebhookOut:
    hook = _on(svc.webhooks.whatsapp, "whatsapp")
    return await _store(svc, hook.events(await _raw(request), signature))


@router.get("/messenger", response_class=PlainTextResponse)
def messenger_handshake(svc: Svc, mode: Annotated[str | None, Query(alias="hub.mode", max_length=32)] = None,
                        token: Annotated[str | None, Query(alias="hub.verify_token", max_length=256)] = None,
                        challenge: Annotated[str | None, Query(alias="hub.challenge", max_length=256)] = None
                        ) -> str:
    """Meta's subscription check for Messenger and Instagram: the challenge echoed when the verify
    token is ours."""
    return _on(svc.webhooks.messenger, "messenger").challenge(mode, token, challenge)


@router.post("/messenger")
async def messenger(request: Request, svc: Svc,
                    signature: Annotated[str | None, Header(alias="X-Hub-Signature-256", max_length=100)] = None
                    ) -> WebhookOut:
    """Messenger and Instagram: direct messages, delivery and read receipts, comments on the page's posts."""
    hook = _on(svc.webhooks.messenger, "messenger")
    return await _store(svc, hook.events(await _raw(request), signature))


WeChatQuery = Annotated[str | None, Query(max_length=128)]


@router.get("/wechat", response_class=PlainTextResponse)
def wechat_handshake(svc: Svc, signature: WeChatQuery = None, timestamp: WeChatQuery = None,
                     nonce: WeChatQuery = None, echostr: WeChatQuery = None) -> str:
    """WeChat's server-URL check: `echostr` echoed when the signature is ours."""
    return _on(svc.webhooks.wechat, "wechat").challenge(signature, timestamp, nonce, echostr)


@router.post("/wechat", response_class=PlainTextResponse)
async def wechat(request: Request, svc: Svc, signature: WeChatQuery = None, timestamp: WeChatQuery = None,
                 nonce: WeChatQuery = None, openid: WeChatQuery = None, encrypt_type: WeChatQuery = None,
                 msg_signature: WeChatQuery = None) -> str:
    """A follower's message (XML), stored once by MsgId; "success" at once, the answer by the
    customer-service message API after (anything else would show the follower an error). WeChat
    adds `openid` (and, in compatible mode, `encrypt_type` and `msg_signature`): the sender is read
    from the message itself."""
    hook = _on(svc.webhooks.wechat, "wechat")
    events = hook.events(await _raw(request), signature, timestamp, nonce)
    await run_in_threadpool(svc.intake.accept, events)
    return "success"


@router.post("/telegram")
async def telegram(request: Request, svc: Svc,
                   secret: Annotated[str | None, Header(alias="X-Telegram-Bot-Api-Secret-Token", max_length=256)] = None
                   ) -> WebhookOut:
    hook = _on(svc.webhooks.telegram, "telegram")
    return await _store(svc, hook.events(await _raw(request), secret))

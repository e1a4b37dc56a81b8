"""The providers' webhooks: verify, store what they say, answer at once (channels/intake.py).

The body is read raw because signatures are over the exact bytes. A channel with neither settings
nor a channel account answers 404; a missing signature or secret 401, a wrong one 403; nothing is
stored then. Each is verified with the secret of the channel account it is for: named in the
payload (WhatsApp's number, Meta's page) or, for Telegram and WeChat, in the path.

The phone line: Twilio's voice webhooks answer TwiML (the voice menu's next step, channels/ivr.py)
once what the desk must know of the call is stored; a company PBX reports its calls to
`/api/v1/cti/{token}` (Zammad's Generic CTI, channels/cti.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from ...channels import ivr, twilio_signature
from ...channels.intake import Event
from ...channels.webhook import MAX_PAYLOAD_BYTES
from ...platform.errors import NotFound, TooLarge
from ..deps import Svc
from ..schemas.webhooks import WebhookOut

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
# Under the API's own rules (no unknown query parameters, no NUL): a PBX posts what Zammad documents.
cti_router = APIRouter(prefix="/api/v1", tags=["phone"])
HookT = TypeVar("HookT")
TWIML = {200: {"description": "TwiML: what Twilio does next on the call",
               "content": {"application/xml": {"schema": {"type": "string"}}}}}
TwilioSignature = Annotated[str | None, Header(alias="X-Twilio-Signature", max_length=100)]
CTI_BODY = {"requestBody": {"description": "Zammad's Generic CTI fields (form-encoded or JSON)", "content": {
    media: {"schema": {"type": "object", "properties": {
        "event": {"type": "string", "enum": ["newCall", "answer", "hangup"]},
        "from": {"type": "string"}, "to": {"type": "string"}, "direction": {"type": "string", "enum": ["in", "out"]},
        "callId": {"type": "string"}, "user": {"type": "array", "items": {"type": "string"}},
        "queue": {"type": "string"}, "answeringNumber": {"type": "string"},
        "cause": {"type": "string", "enum": ["normalClearing", "busy", "cancel", "noAnswer", "congestion",
                                             "notFound", "forwarded"]}},
        "required": ["event", "direction", "callId"]}}
    for media in ("application/x-www-form-urlencoded", "application/json")}}}


def _on(hook: HookT | None, channel: str) -> HookT:
    if hook is None:
        raise NotFound(f"the {channel} channel is not configured")
    return hook


async def _raw(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdecimal() and int(declared) > MAX_PAYLOAD_BYTES:
        raise TooLarge(f"the payload is larger than {MAX_PAYLOAD_BYTES} bytes")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_PAYLOAD_BYTES:
            raise TooLarge(f"the payload is larger than {MAX_PAYLOAD_BYTES} bytes")
    return raw


async def _store(svc: Svc, events: list[Event] | Callable[[], list[Event]]) -> WebhookOut:
    """Stored once, off the event loop: reading the events may check a signature against the
    channel accounts in the database (`events` given as a call), which is as blocking as storing."""
    return WebhookOut.of(await run_in_threadpool(
        lambda: svc.intake.accept(events() if callable(events) else events)))


@router.get("/whatsapp", response_class=PlainTextResponse)
def whatsapp_handshake(svc: Svc, mode: Annotated[str | None, Query(alias="hub.mode", max_length=32)] = None,
                       token: Annotated[str | None, Query(alias="hub.verify_token", max_length=256)] = None,
                       challenge: Annotated[str | None, Query(alias="hub.challenge", max_length=256)] = None) -> str:
    """Meta's subscription check: the challenge echoed when the verify token is one of our accounts'."""
    return svc.webhooks.whatsapp.challenge(mode, token, challenge)


@router.post("/whatsapp")
async def whatsapp(request: Request, svc: Svc,
                   signature: Annotated[str | None, Header(alias="X-Hub-Signature-256", max_length=100)] = None
                   ) -> WebhookOut:
    """Messages and statuses of every business number: each value's `metadata.phone_number_id` names
    its channel account, whose app secret must have signed the body."""
    raw = await _raw(request)
    return await _store(svc, lambda: svc.webhooks.whatsapp.events(raw, signature))


@router.get("/messenger", response_class=PlainTextResponse)
def messenger_handshake(svc: Svc, mode: Annotated[str | None, Query(alias="hub.mode", max_length=32)] = None,
                        token: Annotated[str | None, Query(alias="hub.verify_token", max_length=256)] = None,
                        challenge: Annotated[str | None, Query(alias="hub.challenge", max_length=256)] = None
                        ) -> str:
    """Meta's subscription check for Messenger and Instagram: the challenge echoed when the verify
    token is ours."""
    return svc.webhooks.messenger.challenge(mode, token, challenge)


@router.post("/messenger")
async def messenger(request: Request, svc: Svc,
                    signature: Annotated[str | None, Header(alias="X-Hub-Signature-256", max_length=100)] = None
                    ) -> WebhookOut:
    """Messenger and Instagram: direct messages, delivery and read receipts, comments on the page's posts.
    Each entry's id (a page, an Instagram account) names its channel account."""
    raw = await _raw(request)
    return await _store(svc, lambda: svc.webhooks.messenger.events(raw, signature))


WeChatQuery = Annotated[str | None, Query(max_length=128)]
# A channel account's name, in the webhook URL of providers whose payload does not say which account.
AccountName = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$", description="the channel account's name")]


@router.get("/wechat", response_class=PlainTextResponse)
def wechat_handshake(svc: Svc, signature: WeChatQuery = None, timestamp: WeChatQuery = None,
                     nonce: WeChatQuery = None, echostr: WeChatQuery = None) -> str:
    """WeChat's server-URL check: `echostr` echoed when the signature is ours."""
    return svc.webhooks.wechat.challenge(signature, timestamp, nonce, echostr)


@router.get("/wechat/{account}", response_class=PlainTextResponse)
def wechat_account_handshake(account: AccountName, svc: Svc, signature: WeChatQuery = None,
                             timestamp: WeChatQuery = None, nonce: WeChatQuery = None,
                             echostr: WeChatQuery = None) -> str:
    """The server-URL check of a channel account's official account, with its token."""
    return svc.webhooks.wechat.challenge(signature, timestamp, nonce, echostr, account)


@router.post("/wechat", response_class=PlainTextResponse)
async def wechat(request: Request, svc: Svc, signature: WeChatQuery = None, timestamp: WeChatQuery = None,
                 nonce: WeChatQuery = None, openid: WeChatQuery = None, encrypt_type: WeChatQuery = None,
                 msg_signature: WeChatQuery = None) -> str:
    """A follower's message (XML), stored once by MsgId; "success" at once, the answer by the
    customer-service message API after (anything else would show the follower an error). WeChat
    adds `openid`; in compatible and safe mode `encrypt_type` and `msg_signature`, which covers the
    sealed `<Encrypt>` opened with the EncodingAESKey. The sender is read from the message itself."""
    raw = await _raw(request)
    await _store(svc, lambda: svc.webhooks.wechat.events(raw, signature, timestamp, nonce, msg_signature))
    return "success"


@router.post("/wechat/{account}", response_class=PlainTextResponse)
async def wechat_account(account: AccountName, request: Request, svc: Svc, signature: WeChatQuery = None,
                         timestamp: WeChatQuery = None, nonce: WeChatQuery = None, openid: WeChatQuery = None,
                         encrypt_type: WeChatQuery = None, msg_signature: WeChatQuery = None) -> str:
    """A follower's message to a channel account's official account (its server URL), checked with its
    token (and opened with its EncodingAESKey in safe mode)."""
    raw = await _raw(request)
    await _store(svc, lambda: svc.webhooks.wechat.events(raw, signature, timestamp, nonce, msg_signature, account))
    return "success"


TelegramSecret = Annotated[str | None, Header(alias="X-Telegram-Bot-Api-Secret-Token", max_length=256)]


@router.post("/telegram")
async def telegram(request: Request, svc: Svc, secret: TelegramSecret = None) -> WebhookOut:
    raw = await _raw(request)
    return await _store(svc, lambda: svc.webhooks.telegram.events(raw, secret))


@router.post("/telegram/{account}")
async def telegram_account(account: AccountName, request: Request, svc: Svc, secret: TelegramSecret = None
                           ) -> WebhookOut:
    """A channel account's bot (the URL given to its setWebhook), checked with its secret token."""
    raw = await _raw(request)
    return await _store(svc, lambda: svc.webhooks.telegram.events(raw, secret, account))


# ---------------------------------------------------------------- the phone line


async def _voice(endpoint: str, request: Request, svc: Svc, signature: str | None) -> Response:
    hook = _on(svc.webhooks.twilio_voice, "twilio voice")
    raw = await _raw(request)
    # The URL Twilio signed: the public address when a proxy stands in front (GOPAYCARE_PUBLIC_URL).
    url = twilio_signature.signed_url(svc.settings.public_url, str(request.url), request.url.path, request.url.query)
    call = hook.request(url, raw, signature)
    line = ivr.Line() if endpoint == "transcription" else await run_in_threadpool(svc.phone_line, call.caller)
    answer = hook.answer(endpoint, call, line)
    if answer.events:
        await run_in_threadpool(svc.intake.accept, answer.events)
    return Response(answer.twiml, media_type="application/xml")


@router.post("/twilio/voice", response_class=Response, responses=TWIML)
async def twilio_voice(request: Request, svc: Svc, signature: TwilioSignature = None) -> Response:
    """A call to the hotline starts: the greeting and the choice of language (Twilio's voice URL)."""
    return await _voice("voice", request, svc, signature)


@router.post("/twilio/voice/gather", response_class=Response, responses=TWIML)
async def twilio_voice_gather(request: Request, svc: Svc, signature: TwilioSignature = None) -> Response:
    """The caller pressed a key (or none): the menu's next step."""
    return await _voice("gather", request, svc, signature)


@router.post("/twilio/voice/recording", response_class=Response, responses=TWIML)
async def twilio_voice_recording(request: Request, svc: Svc, signature: TwilioSignature = None) -> Response:
    """The voicemail ended: its recording goes on a callback case."""
    return await _voice("recording", request, svc, signature)


@router.post("/twilio/voice/transcription", response_class=Response, responses=TWIML)
async def twilio_voice_transcription(request: Request, svc: Svc, signature: TwilioSignature = None) -> Response:
    """Twilio's transcription of a voicemail: a note on its case."""
    return await _voice("transcription", request, svc, signature)


@router.post("/twilio/voice/queue", response_class=Response, responses=TWIML)
async def twilio_voice_queue(request: Request, svc: Svc, signature: TwilioSignature = None) -> Response:
    """The caller left an agent queue: talked to an agent, or gave up (a callback case)."""
    return await _voice("queue", request, svc, signature)


@cti_router.post("/cti/{token}", openapi_extra=CTI_BODY)
async def cti(token: Annotated[str, Path(max_length=128, description="GOPAYCARE_CTI_TOKEN")], request: Request,
              svc: Svc) -> WebhookOut:
    """A company PBX reports a call: newCall (agents are told it rings), answer (logged on the caller's
    case), hangup (a missed call becomes a callback case). Zammad's Generic CTI fields, form or JSON."""
    hook = _on(svc.webhooks.cti, "CTI")
    return await _store(svc, hook.events(token, await _raw(request), request.headers.get("content-type")))

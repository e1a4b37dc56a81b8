"""The phone line on Twilio Programmable Voice (or a provider speaking its webhooks and TwiML).

Twilio asks what to do next at each turn of a call with a form-encoded POST signed with
X-Twilio-Signature (`twilio_signature.py`), and we answer with TwiML:

    POST /webhooks/twilio/voice                a call starts: the greeting and the language choice
    POST /webhooks/twilio/voice/gather         a key was pressed (or none): the next step of the menu
    POST /webhooks/twilio/voice/recording      the voicemail ended (<Record>'s action)
    POST /webhooks/twilio/voice/transcription  Twilio's transcription of it (transcribeCallback)
    POST /webhooks/twilio/voice/queue          the caller left an agent queue (<Enqueue>'s action)

The menu itself is `ivr.py`; where the call is in it travels in the query of the URLs we give Twilio
(signed with the rest, so no one else can change it), so nothing is kept between two turns. What
the desk must act on (a transfer, a callback, a voicemail with its recording, a transcription, a
caller who gave up waiting) comes out as `CallEvent`s keyed by CallSid and step: a retried webhook
stores nothing new (channels/intake.py). No database, no HTTP framework here: the route looks the
caller up (`ivr.Line`) and stores the events.

Agents take calls from the queues (`gopaycare-<area>`) with Twilio's <Dial><Queue> in their softphone
or TaskRouter; the case is on the desk already, routed like any other.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode
from xml.etree.ElementTree import Element, SubElement, tostring

from ..platform.errors import PermissionDenied, Unauthenticated, ValidationFailed
from . import ivr, twilio_signature, webhook
from .intake import CallEvent
from .webhook import text

CHANNEL = "phone"
SOURCE = "twilio"
BASE_PATH = "/webhooks/twilio/voice"
MAX_FIELDS = 200  # Twilio sends a few dozen
# Twilio's CallSid is CA + 32 hex digits; compatible providers use UUIDs: an id of their shape.
CALL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{9,63}$")
RECORDING_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{9,63}$")
URL = re.compile(r"^https?://[^\s<>\"']{1,490}$")
# <Say language=...> and a voice that speaks it (Twilio's Google voices; basic voices speak neither
# Chinese nor Indonesian).
SAY = {"zh-CN": ("zh-CN", "Google.cmn-CN-Standard-A"), "en": ("en-US", "Google.en-US-Standard-C"),
       "id": ("id-ID", "Google.id-ID-Standard-A")}
GATHER_SECONDS = 6
ENDPOINTS = ("voice", "gather", "recording", "transcription", "queue")


@dataclass(frozen=True)
class VoiceRequest:
    """One of Twilio's webhook calls, read defensively."""

    call_sid: str
    caller: str  # the customer's number as Twilio gives it ("anonymous" or "" when withheld)
    line: str  # our number
    direction: str  # in | out
    digits: str = ""
    call: ivr.Call | None = None  # where the call is in the menu (None: nowhere yet, start)
    recording: dict[str, Any] | None = None
    transcription: str | None = None
    transcription_status: str | None = None
    queue_result: str = ""


@dataclass(frozen=True)
class VoiceAnswer:
    twiml: str
    events: list[CallEvent] = field(default_factory=list)


def form_pairs(raw: bytes) -> list[tuple[str, str]]:
    """The POST parameters in order (repeated names kept: the signature covers each value)."""
    return webhook.form_pairs(raw, max_fields=MAX_FIELDS)


class TwilioVoiceWebhook:
    def __init__(self, auth_token: str, public_url: str | None = None) -> None:
        self.auth_token = auth_token
        self.public_url = public_url

    # ---------------------------------------------------------------- in

    def request(self, url: str, raw: bytes, signature: str | None) -> VoiceRequest:
        """Twilio's call, verified: 401 without a signature, 403 when it does not match (over `url`,
        the address Twilio called, and every POST parameter), 422 when it names no call."""
        if not signature:
            raise Unauthenticated("the X-Twilio-Signature header is missing")
        try:
            pairs = form_pairs(raw)
        except ValidationFailed:
            raise PermissionDenied("the X-Twilio-Signature does not match this request") from None
        twilio_signature.check(self.auth_token, url, pairs, signature)
        form: dict[str, str] = {}
        for name, value in pairs:
            form.setdefault(name, value)
        return read(form, _query(url))

    # ---------------------------------------------------------------- out

    def answer(self, endpoint: str, request: VoiceRequest, line: ivr.Line) -> VoiceAnswer:
        """What Twilio is to do next on this call, and what the desk is to know of it."""
        if endpoint == "transcription":
            return VoiceAnswer(render_empty(), self._transcription(request))
        call = request.call
        if endpoint == "voice" or call is None:
            step = ivr.start(line)
        elif endpoint == "gather":
            step = ivr.press(call, request.digits, line)
        elif endpoint == "recording":
            step = ivr.recorded(call, line)
        elif endpoint == "queue":
            step = ivr.left_queue(call, request.queue_result, line)
        else:
            raise ValueError(f"unknown voice endpoint {endpoint!r}")
        return VoiceAnswer(render(step, self.urls()), self._outcome(request, step))

    def urls(self) -> Urls:
        return Urls((self.public_url.rstrip("/") if self.public_url else "") + BASE_PATH)

    @staticmethod
    def _outcome(request: VoiceRequest, step: ivr.Step) -> list[CallEvent]:
        outcome = step.outcome
        if outcome is None:
            return []
        return [CallEvent(channel=CHANNEL, source=SOURCE, call_id=request.call_sid, kind=outcome.kind,
                          caller=request.caller, line=request.line, direction=request.direction,
                          language=outcome.language, area=outcome.area, queue=outcome.queue,
                          recording=request.recording if outcome.kind == "voicemail" else None)]

    @staticmethod
    def _transcription(request: VoiceRequest) -> list[CallEvent]:
        if request.transcription_status is None and request.transcription is None:
            return []  # a transcription call that carries none
        return [CallEvent(channel=CHANNEL, source=SOURCE, call_id=request.call_sid, kind="transcription",
                          caller=request.caller, line=request.line, direction=request.direction,
                          text=request.transcription, status=request.transcription_status,
                          recording=request.recording)]


def _query(url: str) -> dict[str, str]:
    """The signed URL's query (where the call is in the menu), first value of each name."""
    found: dict[str, str] = {}
    try:
        pairs = parse_qsl(url.partition("?")[2], max_num_fields=MAX_FIELDS)
    except ValueError:
        return {}
    for name, value in pairs:
        found.setdefault(name, value)
    return found


def _raw_id(value: object) -> str:
    """An id as sent (not cleaned: an id with a NUL or cut to length is not the provider's)."""
    return value.strip() if isinstance(value, str) and len(value) <= 200 else ""


def read(form: Mapping[str, str], query: Mapping[str, str]) -> VoiceRequest:
    """The fields we use, each checked: NUL dropped, lengths bounded, ids of the provider's shape."""
    call_sid = _raw_id(form.get("CallSid"))
    if not CALL_ID.fullmatch(call_sid):
        raise ValidationFailed("CallSid is missing or not a call id", field="CallSid")
    direction = "out" if text(form.get("Direction"), 32).startswith("outbound") else "in"
    sender, receiver = text(form.get("From"), 64).strip(), text(form.get("To"), 64).strip()
    caller, line = (receiver, sender) if direction == "out" else (sender, receiver)
    digits = text(form.get("Digits"), 16).strip()
    recording = None
    url = text(form.get("RecordingUrl"), 500).strip()
    if URL.fullmatch(url):
        sid = _raw_id(form.get("RecordingSid"))
        seconds = text(form.get("RecordingDuration"), 8).strip()
        recording = {"type": "recording", "url": url, "provider_id": sid if RECORDING_ID.fullmatch(sid) else None,
                     "duration": int(seconds) if seconds.isdecimal() else None}
    status = text(form.get("TranscriptionStatus"), 16).strip()
    transcription = text(form.get("TranscriptionText"), 10_000).strip()
    return VoiceRequest(
        call_sid=call_sid, caller=caller, line=line, direction=direction,
        digits=digits if re.fullmatch(r"[0-9*#]{1,16}", digits) else "",
        call=ivr.Call.from_query(query), recording=recording,
        transcription=transcription or None,
        transcription_status=status if re.fullmatch(r"[a-z-]{1,16}", status) else None,
        queue_result=text(form.get("QueueResult"), 32).strip())


# ---------------------------------------------------------------- TwiML


@dataclass(frozen=True)
class Urls:
    """Where Twilio comes back: absolute under GOPAYCARE_PUBLIC_URL, else relative (Twilio resolves a
    relative URL against the one it just requested)."""

    base: str

    def at(self, endpoint: str, call: ivr.Call | None = None) -> str:
        query = urlencode(call.query()) if call is not None else ""
        return f"{self.base}/{endpoint}" + (f"?{query}" if query else "")


def _say(prompt: ivr.Prompt) -> Element:
    language, voice = SAY[prompt.language]
    say = Element("Say", language=language, voice=voice)
    say.text = prompt.sentence()
    return say


def render(step: ivr.Step, urls: Urls) -> str:
    """A step as TwiML."""
    response = Element("Response")
    says = [_say(prompt) for prompt in step.prompts]
    action = step.action
    if isinstance(action, ivr.Gather):
        gather = SubElement(response, "Gather", input="dtmf", numDigits="1", timeout=str(GATHER_SECONDS),
                            actionOnEmptyResult="true", method="POST", action=urls.at("gather", action.then))
        gather.extend(says)
    else:
        response.extend(says)
    if isinstance(action, ivr.Record):
        SubElement(response, "Record", action=urls.at("recording", action.then), method="POST",
                   maxLength=str(action.max_seconds), finishOnKey="#", playBeep="true", transcribe="true",
                   transcribeCallback=urls.at("transcription"))
        # Twilio skips the action of a recording with no sound and goes on: the call still ends there.
        SubElement(response, "Redirect", method="POST").text = urls.at("recording", action.then)
    elif isinstance(action, ivr.Enqueue):
        SubElement(response, "Enqueue", action=urls.at("queue", action.then), method="POST").text = action.queue
    elif isinstance(action, ivr.Hangup):
        SubElement(response, "Hangup")
    return _document(response)


def render_empty() -> str:
    return _document(Element("Response"))


def _document(response: Element) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>' + tostring(response, encoding="unicode")

"""Providers' media (a Telegram photo, a WhatsApp voice note, a Messenger image, a WeChat voice
message), fetched after the message that names it is stored, never inside the webhook's request.

A message from a provider lists its media as `pending` entries (the provider's media id, or a URL).
Posting the message queues `MediaFetcher.fetch` for each, after commit (desk/attachments.py,
tasks.py): it asks the provider for the bytes, reading at most the store's `max_bytes` (a larger
file is refused as soon as its size is known, or as soon as the download passes the limit), keeps
them through the attachment store, and records the entry: `stored`, `refused` (too large, a type not
accepted, a type that contradicts what the provider said), or `failed` with the error once the job's
retries (backoff through the job queue) are spent. A failure that cannot pass by trying again (the
provider does not know the media) fails at once.

Each provider's way to the bytes:
- Telegram: `GET {api_base}bot{token}/getFile?file_id=` → `result.file_path`, then
  `GET {api_base}file/bot{token}/{file_path}`;
- WhatsApp Cloud API: `GET {base}{version}/{media_id}` with the bearer token → JSON with `url`,
  then `GET url` with the same token;
- Messenger and Instagram: the attachment's `payload.url`, as it is (a signed CDN URL);
- WeChat: `GET {api_base}cgi-bin/media/get?access_token=&media_id=` (an error comes back as JSON).
Tokens in URLs (Telegram's, WeChat's) are never put in an error: only the provider's name and status.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from typing import Any, Protocol

import httpx

from ..attachments.store import AttachmentStore, Refused, refused_entry
from .webhook import ident, obj, text
from .wechat import TOKEN_EXPIRED, WeChatSender

log = logging.getLogger(__name__)

TIMEOUT = 30.0
CHUNK = 64 * 1024
# What an entry keeps of the provider's description of the media, whatever became of it.
KEPT = ("type", "provider_id", "mime_type", "filename", "url")


class MediaError(Exception):
    """The media could not be fetched; `transient`: another try may pass."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Download:
    data: bytes
    content_type: str | None  # what the provider's server said (a declaration, checked by sniffing)
    filename: str | None


class MediaSource(Protocol):
    def fetch(self, entry: dict[str, Any], max_bytes: int) -> Download: ...


def _too_large(max_bytes: int) -> Refused:
    return Refused("too_large", f"the file is larger than {max_bytes} bytes")


def _failed(who: str, status: int) -> MediaError:
    # 408, 429 and 5xx may pass; 401 too (a token an operator renews); any other 4xx will not.
    return MediaError(f"{who} answered {status}", transient=status in (401, 408, 429) or status >= 500)


def download(url: str, max_bytes: int, *, who: str, params: dict[str, str] | None = None,
             headers: dict[str, str] | None = None, timeout: float = TIMEOUT) -> Download:
    """GET a file, reading no more than `max_bytes` of it (Refused "too_large" past that)."""
    try:
        with httpx.stream("GET", url, params=params, headers=headers, timeout=timeout,
                          follow_redirects=True) as response:
            if response.status_code >= 300:
                raise _failed(who, response.status_code)
            declared = response.headers.get("content-length", "")
            if declared.isdecimal() and int(declared) > max_bytes:
                raise _too_large(max_bytes)
            chunks, size = [], 0
            for chunk in response.iter_bytes(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise _too_large(max_bytes)
                chunks.append(chunk)
            return Download(b"".join(chunks), response.headers.get("content-type"),
                            _disposition_name(response.headers.get("content-disposition")))
    except httpx.HTTPError as exc:  # its message may hold the URL, and so a token: not kept
        raise MediaError(f"{who} unreachable: {type(exc).__name__}", transient=True) from None


def _get_json(url: str, *, who: str, params: dict[str, str] | None = None,
              headers: dict[str, str] | None = None) -> dict[str, Any]:
    try:
        response = httpx.get(url, params=params, headers=headers, timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        raise MediaError(f"{who} unreachable: {type(exc).__name__}", transient=True) from None
    if response.status_code >= 300:
        raise _failed(who, response.status_code)
    try:
        answer = response.json()
    except ValueError:
        raise MediaError(f"{who} answered something that is not JSON", transient=True) from None
    return obj(answer)


def _disposition_name(header: str | None) -> str | None:
    if not header:
        return None
    message = Message()
    message["content-disposition"] = header
    name = message.get_filename()
    return text(name, 200) or None if isinstance(name, str) else None


def _size_over(value: Any, max_bytes: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > max_bytes


def _media_id(entry: dict[str, Any]) -> str:
    media_id = ident(entry.get("provider_id"))
    if not media_id:
        raise MediaError("the message names no media id", transient=False)
    return media_id


class TelegramMedia:
    def __init__(self, api_base: str, bot_token: str) -> None:
        self.base = api_base.rstrip("/")
        self.bot_token = bot_token

    def fetch(self, entry: dict[str, Any], max_bytes: int) -> Download:
        answer = _get_json(f"{self.base}/bot{self.bot_token}/getFile", who="Telegram",
                           params={"file_id": _media_id(entry)})
        found = obj(answer.get("result"))
        if answer.get("ok") is not True or not found:
            raise MediaError(f"Telegram has no such file ({text(answer.get('description'), 200)})", transient=False)
        if _size_over(found.get("file_size"), max_bytes):
            raise _too_large(max_bytes)
        path = text(found.get("file_path"), 500)
        if not path or ".." in path:
            raise MediaError("Telegram gave no file path", transient=False)
        return download(f"{self.base}/file/bot{self.bot_token}/{path}", max_bytes, who="Telegram")


class WhatsAppMedia:
    def __init__(self, api_base: str, api_version: str, access_token: str) -> None:
        self.base = f"{api_base.rstrip('/')}/{api_version.strip('/')}"
        self.headers = {"Authorization": f"Bearer {access_token}"}

    def fetch(self, entry: dict[str, Any], max_bytes: int) -> Download:
        media_id = _media_id(entry)
        if not media_id.isdecimal():
            raise MediaError("a WhatsApp media id is a number", transient=False)
        found = _get_json(f"{self.base}/{media_id}", who="WhatsApp", headers=self.headers)
        if _size_over(found.get("file_size"), max_bytes):
            raise _too_large(max_bytes)
        url = text(found.get("url"), 2000)
        if not url.startswith(("https://", "http://")):
            raise MediaError("WhatsApp gave no media URL", transient=False)
        got = download(url, max_bytes, who="WhatsApp", headers=self.headers)
        return Download(got.data, text(found.get("mime_type"), 100) or got.content_type, got.filename)


class UrlMedia:
    """Messenger's and Instagram's attachments: a URL that is the file."""

    def __init__(self, who: str) -> None:
        self.who = who

    def fetch(self, entry: dict[str, Any], max_bytes: int) -> Download:
        url = text(entry.get("url"), 2000)
        if not url.startswith(("https://", "http://")):
            raise MediaError("the attachment has no URL", transient=False)
        return download(url, max_bytes, who=self.who)


class WeChatMedia:
    def __init__(self, sender: WeChatSender) -> None:
        self.sender = sender  # its access token, shared with the replies (WeChat keeps one valid)

    def fetch(self, entry: dict[str, Any], max_bytes: int) -> Download:
        media_id = _media_id(entry)
        for attempt in (1, 2):
            try:
                token = self.sender.access_token(renew=attempt == 2)
            except Exception as exc:  # the sender's DeliveryError: no token now
                raise MediaError(f"WeChat gave no access token: {exc}", transient=True) from None
            got = download(f"{self.sender.base}cgi-bin/media/get", max_bytes, who="WeChat",
                           params={"access_token": token, "media_id": media_id})
            if not got.data.lstrip().startswith(b"{"):
                return got
            try:
                code = obj(json.loads(got.data)).get("errcode")
            except ValueError:
                return got
            if code in TOKEN_EXPIRED and attempt == 1:
                continue
            # 40007: no such media (temporary media expire after 3 days); -1: busy.
            raise MediaError(f"WeChat answered errcode {code}", transient=code in (-1, 45009, 45011))
        raise MediaError("WeChat refused the access token", transient=True)


class MediaFetcher:
    """The job's work: one pending media entry of a message fetched, kept, and recorded."""

    def __init__(self, sources: dict[str, MediaSource], files: AttachmentStore,
                 pending: Callable[[int, int], tuple[str, dict[str, Any]] | None],
                 record: Callable[[int, int, dict[str, Any]], None]) -> None:
        self.sources = sources
        self.files = files
        self.pending = pending  # the desk's: the message's channel and entry, if still pending
        self.record = record  # the desk's: the entry as it is now

    def fetch(self, message_id: int, index: int, *, last_try: bool = True) -> str:
        """Returns the entry's state; raises MediaError when another try may pass (and this is not
        the last), for the job queue to try again later."""
        found = self.pending(message_id, index)
        if found is None:
            return "done"
        channel, entry = found
        kept = {key: entry[key] for key in KEPT if entry.get(key) is not None}
        source = self.sources.get(channel)
        if source is None:
            result = {**kept, "state": "failed", "error": f"{channel} media cannot be fetched: the channel is off"}
        else:
            try:
                got = source.fetch(entry, self.files.limits.max_bytes)
            except Refused as refused:
                result = refused_entry(refused, name=entry.get("filename"), declared_type=entry.get("mime_type"),
                                       size=None, **kept)
            except MediaError as exc:
                if exc.transient and not last_try:
                    raise
                log.warning("media not fetched", extra={"message_id": message_id, "error": str(exc)})
                result = {**kept, "state": "failed", "error": str(exc)[:300]}
            else:
                result = self.files.keep(got.data, origin=channel, declared_type=entry.get("mime_type")
                                         or got.content_type, name=entry.get("filename") or got.filename,
                                         origin_key=f"message:{message_id}:{index}", **kept)
        self.record(message_id, index, result)
        return str(result["state"])

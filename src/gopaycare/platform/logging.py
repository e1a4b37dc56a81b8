"""Structured (JSON) logs with the request id attached and personal data masked.

Masking happens in a filter on the handler, so no module can forget it. Secrets (passwords, PINs,
one-time codes) are never passed to a logger in the first place; the filter also drops any
`extra` field whose name says it is a secret, as a second line of defence.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from .pii import mask_text

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# Field names that hold secrets: exact short names, and any name containing the longer words
# (new_password, api_token, client_secret...).
_SECRET_FIELDS = {"pin", "code", "otp"}
_SECRET_PARTS = ("password", "token", "secret", "passcode", "otp_")
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
# A credential in a URL's query (uvicorn logs each WebSocket's path with its query, on its error logger,
# which access_log=False does not silence): `token=…`, `access_token=…`, `ticket=…`, `code=…`, `secret=…`.
_QUERY_SECRET = re.compile(
    r"([?&][A-Za-z_]*(?:token|secret|password|signature|ticket|code|otp|pin)=)[^&\s\"']+", re.IGNORECASE)
# Our credentials by their shape, wherever they appear in a line: agents' session and API tokens
# (gps_, gpc_), customers' access and refresh tokens (gpa_, gpr_), socket tickets (gpt_), visitor
# tokens (gpv.…), and whatever follows "Bearer ".
_CREDENTIAL = re.compile(r"\bgp[acprst]_[A-Za-z0-9_-]{16,}|\bgpv\.[A-Za-z0-9_-]{22}\.\d+\.[A-Za-z0-9_-]+"
                         r"|(?<=Bearer )[^\s\"',]+", re.IGNORECASE)


def scrub_credentials(text: str) -> str:
    """The text with every token, ticket and code in a query, and every token by its shape, redacted."""
    return _CREDENTIAL.sub("[redacted]", _QUERY_SECRET.sub(r"\1[redacted]", text))
# Extras that only repeat the message for a terminal: uvicorn's copy of its message with ANSI colour codes.
_DROPPED = ("color_message",)


def _is_secret(key: object) -> bool:
    if not isinstance(key, str):
        return False
    name = key.lower()
    return name in _SECRET_FIELDS or name.endswith("_pin") or any(part in name for part in _SECRET_PARTS)


def _scrub(value: Any) -> Any:
    """Masked copy of an `extra` value. Dicts, lists and tuples are walked, so personal data or a
    secret one level down in a structured field is caught too (only top-level strings were)."""
    if isinstance(value, str):
        return mask_text(scrub_credentials(value))
    if isinstance(value, dict):
        return {k: "[redacted]" if _is_secret(k) else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_text(scrub_credentials(record.getMessage()))
        record.args = ()
        for key in _DROPPED:
            record.__dict__.pop(key, None)
        for key in list(record.__dict__):
            if key in _STANDARD:
                continue
            record.__dict__[key] = "[redacted]" if _is_secret(key) else _scrub(record.__dict__[key])
        if record.exc_info:
            # Formatters reuse `exc_text` when it is set. Without this the plain-text formatter
            # (GOPAYCARE_LOG_JSON=false) printed tracebacks, and the personal data in exception
            # messages, in clear: only the JSON formatter masked them.
            record.exc_text = mask_text(scrub_credentials(logging.Formatter().formatException(record.exc_info)))
        if record.stack_info:
            record.stack_info = mask_text(scrub_credentials(record.stack_info))
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and value is not None:
                payload[key] = value
        if record.exc_info:
            # Already masked by MaskingFilter when it ran (masking twice would garble emails).
            payload["exc"] = record.exc_text or mask_text(self.formatException(record.exc_info))
        # Objects without a JSON form are written as str(); mask that text as well.
        return json.dumps(payload, ensure_ascii=False, default=lambda o: mask_text(str(o)))


def configure_logging(level: str = "INFO", json_output: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(MaskingFilter())
    handler.setFormatter(
        JsonFormatter() if json_output else logging.Formatter("%(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request's URL at INFO, and some providers put the secret in the URL
    # (Telegram's bot token, WeChat's access_token): our senders log what they did themselves.
    logging.getLogger("httpx").setLevel(logging.WARNING)

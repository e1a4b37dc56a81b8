"""Structured (JSON) logs with the request id attached and personal data masked.

Masking happens in a filter on the handler, so no module can forget it. Secrets (passwords, PINs,
one-time codes) are never passed to a logger in the first place; the filter also drops any
`extra` field whose name says it is a secret, as a second line of defence.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from .pii import mask_text

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

_SECRET_FIELDS = {"password", "pin", "code", "otp", "token", "secret"}
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_text(record.getMessage())
        record.args = ()
        for key in list(record.__dict__):
            if key in _STANDARD:
                continue
            if key.lower() in _SECRET_FIELDS:
                record.__dict__[key] = "[redacted]"
            elif isinstance(record.__dict__[key], str):
                record.__dict__[key] = mask_text(record.__dict__[key])
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
            payload["exc"] = mask_text(self.formatException(record.exc_info))
        return json.dumps(payload, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO", json_output: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(MaskingFilter())
    handler.setFormatter(
        JsonFormatter() if json_output else logging.Formatter("%(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)

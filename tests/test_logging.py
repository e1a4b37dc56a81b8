"""Structured logs: JSON lines, personal data masked, secrets redacted, the request id attached."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from gopaycare.platform.logging import JsonFormatter, MaskingFilter, configure_logging, request_id_var

PHONE = "+6281234567890"
EMAIL = "wang.xiaoming@example.com"
NIK = "3171012345670001"
CARD = "4111 1111 1111 1111"


class Capture:
    """A logger whose one handler masks and formats as JSON into a buffer."""

    def __init__(self, name: str) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.addFilter(MaskingFilter())
        self.handler.setFormatter(JsonFormatter())
        self.logger = logging.getLogger(name)
        self.logger.handlers[:] = [self.handler]
        self.logger.setLevel(logging.DEBUG)
        self.logger.propagate = False

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def only(self) -> dict[str, Any]:
        lines = self.lines()
        assert len(lines) == 1
        return lines[0]


@pytest.fixture
def capture(request: pytest.FixtureRequest) -> Iterator[Capture]:
    cap = Capture(f"gopaycare.tests.{request.node.name}")
    yield cap
    cap.logger.handlers.clear()
    cap.logger.propagate = True


def _no_long_digit_runs(text: str) -> None:
    """No run of 5+ digits survives: phone, NIK and card numbers are all cut down to 4."""
    assert re.search(r"\d{5,}", text) is None, text


def test_a_log_line_is_json_with_personal_data_masked(capture):
    # When a line mentions a phone, an email, an ID number (NIK) and a card number
    capture.logger.info(f"customer {PHONE} mail {EMAIL} NIK {NIK} card {CARD} asked for help")

    # Then it is one JSON object with the standard fields and everything masked
    line = capture.only()
    assert set(line) == {"ts", "level", "logger", "msg"}
    assert (line["level"], line["logger"]) == ("INFO", capture.logger.name)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["ts"])
    msg = line["msg"]
    assert msg.startswith("customer 0812****7890 mail w***g@example.com NIK ")
    assert msg.endswith(" card **** **** **** 1111 asked for help")
    assert "0001" in msg  # the NIK keeps its last four digits only
    for secret in (PHONE, PHONE[1:], EMAIL, NIK, NIK[:12], CARD, "4111 1111"):
        assert secret not in msg
    _no_long_digit_runs(msg)


@pytest.mark.parametrize("phone, masked", [
    ("+6281234567890", "0812****7890"),
    ("081234567890", "0812****7890"),
    ("0812-3456-7890", "0812****7890"),
    ("+62 812 3456 7890", "0812****7890"),
])
def test_phone_numbers_in_every_common_format_are_masked(capture, phone, masked):
    capture.logger.warning("callback requested to %s", phone)

    assert capture.only()["msg"] == f"callback requested to {masked}"


def test_percent_args_are_formatted_before_masking(capture):
    # When the phone number arrives as a %-argument rather than in the message itself
    capture.logger.info("code sent to %s (%d%% of quota)", PHONE, 40)

    # Then the formatted text is masked, and formatting is not applied twice
    assert capture.only()["msg"] == "code sent to 0812****7890 (40% of quota)"


@pytest.mark.parametrize("field", ["password", "pin", "code", "otp", "token", "secret", "PIN", "Password"])
def test_an_extra_field_named_like_a_secret_is_redacted(capture, field):
    capture.logger.info("login attempt", extra={field: "258147", "customer_id": 7})

    line = capture.only()
    assert line[field] == "[redacted]"
    assert line["customer_id"] == 7
    assert "258147" not in capture.stream.getvalue()


def test_other_string_extras_are_masked_and_non_strings_kept(capture):
    capture.logger.info("message delivered", extra={"to": PHONE, "email": EMAIL, "outbox_id": 42,
                                                    "channel": "sms", "ok": True, "nothing": None})

    line = capture.only()
    assert line["to"] == "0812****7890"
    assert line["email"] == "w***g@example.com"
    assert (line["outbox_id"], line["channel"], line["ok"]) == (42, "sms", True)
    assert "nothing" not in line


def test_personal_data_and_secrets_nested_in_an_extra_are_masked_too(capture):
    # When a structured extra holds personal data and a secret one level down
    capture.logger.info("reset requested", extra={
        "details": {"phone": PHONE, "code": "123456", "channels": ["sms", EMAIL]},
        "attempt": ("pin", "999999"),
    })

    # Then nothing leaks out of the nesting either
    line = capture.only()
    assert line["details"] == {"phone": "0812****7890", "code": "[redacted]", "channels": ["sms", "w***g@example.com"]}
    assert line["attempt"] == ["pin", "999999"]  # a value that looks like no PII is left alone
    output = capture.stream.getvalue()
    for secret in (PHONE, PHONE[1:], EMAIL, "123456"):
        assert secret not in output


def test_an_object_without_a_json_form_is_written_masked(capture):
    # Given an object whose text holds a phone number
    class Caller:
        def __str__(self) -> str:
            return f"Caller({PHONE})"

    # When it is logged as an extra
    capture.logger.info("incoming call", extra={"caller": Caller()})

    # Then its text is written, masked
    assert capture.only()["caller"] == "Caller(0812****7890)"


def test_the_request_id_appears_when_set(capture):
    # Given a request in progress
    token = request_id_var.set("req-7f3a")
    try:
        capture.logger.info("inside a request")
    finally:
        request_id_var.reset(token)

    # When a line is logged outside any request
    capture.logger.info("outside")

    # Then only the first carries the request id
    inside, outside = capture.lines()
    assert inside["request_id"] == "req-7f3a"
    assert "request_id" not in outside


def test_an_exception_traceback_is_masked(capture):
    # When an exception whose text holds a phone and an email is logged
    try:
        raise ValueError(f"no wallet for {PHONE} / {EMAIL}")
    except ValueError:
        capture.logger.exception("lookup failed for %s", PHONE)

    # Then the traceback is in "exc", masked, and the line is still one JSON object
    line = capture.only()
    assert (line["level"], line["msg"]) == ("ERROR", "lookup failed for 0812****7890")
    assert line["exc"].startswith("Traceback (most recent call last):")
    assert line["exc"].endswith("ValueError: no wallet for 0812****7890 / w***g@example.com")
    assert PHONE not in capture.stream.getvalue() and EMAIL not in capture.stream.getvalue()


# ---------------------------------------------------------------- configure_logging


@contextmanager
def configured(level: str, json_output: bool) -> Iterator[logging.Logger]:
    """configure_logging for the body of one test, then the root logger as it was (restored in
    the same test phase, so pytest's own capture handlers are left exactly as pytest set them)."""
    root = logging.getLogger()
    handlers, old_level = root.handlers[:], root.level
    configure_logging(level, json_output=json_output)
    try:
        yield root
    finally:
        root.handlers[:] = handlers
        root.setLevel(old_level)


def test_configure_logging_json_writes_masked_json_to_stderr(capsys):
    # Given the process logging configured for production
    with configured("WARNING", json_output=True) as root:
        # When modules log at several levels
        logging.getLogger("gopaycare.identity").info("not shown %s", PHONE)
        logging.getLogger("gopaycare.identity").warning("too many codes for %s", PHONE, extra={"pin": "1234"})

        # Then one handler writes only the warning, as masked JSON, to stderr
        assert len(root.handlers) == 1
        assert root.level == logging.WARNING
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert len(lines) == 1
    assert lines[0]["msg"] == "too many codes for 0812****7890"
    assert lines[0]["pin"] == "[redacted]"
    assert lines[0]["logger"] == "gopaycare.identity"


def test_uvicorn_colour_copy_of_the_message_is_left_out_of_json_logs(capsys):
    # Given the process logging configured for production
    with configured("INFO", json_output=True):
        # When uvicorn logs as it does, with an ANSI-coloured copy of the message in `color_message`
        logging.getLogger("uvicorn.error").info(
            "Uvicorn running on %s (Press CTRL+C to quit)", "http://127.0.0.1:8000",
            extra={"color_message": "Uvicorn running on \x1b[1m%s\x1b[0m (Press CTRL+C to quit)"})

    # Then the JSON line holds the plain message only: no colour field, no escape code anywhere
    err = capsys.readouterr().err
    [line] = [json.loads(text) for text in err.splitlines()]
    assert line["msg"] == "Uvicorn running on http://127.0.0.1:8000 (Press CTRL+C to quit)"
    assert "color_message" not in line
    assert "\x1b" not in err and "\\u001b" not in err


def test_configure_logging_plain_text_masks_the_message_and_the_traceback(capsys):
    # Given plain-text logs (GOPAYCARE_LOG_JSON=false)
    with configured("INFO", json_output=False):
        # When a line and an exception holding personal data are logged
        log = logging.getLogger("gopaycare.web")
        log.info("login by %s", EMAIL)
        try:
            raise RuntimeError(f"customer {PHONE} not found")
        except RuntimeError:
            log.exception("unhandled error")

    # Then neither the message nor the traceback shows them in clear
    err = capsys.readouterr().err
    assert "INFO gopaycare.web login by w***g@example.com" in err
    assert "RuntimeError: customer 0812****7890 not found" in err
    assert PHONE not in err and EMAIL not in err


def test_configure_logging_replaces_previous_handlers():
    with configured("INFO", json_output=True), configured("DEBUG", json_output=False) as root:
        assert len(root.handlers) == 1
        assert root.level == logging.DEBUG
        handler = root.handlers[0]
        assert isinstance(handler, logging.StreamHandler) and handler.stream is sys.stderr
        assert any(isinstance(f, MaskingFilter) for f in handler.filters)


@pytest.mark.parametrize("line", [
    '127.0.0.1:45092 - "WebSocket /api/v1/me/chat/ws?token=-wvG76dVqWEXikuPU3P&conversation_id=1&after=0" [accepted]',
    '"WebSocket /api/v1/events/ws?after=3&token=abc.DEF_123" 403',
    "GET /cgi-bin/token?grant_type=client_credential&appid=wx1&secret=s3cr3t-value",
    "POST /x?access_token=EAAG-page-token",
])
def test_a_credential_in_a_logged_url_is_redacted(capture, line):
    capture.logger.info(line)
    msg = capture.only()["msg"]
    for secret in ("-wvG76dVqWEXikuPU3P", "abc.DEF_123", "s3cr3t-value", "EAAG-page-token"):
        assert secret not in msg
    assert "[redacted]" in msg and ("conversation_id=1" in msg or "after=3" in msg or "appid=wx1" in msg
                                    or "/x?" in msg)

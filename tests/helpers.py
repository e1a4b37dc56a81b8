"""Helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

import socket
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Start all calls at the same moment; return each result or the exception it raised."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[i] = call()
        except Exception as exc:  # the race outcome is asserted by the test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a racing call hung (deadlock?)"
    return results


def say(bot: Any, phone: str, text: str, lang: str, channel: str = "whatsapp") -> Any:
    """One customer message to the assistant, from a registered phone on WhatsApp (or the phone line)."""
    kind = "whatsapp" if channel == "whatsapp" else "phone"
    return bot.chat(channel=channel, identity_kind=kind, identity_value=phone, body=text, language=lang)


def codes_to(svc: Any, destination: str) -> list[Any]:
    """The one-time codes' messages sent to an address (not the assistant's replies, which go to
    the same number on WhatsApp)."""
    return [m for m in svc.outbox.messages_to(destination) if m.purpose != "reply"]


def joined(answer: Any) -> str:
    return "\n".join(answer.replies)


def chat_frames(ws: Any, *, messages: int, acks: int = 0) -> list[dict[str, Any]]:
    """Frames of the customer's chat socket until `messages` message frames and `acks` acks have
    come (bounded)."""
    got: list[dict[str, Any]] = []
    for _ in range(50):
        if sum(f["type"] == "message" for f in got) >= messages and sum(f["type"] == "ack" for f in got) >= acks:
            return got
        got.append(ws.receive_json())
    raise AssertionError(f"expected {messages} messages and {acks} acks, got {got}")


def open_socket(client: Any, path: str, token: str | None = None, *, visitor_token: str | None = None,
                **query: Any) -> Any:
    """Open a WebSocket as apps do: the token in the `Authorization` header (a visitor's token beside a
    customer's in `X-Visitor-Token`), never in the URL, where the server refuses it."""
    headers = {}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    if visitor_token is not None:
        headers["x-visitor-token"] = visitor_token
    url = path + ("?" + urlencode(query) if query else "")
    return client.websocket_connect(url, headers=headers)


def api_client(svc: Any) -> Any:
    """A TestClient over the whole app built on these services (use it as a context manager)."""
    with warnings.catch_warnings():
        # Starlette 1.x asks for httpx2 behind its TestClient; httpx (already a dependency) works.
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    from gopaycare.web.app import create_app

    return TestClient(create_app(svc))


@contextmanager
def assisted_services(settings: Any, clock: Any, nlu: Any) -> Iterator[Any]:
    """Services on `settings` (a channel's, say) with jobs run at once and the assistant on the
    run's product model: what a channel test posts is stored, answered and sent."""
    from gopaycare.container import build

    services = build(settings, clock=clock, immediate_jobs=True)
    services.wallet.bootstrap()
    services._assistant = services.make_assistant(nlu)
    try:
        yield services
    finally:
        services.close()


def free_port() -> int:
    """A TCP port nobody listens on right now, on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])

"""A provider's HTTP API on loopback (Telegram's Bot API, Meta's Graph API...): it records every
request and answers what the test's `answer` function says, so a sender is tested against the real
request format over a real socket. An answer is JSON (a dict), or a file (`Media`: a provider's
media download, with the type its server declares)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Media:
    data: bytes
    content_type: str = "application/octet-stream"
    headers: dict[str, str] = field(default_factory=dict)
    length: bool = True  # False: no Content-Length (the body ends when the connection closes)


Answer = Callable[[Request], tuple[int, "dict[str, Any] | Media"]]


@dataclass
class FakeApi:
    answer: Answer
    base_url: str = ""
    requests: list[Request] = field(default_factory=list)


@contextmanager
def serve(answer: Answer) -> Iterator[FakeApi]:
    fake = FakeApi(answer)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            self.answer("POST")

        def do_GET(self) -> None:  # noqa: N802
            self.answer("GET")

        def answer(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(method, self.path, {k.lower(): v for k, v in self.headers.items()},
                              self.rfile.read(length))
            fake.requests.append(request)
            status, payload = fake.answer(request)
            media = payload if isinstance(payload, Media) else Media(json.dumps(payload).encode(), "application/json")
            self.send_response(status)
            self.send_header("Content-Type", media.content_type)
            if media.length:
                self.send_header("Content-Length", str(len(media.data)))
            for name, value in media.headers.items():
                self.send_header(name, value)
            self.end_headers()
            try:
                self.wfile.write(media.data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # a client that stopped reading (past its size limit)

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)

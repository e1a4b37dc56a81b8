"""A provider's HTTP API on loopback (Telegram's Bot API, Meta's Graph API...): it records every
request and answers what the test's `answer` function says, so a sender is tested against the real
request format over a real socket."""

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


Answer = Callable[[Request], tuple[int, dict[str, Any]]]


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
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

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

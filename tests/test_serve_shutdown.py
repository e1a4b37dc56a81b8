"""SIGTERM stops a real `gopaycare serve` within a few seconds, though chat sockets are open (one
connected and quiet, one whose client vanished without closing): uvicorn would otherwise wait for every
socket to end by itself, which a chat socket never does (cli.SHUTDOWN_GRACE_SECONDS)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from gopaycare.cli import SHUTDOWN_GRACE_SECONDS

GOPAYCARE = Path(sys.executable).with_name("gopaycare")
PORTS = range(18300, 18400)  # this suite's loopback range for servers it starts


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port in 18300-18399")


def wait_ready(base: str, process: subprocess.Popen[bytes], limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited on start"
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("the server did not start")


@pytest.fixture
def server(tmp_path, product_nlu, product_model_dir):
    port = free_port()
    env = {**os.environ, "GOPAYCARE_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
           "GOPAYCARE_JOBS_PATH": str(tmp_path / "jobs.db"), "GOPAYCARE_MODEL_DIR": product_model_dir,
           "GOPAYCARE_SECRET_KEY": "shutdown-secret", "GOPAYCARE_PASSWORD_HASH_PROFILE": "fast",
           "GOPAYCARE_INBOUND_SMTP_ENABLED": "false", "GOPAYCARE_LOG_LEVEL": "WARNING"}
    env.pop("GOPAYCARE_REDIS_URL", None)
    process = subprocess.Popen([str(GOPAYCARE), "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(f"http://127.0.0.1:{port}", process)
        yield port, process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_sigterm_stops_serve_within_seconds_with_sockets_open(server):
    port, process = server
    base = f"127.0.0.1:{port}"
    tokens = [httpx.post(f"http://{base}/api/v1/chat/visitors", json={}, timeout=60).json()["token"]
              for _ in range(2)]
    url = f"ws://{base}/api/v1/me/chat/ws"
    with connect(url, additional_headers={"Authorization": f"Bearer {tokens[0]}"}, open_timeout=60), \
            connect(url, additional_headers={"Authorization": f"Bearer {tokens[1]}"}, open_timeout=60) as vanished:
        vanished.socket.shutdown(socket.SHUT_RDWR)  # gone without a closing handshake
        process.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        process.wait(timeout=SHUTDOWN_GRACE_SECONDS + 7)  # raises if it hangs on the sockets
        took = time.monotonic() - stopped
    assert process.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it has stopped
    assert took < SHUTDOWN_GRACE_SECONDS + 7

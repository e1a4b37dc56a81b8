"""Scaled mode, the hard way: two `gopaycare serve` processes and a `gopaycare worker` on one
PostgreSQL and one Redis. A customer chats on server A; A is killed (SIGKILL) mid-conversation; the
app reconnects to server B with the last sequence number it saw and goes on. Every message of the
conversation (theirs and every reply, including the one the worker released while A was dead)
arrives exactly once, in order, across the two connections."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from websockets.sync.client import connect

from gopaycare.container import build
from gopaycare.migrations import upgrade
from gopaycare.platform.settings import load_settings

from .conftest import PASSWORD, PG_ADMIN_URL, PIN, REDIS_URL, need_service
from .helpers import free_port

# Three processes start and load the model: slow on a busy two-core machine, bounded all the same.
pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(600)]

PHONE = "+6281234567890"
GOPAYCARE = Path(sys.executable).with_name("gopaycare")


@pytest.fixture
def scaled(tmp_path, product_nlu, product_model_dir) -> Iterator[dict[str, Any]]:
    """A fresh database with one customer, a worker, and two servers (their URLs and processes)."""
    need_service("PostgreSQL", "127.0.0.1", 5432)
    need_service("Redis", "127.0.0.1", 6379)
    name = f"gopaycare_failover_{os.getpid()}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    upgrade(url)
    env = {**os.environ, "GOPAYCARE_DATABASE_URL": url, "GOPAYCARE_REDIS_URL": REDIS_URL,
           "GOPAYCARE_JOBS_QUEUE": f"gopaycare-failover-{uuid.uuid4().hex}", "GOPAYCARE_LOG_LEVEL": "WARNING",
           "GOPAYCARE_PASSWORD_HASH_PROFILE": "fast", "GOPAYCARE_SECRET_KEY": "failover-secret",
           "GOPAYCARE_MODEL_DIR": product_model_dir, "GOPAYCARE_JOBS_PATH": str(tmp_path / "jobs.db")}
    services = build(load_settings(database_url=url, password_hash_profile="fast", secret_key="failover-secret",
                                   jobs_path=str(tmp_path / "jobs.db")), immediate_jobs=True, senders={})
    services.wallet.bootstrap()
    services.identity.register(phone=PHONE, name="Wang Xiaoming", password=PASSWORD, pin=PIN, language="zh-CN")
    services.close()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        processes.append(subprocess.Popen([str(GOPAYCARE), "worker", "--workers", "2"], env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        servers = []
        for _ in range(2):
            port = free_port()
            processes.append(subprocess.Popen([str(GOPAYCARE), "serve", "--host", "127.0.0.1", "--port", str(port)],
                                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            servers.append((f"127.0.0.1:{port}", processes[-1]))
        for address, process in servers:
            _wait_ready(address, process)
        yield {"servers": servers}
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def _wait_ready(address: str, process: subprocess.Popen[bytes], limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert process.poll() is None, "a server exited on start"
        try:
            if httpx.get(f"http://{address}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{address} did not start")


def _token(address: str) -> str:
    answer = httpx.post(f"http://{address}/api/v1/auth/login", json={"login": PHONE, "password": PASSWORD},
                        timeout=60)
    return answer.json()["token"]


def _say_and_collect(ws, client_id: str, body: str, got: list[dict[str, Any]]) -> None:
    """Send a message; collect frames until it is on the stream and answered (bounded)."""
    ws.send(json.dumps({"type": "message", "client_id": client_id, "body": body}))
    mine = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        frame = json.loads(ws.recv(timeout=60))
        if frame["type"] == "message":
            got.append(frame)
            if frame.get("client_id") == client_id:
                mine = frame["seq"]
            elif mine is not None and frame["direction"] == "out" and frame["seq"] > mine:
                return
    raise AssertionError(f"{client_id} was not answered in time: {got}")


def test_a_killed_server_loses_nothing_and_doubles_nothing(scaled):
    (address_a, server_a), (address_b, _) = scaled["servers"]
    token = _token(address_a)
    seen: list[dict[str, Any]] = []

    bearer = {"Authorization": f"Bearer {token}"}
    with connect(f"ws://{address_a}/api/v1/me/chat/ws", open_timeout=60, additional_headers=bearer) as ws:
        _say_and_collect(ws, "m1", "我的付款为什么失败了", seen)
        _say_and_collect(ws, "m2", "我的退款什么时候到账", seen)
        ws.send(json.dumps({"type": "message", "client_id": "m3", "body": "cashback belum masuk"}))
        while json.loads(ws.recv(timeout=60))["type"] != "ack":
            pass  # m3 is stored and answered; its frames are still on their way when A dies
        server_a.send_signal(signal.SIGKILL)
        server_a.wait(timeout=20)
    last = max(f["seq"] for f in seen)
    conversation_id = seen[0]["conversation_id"]

    with connect(f"ws://{address_b}/api/v1/me/chat/ws?conversation_id={conversation_id}&after={last}",
                 open_timeout=60, additional_headers=bearer) as ws:
        _say_and_collect(ws, "m4", "how do I reset my PIN", seen)

    seqs = [f["seq"] for f in seen]
    assert seqs == list(range(1, len(seqs) + 1)), seqs  # every number once, in order, none missing
    mine = [f["client_id"] for f in seen if f["direction"] == "in"]
    assert mine == ["m1", "m2", "m3", "m4"]
    replies = [f for f in seen if f["direction"] == "out"]
    assert len(replies) >= 4 and len({f["id"] for f in seen}) == len(seen)

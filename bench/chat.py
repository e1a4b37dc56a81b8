"""Live chat benchmark: customer-agent pairs on their sockets, against a bare WebSocket relay.

What it measures (the default, --mode pairs). N customers each hold `/api/v1/me/chat/ws` open on a
real `gopaycare serve` process (PostgreSQL, jobs in the process) and N agents each hold the agents'
stream `/api/v1/events/ws`; each customer's conversation was handed over to a person (the customer
asked for one, through the assistant) and assigned to that pair's agent. In a closed loop for
--seconds each pair exchanges messages: the customer sends on its socket and the agent sees it on
theirs (`message.created`: stored on the desk, numbered, announced after commit through the hub);
the agent answers with `POST /api/v1/tickets/{id}/messages` and the customer sees the reply on its
socket (queued in the outbox, released by the chat's sender, numbered, read from the table).
Reported: messages per second (both directions) and the p50/p95/p99 delivery time, send -> seen by
the other side, for each direction and overall.

--mode assistant: customers only, each message answered by the assistant (the bot's turn in the
loop, the customer's own message timed back on its stream).

Baseline, in the same run: a bare relay (Starlette's WebSocket and HTTP on uvicorn, the library our
server uses, no application) driven by the same clients: what a customer sends on its socket is
forwarded to its agent's socket, and what the agent POSTs is forwarded to the customer's socket.
The ratio ours/relay prices everything the application adds (storage, ordering, permissions, the
outbox). The issue's aim is p99 < 50 ms at 1,000 messages/s with 2,000 connections and a ratio of
at least 0.5.

Bounded: every loop stops after --seconds, and --connections caps the pairs (2,000 sockets at most).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import websockets
from common import (
    DEFAULT_ADMIN_URL,
    database_url,
    drop_database,
    free_port,
    percentile,
    positive_counts,
    recreate_database,
    spawn,
    start_gopaycare,
    stop_all,
)
from sqlalchemy import create_engine, text

from gopaycare.migrations import upgrade

DB_NAME = "gopaycare_bench_chat"
PASSWORD = "Bench-pass1"
TEXTS = ["saldo saya hilang setelah top up", "my payment failed, why?", "我的退款什么时候到账",
         "cashback belum masuk", "how do I reset my PIN"]
REPLIES = ["Baik, kami cek sekarang", "Let me check that for you", "我来帮您查一下"]
# Asked first by every customer of a pair, so the conversation is a person's (not timed).
ASK_FOR_A_PERSON = "I want to talk to a human agent please"
REDIS_URL = "redis://127.0.0.1:6379/13"
WAIT = 60  # seconds any single delivery may take before the run is called broken


def _wait_for(url: str, server: subprocess.Popen[bytes], limit: float = 300.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            if httpx.get(url, timeout=5).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer in time")


@dataclass
class Tally:
    to_agent: list[float] = field(default_factory=list)  # customer sends -> the agent sees it, ms
    to_customer: list[float] = field(default_factory=list)  # the agent sends -> the customer sees it, ms
    replies: int = 0  # the assistant's replies (assistant mode)

    def row(self, connections: int, elapsed: float) -> dict[str, float]:
        both = self.to_agent + self.to_customer
        return {"connections": connections, "messages": len(both), "replies": self.replies,
                "per_second": round(len(both) / elapsed, 1),
                **{f"{name}_p{q}_ms": round(percentile(values, q), 2)
                   for name, values in (("all", both), ("to_agent", self.to_agent),
                                        ("to_customer", self.to_customer)) for q in (50, 95, 99)}}


# A socket to open: its URL and the bearer token it sends in the Authorization header (never in the URL).
Socket = tuple[str, str | None]


def _connect(target: Socket) -> websockets.connect:
    url, token = target
    headers = {"Authorization": f"Bearer {token}"} if token else None
    return websockets.connect(url, max_size=2**20, additional_headers=headers)


@dataclass(frozen=True)
class Pair:
    customer_url: Socket  # the customer's socket
    agent_url: Socket  # the agent's socket
    reply_url: str  # where the agent POSTs an answer
    agent_token: str | None  # None for the relay
    ticket_id: int | None


# ---------------------------------------------------------------- the clients


async def _pair(pair: Pair, index: int, until: float, tally: Tally, http: httpx.AsyncClient) -> None:
    """One customer and one agent taking turns: each message timed until the other side sees it."""
    headers = {"Authorization": f"Bearer {pair.agent_token}"} if pair.agent_token else {}
    async with _connect(pair.customer_url) as customer, _connect(pair.agent_url) as agent:
        n = 0
        while time.monotonic() < until:
            n += 1
            client_id = f"p{index}-{n}"
            started = time.perf_counter()
            await customer.send(json.dumps({"type": "message", "client_id": client_id,
                                            "body": TEXTS[n % len(TEXTS)]}))
            await _until(agent, lambda got, sent=client_id: _customer_message_for(got, pair.ticket_id, sent))
            tally.to_agent.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            reply = f"{REPLIES[n % len(REPLIES)]} #{index}-{n}"
            answered = await http.post(pair.reply_url, json={"body": reply}, headers=headers)
            answered.raise_for_status()
            await _until(customer, lambda got, sent=reply: got.get("type") == "message" and got.get("body") == sent)
            tally.to_customer.append((time.perf_counter() - started) * 1000)


def _customer_message_for(got: dict, ticket_id: int | None, client_id: str) -> bool:
    if ticket_id is None:  # the relay forwards the customer's own frame
        return got.get("client_id") == client_id
    payload = got.get("payload") or {}
    return got.get("kind") == "message.created" and got.get("ticket_id") == ticket_id \
        and payload.get("direction") == "in"


async def _until(ws: websockets.ClientConnection, wanted) -> dict:  # noqa: ANN001 - a predicate
    while True:
        got = json.loads(await asyncio.wait_for(ws.recv(), timeout=WAIT))
        if wanted(got):
            return got


async def _drive_pairs(pairs: list[Pair], seconds: float) -> dict[str, float]:
    tally = Tally()
    limits = httpx.Limits(max_connections=len(pairs), max_keepalive_connections=len(pairs))
    async with httpx.AsyncClient(timeout=WAIT, limits=limits) as http:
        started = time.monotonic()
        await asyncio.gather(*(_pair(p, i, started + seconds, tally, http) for i, p in enumerate(pairs)))
        return tally.row(len(pairs), time.monotonic() - started)


async def _customer(url: Socket, index: int, until: float, tally: Tally) -> None:
    """Assistant mode: a customer alone, each message answered by the bot on the same socket."""
    async with _connect(url) as ws:
        n = 0
        while time.monotonic() < until:
            n += 1
            client_id = f"b{index}-{n}"
            started = time.perf_counter()
            await ws.send(json.dumps({"type": "message", "client_id": client_id, "body": TEXTS[n % len(TEXTS)]}))
            while True:
                got = json.loads(await asyncio.wait_for(ws.recv(), timeout=WAIT))
                if got.get("type") == "message" and got.get("client_id") == client_id:
                    break
                if got.get("type") == "message":
                    tally.replies += 1
            tally.to_agent.append((time.perf_counter() - started) * 1000)


async def _drive_assistant(urls: list[Socket], seconds: float) -> dict[str, float]:
    tally = Tally()
    started = time.monotonic()
    await asyncio.gather(*(_customer(url, i, started + seconds, tally) for i, url in enumerate(urls)))
    return tally.row(len(urls), time.monotonic() - started)


# ---------------------------------------------------------------- the bare relay


def relay_app():  # noqa: ANN201 - an ASGI app
    """Each pair's two sockets and the agent's POST, forwarded as they come; nothing stored."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    sockets: dict[tuple[str, str], WebSocket] = {}

    async def side(websocket: WebSocket) -> None:
        pair, role = websocket.path_params["pair"], websocket.path_params["role"]
        await websocket.accept()
        sockets[(pair, role)] = websocket
        try:
            while True:
                frame = await websocket.receive_text()
                if role == "customer":
                    await sockets[(pair, "agent")].send_text(frame)
        except WebSocketDisconnect:
            sockets.pop((pair, role), None)

    async def answer(request: Request) -> JSONResponse:
        body = await request.json()
        await sockets[(request.path_params["pair"], "customer")].send_json({"type": "message", "body": body["body"]})
        return JSONResponse({"id": 1}, status_code=201)

    return Starlette(routes=[WebSocketRoute("/ws/{pair}/{role}", side), Route("/pairs/{pair}/messages", answer,
                                                                              methods=["POST"])])


def run_relay(port: int) -> None:
    import uvicorn

    uvicorn.run(relay_app(), host="127.0.0.1", port=port, log_level="warning")


def measure_relay(connections: int, seconds: float, mode: str) -> dict[str, float]:
    port = free_port()
    server = spawn([sys.executable, __file__, "--relay-server", str(port)], dict(os.environ))
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        base = f"ws://127.0.0.1:{port}"
        if mode == "assistant":  # the customer's frame comes straight back on its own socket
            return asyncio.run(_drive_assistant([(f"{base}/ws/{i}/agent", None) for i in range(connections)],
                                                    seconds))
        pairs = [Pair((f"{base}/ws/{i}/customer", None), (f"{base}/ws/{i}/agent", None),
                      f"http://127.0.0.1:{port}/pairs/{i}/messages", None, None) for i in range(connections)]
        return asyncio.run(_drive_pairs(pairs, seconds))
    finally:
        stop_all([server])


# ---------------------------------------------------------------- ours


def _seed(env: dict[str, str], count: int) -> list[str]:
    """Registered customers with wallets (as registration leaves them), a supervisor and one agent per
    customer (no team: each sees the tickets assigned to them); the agents' API tokens."""
    from gopaycare.container import build
    from gopaycare.platform.settings import load_settings

    services = build(load_settings(database_url=env["GOPAYCARE_DATABASE_URL"], password_hash_profile="fast",
                                   jobs_path=env["GOPAYCARE_JOBS_PATH"]), immediate_jobs=True, senders={})
    try:
        services.wallet.bootstrap()
        services.agents.create("lead@bench.test", "supervisor", password=PASSWORD)
        tokens = [services.agents.create_token("lead@bench.test")]
        for i in range(count):
            services.identity.register(phone=f"+62815{i:08d}", name=f"Bench {i}", email=None,
                                       id_number=f"3171{i:012d}", password=PASSWORD, pin="258147", language="id")
            services.agents.create(f"agent{i}@bench.test", "agent", password=PASSWORD)
            tokens.append(services.agents.create_token(f"agent{i}@bench.test"))
        return tokens
    finally:
        services.close()


def _login(client: httpx.Client, base: str, phone: str) -> str:
    response = client.post(f"{base}/api/v1/auth/login", json={"login": phone, "password": PASSWORD})
    if response.status_code != 200:
        raise RuntimeError(f"the customer {phone} could not log in: {response.status_code} {response.text}")
    return str(response.json()["token"])


async def _hand_over(url: Socket) -> int:
    """The customer asks for a person (the assistant hands the conversation over); its id."""
    async with _connect(url) as ws:
        await ws.send(json.dumps({"type": "message", "client_id": "ask-for-a-person", "body": ASK_FOR_A_PERSON}))
        ack = await _until(ws, lambda got: got.get("type") == "ack")
        await _until(ws, lambda got: got.get("type") == "message" and got.get("author_type") == "bot")
        return int(ack["conversation_id"])


def _pairs_on(bases: list[str], tokens: list[str], agent_tokens: list[str], engine) -> list[Pair]:  # noqa: ANN001
    """Each customer's conversation handed over and assigned to its agent, through the API. With
    several processes a pair's customer and agent are on different ones (the hub crosses Redis)."""
    customer_bases = [bases[i % len(bases)] for i in range(len(tokens))]
    agent_bases = [bases[(i + 1) % len(bases)] for i in range(len(tokens))]
    urls = [(f"{base.replace('http://', 'ws://')}/api/v1/me/chat/ws", t)
            for base, t in zip(customer_bases, tokens, strict=True)]
    conversations = asyncio.run(_gather(*(_hand_over(url) for url in urls)))
    lead, agents = agent_tokens[0], agent_tokens[1:]
    with engine.connect() as conn:
        handed = conn.execute(text("SELECT count(*) FROM assistant_sessions WHERE handed_off")).scalar_one()
        if handed != len(tokens):
            raise RuntimeError(f"{handed} of {len(tokens)} conversations were handed over to a person")
        tickets = dict(conn.execute(text("SELECT id, ticket_id FROM conversations")).all())
        agent_ids = [row[0] for row in conn.execute(text(
            "SELECT id FROM agents WHERE email LIKE 'agent%@bench.test' ORDER BY id")).all()]
        last_event = conn.execute(text("SELECT coalesce(max(id), 0) FROM desk_events")).scalar_one()
    pairs = []
    with httpx.Client(base_url=bases[0], timeout=WAIT, headers={"Authorization": f"Bearer {lead}"}) as client:
        for url, conversation, agent_id, agent, base in zip(urls, conversations, agent_ids, agents, agent_bases,
                                                            strict=True):
            ticket = tickets[conversation]
            client.post(f"/api/v1/tickets/{ticket}/assign", json={"agent_id": agent_id}).raise_for_status()
            pairs.append(Pair((f"{url[0]}?conversation_id={conversation}", url[1]),
                              (f"{base.replace('http://', 'ws://')}/api/v1/events/ws?after={last_event}", agent),
                              f"{base}/api/v1/tickets/{ticket}/messages", agent, ticket))
    return pairs


async def _gather(*calls):  # noqa: ANN002, ANN202 - coroutines in, their results out
    return await asyncio.gather(*calls)


def measure_ours(connections: int, seconds: float, admin_url: str, model_dir: str, mode: str,
                 processes: int) -> dict[str, float]:
    """On 1 `serve` process (jobs in it), or on several sharing Redis (the hub and the jobs, taken
    by a `gopaycare worker`)."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    recreate_database(admin, DB_NAME)
    url = database_url(admin_url, DB_NAME)
    engine = create_engine(url)
    started: list[subprocess.Popen[bytes]] = []
    try:
        upgrade(url)
        with tempfile.TemporaryDirectory(prefix="gopaycare-chat-") as tmp:
            env = {**os.environ, "GOPAYCARE_DATABASE_URL": url, "GOPAYCARE_JOBS_PATH": f"{tmp}/jobs.db",
                   "GOPAYCARE_MODEL_DIR": model_dir, "GOPAYCARE_LOG_LEVEL": "WARNING",
                   "GOPAYCARE_PASSWORD_HASH_PROFILE": "fast"}
            agent_tokens = _seed(env, connections)
            ports, started = start_gopaycare(env, processes, redis_url=REDIS_URL, workers=2)
            bases = [f"http://127.0.0.1:{port}" for port in ports]
            with httpx.Client(timeout=300) as client:
                tokens = []
                for base, server in zip(bases, started, strict=False):
                    _wait_for(f"{base}/healthz", server)
                    tokens = tokens or [_login(client, base, f"+62815{i:08d}") for i in range(connections)]
                    # Each server's first turn waits for the assistant's model: not measured.
                    client.post(f"{base}/api/v1/me/assistant", json={"body": "halo"},
                                headers={"Authorization": f"Bearer {tokens[0]}"}).raise_for_status()
            if mode == "assistant":
                urls = [(f"{bases[i % processes].replace('http://', 'ws://')}/api/v1/me/chat/ws", t)
                        for i, t in enumerate(tokens)]
                return {"processes": processes, **asyncio.run(_drive_assistant(urls, seconds))}
            pairs = _pairs_on(bases, tokens, agent_tokens, engine)
            return {"processes": processes, **asyncio.run(_drive_pairs(pairs, seconds))}
    finally:
        stop_all(started)
        engine.dispose()
        drop_database(admin, DB_NAME)
        admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=50, help="pairs (or customers) at once (max 1000)")
    parser.add_argument("--seconds", type=float, default=10, help="measured seconds per run")
    parser.add_argument("--mode", choices=("pairs", "assistant"), default="pairs")
    parser.add_argument("--processes", type=positive_counts, default=[1, 2],
                        help="serve processes per run (several: Redis for the hub and jobs)")
    parser.add_argument("--pg-admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--model-dir", default=os.environ.get("GOPAYCARE_MODEL_DIR", "./gopaycare-models"))
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--relay-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.relay_server:
        run_relay(args.relay_server)
        return 0
    connections = max(1, min(args.connections, 1000))
    relay = measure_relay(connections, args.seconds, args.mode)
    runs = [measure_ours(connections, args.seconds, args.pg_admin_url, args.model_dir, args.mode, n)
            for n in args.processes]
    who = f"{connections} customer-agent pairs ({2 * connections} sockets)" if args.mode == "pairs" else \
        f"{connections} customers answered by the assistant"
    print(f"live chat, {who}, {args.seconds:g} s each")
    print(f"{'':8s} {'msgs/s':>8s} {'p50 ms':>8s} {'p95 ms':>8s} {'p99 ms':>8s}  {'to agent p50/p99':>17s}  "
          f"{'to customer p50/p99':>19s} {'messages':>8s}")
    for name, row in (("relay", relay), *((f"ours x{r['processes']}", r) for r in runs)):
        print(f"{name:8s} {row['per_second']:8.1f} {row['all_p50_ms']:8.2f} {row['all_p95_ms']:8.2f} "
              f"{row['all_p99_ms']:8.2f}  {row['to_agent_p50_ms']:8.2f}/{row['to_agent_p99_ms']:<8.2f}  "
              f"{row['to_customer_p50_ms']:9.2f}/{row['to_customer_p99_ms']:<9.2f} {row['messages']:8d}")
    best = max(runs, key=lambda r: r["per_second"])
    ratio = round(best["per_second"] / relay["per_second"], 3) if relay["per_second"] else 0.0
    print(f"ours/relay messages per second (best, x{best['processes']}): {ratio} (aim >= 0.5); its p99 "
          f"{best['all_p99_ms']} ms (aim < 50 ms at 1,000 messages/s with 2,000 sockets)")
    if args.json:
        Path(args.json).write_text(json.dumps({"mode": args.mode, "connections": connections,
                                               "seconds": args.seconds, "relay": relay, "ours": runs,
                                               "ratio": ratio}, indent=2))
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

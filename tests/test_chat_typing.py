"""Typing indicators, both ways, over real sockets: the customer's reaches the agents who follow the
ticket (not another team's), throttled, storing nothing; an agent's reaches the customer's chat as
"an agent", never who; across processes through Redis; hostile frames and calls change nothing."""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from types import SimpleNamespace

import pytest

from gopaycare.desk.events import EventHub
from gopaycare.desk.models import Conversation
from tests.conftest import PASSWORD, REDIS_URL, need_service
from tests.helpers import chat_frames, open_socket

PHONE = "+6281234567890"
OTHER = "+6281277776666"


@pytest.fixture
def chat(svc, client, make_customer, bot):
    svc._assistant = bot
    make_customer(phone=PHONE)
    return client.post("/api/v1/auth/login", json={"login": PHONE, "password": PASSWORD}).json()["token"]


@pytest.fixture
def desk(svc):
    """Two teams with an agent each, and their API tokens."""
    payments = svc.agents.create_team("Payments", areas=["transaction"], languages=[])
    promotions = svc.agents.create_team("Promotions", areas=["promotion"], languages=[])
    ana = svc.agents.create("ana@gopay.test", "agent", name="Ana Wijaya")
    ben = svc.agents.create("ben@gopay.test", "agent", name="Ben")
    svc.agents.add_to_team(payments, ana.id)
    svc.agents.add_to_team(promotions, ben.id)
    return SimpleNamespace(team=payments, ana=ana, ben=ben,
                           tokens={n: svc.agents.create_token(f"{n}@gopay.test") for n in ("ana", "ben")})


def _open_case(svc, customer, supervisor, desk) -> tuple[int, int]:
    """The customer writes; the ticket is given to Ana, in her team. (conversation, ticket)."""
    customer.send_json({"type": "message", "client_id": "c-1", "body": "my payment failed, why?"})
    conversation_id = chat_frames(customer, messages=2, acks=1)[-1]["conversation_id"]
    with svc.db.read() as s:
        ticket_id = s.get(Conversation, conversation_id).ticket_id
    svc.desk.tickets.assign(supervisor, ticket_id, agent_id=desk.ana.id, team_id=desk.team)
    return conversation_id, ticket_id


@contextmanager
def _agent_socket(client, token: str, after: int):
    with open_socket(client, "/api/v1/events/ws", token, after=after) as ws:
        yield ws


def _handled(customer) -> None:
    """Frames are taken in order: once a bad frame's error is back, the frames before it were handled."""
    customer.send_text("not json")
    assert customer.receive_json()["type"] == "error"


def _until_snapshot(ws, ticket_id: int) -> list[dict]:
    seen = []
    for _ in range(50):
        seen.append(ws.receive_json())
        if seen[-1]["kind"] == "ticket.snapshot" and seen[-1]["ticket_id"] == ticket_id:
            return seen
    raise AssertionError(f"no snapshot of ticket {ticket_id} in {seen}")


def test_the_customer_typing_reaches_the_agents_on_the_ticket_once_per_window_and_takes_no_event_id(
        svc, client, chat, desk, supervisor):
    with open_socket(client, "/api/v1/me/chat/ws", chat) as customer:
        conversation_id, ticket_id = _open_case(svc, customer, supervisor, desk)
        after = svc.desk.events.last_id()
        with _agent_socket(client, desk.tokens["ana"], after) as ana, \
                _agent_socket(client, desk.tokens["ben"], after) as ben:
            customer.send_json({"type": "typing"})
            customer.send_json({"type": "typing"})  # the same instant: within the window, not passed on
            _handled(customer)
            stored = svc.desk.events.last_id()
            # Something both may see, after the typing: what each got before it is all they got.
            other = svc.desk.conversations.receive(channel="chat", identity_kind="phone", identity_value=OTHER,
                                                   body="halo")
            seen_by_ana = _until_snapshot(ana, other.ticket_id)
            seen_by_ben = _until_snapshot(ben, other.ticket_id)

    typing = [e for e in seen_by_ana if e["kind"] == "typing"]
    assert len(typing) == 1 and seen_by_ana[0] == typing[0]
    assert (typing[0]["id"], typing[0]["ephemeral"], typing[0]["ticket_id"]) == (0, True, ticket_id)
    assert typing[0]["payload"] == {"conversation_id": conversation_id, "who": "customer"}
    assert [e["kind"] for e in seen_by_ben if e["kind"] == "typing"] == []
    assert stored == after  # no desk_events row, no id taken


def test_the_throttle_lets_one_signal_per_window_through_per_conversation_and_side(svc, client, chat, desk,
                                                                                  supervisor):
    with open_socket(client, "/api/v1/me/chat/ws", chat) as customer:
        conversation_id, _ = _open_case(svc, customer, supervisor, desk)
    viewer = svc.desk.viewer(desk.ana)
    typing = svc.desk.typing

    first = [typing.customer_typing(conversation_id), typing.agent_typing(viewer, conversation_id)]
    again = [typing.customer_typing(conversation_id), typing.agent_typing(viewer, conversation_id)]
    svc.clock.advance(seconds=1)
    within = typing.customer_typing(conversation_id)
    svc.clock.advance(seconds=1.5)
    later = typing.customer_typing(conversation_id)

    assert (first, again, within, later) == ([True, True], [False, False], False, True)


def test_an_agent_typing_shows_on_the_customers_chat_as_an_agent_and_nothing_more(svc, client, chat, desk,
                                                                                  supervisor):
    def typing(conversation, who="ana"):
        return client.post(f"/api/v1/conversations/{conversation}/typing",
                           headers={"Authorization": f"Bearer {desk.tokens[who]}"})

    with open_socket(client, "/api/v1/me/chat/ws", chat) as customer:
        conversation_id, ticket_id = _open_case(svc, customer, supervisor, desk)
        shown = typing(conversation_id)
        frame = customer.receive_json()
        throttled = typing(conversation_id)
        refused = [typing(conversation_id, "ben"), typing(10**6),
                   client.post(f"/api/v1/conversations/{conversation_id}/typing")]
        svc.desk.conversations.reply(supervisor, ticket_id, "We are checking it now")
        [reply] = [f for f in chat_frames(customer, messages=1) if f["type"] == "message"]

    assert (shown.status_code, shown.json(), throttled.json()) == (202, {"passed_on": True}, {"passed_on": False})
    assert frame == {"type": "typing", "who": "agent"}  # not the agent's name, id or e-mail
    assert [r.status_code for r in refused] == [404, 404, 401]  # Ben's team does not have the ticket
    assert reply["body"] == "We are checking it now" and reply["seq"] == 3  # typing took no number


def test_the_assistant_shows_typing_before_its_answer_and_not_once_a_person_has_the_case(svc, client, chat):
    with open_socket(client, "/api/v1/me/chat/ws", chat) as customer:
        customer.send_json({"type": "message", "client_id": "c-1", "body": "my payment failed, why?"})
        answered = chat_frames(customer, messages=2, acks=1)
        customer.send_json({"type": "message", "client_id": "c-2", "body": "let me talk to a real person"})
        handed = chat_frames(customer, messages=2, acks=1)
        customer.send_json({"type": "message", "client_id": "c-3", "body": "hello?"})
        # Before any person answers, the assistant acknowledges once with the expected wait (ADR 0021).
        waiting = chat_frames(customer, messages=2, acks=1)

    def kinds(frames):
        return [(f["type"], f.get("who") or f.get("author_type")) for f in frames if f["type"] != "ack"]

    assert kinds(answered)[0] == ("typing", "assistant") and ("message", "bot") in kinds(answered)
    assert kinds(handed)[0] == ("typing", "assistant")
    # The case is with the team: no typing signal from the assistant, only its one acknowledgement.
    assert kinds(waiting) == [("message", "contact"), ("message", "bot")]


@pytest.mark.parametrize("path", ["/api/v1/conversations/99999999999999999999999/typing",
                                  "/api/v1/conversations/abc/typing", "/api/v1/conversations/-1/typing",
                                  "/api/v1/conversations/1/typing?who=x"])
def test_a_hostile_typing_call_is_refused_with_422(client, svc, desk, path):
    response = client.post(path, headers={"Authorization": f"Bearer {desk.tokens['ana']}"})
    assert response.status_code == 422


@pytest.mark.parametrize("frame", [
    json.dumps({"type": "typing\x00"}), json.dumps({"type": "TYPING"}), json.dumps({"type": ["typing"]}),
    json.dumps({"type": "typing ", "pad": "y" * 20_000}), json.dumps("typing"), "null", "typing",
])
def test_a_hostile_typing_frame_gets_an_error_and_signals_nothing(svc, client, chat, desk, supervisor, frame):
    signals = []
    unsubscribe = svc.hub.subscribe(lambda batch: signals.extend(e for e in batch if e.ephemeral))
    try:
        with open_socket(client, "/api/v1/me/chat/ws", chat) as customer:
            _open_case(svc, customer, supervisor, desk)
            before = svc.desk.events.last_id()
            customer.send_text(frame)
            error = customer.receive_json()
            _handled(customer)
    finally:
        unsubscribe()
    assert (error["type"], error["code"]) == ("error", "validation_failed")
    assert signals == [] and svc.desk.events.last_id() == before


def test_a_customer_cannot_pass_for_an_agent_typing(svc, client, chat, desk, supervisor):
    signals = []
    unsubscribe = svc.hub.subscribe(lambda batch: signals.extend(e for e in batch if e.ephemeral))
    try:
        with open_socket(client, "/api/v1/me/chat/ws", chat) as customer:
            _open_case(svc, customer, supervisor, desk)
            customer.send_json({"type": "typing", "who": "agent", "typing_agent_id": desk.ben.id})
            _handled(customer)
    finally:
        unsubscribe()
    assert [e.payload for e in signals] == [{"conversation_id": signals[0].payload["conversation_id"],
                                             "who": "customer"}]


@pytest.mark.redis
def test_a_typing_signal_crosses_processes_through_redis(clock):
    need_service("Redis", "127.0.0.1", 6379)
    sender, receiver = EventHub(REDIS_URL), EventHub(REDIS_URL)
    got, arrived = [], threading.Event()

    def listen(batch):
        mine = [e for e in batch if e.payload.get("conversation_id") == 424242]
        got.extend(mine)
        if mine:
            arrived.set()

    receiver.subscribe(listen)
    try:
        for _ in range(20):  # the receiver's subscription is live once a signal gets through
            sender.signal("typing", at=clock.now(), ticket_id=7, team_id=3, conversation_id=424242, who="customer")
            if arrived.wait(0.5):
                break
    finally:
        sender.close()
        receiver.close()
    assert got and (got[0].kind, got[0].id, got[0].ephemeral, got[0].team_id) == ("typing", 0, True, 3)

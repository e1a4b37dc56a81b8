"""The agents' live event stream without a socket (desk/live.py): it catches up from a cursor,
sends every event it may once and in order, and reads the table only when a push is missing."""

from __future__ import annotations

import asyncio

PHONE = "+6281234567890"


def receive(svc, body, phone=PHONE):
    return svc.desk.conversations.receive(channel="chat", identity_kind="phone", identity_value=phone, body=body)


class Sink:
    """The stream's `send`: keeps what it was given."""

    def __init__(self):
        self.events = []

    async def __call__(self, event):
        self.events.append(event)

    @property
    def ids(self):
        return [e.id for e in self.events]


def pushed(svc):
    """The batches the hub publishes from now on, as a live connection would receive them."""
    batches = []
    svc.hub.subscribe(batches.append)
    return batches


def count_table_reads(monkeypatch, svc):
    reads = []
    since = svc.desk.live.since

    def counting(viewer, after):
        reads.append(after)
        return since(viewer, after)

    monkeypatch.setattr(svc.desk.live, "since", counting)
    return reads


def all_since(svc, cursor):
    return [e.id for e in svc.desk.events.since(cursor, agent_id=0, team_ids=[], see_all=True)]


def test_a_stream_catches_up_from_its_cursor(svc, supervisor):
    receive(svc, "one")
    cursor = svc.desk.events.last_id()
    receive(svc, "two", phone="+6281298765432")
    sink = Sink()
    stream = svc.desk.live.stream(supervisor, cursor, sink)

    asyncio.run(stream.catch_up())

    assert sink.ids == all_since(svc, cursor) != []
    assert (stream.sent, stream.seen) == (sink.ids[-1], svc.desk.events.last_id())


def test_a_push_of_events_already_caught_up_sends_nothing_again_and_reads_nothing(svc, supervisor, monkeypatch):
    cursor = svc.desk.events.last_id()
    batches = pushed(svc)
    receive(svc, "one")
    sink = Sink()
    stream = svc.desk.live.stream(supervisor, cursor, sink)
    asyncio.run(stream.catch_up())
    caught_up = list(sink.ids)
    reads = count_table_reads(monkeypatch, svc)

    for batch in batches:  # the push arrives after the catch-up read the same events
        asyncio.run(stream.deliver(batch))

    assert sink.ids == caught_up == all_since(svc, cursor)
    assert reads == []


def test_a_missing_push_is_read_from_the_table_in_order(svc, supervisor, monkeypatch):
    cursor = svc.desk.events.last_id()
    batches = pushed(svc)
    receive(svc, "one")
    receive(svc, "two", phone="+6281298765432")
    first_commit, second_commit = batches[0], batches[-1]
    sink = Sink()
    stream = svc.desk.live.stream(supervisor, cursor, sink)
    reads = count_table_reads(monkeypatch, svc)

    asyncio.run(stream.deliver(second_commit))  # the first commit's push is still on its way
    asyncio.run(stream.deliver(first_commit))

    assert sink.ids == all_since(svc, cursor)
    assert len(sink.ids) == len(set(sink.ids))
    assert reads == [cursor]


def test_events_the_agent_may_not_see_are_skipped_without_reading_the_table(svc, supervisor, agent, monkeypatch):
    other = svc.agents.create("budi@gopay.test", "agent")
    got = receive(svc, "one")
    svc.desk.tickets.assign(supervisor, got.ticket_id, agent_id=other.id)
    cursor = svc.desk.events.last_id()
    batches = pushed(svc)
    svc.desk.conversations.reply(supervisor, got.ticket_id, "hello")  # on budi's ticket
    sink = Sink()
    stream = svc.desk.live.stream(agent, cursor, sink)
    reads = count_table_reads(monkeypatch, svc)

    for batch in batches:
        asyncio.run(stream.deliver(batch))

    assert [e for e in sink.events if e.ticket_id == got.ticket_id] == []
    assert stream.seen == svc.desk.events.last_id()
    assert reads == []


def test_a_running_stream_follows_the_hub(svc, supervisor):
    receive(svc, "one")
    cursor = svc.desk.events.last_id()
    sink = Sink()

    async def connect_then_commit():
        stream = svc.desk.live.stream(supervisor, cursor, sink)
        unsubscribe = svc.hub.subscribe(stream.listener())
        running = asyncio.create_task(stream.run())
        got = await asyncio.to_thread(receive, svc, "two", "+6281298765432")
        for _ in range(500):
            if any(e.kind == "ticket.snapshot" and e.ticket_id == got.ticket_id for e in sink.events):
                break
            await asyncio.sleep(0.01)
        running.cancel()
        unsubscribe()

    asyncio.run(connect_then_commit())

    assert sink.ids == all_since(svc, cursor) != []


def test_the_http_page_says_where_to_resume_and_whether_more_wait(svc, supervisor):
    from gopaycare.desk.live import Live

    cursor = svc.desk.events.last_id()
    receive(svc, "one")
    ids = all_since(svc, cursor)

    first = Live(svc.desk.events, limit=2).page(supervisor, cursor)
    rest = Live(svc.desk.events, limit=len(ids)).page(supervisor, first.last_id)
    empty = svc.desk.live.page(supervisor, ids[-1])

    assert ([e.id for e in first.items], first.last_id, first.more) == (ids[:2], ids[1], True)
    assert [e.id for e in rest.items] == ids[2:]
    assert (empty.items, empty.last_id, empty.more) == ([], ids[-1], False)


def test_placements_keep_each_tickets_latest_snapshot_and_stay_bounded():
    from gopaycare.desk.events import EventView
    from gopaycare.desk.live import Placements
    from tests.conftest import START

    def snapshot(event_id, ticket_id, agent_id, team_id=None):
        return EventView(event_id, START, "ticket.snapshot", ticket_id, agent_id, team_id, {})

    placements = Placements(capacity=2)
    # A late push of an older snapshot does not undo a newer one
    placements.observe([snapshot(5, 1, agent_id=7)])
    placements.observe([snapshot(3, 1, agent_id=8)])
    assert placements.of(1).assignee_id == 7
    # Other events say nothing about where a ticket is
    placements.observe([EventView(6, START, "ticket.unassigned", 1, 9, None, {})])
    assert placements.of(1).assignee_id == 7
    # The oldest entry is forgotten past the capacity (its events are judged as addressed)
    placements.observe([snapshot(10, 2, agent_id=None, team_id=4), snapshot(11, 3, agent_id=7)])
    assert (placements.of(1), placements.of(2).team_id, placements.of(None)) == (None, 4, None)


def test_the_hub_hands_batches_on_in_id_order_and_passes_over_a_gap_that_does_not_fill():
    import threading

    from gopaycare.desk.event_order import InOrder
    from gopaycare.desk.events import EventView
    from tests.conftest import START

    def batch(*ids):
        return [EventView(i, START, "message.created", 1, None, None, {}) for i in ids]

    handed: list[list[int]] = []
    passed_over = threading.Event()

    def hand_on(b):
        handed.append([e.id for e in b])
        if b and b[0].id == 9:
            passed_over.set()

    order = InOrder(hand_on, hold_seconds=0.05)
    # Given commits 1-2, 3 and 4-5 whose pushes arrive as 1-2, 4-5, 3
    order.push(batch(1, 2))
    order.push(batch(4, 5))
    assert handed == [[1, 2]]  # 4-5 waits for the gap
    order.push(batch(3))
    assert handed == [[1, 2], [3], [4, 5]]
    # A signal (id 0) is never held
    order.push([EventView(0, START, "typing", 1, None, None, {}, ephemeral=True)])
    assert handed[-1] == [0]
    # A gap that never fills (6-8 lost) is passed over after the hold: streams read it from the table
    order.push(batch(9))
    assert passed_over.wait(timeout=5)
    assert handed[-1] == [9]
    order.push(batch(7))  # a late push of a smaller id is handed on (streams skip what they have seen)
    assert handed[-1] == [7]

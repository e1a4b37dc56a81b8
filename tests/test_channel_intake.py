"""The channels' intake: each event stored once, handed over after commit, retried with backoff
when the application fails, `failed` with its error after the last attempt, and picked up again
when its job was lost."""

from __future__ import annotations

from gopaycare.channels.intake import MAX_ATTEMPTS, InboundMessage, Receipt


def message(n: int = 1, body: str = "saldo saya hilang") -> InboundMessage:
    return InboundMessage(channel="telegram", identity_kind="telegram", identity_value="42", body=body,
                          provider_message_id=f"42:{n}", thread="42")


def test_each_event_is_stored_once_and_handed_over_once(svc):
    taken = []
    svc.intake.on_message = taken.append
    first = svc.intake.accept([message(1), message(2)])
    again = svc.intake.accept([message(1)])

    assert (first.stored, first.duplicates, again.stored, again.duplicates) == (2, 0, 0, 1)
    assert [m.provider_message_id for m in taken] == ["42:1", "42:2"]
    assert {e.status for e in svc.intake.events()} == {"done"}


def test_a_message_reaches_the_desk_through_the_default_wiring(svc, supervisor, bot):
    svc._assistant = bot
    svc.intake.accept([message(3, "my payment failed")])
    [conversation] = svc.desk.inbox.conversations(supervisor).items
    assert conversation.channel == "telegram"


def test_a_failing_application_is_retried_with_backoff_then_failed_with_its_error(svc, clock):
    calls = []

    def broken(event):
        calls.append(event)
        raise RuntimeError("database went away")

    svc.intake.on_message = broken
    svc.intake.accept([message(4)])
    [event] = svc.intake.events()
    assert (event.status, event.attempts) == ("queued", 1)
    assert svc.intake.due_ids() == []  # backing off

    for attempt in range(2, MAX_ATTEMPTS + 1):
        clock.advance(seconds=30 * 2 ** (attempt - 2) + 1)
        assert svc.intake.due_ids() == [event.id]
        svc.tasks["sweep_channel_events"]()
    [event] = svc.intake.events()
    assert (event.status, event.attempts, len(calls)) == ("failed", MAX_ATTEMPTS, MAX_ATTEMPTS)
    assert event.last_error == "RuntimeError: database went away"
    clock.advance(hours=1)
    assert svc.intake.due_ids() == []


def test_an_event_whose_job_was_lost_is_taken_by_the_sweep(svc, clock):
    taken = []
    svc.intake.dispatch = lambda event_id: None  # the job never ran (a crash after commit)
    svc.intake.on_message = taken.append
    svc.intake.accept([message(5)])
    assert svc.intake.due_ids() == []
    clock.advance(seconds=61)
    svc.tasks["sweep_channel_events"]()
    assert len(taken) == 1 and svc.intake.events()[0].status == "done"


def test_processing_twice_hands_over_once(svc):
    taken = []
    svc.intake.dispatch = lambda event_id: None
    svc.intake.on_message = taken.append
    svc.intake.accept([message(6)])
    [event] = svc.intake.events()
    assert svc.intake.process(event.id) == "done"
    assert svc.intake.process(event.id) == "done"
    assert len(taken) == 1


def test_a_receipt_for_a_message_we_never_sent_changes_nothing(svc):
    svc.intake.accept([Receipt(channel="whatsapp", provider_message_id="wamid.UNKNOWN", status="read")])
    [event] = svc.intake.events()
    assert event.status == "done"
    assert svc.outbox.latest() == []

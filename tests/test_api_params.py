"""Query parameters a route does not take answer 422 naming them (one check for every API route,
web/params.py), instead of being silently ignored; the ones it takes still work."""

from __future__ import annotations

import pytest

from tests.helpers import open_socket

PHONE = "+6281234567890"


@pytest.fixture
def tokens(svc):
    svc.agents.create("lead@gopay.test", "supervisor")
    svc.agents.create("ops@gopay.test", "admin")
    return {name: {"Authorization": f"Bearer {svc.agents.create_token(f'{name}@gopay.test')}"}
            for name in ("lead", "ops")}


def problems(response):
    return [p["field"] for p in response.json()["error"]["details"]["problems"]]


@pytest.mark.parametrize(("url", "unknown"), [
    ("/api/v1/tickets?team=3", ["team"]),  # the API takes team_id
    ("/api/v1/tickets?team_id=3&limit=5&page=2&sort=new", ["page", "sort"]),
    ("/api/v1/conversations?chanel=chat", ["chanel"]),
    ("/api/v1/events?after=0&since=5", ["since"]),
    ("/api/v1/search/tickets?q=refund&query=refund", ["query"]),
    ("/api/v1/kb/search?q=refund&language=en", ["language"]),
    ("/api/v1/promotions?lang=en&lang_code=id", ["lang_code"]),
    ("/api/v1/agent/me?verbose=1", ["verbose"]),
    ("/healthz?full=true", ["full"]),
])
def test_an_unknown_query_parameter_answers_422_naming_it(client, tokens, url, unknown):
    response = client.get(url, headers=tokens["lead"])

    assert (response.status_code, response.json()["error"]["code"]) == (422, "validation_failed")
    assert problems(response) == unknown


def test_the_answer_says_which_parameters_the_route_takes(client, tokens):
    response = client.get("/api/v1/events?since=5", headers=tokens["lead"])

    assert response.json()["error"]["details"]["problems"] == [
        {"field": "since", "message": "unknown query parameter; this route takes: after"}]


def test_a_body_field_sent_in_the_query_is_refused_and_nothing_is_stored(client, svc, tokens):
    got = svc.desk.conversations.receive(channel="chat", identity_kind="phone", identity_value=PHONE, body="hi")
    before = [m.id for m in svc.desk.conversations.messages(svc.desk.viewer(svc.agents.get_by_email(
        "lead@gopay.test")), got.ticket_id)]

    response = client.post(f"/api/v1/tickets/{got.ticket_id}/messages?internal=true", headers=tokens["lead"],
                           json={"body": "a note for the team"})

    assert (response.status_code, problems(response)) == (422, ["internal"])
    assert [m.id for m in svc.desk.conversations.messages(svc.desk.viewer(svc.agents.get_by_email(
        "lead@gopay.test")), got.ticket_id)] == before


def test_the_parameters_a_route_takes_still_work(client, svc, tokens):
    got = svc.desk.conversations.receive(channel="chat", identity_kind="phone", identity_value=PHONE, body="hi")

    tickets = client.get("/api/v1/tickets", headers=tokens["lead"],
                         params={"status": ["new", "open"], "assignee": "none", "limit": 5, "order": "updated"})
    by_team = client.get("/api/v1/tickets?team_id=3", headers=tokens["lead"])
    events = client.get("/api/v1/events?after=0", headers=tokens["lead"])
    kb = client.get("/api/v1/kb/search", params={"q": "refund", "lang": "en", "limit": 3, "intent": "refund_status"})

    assert [t["id"] for t in tickets.json()["items"]] == [got.ticket_id]
    assert (by_team.status_code, by_team.json()["items"]) == (200, [])
    assert events.status_code == kb.status_code == 200


def test_the_event_socket_refuses_an_unknown_parameter(client, svc):
    from starlette.websockets import WebSocketDisconnect

    svc.agents.create("lead@gopay.test", "supervisor")
    token = svc.agents.create_token("lead@gopay.test")

    with pytest.raises(WebSocketDisconnect) as refused, open_socket(client, "/api/v1/events/ws", token, cursor=5):
        pass

    assert refused.value.code == 1008

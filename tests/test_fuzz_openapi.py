"""The API's own OpenAPI schema, fuzzed (tests/fuzz.py): no request the schema describes, valid or
not, gets a 5xx, on SQLite and on PostgreSQL.

A few cases per operation in `make test`; GOPAYCARE_FUZZ_EXAMPLES sets how many (.ci/run sets more).
Deterministic either way: the same cases every run.
"""

from __future__ import annotations

import os

import pytest

from .conftest import PASSWORD, PIN
from .fuzz import fuzz

EXAMPLES = int(os.environ.get("GOPAYCARE_FUZZ_EXAMPLES", "2"))
PHONE = "+6281234567890"


def world(client, svc, make_customer, make_merchant) -> dict[str, str]:
    """Something for the fuzz to find: a customer with a payment, a ticket, an admin; the tokens."""
    svc.agents.create("ops@gopay.test", "admin", password="Agent-pass1")
    customer_id = make_customer(phone=PHONE, balance=1_000_000)
    svc.payments.pay(customer_id, make_merchant(), 5_000, PIN, "fuzz-setup")
    svc.desk.conversations.receive(channel="chat", identity_kind="phone", identity_value=PHONE, body="hi")
    login = client.post("/api/v1/auth/login", json={"login": PHONE, "password": PASSWORD}).json()
    return {"agent": svc.agents.create_token("ops@gopay.test"), "customer": login["token"]}


@pytest.mark.timeout(600 + 2 * EXAMPLES * 60)  # a bounded run: ~100 operations, 2 modes
def test_no_request_the_schema_describes_gets_a_5xx(client, svc, make_customer, make_merchant, product_nlu):
    svc._assistant = svc.make_assistant(product_nlu)  # the run's model, trained once (conftest.py)
    tokens = world(client, svc, make_customer, make_merchant)

    report = fuzz(client.app, tokens, examples=EXAMPLES)
    print(report.summary())

    assert report.operations > 50, report.summary()  # the schema was read whole
    assert report.cases > report.operations * EXAMPLES, report.summary()
    assert report.server_errors == [], report.summary() + "\n" + "\n".join(report.server_errors)

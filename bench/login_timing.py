"""Agent login timing: does the answer's time tell whether an email is an agent's?

What it measures. Issue 12 found a timing oracle: a wrong password for a known agent took 182 ms (one
argon2 verification), an unknown email 4 ms (none). Login now verifies against a dummy hash when there
is no agent to check. This script times `AgentDirectory.login` with a wrong password for: a known
agent, an unknown email, a deactivated agent and a malformed email, with the production argon2
profile, and prints each case's median and its ratio to the known agent's. The aim: every ratio
between 0.8 and 1.25 (the same work), where before the unknown email's was about 0.02.

How. A fresh SQLite database in a temporary folder gets the migrations and the agents; each case
runs ROUNDS times, interleaved (known, unknown, inactive, malformed, known, …) so drift in the
machine's load hits every case alike, bounded by --rounds and --seconds. The known agent's failures
are counted toward its lock, so its counter is reset between rounds (the lock is not what is timed).

    .venv/bin/python bench/login_timing.py [--rounds 15] [--seconds 120]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from sqlalchemy import update

from gopaycare.container import build
from gopaycare.desk.models import Agent
from gopaycare.migrations import upgrade
from gopaycare.platform.audit import Actor
from gopaycare.platform.errors import DomainError
from gopaycare.platform.settings import load_settings

CASES = {"known agent": "ayu@gopay.test", "unknown email": "nobody@gopay.test",
         "deactivated agent": "gone@gopay.test", "malformed email": "not-an-email"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--seconds", type=float, default=120.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gopaycare-login-") as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        svc = build(load_settings(database_url=url, jobs_path=f"{tmp}/jobs.db", secret_key="bench-" + "k" * 40,
                                  agent_max_failed_logins=100), immediate_jobs=True, senders={})
        try:
            svc.agents.create("ayu@gopay.test", "agent", password="Agent-pass1")
            gone = svc.agents.create("gone@gopay.test", "agent", password="Agent-pass1")
            svc.agents.deactivate(gone.id, actor=Actor.system())
            timings = _measure(svc, args.rounds, args.seconds)
        finally:
            svc.close()
    known = statistics.median(timings["known agent"])
    print(f"agent login with a wrong password, median of {len(timings['known agent'])} (argon2 default profile)")
    for case, values in timings.items():
        median = statistics.median(values)
        print(f"  {case:<18} {median * 1000:8.1f} ms   ratio to a known agent {median / known:5.2f}")


def _measure(svc, rounds: int, seconds: float) -> dict[str, list[float]]:  # noqa: ANN001 - the services
    timings: dict[str, list[float]] = {case: [] for case in CASES}
    deadline = time.monotonic() + seconds
    for email in CASES.values():  # warm up: the dummy hash is made on first use, connections opened
        try:
            svc.agents.login(email, "warm-up-password")
        except DomainError:
            pass
    for _ in range(rounds):
        if time.monotonic() > deadline:
            break
        for case, email in CASES.items():
            started = time.perf_counter()
            try:
                svc.agents.login(email, "wrong-password")
            except DomainError:
                pass
            timings[case].append(time.perf_counter() - started)
        with svc.db.transaction() as s:  # the known agent's failures are not what is measured
            s.execute(update(Agent).values(failed_logins=0, locked_at=None))
    return timings


if __name__ == "__main__":
    main()

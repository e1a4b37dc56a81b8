"""How long login, reset and reset-code requests take for an existing account against an unknown,
a locked and a paused one (the timing oracle of issue 12), and what a rate-limit check costs.

In process, through the HTTP app (FastAPI's TestClient), on a fresh SQLite database, with the real
argon2 cost (not the tests' cheap one). Prints the median of each case and its ratio to the
existing-account baseline measured in the same run: a ratio near 1.00 is no oracle. Bounded: at most
`--rounds` requests per case and `--seconds` in all.

    .venv/bin/python bench/oracles.py [--rounds 15] [--seconds 240]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from gopaycare.container import build
from gopaycare.platform.ratelimit import Check, Limiter
from gopaycare.platform.settings import RateLimits, load_settings
from gopaycare.web.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PASSWORD = "Bench-pass1"
OPEN = RateLimits(**{name: "1000000/minute" for name, value in RateLimits().model_dump().items()
                     if isinstance(value, str)})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--seconds", type=float, default=240.0)
    args = parser.parse_args()
    deadline = time.monotonic() + args.seconds

    with tempfile.TemporaryDirectory() as tmp:
        from gopaycare.migrations import upgrade

        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        settings = load_settings(database_url=url, secret_key="bench-secret", jobs_path=str(Path(tmp) / "jobs.db"),
                                 log_json=False, rate_limits=OPEN)
        svc = build(settings, immediate_jobs=True, senders={})
        svc.wallet.bootstrap()
        rounds = args.rounds
        phones = {kind: [f"+6281{k}{n:08d}" for n in range(rounds)] for k, kind in enumerate(
            ("existing", "unknown", "locked", "paused"))}
        for kind in ("existing", "locked", "paused"):
            for phone in phones[kind]:
                cid = svc.identity.register(phone=phone, name="Bench", password=PASSWORD, pin="258147").id
                for _ in range(settings.max_failed_logins):
                    try:
                        if kind == "locked":
                            svc.identity.verify_pin(cid, "000000")
                        elif kind == "paused":
                            svc.identity.login_with_password(phone, "wrong")
                    except Exception:
                        pass
        client = TestClient(create_app(svc))

        def timed(kind: str, request: Callable[[str], object]) -> float:
            took = []
            for phone in phones[kind]:
                if time.monotonic() > deadline:
                    break
                start = time.perf_counter()
                request(phone)
                took.append(time.perf_counter() - start)
            return statistics.median(took) if took else float("nan")

        cases = {
            "login, wrong password": lambda p: client.post("/api/v1/auth/login", json={"login": p, "password": "x"}),
            "reset-codes": lambda p: client.post("/api/v1/auth/reset-codes", json={"login": p, "what": "password"}),
            "reset, wrong code": lambda p: client.post("/api/v1/auth/reset", json={
                "login": p, "what": "password", "code": "000000", "new_secret": "Another-pass1"}),
        }
        print(f"median of {rounds} requests per case (SQLite, real argon2); ratio to the existing account")
        login_base = float("nan")
        for name, request in cases.items():
            base = timed("existing", request)
            login_base = base if name.startswith("login") else login_base
            line = [f"{name:24s} existing {base * 1000:7.1f} ms"]
            for kind in ("unknown", "locked", "paused"):
                other = timed(kind, request)
                line.append(f"{kind} {other * 1000:7.1f} ms ({other / base:4.2f})")
            print("  ".join(line))

        limiter = Limiter(RateLimits(), secret="bench")
        checks = [Check("login_per_ip", "198.51.100.7"), Check("login_per_account", "+6281200000000")]
        n, start = 0, time.perf_counter()
        while n < 20_000 and time.monotonic() < deadline:
            limiter.storage.reset()
            limiter.check(checks)
            n += 1
        per_check = (time.perf_counter() - start) / max(n, 1)
        print(f"rate-limit check (memory, 2 rules x 2 windows): {per_check * 1e6:.1f} us per request "
              f"({per_check / login_base:.4f} of a login)")
        client.close()
        svc.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

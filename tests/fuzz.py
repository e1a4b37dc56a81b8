"""A property-based fuzz of the API from its own OpenAPI schema (schemathesis on Hypothesis), in-process
against the ASGI app. Shared by tests/test_fuzz_openapi.py (a few cases per operation, more in CI) and
bench/fuzz.py (a longer run that prints its figures).

Every operation gets `examples` schema-valid requests (positive: whatever a careless client could send
that the schema allows) and as many schema-invalid ones (negative: wrong types, out-of-range numbers,
missing fields), with a customer's token on /api/v1/me/ and an admin's elsewhere. The property: no
answer is a 5xx and nothing raises. Generation is derandomized (Hypothesis' seed comes from the test
itself, no example database), so a run finds the same cases every time: CI cannot fail by chance.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import hypothesis.errors
import schemathesis
from hypothesis import HealthCheck, Phase, Verbosity
from schemathesis import GenerationMode
from schemathesis.python import asgi

MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


@dataclass
class Report:
    operations: int = 0
    cases: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    server_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        classes = {f"{s // 100}xx": 0 for s in self.statuses}
        for status, n in self.statuses.items():
            classes[f"{status // 100}xx"] += n
        return (f"{self.operations} operations, {self.cases} cases in {self.seconds:.1f} s, "
                f"answers {dict(sorted(classes.items()))}, 5xx found: {len(self.server_errors)}")


def fuzz(app: Any, tokens: dict[str, str], *, examples: int, modes: Iterable[GenerationMode] = MODES,
         deadline: float | None = None, only: Callable[[str], bool] = lambda _: True) -> Report:
    """Every operation of the app's schema, `examples` cases each per mode; 5xx answers collected (one
    line each), not raised, so one run lists them all. `deadline` (a time.monotonic() value) bounds the
    run: operations not reached by then are left out (and not counted)."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    report = Report()
    start = time.monotonic()
    # One in-process client for the run (schemathesis would start one, and the app's lifespan, per case).
    with asgi.get_client(app) as session:
        for result in schema.get_all_operations():
            operation = result.ok()
            if not only(operation.label):
                continue
            if deadline is not None and time.monotonic() > deadline:
                break
            report.operations += 1
            for mode in modes:
                _fuzz_operation(operation, mode, examples, tokens, report, session)
    report.seconds = time.monotonic() - start
    return report


def _fuzz_operation(operation: Any, mode: GenerationMode, examples: int, tokens: dict[str, str],
                    report: Report, session: Any) -> None:
    token = tokens["customer"] if operation.path.startswith("/api/v1/me/") else tokens["agent"]

    @hypothesis.settings(max_examples=examples, derandomize=True, database=None, deadline=None,
                         suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate],
                         verbosity=Verbosity.quiet)
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def one(case: Any) -> None:
        report.cases += 1
        headers = {"Authorization": f"Bearer {token}"}
        if case.headers and "Authorization" in case.headers:
            headers = {}  # the case tries a header of its own
        try:
            response = case.call(session=session, headers=headers)
        except Exception as exc:  # the app raised through the transport: a 500 to a real client
            report.server_errors.append(f"{operation.label} [{mode.value}] raised {exc!r}: {_request(case)}")
            return
        report.statuses[response.status_code] = report.statuses.get(response.status_code, 0) + 1
        if response.status_code >= 500:
            report.server_errors.append(f"{operation.label} [{mode.value}] -> {response.status_code} "
                                        f"{response.text[:200]}: {_request(case)}")

    try:
        one()
    except hypothesis.errors.Unsatisfiable:
        pass  # nothing to vary in this mode (no parameters: no invalid request to make of them)


def _request(case: Any) -> str:
    text = f"path={case.path_parameters} query={case.query} headers={case.headers} body={case.body!r}"
    return text[:600]

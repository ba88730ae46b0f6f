"""The result record every check produces, whatever its engine: id, kind, verdict, expected
verdict, seconds, counterexample. Renderers (entersys.report) and the CLI exit code read
only these records."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class Verdict(IntEnum):
    """Ordered by precedence: when several apply to one property, the highest wins.
    NOT_APPLICABLE marks a check that does not exist for the chosen input (a mutant of a
    rule another Go version lacks); it is neither a pass nor a failure."""

    NOT_APPLICABLE = -1
    HOLDS = 0
    REFUTED = 1
    UNKNOWN = 2  # solver timeout / unknown: never shown as a pass
    ERROR = 3    # the check itself failed to run

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")


class Status(IntEnum):
    SKIPPED = -1  # not applicable
    PASS = 0
    INCONCLUSIVE = 1
    FAIL = 2
    ERROR = 3

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass
class TraceStep:
    """One numbered step of a counterexample trace and the state after it."""

    index: int
    actor: str
    step: str
    rule: str
    changes: dict[str, tuple[Any, Any]]
    state: dict[str, Any]


@dataclass
class Counterexample:
    """Concrete evidence: values, or a numbered step trace, plus a command that replays it."""

    summary: str
    values: dict[str, Any] = field(default_factory=dict)
    trace: list[TraceStep] = field(default_factory=list)
    replay: str | None = None
    itf: dict[str, Any] | None = None


@dataclass
class CheckResult:
    id: str
    group: str
    title: str
    kind: str
    verdict: Verdict
    expected: Verdict
    seconds: float = 0.0
    counterexample: Counterexample | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> Status:
        if self.verdict == Verdict.NOT_APPLICABLE:
            return Status.SKIPPED
        if self.verdict == self.expected:
            return Status.PASS
        if self.verdict == Verdict.UNKNOWN:
            return Status.INCONCLUSIVE
        if self.verdict == Verdict.ERROR:
            return Status.ERROR
        return Status.FAIL


EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INCONCLUSIVE = 0, 1, 2, 3


def exit_code(results: list[CheckResult]) -> int:
    """0 all as expected; 1 anything refuted unexpectedly or erroring; 3 only inconclusive."""
    statuses = {r.status for r in results}
    if Status.FAIL in statuses or Status.ERROR in statuses:
        return EXIT_FAIL
    if Status.INCONCLUSIVE in statuses:
        return EXIT_INCONCLUSIVE
    return EXIT_OK


def summary(results: list[CheckResult]) -> dict[str, int]:
    counts = {s.label: 0 for s in Status}
    for r in results:
        counts[r.status.label] += 1
    return counts


@contextmanager
def timed() -> Iterator[Callable[[], float]]:
    """`with timed() as t: ...; t()` gives the seconds elapsed so far."""
    t0 = time.perf_counter()
    yield lambda: time.perf_counter() - t0


def guarded(group: str, id: str, title: str, kind: str, expected: Verdict,
            fn: Callable[[], CheckResult]) -> CheckResult:
    """Run one check; an exception inside it becomes an ERROR record, not a dead run."""
    t0 = time.perf_counter()
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - a crashing check is a finding, reported as such
        return CheckResult(id, group, title, kind, Verdict.ERROR, expected,
                           time.perf_counter() - t0,
                           Counterexample(summary=f"{type(e).__name__}: {e}"))

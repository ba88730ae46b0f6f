"""The model witness behind every raw-path finding: the protocol model's configuration in
which a goroutine makes a call that returns only after another goroutine has run. Made as
a `RawSyscall` it starves the other G (deadlock, with a trace); made as a `Syscall` it does
not. Computed once per run (cached) from entersys.oracle.protocol.raw_wait_witness."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from entersys.results import CheckResult, Counterexample, Verdict


@dataclass(frozen=True)
class Witness:
    """The two records: the Raw path (expected refuted, with a counterexample trace) and the
    Syscall path (expected to hold)."""

    raw: CheckResult
    syscall: CheckResult

    @property
    def backs_findings(self) -> bool:
        """True when the model shows the difference: Raw refuted, Syscall holds."""
        return self.raw.verdict == Verdict.REFUTED and self.syscall.verdict == Verdict.HOLDS


@functools.cache
def model_witness(go: str = "1.25") -> Witness:
    """Both paths' records for model version `go` ("1.14" or "1.25"); cached per process.

    A model that cannot run gives ERROR records, never an exception: the lint still
    reports its findings, with the witness's fault."""
    return Witness(_record(go, "raw"), _record(go, "syscall"))


def _record(go: str, path: str) -> CheckResult:
    from entersys.oracle.protocol import raw_wait_witness

    try:
        return raw_wait_witness(go, path)
    except Exception as e:  # noqa: BLE001 - a model fault is a record, not a dead lint
        return CheckResult(f"protocol-model.rawwait.go{go}.{path}", "protocol-model",
                           "raw-wait witness", "witness", Verdict.ERROR,
                           Verdict.REFUTED if path == "raw" else Verdict.HOLDS,
                           counterexample=Counterexample(summary=f"{type(e).__name__}: {e}"))

"""The Z3 engine for the mutant catalog: bounded model checking (entersys.proofs.bmc) of each
mutant up a ladder of small configurations, from the Ms alone to the Ms with one other
actor, until an invariant is violated. The trace is decoded into the explorer's
counterexample record and replayed through the interpreter; the faithful model must hold
on every rung to the same depth.

Independent obligations (one per mutant) run in a pool of worker processes."""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import replace
from typing import Any

from entersys.model.mutants import MUTANTS, for_version
from entersys.model.state import Config
from entersys.oracle.protocol import build_program, with_parts
from entersys.proofs.bmc import BmcRun, bmc, counterexample
from entersys.results import CheckResult, Verdict, timed

# 1 M / 1 P / 1 G with no other actor, then with one actor each, and the depth each rung is
# unrolled to (more actors interleave more, so their rungs are shallower): every
# catalogued mutant is killed on one of these rungs.
LADDER: tuple[tuple[tuple[str, ...], int], ...] = (
    ((), 28), (("sysmon",), 27), (("stw",), 24), (("foreachp",), 20), (("gc",), 20))
DEPTH = 28
FAITHFUL_DEPTH = 16  # the faithful model is unrolled on every rung, so less deep
GROUP = "protocol-mutants"


def _cfg(go: str, parts: tuple[str, ...]) -> Config:
    return replace(with_parts(Config(1, 1, 1), parts), go=go)


def replay_command(go: str, mid: str | None) -> str:
    only = f" --only {mid}" if mid else ""
    return f"entersys mutants --engine z3 --go {go}{only}"


def hunt(go: str, mid: str | None, depth: int = DEPTH,
         timeout_ms: int = 60_000) -> tuple[tuple[str, ...] | None, BmcRun, list[dict]]:
    """BMC of mutant `mid` (None: the faithful model) up the LADDER. Returns the rung
    that refuted it (None if none did), the last run, and one summary per rung tried."""
    tried: list[dict] = []
    run = BmcRun("holds", 0)
    for parts, rung_depth in LADDER:
        prog = build_program(_cfg(go, parts), go, mid)
        run = bmc(prog, min(depth, rung_depth), timeout_ms=timeout_ms)
        tried.append({"parts": list(parts) or ["M only"], "status": run.status,
                      "depth": run.depth, "seconds": round(run.seconds, 2)})
        if run.status == "refuted":
            return parts, run, tried
        if run.status == "unknown":
            return None, run, tried
    return None, run, tried


def _record(go: str, mid: str | None, depth: int, timeout_ms: int) -> CheckResult:
    with timed() as t:
        parts, run, tried = hunt(go, mid, depth, timeout_ms)
    cex = None
    details: dict[str, Any] = {"engine": "z3", "method": "bounded model checking (QF_BV)",
                               "rungs": tried, "depth": run.depth,
                               "solver_seconds": round(sum(r["seconds"] for r in tried), 2)}
    if run.status == "refuted" and parts is not None:
        prog = build_program(_cfg(go, parts), go, mid)
        cex = counterexample(prog, run, replay_command(go, mid))
        details.update(config="1m1p1g " + ("+".join(parts) or "M only"),
                       violated=run.violated, trace_length=len(run.labels))
        verdict = Verdict.REFUTED
    elif run.status == "unknown":
        verdict = Verdict.UNKNOWN
    else:
        verdict = Verdict.HOLDS
    if mid is None:
        return CheckResult(f"{GROUP}.go{go}.faithful.z3", GROUP,
                           f"Go {go} faithful model: no invariant violated within {depth} "
                           "steps on any rung (Z3 BMC)", "bmc", verdict, Verdict.HOLDS,
                           t(), cex, details)
    details["rule"] = MUTANTS[mid].rule
    return CheckResult(f"{GROUP}.go{go}.{mid}.z3", GROUP,
                       f"Z3 bounded model checking kills mutant {mid} ({MUTANTS[mid].rule})",
                       "mutant", verdict, Verdict.REFUTED, t(), cex, details)


def _job(args: tuple[str, str | None, int, int]) -> CheckResult:
    return _record(*args)


def workers() -> int:
    """Gentle on a shared machine: at most two processes."""
    return max(1, min(2, os.cpu_count() or 1))


def results(go: str, only: list[str] | None = None, depth: int = DEPTH,
            timeout_ms: int = 60_000, faithful: bool = True) -> list[CheckResult]:
    """One record per mutant of `go` (and one for the faithful model), in catalog order."""
    jobs: list[tuple[str, str | None, int, int]] = [
        (go, m, depth, timeout_ms) for m in (only or for_version(go))]
    if faithful and not only:
        jobs.insert(0, (go, None, min(depth, FAITHFUL_DEPTH), timeout_ms))
    if len(jobs) == 1 or workers() == 1:
        return [_job(j) for j in jobs]
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(workers()) as pool:
        return pool.map(_job, jobs, chunksize=1)

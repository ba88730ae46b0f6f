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
from entersys.model.program import Program
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


def safety_killable(mid: str) -> bool:
    """Whether an invariant (not only a liveness or deadlock check) kills the mutant."""
    first = MUTANTS[mid].expect.split()[0]
    return not first.startswith(("LIVE", "DEADLOCK"))


def _rungs(go: str, mid: str | None) -> list[tuple[Config, tuple[str, ...], int]]:
    own = MUTANTS[mid].config if mid else None
    if own is not None:  # a mutant that needs a part of its own is run on its configuration
        return [(replace(own, go=go), ("own",), 20)]
    return [(_cfg(go, parts), parts, d) for parts, d in LADDER]


Hunt = tuple[tuple[str, ...] | None, BmcRun, list[dict], Program | None]


def hunt(go: str, mid: str | None, depth: int = DEPTH, timeout_ms: int = 60_000) -> Hunt:
    """BMC of mutant `mid` (None: the faithful model) up the LADDER. Returns the rung
    that refuted it (None if none did), the last run, and one summary per rung tried."""
    tried: list[dict] = []
    run = BmcRun("holds", 0)
    for cfg, parts, rung_depth in _rungs(go, mid):
        prog = build_program(cfg, go, mid)
        run = bmc(prog, min(depth, rung_depth), timeout_ms=timeout_ms)
        tried.append({"parts": list(parts) or ["M only"], "status": run.status,
                      "depth": run.depth, "seconds": round(run.seconds, 2)})
        if run.status == "refuted":
            return parts, run, tried, prog
        if run.status == "unknown":
            return None, run, tried, None
    return None, run, tried, None


def _record(go: str, mid: str | None, depth: int, timeout_ms: int) -> CheckResult:
    if mid is not None and not safety_killable(mid):
        return CheckResult(f"{GROUP}.go{go}.{mid}.z3", GROUP,
                           f"mutant {mid} ({MUTANTS[mid].rule}): only a liveness check "
                           "kills it; the Z3 engine checks invariants", "mutant",
                           Verdict.NOT_APPLICABLE, Verdict.NOT_APPLICABLE, 0.0, None,
                           {"engine": "z3", "reason": f"killed by {MUTANTS[mid].expect} "
                            "(liveness), out of reach of bounded invariant checking",
                            "rule": MUTANTS[mid].rule})
    with timed() as t:
        parts, run, tried, prog = hunt(go, mid, depth, timeout_ms)
    cex = None
    details: dict[str, Any] = {"engine": "z3", "method": "bounded model checking (QF_BV)",
                               "rungs": tried, "depth": run.depth,
                               "solver_seconds": round(sum(r["seconds"] for r in tried), 2)}
    if run.status == "refuted" and parts is not None and prog is not None:
        cex = counterexample(prog, run, replay_command(go, mid))
        c = prog.cfg
        details.update(config=f"{c.ms}m{c.ps}p{c.gs}g " + ("+".join(parts) or "M only"),
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
                       "mutant", verdict,
                       Verdict.HOLDS if MUTANTS[mid].equivalent else Verdict.REFUTED, t(),
                       cex, details)


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

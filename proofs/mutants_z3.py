"""The Z3 engine for the mutant catalog: bounded model checking (entersys.proofs.bmc) of each
mutant, first by one satisfiability query per depth on the catalog's configuration (every
part interleaved, or the mutant's own; entersys.proofs.unroll's narrow encoding), then up a
ladder of small configurations, from the Ms alone to the Ms with one other actor, until an
invariant is violated. The trace is decoded into the explorer's
counterexample record and replayed through the interpreter; the faithful model must hold
on every rung to the same depth.

Independent obligations (one per mutant) run in a pool of worker processes."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from entersys.model.mutants import MUTANTS, for_version
from entersys.model.program import Program
from entersys.model.state import Config
from entersys.oracle.protocol import MUTANT_CONFIG, build_program, with_parts
from entersys.proofs.bmc import BmcRun, bmc, bmc_search, counterexample
from entersys.results import CheckResult, Verdict, timed

# 1 M / 1 P / 1 G with no other actor, then with one actor each, and the depth each rung is
# unrolled to (more actors interleave more, so their rungs are shallower): every
# catalogued mutant is killed on one of these rungs.
LADDER: tuple[tuple[tuple[str, ...], int], ...] = (
    ((), 28), (("sysmon",), 27), (("stw",), 24), (("foreachp",), 20), (("gc",), 20))
DEPTH = 28
SECRET_VERSIONS = ("1.27",)  # versions with the `secret` part (Go 1.27's runtime/secret)
# Per-query timeout (ms): Z3's timeout is wall time, set for a loaded 2-core machine; a
# query past it is "unknown" (exit 3), never "holds".
MUTANT_TIMEOUT_MS = 600_000
# the first try: the catalog's configuration (every part, or the mutant's own), searched
# in one query to each of these depths
SEARCH_DEPTHS = (16, 28)
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
    rungs = [(_cfg(go, parts), parts, d) for parts, d in LADDER]
    if go in SECRET_VERSIONS:  # runtime/secret's signal-stack erase is its own part
        rungs.insert(1, (_cfg(go, ("secret",)), ("secret",), 20))
    return rungs


Hunt = tuple[tuple[str, ...] | None, BmcRun, list[dict], Program | None]


def hunt(go: str, mid: str | None, depth: int = DEPTH,
         timeout_ms: int = MUTANT_TIMEOUT_MS) -> Hunt:
    """BMC of mutant `mid` (None: the faithful model) up the LADDER. Returns the rung
    that refuted it (None if none did), the last run, and one summary per rung tried."""
    tried: list[dict] = []
    run = BmcRun("holds", 0)
    unknown: BmcRun | None = None
    if mid is not None and not MUTANTS[mid].equivalent:
        # first the catalog's own configuration (every part interleaved, or the mutant's
        # own), one satisfiability query per depth in SEARCH_DEPTHS: a kill needs no proof
        # that shallower depths hold
        cfg = replace(MUTANTS[mid].config or MUTANT_CONFIG, go=go)
        prog = build_program(cfg, go, mid)
        for d in SEARCH_DEPTHS:
            run = bmc_search(prog, d, timeout_ms=timeout_ms)
            tried.append({"parts": ["catalog configuration"], "status": run.status,
                          "depth": d, "seconds": round(run.seconds, 2),
                          "search": "one query for a violation within the depth (SAT)"})
            if run.status == "refuted":
                return ("catalog",), run, tried, prog
            unknown = unknown or (run if run.status == "unknown" else None)
    for cfg, parts, rung_depth in _rungs(go, mid):
        prog = build_program(cfg, go, mid)
        run = bmc(prog, min(depth, rung_depth), timeout_ms=timeout_ms)
        tried.append({"parts": list(parts) or ["M only"], "status": run.status,
                      "depth": run.depth, "seconds": round(run.seconds, 2)})
        if run.status == "refuted":
            return parts, run, tried, prog
        unknown = unknown or (run if run.status == "unknown" else None)
    return None, unknown or run, tried, None


def _record(go: str, mid: str | None, depth: int, timeout_ms: int) -> CheckResult:
    if mid is not None and not safety_killable(mid):
        return lasso_record(go, mid, timeout_ms)
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


# Bounded lasso search for the mutants only a liveness check kills: stalls (a pending
# state where only the environment can step) to STALL_DEPTH steps, then fair loops to
# LOOP_DEPTH steps (the loop query is much larger: fairness per actor over every frame).
STALL_DEPTH = 24
LOOP_DEPTH = 14
LASSO_PARTS = ("sysmon", "stw")  # a mutant without a configuration of its own


def lasso_config(go: str, mid: str) -> Config:
    return replace(MUTANTS[mid].config or with_parts(Config(1, 1, 1), LASSO_PARTS), go=go)


def lasso_record(go: str, mid: str, timeout_ms: int = MUTANT_TIMEOUT_MS,
                 stall_depth: int = STALL_DEPTH, loop_depth: int = LOOP_DEPTH) -> CheckResult:
    """A liveness-only mutant: Z3 bounded lasso search (entersys.proofs.lasso_z3), the
    lasso decoded into the explorer's record and confirmed by the lasso replay."""
    from entersys.proofs import lasso_z3

    tried: list[dict] = []
    with timed() as t:
        cfg = lasso_config(go, mid)
        prog = build_program(cfg, go, mid)
        search = lasso_z3.LassoSearch(prog, timeout_ms)
        props = lasso_z3.properties(prog)
        run = search.search(props, stall_depth, loops=False)
        tried.append({"search": "stall", "status": run.status, "depth": run.depth,
                      "seconds": round(run.seconds, 2)})
        if run.status == "holds":
            run = lasso_z3.LassoSearch(prog, timeout_ms).search(props, loop_depth)
            tried.append({"search": "fair loop", "status": run.status, "depth": run.depth,
                          "seconds": round(run.seconds, 2)})
        if run.status == "refuted":
            lasso_z3.confirm(prog, run)
    details: dict[str, Any] = {
        "engine": "z3", "rule": MUTANTS[mid].rule,
        "method": "bounded lasso search (liveness to safety, QF_BV): a pending state that "
                  "repeats in tick normal form with every weakly fair actor enabled "
                  "throughout the loop stepping in it (entersys.oracle.liveness's "
                  "fairness), or a pending stall",
        "searches": tried, "depth": run.depth,
        "config": f"{cfg.ms}m{cfg.ps}p{cfg.gs}g",
        "solver_seconds": round(sum(x["seconds"] for x in tried), 2)}
    cex = None
    verdict = {"refuted": Verdict.REFUTED, "holds": Verdict.HOLDS}.get(run.status,
                                                                       Verdict.UNKNOWN)
    if run.status == "refuted":
        cex = lasso_z3.counterexample(prog, run, replay_command(go, mid))
        details.update(violated=[run.property], killed_by=run.property,
                       kill_kind="liveness", about=run.about or None,
                       trace_length=len(run.labels))
    return CheckResult(f"{GROUP}.go{go}.{mid}.z3", GROUP,
                       f"Z3 bounded lasso search kills mutant {mid} ({MUTANTS[mid].rule})",
                       "mutant", verdict, Verdict.REFUTED, t(), cex, details)


def _job(args: tuple[str, str | None, int, int]) -> CheckResult:
    return _record(*args)


def workers() -> int:
    """Gentle on a shared machine: at most two processes."""
    return max(1, min(2, os.cpu_count() or 1))


def results(go: str, only: list[str] | None = None, depth: int = DEPTH,
            timeout_ms: int = MUTANT_TIMEOUT_MS, faithful: bool = True) -> list[CheckResult]:
    """One record per mutant of `go` (and one for the faithful model), in catalog order."""
    jobs: list[tuple[str, str | None, int, int]] = [
        (go, m, depth, timeout_ms) for m in (only or for_version(go))]
    if faithful and not only:
        jobs.insert(0, (go, None, min(depth, FAITHFUL_DEPTH), timeout_ms))
    if len(jobs) == 1 or workers() == 1:
        return [_job(j) for j in jobs]
    from entersys.proofs.protocol_suite import parallel_map

    return parallel_map(_job, jobs)

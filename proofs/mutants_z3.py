"""The Z3 engine for the mutant catalog. A safety mutant is hunted by bounded model
checking (entersys.proofs.bmc.bmc_search, one satisfiability query for any violation
within a depth over narrow bit-vectors): on the catalog's configuration (every part, or
the mutant's own), then on the same sizes with one actor's part at a time (fewer step
instances, so a deeper query), then on the catalog's configuration deeper. A liveness
mutant is hunted by bounded stall and fair-lasso search (entersys.proofs.lasso_z3,
entersys.proofs.lasso_unroll) with entersys.oracle.liveness's fairness. Every kill is
decoded into the explorer's counterexample record and replayed through the interpreter;
the faithful model and the equivalent mutants must hold on a ladder of small
configurations (per-depth BMC). No depth or configuration hint comes from the explorer.

Independent obligations (one per mutant) run in a pool of worker processes."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from typing import Any

from entersys.model.mutants import MUTANTS, for_version
from entersys.model.program import Program
from entersys.model.state import Config
from entersys.oracle.protocol import MUTANT_CONFIG, build_program, with_parts
from entersys.proofs.bmc import BmcRun, bmc, bmc_search, counterexample
from entersys.results import CheckResult, Verdict, timed

SECRET_VERSIONS = ("1.27",)  # versions with the `secret` part (Go 1.27's runtime/secret)
# Per-query timeout (ms): Z3's timeout is wall time, set for a loaded 2-core machine; a
# query past it is "unknown" (exit 3), never "holds".
MUTANT_TIMEOUT_MS = 300_000
# Wall-clock budget (s) per mutant: each query's timeout is cut to what is left, and a
# mutant out of budget is "unknown", so a whole catalog run finishes.
MUTANT_BUDGET_S = 420.0
# The hunt for a safety mutant, each step one satisfiability query for a violation within
# the depth (entersys.proofs.bmc.bmc_search: narrow bit-vectors, bit-blasted):
# 1. the catalog's configuration (every part, or the mutant's own) to SEARCH_DEPTH steps;
# 2. the same sizes with one actor's part at a time (none, sysmon, stop-the-world,
#    forEachP, the GC; Go 1.27's runtime/secret), SMALL_DEPTH steps each: fewer step
#    instances per step, so a deeper query costs less;
# 3. the catalog's configuration to DEPTH steps.
SEARCH_DEPTH = 16
SMALL_DEPTH = 28
DEPTH = 28
SMALL_PARTS = ("sysmon", "stw", "foreachp", "gc")
# The faithful model and the equivalent mutants (expected to hold): per-depth BMC
# (entersys.proofs.bmc.bmc) up a ladder of 1 M / 1 P / 1 G configurations, the Ms alone,
# then with one actor each, to the depth given per rung (more actors interleave more, so
# their rungs are shallower); the faithful model to at most FAITHFUL_DEPTH.
LADDER: tuple[tuple[tuple[str, ...], int], ...] = (
    ((), 28), (("sysmon",), 27), (("stw",), 24), (("foreachp",), 20), (("gc",), 20))
FAITHFUL_DEPTH = 16
GROUP = "protocol-mutants"


def replay_command(go: str, mid: str | None) -> str:
    only = f" --only {mid}" if mid else ""
    return f"entersys mutants --engine z3 --go {go}{only}"


def safety_killable(mid: str) -> bool:
    """Whether an invariant (not only a liveness or deadlock check) kills the mutant."""
    first = MUTANTS[mid].expect.split()[0]
    return not first.startswith(("LIVE", "DEADLOCK"))


def catalog_config(go: str, mid: str | None) -> Config:
    """The configuration the catalog kills `mid` on (its own, or MUTANT_CONFIG)."""
    own = MUTANTS[mid].config if mid else None
    return replace(own or MUTANT_CONFIG, go=go)


def small_configs(go: str, mid: str | None) -> list[tuple[Config, str]]:
    """The catalog configuration's sizes with the actors' parts one at a time (and none),
    each with a name; `locked` stays on where the catalog's configuration has it."""
    base = catalog_config(go, mid)
    keep = ("locked",) if base.locked else ()
    parts = SMALL_PARTS + (("secret",) if go in SECRET_VERSIONS else ())
    out = [(with_parts(base, keep), "M only")]
    out += [(with_parts(base, (p, *keep)), p) for p in parts if getattr(base, p)]
    return out


def _size(c: Config, what: str) -> str:
    return f"{c.ms}m{c.ps}p{c.gs}g {what}"


Hunt = tuple[tuple[str, ...] | None, BmcRun, list[dict], Program | None]


def hunt(go: str, mid: str | None, depth: int = DEPTH,
         timeout_ms: int = MUTANT_TIMEOUT_MS) -> Hunt:
    """BMC of mutant `mid` (None: the faithful model), the steps of the module comment.
    Returns the rung that refuted it (None if none did), the last run, and one summary
    per query. The faithful model and an equivalent mutant get the one query on the
    LADDER's per-depth BMC (a "holds" shows every depth up to the rung's)."""
    tried: list[dict] = []
    unknown: BmcRun | None = None
    if mid is None or MUTANTS[mid].equivalent:
        return _ladder(go, mid, depth, timeout_ms)
    cat = catalog_config(go, mid)
    plan = ([(cat, "catalog configuration", SEARCH_DEPTH)]
            + [(c, w, min(depth, SMALL_DEPTH)) for c, w in small_configs(go, mid)]
            + [(cat, "catalog configuration", depth)])
    run = BmcRun("holds", 0)
    left = _budget(timeout_ms)
    for cfg, what, d in plan:
        if left() <= 0:
            tried.append({"parts": [what], "config": _size(cfg, what), "status": "unknown",
                          "depth": d, "seconds": 0.0, "search": "not run: out of budget"})
            unknown = unknown or BmcRun("unknown", d)
            break
        prog = build_program(cfg, go, mid)
        run = bmc_search(prog, d, timeout_ms=left())
        tried.append({"parts": [what], "config": _size(cfg, what), "status": run.status,
                      "depth": d, "seconds": round(run.seconds, 2),
                      "search": "one query for a violation within the depth (SAT)"})
        if run.status == "refuted":
            return (what,), run, tried, prog
        unknown = unknown or (run if run.status == "unknown" else None)
    return None, unknown or run, tried, None


def _budget(timeout_ms: int, budget_s: float | None = None) -> Any:
    """A function giving the next query's timeout (ms): the per-query timeout, cut to the
    mutant's wall-clock budget left (MUTANT_BUDGET_S); <= 0 once it is spent."""
    end = time.perf_counter() + (MUTANT_BUDGET_S if budget_s is None else budget_s)

    def left() -> int:
        return min(timeout_ms, int((end - time.perf_counter()) * 1000))
    return left


def _ladder(go: str, mid: str | None, depth: int, timeout_ms: int) -> Hunt:
    tried: list[dict] = []
    run = BmcRun("holds", 0)
    unknown: BmcRun | None = None
    for parts, rung_depth in LADDER:
        cfg = replace(with_parts(Config(1, 1, 1), parts), go=go)
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


# Bounded lasso search for the mutants only a liveness check kills: first stalls (a
# pending state where only the environment can step), shortest first, to STALL_DEPTH steps
# (entersys.proofs.lasso_z3); then fair lassos in one query per depth bound
# (entersys.proofs.lasso_unroll), on the smallest configuration first (one M, the
# catalog's Ps and Gs, sysmon alone), then on the catalog's (the mutant's own, or 1/1/1
# with sysmon and stop-the-world), to each of LASSO_DEPTHS steps.
STALL_DEPTH = 14
LASSO_DEPTHS = (20, 30)
LOOP_DEPTH = 14  # lasso_z3's own fair-loop search (one query per depth; tests)
LASSO_PARTS = ("sysmon", "stw")  # a mutant without a configuration of its own


def lasso_config(go: str, mid: str) -> Config:
    return replace(MUTANTS[mid].config or with_parts(Config(1, 1, 1), LASSO_PARTS), go=go)


def lasso_configs(go: str, mid: str) -> list[tuple[Config, str]]:
    """Where the lasso search looks, smallest first (named)."""
    cat = lasso_config(go, mid)
    small = with_parts(replace(cat, ms=1), ("sysmon",))
    out = [(small, "1 M, sysmon")] if small != cat else []
    return out + [(cat, "catalog configuration")]


def lasso_record(go: str, mid: str, timeout_ms: int = MUTANT_TIMEOUT_MS,
                 stall_depth: int = STALL_DEPTH,
                 depths: tuple[int, ...] = LASSO_DEPTHS) -> CheckResult:
    """A liveness-only mutant: Z3 bounded stall and lasso search (entersys.proofs.lasso_z3,
    entersys.proofs.lasso_unroll), the lasso decoded into the explorer's record and
    confirmed by the lasso replay."""
    from entersys.proofs import lasso_unroll, lasso_z3

    tried: list[dict] = []
    with timed() as t:
        cfg = lasso_config(go, mid)
        prog = build_program(cfg, go, mid)
        run = lasso_z3.LassoSearch(prog, timeout_ms).search(lasso_z3.properties(prog),
                                                            stall_depth, loops=False)
        tried.append({"search": "stall", "config": _size(cfg, "catalog configuration"),
                      "status": run.status, "depth": run.depth,
                      "seconds": round(run.seconds, 2)})
        plan = [(c, w, d) for d in depths for c, w in lasso_configs(go, mid)]
        left = _budget(timeout_ms, MUTANT_BUDGET_S - run.seconds)
        while run.status != "refuted" and plan:
            cfg, what, d = plan.pop(0)
            if left() <= 0:
                tried.append({"search": "not run: out of budget", "config": _size(cfg, what),
                              "status": "unknown", "depth": d, "seconds": 0.0})
                break
            prog = build_program(cfg, go, mid)
            run = lasso_unroll.NarrowLasso(prog, left()).search(
                lasso_unroll.properties(prog), d)
            tried.append({"search": "fair lasso or stall, one query", "config":
                          _size(cfg, what), "status": run.status, "depth": d,
                          "seconds": round(run.seconds, 2)})
        if run.status == "refuted":
            lasso_z3.confirm(prog, run)
    unknown = any(x["status"] == "unknown" for x in tried)
    details: dict[str, Any] = {
        "engine": "z3", "rule": MUTANTS[mid].rule,
        "method": "bounded lasso search (liveness to safety, QF_BV): a pending state that "
                  "repeats in tick normal form, the loop fair under "
                  "entersys.oracle.liveness's weak and strong classes, or a pending stall",
        "searches": tried, "depth": run.depth,
        "config": f"{prog.cfg.ms}m{prog.cfg.ps}p{prog.cfg.gs}g",
        "solver_seconds": round(sum(x["seconds"] for x in tried), 2)}
    cex = None
    if run.status == "refuted":
        verdict = Verdict.REFUTED
        cex = lasso_z3.counterexample(prog, run, replay_command(go, mid))
        details.update(violated=[run.property], killed_by=run.property,
                       kill_kind="liveness", about=run.about or None,
                       trace_length=len(run.labels), loop_start=run.loop_start)
    else:  # "holds" within the bounds is not a verdict on a liveness mutant
        verdict = Verdict.UNKNOWN if unknown or run.status != "holds" else Verdict.HOLDS
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

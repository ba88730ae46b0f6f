"""Benchmark of the Z3 protocol proofs (`verify --only protocol`): the wall time of the
whole group per protocol design, on this machine's cores, with the time of every proof
obligation (BMC, induction, TSO). The issue's target is 3 minutes per design on 2 cores;
the figure depends on the machine's load, so it is reported by `entersys bench`, never
asserted by a timed test."""

from __future__ import annotations

import time
from argparse import Namespace
from typing import Any

from entersys.results import CheckResult, Counterexample, Verdict

TARGET_SECONDS = 180.0
CORES = 2  # the machine: the idle-cores estimate schedules the obligations on 2
# One version per design: the old (_Psyscall) design and the Go 1.26+ scan-bit design.
DESIGNS = (("psyscall", "1.25"), ("scanbit", "1.27"))


def protocol_proofs() -> tuple[list[CheckResult], dict[str, Any]]:
    """One record per design: holds when the group finished within TARGET_SECONDS with
    every proof as expected; details give each obligation's seconds."""
    from entersys.proofs import protocol_suite

    out, figures = [], {}
    for design, go in DESIGNS:
        t0 = time.perf_counter()
        recs = protocol_suite.run(Namespace(go=go, depth=None, ps=None, timeout_ms=None))
        wall = time.perf_counter() - t0
        per = {r.id.split(f".go{go}.", 1)[-1]: round(r.seconds, 1) for r in recs}
        missed = [r.id for r in recs if r.verdict != r.expected]
        ok = wall <= TARGET_SECONDS and not missed
        cpu = {r.details["obligation"]: r.details["cpu_seconds"] for r in recs
               if "obligation" in r.details}
        quiet = lpt_makespan(list(cpu.values()), CORES)
        figures[f"protocol proofs, Go {go} ({design}), s"] = (
            f"{wall:.0f} wall; {sum(cpu.values()):.0f} CPU, {quiet:.0f} on {CORES} idle "
            "cores (LPT schedule of the CPU times); "
            + "; ".join(f"{k} {v}" for k, v in per.items()))
        out.append(CheckResult(
            f"bench.proofs.{design}", "bench",
            f"Z3 protocol group for Go {go} ({design} design) within {TARGET_SECONDS:.0f} s "
            "with every proof as expected", "benchmark",
            Verdict.HOLDS if ok else Verdict.REFUTED, Verdict.HOLDS, wall,
            None if ok else Counterexample(
                summary=f"{wall:.0f} s (target {TARGET_SECONDS:.0f} s)"
                        + (f"; not as expected: {', '.join(missed)}" if missed else ""),
                values={"seconds": round(wall, 1), "missed": missed}),
            {"go": go, "design": design, "wall_seconds": round(wall, 1),
             "proof_seconds": per, "target_seconds": TARGET_SECONDS,
             "cpu_seconds": round(sum(cpu.values()), 1), "obligation_cpu_seconds": cpu,
             "idle_cores_estimate_seconds": round(quiet, 1),
             "idle_cores_estimate": f"the obligations' CPU times scheduled longest first "
                                    f"on {CORES} idle cores (the verdict is the wall time)"}))
    return out, figures


def lpt_makespan(costs: list[float], cores: int) -> float:
    """The finishing time (same unit as `costs`) of jobs of these costs run longest first,
    each on the core that frees up first (protocol_suite.parallel_map's order): the wall
    time the group would take on `cores` idle cores."""
    free = [0.0] * max(cores, 1)
    for c in sorted(costs, reverse=True):
        k = free.index(min(free))
        free[k] += c
    return max(free)

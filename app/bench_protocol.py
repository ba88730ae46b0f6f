"""Benchmarks of the protocol explorer, as ratios against baselines measured in the same
run: throughput (states/s) of the compiled engine against the interpreter, and the
state-count reduction that symmetry buys."""

from __future__ import annotations

from typing import Any

from entersys.model.state import Config
from entersys.model.steps import Program
from entersys.oracle.explore import Explorer
from entersys.oracle.protocol import VERIFY_CONFIG
from entersys.results import CheckResult, Counterexample, Verdict, timed

THROUGHPUT_TARGET = 50_000   # states/s on one core for the default configuration
SYMMETRY_CONFIG = Config(2, 2, 1, foreachp=False, gc=False, blockhint=False, raw=False)


def explorer_throughput(quick: bool = False) -> tuple[list[CheckResult], dict[str, Any]]:
    with timed() as t:
        prog = Program(VERIFY_CONFIG)
        compiled = Explorer(prog).run()
        cap = 20_000 if quick else 60_000
        interp = Explorer(prog, engine="interpreted").run(max_states=cap, progress=False)
    rate, base = compiled.states_per_second, interp.states_per_second
    ok = rate >= THROUGHPUT_TARGET
    rec = CheckResult(
        "bench.explore.throughput", "bench",
        f"explorer, default configuration {VERIFY_CONFIG.ms}M/{VERIFY_CONFIG.ps}P/"
        f"{VERIFY_CONFIG.gs}G with symmetry: at least {THROUGHPUT_TARGET} states/s",
        "benchmark", Verdict.HOLDS if ok else Verdict.REFUTED, Verdict.HOLDS, t(),
        None if ok else Counterexample(summary=f"{rate:.0f} states/s < {THROUGHPUT_TARGET}",
                                       values={"states_per_second": round(rate)}),
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

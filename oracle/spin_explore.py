"""`entersys explore --engine spin`: SPIN's safety search (one run, or a swarm of
bitstate runs), and with `--liveness on` its fair acceptance-cycle search, as the same
records the other engines give. Trails are replayed through our steps before they are
reported; SPIN's figures (states, memory, -DMEMLIM and why, state-vector layout) are in
the details."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from entersys.model.invariants import Invariant
from entersys.model.state import Config
from entersys.oracle.explore import Explorer, ExploreResult, Violation
from entersys.oracle.spin import SpinError, SpinRun, run_spin, trail_path
from entersys.results import CheckResult, Counterexample, Verdict, timed

# --liveness auto runs SPIN's liveness search up to this many states of the safety search
# (its product with the claim and SPIN's fairness copies is 10-50 times larger, and every
# refinement round builds another pan: about 20 s at 1/1/1, 7 min at 2/1/2)
LIVE_AUTO_LIMIT = 100_000


def explore_spin(cfg: Config, go: str, mutant: str | None = None, symmetry: bool = True,
                 max_states: int = 5_000_000, cores: int = 1, bitstate: bool = False,
                 extra_invariants: list[Invariant] | None = None,
                 liveness: bool | None = None, swarm: int = 0, swarm_dir: str | None = None,
                 swarm_merge: str | None = None, swarm_seconds: float = 60.0,
                 compression: str = "collapse") -> Any:
    """The safety record (invariants and deadlocks; SPIN does not run our progress
    checks) and, with `liveness` True (None: when the safety search was exhaustive and
    stored at most LIVE_AUTO_LIMIT states), one liveness record
    (entersys.oracle.spin_live).
    `swarm` N > 0 runs N diversified bitstate jobs `cores` at a time, each for at most
    `swarm_seconds` (entersys.oracle.spin_swarm); with `swarm_dir` the swarm is written
    there instead of run (the record is then inconclusive: nothing was verified); with
    `swarm_merge` the outputs of an emitted swarm that ran elsewhere are merged."""
    from entersys.model.mutants import MUTANTS
    from entersys.oracle import spin_swarm
    from entersys.oracle.protocol import GROUP, Exploration, _tag, build_program, replay_command

    tag = _tag(cfg, go, mutant) + ".spin"  # the native record's id, marked as SPIN's
    title = (f"Go {go} protocol, {cfg.ms} Ms / {cfg.ps} Ps / {cfg.gs} Gs"
             + (f", mutant {mutant}" if mutant else "") + ": every invariant, no deadlock (SPIN"
             + (f" swarm of {swarm}" if swarm else "") + ")")
    expected = Verdict.REFUTED if mutant else Verdict.HOLDS
    replay = replay_command(cfg, go, mutant) + " --engine spin"
    swarm_details: dict[str, Any] | None = None
    with timed() as t:
        prog = build_program(cfg, go, mutant)
        invs = prog.invariants + (extra_invariants or [])
        ex = Explorer(prog, symmetry=False, invariants=invs)
        try:
            if swarm_dir is not None:
                jobs = spin_swarm.emit(prog, swarm, Path(swarm_dir), replay, invariants=invs)
                rec = CheckResult(
                    f"{GROUP}.{tag}", GROUP, title, "explore", Verdict.UNKNOWN, expected, t(),
                    Counterexample(summary=f"swarm of {len(jobs)} jobs written to {swarm_dir}: "
                                   f"run `sh {swarm_dir}/swarm.sh` (or swarm.sh K per job) "
                                   "and merge with --swarm-merge"),
                    {"engine": "spin", "swarm_dir": swarm_dir, "jobs": len(jobs)})
                return Exploration(rec, ex, ExploreResult(complete=False))
            if swarm_merge is not None:
                jobs, sw = spin_swarm.merge(prog, Path(swarm_merge), invariants=invs)
            elif swarm:
                jobs, sw = spin_swarm.run_swarm(prog, swarm, cores=cores, seconds=swarm_seconds,
                                                invariants=invs)
            if swarm or swarm_merge is not None:
                run = sw.merged()
                swarm_details = sw.details(jobs)
                bitstate = True
            else:
                run = run_spin(prog, cores=cores, bitstate=bitstate, invariants=invs,
                               compression=compression)
            cex, violated = _safety_cex(ex, prog, run, replay) if run.errors else (None, [])
        except (SpinError, OSError, subprocess.SubprocessError) as e:
            err = CheckResult(f"{GROUP}.{tag}", GROUP, title, "explore", Verdict.ERROR,
                              expected, t(), Counterexample(summary=f"SPIN failed: {e}"),
                              {"engine": "spin"})
            return Exploration(err, ex, ExploreResult(complete=False))
    if cex is not None:
        verdict = Verdict.REFUTED
    elif not run.complete:
        verdict = Verdict.UNKNOWN
    else:
        verdict = Verdict.HOLDS
    details: dict[str, Any] = {
        "engine": "spin", "states": run.states, "transitions": run.transitions,
        "depth": run.depth, "explore_seconds": round(run.seconds, 3),
        "build_seconds": round(run.build_seconds, 1),
        "states_per_second": round(run.states / run.seconds) if run.seconds else None,
        "complete": run.complete, "symmetry": False, "cores": cores, "bitstate": bitstate,
        "memory_mb": run.memory_mb, "state_vector_bytes": run.state_vector,
        "bytes_per_state": round(run.bytes_per_state, 1), "hash_factor": run.hash_factor,
        "spin_flags": run.flags, "violated": violated,
        "memlim_mb": run.memlim_mb, "memlim": run.memlim_reason,
        "state_fields": run.fields, "byte_fields": run.byte_fields,
        "constant_fields": run.constant_fields, "widened_fields": run.widened,
        "checks": "invariants and deadlocks (progress checks: native and python engines)"}
    if swarm_details is not None:
        details["swarm"] = swarm_details
    live_recs: list[CheckResult] = []
    if liveness is None:  # auto: where SPIN's liveness search is quick (measured: 1/1/1)
        liveness = run.complete and not bitstate and run.states <= LIVE_AUTO_LIMIT
    if liveness and verdict == Verdict.HOLDS:
        live_recs = live_records(prog, cfg, go, mutant, tag, replay, compression, cores)
        details["liveness"] = (f"SPIN pan -a -f per claim branch "
                               f"({sum(r.details.get('states') or 0 for r in live_recs)} "
                               "product states in all)")
        bad = [r for r in live_recs if r.verdict == Verdict.REFUTED]
        if mutant and bad:
            verdict, cex = Verdict.REFUTED, bad[0].counterexample
            violated = list(bad[0].details.get("violated", []))
            details["violated"] = violated
    else:
        details["liveness"] = (f"not checked (auto: above {LIVE_AUTO_LIMIT} states, or not "
                               "exhaustive; --liveness on runs SPIN's acceptance-cycle "
                               "search)" if not liveness else "not run: safety refuted")
    if mutant:
        details["rule"] = MUTANTS[mutant].rule
        details["trace_length"] = len(cex.trace) if cex else None
    rec = CheckResult(f"{GROUP}.{tag}", GROUP, title, "explore", verdict, expected, t(), cex,
                      details)
    return Exploration(rec, ex, ExploreResult(states=run.states, transitions=run.transitions,
                                              depth=run.depth, complete=run.complete),
                       [] if mutant else live_recs)  # a mutant's kill is in `rec`


def _safety_cex(ex: Explorer, prog: Any, run: SpinRun,
                replay: str) -> tuple[Counterexample, list[str]]:
    if run.range_fault is not None:
        raise SpinError(f"a step stored a value outside 0..255 into byte field "
                        f"{run.range_fault} (rerun: the local run widens it)")
    path = trail_path(ex, list(prog.instances()), run.trail or [])
    last = path[-1][1]
    if run.deadlock:
        viol = Violation("DEADLOCK", "no step enabled in a state that is not an intended "
                         "terminal state", last, "deadlock")
        violated = ["DEADLOCK"]
    else:
        bad = ex.check_invariants(last)
        if not bad:
            raise SpinError("SPIN's trail ends in a state where every invariant holds")
        viol = Violation(bad[0].id, bad[0].title, last)
        violated = [i.id for i in bad]
    rules = {name: s.rule for name, s in prog.steps.items()}
    return ex.counterexample_of_path(path, viol, replay, rules, "SPIN's trail"), violated


def live_records(prog: Any, cfg: Config, go: str, mutant: str | None, tag: str,
                 replay: str, compression: str = "collapse", cores: int = 1,
                 weak: str = "spin") -> list[CheckResult]:
    """One record per LIVE-* property (ids as the native explorer's, with the `.spin`
    tag): holds (no fair acceptance cycle for any of its claim branches, in exhaustive
    searches), refuted (SPIN's lasso, replayed and fair under our fairness), or
    inconclusive (a branch whose search was not exhaustive or whose refinement gave up:
    the reason is in the summary). The branches are searched separately, `cores` pan
    processes at a time (entersys.oracle.spin_branches)."""
    from entersys.oracle.liveness import prepare as prepare_actors
    from entersys.oracle.protocol import GROUP
    from entersys.oracle.spin_branches import check_branches

    title = (f"Go {go} protocol, {cfg.ms} Ms / {cfg.ps} Ps / {cfg.gs} Gs"
             + (f", mutant {mutant}" if mutant else ""))
    with timed() as t:
        try:
            bv = check_branches(prog, cores=cores, weak=weak, compression=compression,
                                stop_on_refuted=bool(mutant))
        except (SpinError, OSError, subprocess.SubprocessError, ValueError) as e:
            return [CheckResult(f"{GROUP}.{tag}.LIVE", GROUP, f"{title}: every LIVE-* "
                                "property (SPIN)", "liveness", Verdict.ERROR, Verdict.HOLDS,
                                t(), Counterexample(summary=f"SPIN failed: {e}"),
                                {"engine": "spin"})]
    seconds = t()
    common = {"engine": "spin", "searches": bv.rounds, "weak_fairness": weak,
              "build_seconds": round(bv.build_seconds, 1),
              "search_wall_seconds": round(bv.wall_seconds, 1),
              "pan_cpu_seconds": round(bv.cpu_seconds, 1),
              "peak_pan_memory_mb": bv.peak_memory_mb, "cores": cores, "symmetry": False}
    out = []
    ex = Explorer(prog, symmetry=False)
    prepare_actors(ex)
    for prop in dict.fromkeys(b.name.split("(")[0] for b in bv.branches):
        mine = [b for b in bv.branches if b.name.split("(")[0] == prop]
        details: dict[str, Any] = {
            **common, "branches": {b.name: {"verdict": b.verdict, "why": b.why,
                                            "fair_classes": [ex.actor_names[a]
                                                             for a in b.fair],
                                            "searches": b.history} for b in mine},
            "states": sum(b.run.states for b in mine if b.run is not None),
            "complete": all(b.run is not None and b.run.complete for b in mine)}
        rid, ptitle = f"{GROUP}.{tag}.{prop}", f"{title}: {prop} (SPIN, per claim branch)"
        bad = next((b for b in mine if b.verdict == "refuted"), None)
        if bad is None:
            held = all(b.verdict == "holds" for b in mine)
            why = "; ".join(f"{b.name}: {b.why}" for b in mine if b.verdict != "holds")
            out.append(CheckResult(rid, GROUP, ptitle, "liveness",
                                   Verdict.HOLDS if held else Verdict.UNKNOWN, Verdict.HOLDS,
                                   seconds, None if held else Counterexample(
                                       summary=f"inconclusive: {why}"), details))
            continue
        assert bad.lasso is not None and bad.run is not None
        out.append(_lasso_record(prog, bad.lasso, rid, ptitle, replay, details, seconds))
    return out


def _lasso_record(prog: Any, lv: Any, rid: str, title: str, replay: str,
                  details: dict[str, Any], seconds: float) -> CheckResult:
    """The refuted record of a fair lasso SPIN found (spin_live.LiveVerdict), its
    counterexample the lasso replayed through our steps (ITF `loop` marks the cycle)."""
    from entersys.oracle.protocol import GROUP

    ex = Explorer(prog, symmetry=False)
    path = trail_path(ex, list(prog.instances()), [k for k in lv.run.prefix + lv.run.cycle])
    rules = {name: s.rule for name, s in prog.steps.items()}
    prop = lv.pending[0] if lv.pending else "LIVE-?"
    viol = Violation(prop.split()[0], f"pending forever on a cycle SPIN found ({prop})",
                     path[-1][1], "liveness")
    cex = ex.counterexample_of_path(path, viol, replay + " --liveness on", rules,
                                    "SPIN's acceptance trail")
    n = len(path) - 1
    loop = lv.loop
    if cex.itf is not None:
        cex.itf["loop"] = loop - 1 if lv.run.cycle else n - 1
    cycle = (f"steps {loop + 1}-{n} repeat forever" if lv.run.cycle else
             f"after step {n} only the environment can step: the last state repeats forever")
    cex.summary = (f"{prop.split()[0]} (liveness) violated: pending forever on a fair cycle "
                   f"({', '.join(lv.pending) or 'no claim pending throughout'}). {cycle}. "
                   f"Replay under entersys's fairness: {lv.why}")
    cex.values = {"cycle": cycle, "loop_start_state": loop, "replay": lv.why}
    details = {**details, "violated": [p.split()[0] for p in lv.pending],
               "replay_reproduces": lv.reproduces}
    verdict = Verdict.REFUTED if lv.reproduces else Verdict.UNKNOWN
    return CheckResult(rid, GROUP, title, "liveness", verdict, Verdict.HOLDS, seconds, cex,
                       details)

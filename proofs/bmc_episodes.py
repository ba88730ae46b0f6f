"""Bounded model checking to the depth of two full syscall episodes per M, with sysmon and
stop-the-world interleaved, for N Ms (N Ps, N Gs, the core parts), in the rounds semantics
of entersys.proofs.unroll: in one round every M, sysmon and the stop-the-world caller take
at most one step each, so a depth of K rounds lets every M take K steps of its own.

The depth is computed, not chosen: entersys.proofs.protocol_suite.episode_steps gives (the
steps to an M's first syscall, the steps of one episode) in the fused program, and two
episodes need prefix + 2 * episode rounds (Go 1.14-1.25: 2 + 2 * 24 = 50; Go 1.26+:
2 + 2 * 9 = 20). A run that stops short of that depth (its wall-clock budget) is reported
as unknown with the depth it reached, never as holds.

By default the unrolling asserts at every frame an inductive strengthening proved for the
same configuration (entersys.proofs.strengthen: the one-M configuration's mined
candidates lifted onto every M, P and G, pruned by Houdini); the record lists it."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from entersys.model.program import Program
from entersys.model.state import Config
from entersys.oracle.protocol import PART_SETS, build_program, with_parts
from entersys.proofs.bmc import BmcRun, counterexample
from entersys.results import CheckResult, Verdict, timed

GROUP = "protocol"
BUDGET_S = 300.0  # wall clock per record
# The strengthening's Houdini proof takes about 5 minutes at N = 2 on a loaded 2-core
# machine and then makes each depth about 5x cheaper: worth it only with a budget of at
# least this many seconds (measured figures in the README).
STRENGTHEN_MIN_BUDGET_S = 900.0


def rounds_for_two_episodes(go: str) -> int:
    """prefix + 2 * episode of Go `go`'s fused program (one M's own steps)."""
    from entersys.proofs.protocol_suite import episode_steps

    prefix, episode = episode_steps(go)
    return prefix + 2 * episode


def config(go: str, n: int) -> Config:
    """N Ms, N Ps, N Gs with sysmon and stop-the-world (the core parts)."""
    return replace(with_parts(Config(n, n, n), PART_SETS["core"]), go=go)


def record(go: str, n: int, budget_s: float = BUDGET_S, depth: int | None = None,
           strengthened: bool | None = None, mutant: str | None = None) -> CheckResult:
    """One record: every invariant in every state reachable within the two-episode depth
    (or `depth` rounds), holds / refuted (a replayed trace) / unknown (the depth reached).
    `strengthened`: assert the proved strengthening at every frame (default: when
    `budget_s` >= STRENGTHEN_MIN_BUDGET_S); `mutant`: check that catalogued mutant
    instead of the faithful program. `budget_s` is the wall clock of the unrolling and
    the strengthening's proof together (Houdini itself has only per-query timeouts)."""
    if strengthened is None:
        strengthened = budget_s >= STRENGTHEN_MIN_BUDGET_S
    two = rounds_for_two_episodes(go)
    target = depth if depth is not None else two
    cfg = config(go, n)
    strength: dict[str, Any] = {}
    with timed() as t:
        prog = build_program(cfg, go, mutant)
        run, strength = _run(prog, target, budget_s, strengthened)
    actors = n + 2
    verdict = {"holds": Verdict.HOLDS, "refuted": Verdict.REFUTED}.get(run.status,
                                                                        Verdict.UNKNOWN)
    cex = None
    if run.status == "refuted":
        cex = counterexample(prog, run, _replay_cmd(go, n, target, mutant))
    reached = run.depth if run.status != "refuted" else None
    details = {
        "method": "incremental bounded model checking (Z3, QF_BV on narrow bit-vectors, "
                  "invariants asserted at every depth already shown to hold"
                  + (", and at every frame the inductive strengthening listed under "
                     "'strengthening', proved for this configuration)" if strengthened
                     else ")"),
        "semantics": f"rounds (relaxed exists-step): per round each of M0..M{n - 1}, "
                     "sysmon and the stop-the-world caller takes at most one step, in that "
                     "order, each seeing its predecessors' writes; a round is a sequence of "
                     "real steps, so no independence argument is needed",
        "depth": run.depth, "depth_unit": "rounds",
        "target_depth": target, "two_episode_depth": two,
        "depth_computed_as": "prefix + 2 * episode of one M in the fused program "
                             "(protocol_suite.episode_steps); each M steps once per round",
        "interleaving_steps_covered": f"every run of at most {run.depth} steps, and every "
                                      f"run that falls into {run.depth} rounds (up to "
                                      f"{run.depth * actors} steps)",
        "covers_two_episodes_per_m": (run.status == "holds"
                                      and run.depth >= two),
        "solver_seconds": round(strength.pop("bmc_solver_seconds"), 3),
        "bmc_seconds": round(run.seconds, 3), "queries": run.queries,
        "budget_seconds": budget_s, "violated": run.violated}
    details["depth_seconds"] = strength.pop("depth_seconds", [])
    if strengthened:
        details["strengthening"] = strength
    if run.status == "unknown":
        shown = (f"depth {reached} of {target} rounds reached" if reached is not None
                 and reached >= 0 else f"no depth of {target} rounds checked")
        details["reason"] = (f"{shown} within the {budget_s:.0f} s budget"
                             + strength.get("note", ""))
        details["limit"] = f"{budget_s:.0f} s"
    covers = " (covers two episodes per M)" if target >= two else ""
    title = (f"Go {go}, {n} M / {n} P / {n} G (core): every invariant holds to depth "
             f"{target} rounds{covers}")
    tag = f".{mutant}" if mutant else ""
    return CheckResult(f"{GROUP}.go{go}.bmc.two-episodes.{n}m{tag}", GROUP, title, "bmc",
                       verdict, Verdict.REFUTED if mutant else Verdict.HOLDS, t(), cex,
                       details)


def _run(prog: Program, target: int, budget_s: float, strengthened: bool
         ) -> tuple[BmcRun, dict[str, Any]]:
    """The unrolling, under the proved strengthening when `strengthened`: (the run, the
    strengthening's record: how it was proved, its lemmas, its seconds)."""
    from entersys.proofs.bmc_lemmas import bmc_with_lemmas
    from entersys.proofs.strengthen import strengthen
    from entersys.proofs.transition import Transition

    t0 = time.perf_counter()
    tr = Transition(prog)
    if not strengthened:
        run, log = bmc_with_lemmas(tr, target, [], budget_s, _ms(budget_s))
        return run, {"bmc_solver_seconds": log.solver_seconds,
                     "depth_seconds": log.depth_seconds}
    st = strengthen(prog, tr)
    info: dict[str, Any] = {
        "method": "the one-M configuration's mined candidates (induction.mine at 1 M / 1 P "
                  "/ 1 G) lifted onto every M, P and G, kept if true in the initial state "
                  "and in every sampled reachable state, then pruned by Houdini "
                  "(induction.houdini) until preserved by every step of this "
                  "configuration's T: true initially and inductive, so true in every "
                  "reachable state (sound to assert at every frame)",
        "status": st.status, "mined": st.mined, "lifted": st.lifted,
        "true_initially": st.at_init, "true_on_sample": st.sampled,
        "houdini_rounds": st.rounds, "seconds": round(st.seconds, 3),
        "named_invariants_inductive": st.proved, "lemmas": [lm.name for lm in st.lemmas]}
    left = budget_s - (time.perf_counter() - t0)
    if st.status != "inductive":
        info["note"] = "; the strengthening's proof gave up, so none was asserted"
    run, log = bmc_with_lemmas(tr, target, st.lemmas, max(0.0, left), _ms(budget_s))
    info["bmc_solver_seconds"] = log.solver_seconds
    info["depth_seconds"] = log.depth_seconds
    if run.status == "unknown":
        info["note"] = f"; {st.seconds:.0f} s of it went to proving the strengthening"
    return run, info


def _ms(budget_s: float) -> int:
    """The per-query timeout: the record's whole budget (a deep query may use it all; the
    budget still bounds the record's wall clock)."""
    return max(1, int(budget_s * 1000))


def _replay_cmd(go: str, n: int, depth: int, mutant: str | None) -> str:
    if mutant:
        from entersys.proofs.mutants_z3 import replay_command

        return replay_command(go, mutant)
    return (f"entersys verify --only protocol-episodes --go {go} --ps {n} "
            f"--depth {depth}")


def run_job(job: tuple[str, int, float, int | None]) -> CheckResult:
    """record(*job): (go, n, budget_s, depth), for a process pool."""
    return record(*job)

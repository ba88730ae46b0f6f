"""Bounded model checking to the depth of two full syscall episodes per M, with sysmon and
stop-the-world interleaved, for N Ms (N Ps, N Gs, the core parts), in the rounds semantics
of entersys.proofs.unroll: in one round every M, sysmon and the stop-the-world caller take
at most one step each, so a depth of K rounds lets every M take K steps of its own.

The depth is computed, not chosen: entersys.proofs.protocol_suite.episode_steps gives (the
steps to an M's first syscall, the steps of one episode) in the fused program, and two
episodes need prefix + 2 * episode rounds (Go 1.14-1.25: 2 + 2 * 24 = 50; Go 1.26+:
2 + 2 * 9 = 20). A run that stops short of that depth (its wall-clock budget) is reported
as unknown with the depth it reached, never as holds."""

from __future__ import annotations

from dataclasses import replace

from entersys.model.state import Config
from entersys.oracle.protocol import PART_SETS, build_program, with_parts
from entersys.proofs.bmc import bmc_deepening, counterexample
from entersys.results import CheckResult, Verdict, timed

GROUP = "protocol"
BUDGET_S = 300.0  # wall clock per record


def rounds_for_two_episodes(go: str) -> int:
    """prefix + 2 * episode of Go `go`'s fused program (one M's own steps)."""
    from entersys.proofs.protocol_suite import episode_steps

    prefix, episode = episode_steps(go)
    return prefix + 2 * episode


def config(go: str, n: int) -> Config:
    """N Ms, N Ps, N Gs with sysmon and stop-the-world (the core parts)."""
    return replace(with_parts(Config(n, n, n), PART_SETS["core"]), go=go)


def record(go: str, n: int, budget_s: float = BUDGET_S,
           depth: int | None = None) -> CheckResult:
    """One record: every invariant in every state reachable within the two-episode depth
    (or `depth` rounds), holds / refuted (a replayed trace) / unknown (the depth reached)."""
    target = depth if depth is not None else rounds_for_two_episodes(go)
    cfg = config(go, n)
    with timed() as t:
        prog = build_program(cfg, go)
        run = bmc_deepening(prog, target, budget_s=budget_s, semantics="rounds")
    actors = n + 2
    verdict = {"holds": Verdict.HOLDS, "refuted": Verdict.REFUTED}.get(run.status,
                                                                        Verdict.UNKNOWN)
    cex = None
    if run.status == "refuted":
        cex = counterexample(prog, run, f"entersys verify --only protocol --go {go}")
    reached = run.depth if run.status != "refuted" else None
    details = {
        "method": "incremental bounded model checking (Z3, QF_BV on narrow bit-vectors, "
                  "invariants asserted at every depth already shown to hold)",
        "semantics": f"rounds (relaxed exists-step): per round each of M0..M{n - 1}, "
                     "sysmon and the stop-the-world caller takes at most one step, in that "
                     "order, each seeing its predecessors' writes; a round is a sequence of "
                     "real steps, so no independence argument is needed",
        "depth": run.depth, "depth_unit": "rounds",
        "two_episode_depth": target,
        "depth_computed_as": "prefix + 2 * episode of one M in the fused program "
                             "(protocol_suite.episode_steps); each M steps once per round",
        "interleaving_steps_covered": f"every run of at most {run.depth} steps, and every "
                                      f"run that falls into {run.depth} rounds (up to "
                                      f"{run.depth * actors} steps)",
        "covers_two_episodes_per_m": run.status == "holds",
        "solver_seconds": round(run.seconds, 3), "queries": run.queries,
        "budget_seconds": budget_s, "violated": run.violated}
    if run.status == "unknown":
        details["reason"] = (f"depth {reached} of {target} rounds reached within the "
                             f"{budget_s:.0f} s budget")
        details["limit"] = f"{budget_s:.0f} s"
    title = (f"Go {go}, {n} M / {n} P / {n} G (core): every invariant holds to depth "
             f"{target} rounds (covers two episodes per M)")
    return CheckResult(f"{GROUP}.go{go}.bmc.two-episodes.{n}m", GROUP, title, "bmc", verdict,
                       Verdict.HOLDS, t(), cex, details)


def run_job(job: tuple[str, int, float, int | None]) -> CheckResult:
    """record(*job): (go, n, budget_s, depth), for a process pool."""
    return record(*job)

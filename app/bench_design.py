"""The design comparison printed by `entersys bench`: per uncontended syscall episode, the
atomic read-modify-writes, atomic stores and sched.lock acquisitions of the old design (Go
1.25, `_Psyscall`) and the new one (Go 1.27, the G's scan bit), computed by running the
episode through the step definitions (entersys.model.costs), and the state counts of the
same configurations explored under both designs."""

from __future__ import annotations

from typing import Any

from entersys.model.costs import syscall_episode
from entersys.model.state import Config
from entersys.oracle.protocol import PART_SETS, explore, with_parts
from entersys.results import CheckResult, Counterexample, Verdict, timed

OLD, NEW = "1.25", "1.27"
# the same parts in both designs (1.27's runtime/secret signals left out of `full`)
CONFIGS = (Config(1, 1, 1, secret=False), with_parts(Config(2, 1, 2), PART_SETS["core"]),
           with_parts(Config(2, 2, 1), PART_SETS["core"]))


def _tag(cfg: Config) -> str:
    parts = "full-secret" if cfg.foreachp else "core"
    return f"{cfg.ms}/{cfg.ps}/{cfg.gs} {parts}"


def design_comparison(quick: bool = False) -> tuple[list[CheckResult], dict[str, Any]]:
    with timed() as t:
        old, new = syscall_episode(OLD), syscall_episode(NEW)
    cost = {ep.go: {"atomic_rmw": ep.rmw, "atomic_store": ep.store,
                    "sched_lock": ep.lock, "steps": len(ep.steps)} for ep in (old, new)}
    cheaper = new.rmw + new.store < old.rmw + old.store and new.lock <= old.lock
    rec = CheckResult(
        "bench.design.episode", "bench",
        f"an uncontended syscall episode costs fewer atomic operations in the new design "
        f"(Go {NEW}) than in the old (Go {OLD}), as Go's motivation for the change says",
        "benchmark", Verdict.HOLDS if cheaper else Verdict.REFUTED, Verdict.HOLDS, t(),
        None if cheaper else Counterexample(summary="the new design is not cheaper",
                                            values={"old": str(cost[OLD]),
                                                    "new": str(cost[NEW])}),
        {"old": cost[OLD], "new": cost[NEW], "old_steps": old.steps, "new_steps": new.steps})
    rows = []
    with timed() as t2:
        for cfg in CONFIGS[:2] if quick else CONFIGS:
            counts = {go: explore(cfg, go).result for go in (OLD, NEW)}
            rows.append((_tag(cfg), {go: r.details["states"] for go, r in counts.items()},
                         all(r.verdict == Verdict.HOLDS for r in counts.values())))
    rec2 = CheckResult(
        "bench.design.states", "bench",
        f"state counts of the same configurations under both designs (Go {OLD} / {NEW})",
        "benchmark", Verdict.HOLDS if all(ok for _, _, ok in rows) else Verdict.REFUTED,
        Verdict.HOLDS, t2(), None,
        {"configurations": {tag: n for tag, n, _ in rows}})
    o, n = cost[OLD], cost[NEW]
    table = (f"\n  {'per episode':<22}{'Go ' + OLD:>10}{'Go ' + NEW:>10}\n"
             + "".join(f"  {k:<22}{o[k]:>10}{n[k]:>10}\n"
                       for k in ("atomic_rmw", "atomic_store", "sched_lock", "steps"))
             + "".join(f"  {'states ' + tag:<22}{c[OLD]:>10,}{c[NEW]:>10,}\n"
                       for tag, c, _ in rows))
    return [rec, rec2], {"design comparison": table.rstrip("\n")}

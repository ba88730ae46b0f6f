"""Liveness under fairness: the SCC search agrees with networkx, the fairness conditions
decide which cycles count, the faithful model has no fair lasso, and the mutants that
only a liveness property can kill (retake without its 10 ms rule, no retake, no sysmon
preemption) are killed with lassos whose ITF loop closes."""

from __future__ import annotations

import random

import networkx as nx
import pytest
from conftest import program
from entersys.model.mutants import MUTANTS
from entersys.model.program import VERSIONS
from entersys.model.state import Config
from entersys.oracle import liveness as live
from entersys.oracle.explore import ExploreResult
from entersys.oracle.protocol import PART_SETS, explore, mutant_results, with_parts
from entersys.results import Verdict


def test_sccs_match_networkx() -> None:
    rnd = random.Random(7)
    for _ in range(40):
        n = rnd.randint(1, 40)
        edges = [[rnd.randrange(n) for _ in range(rnd.randint(0, 3))] for _ in range(n)]
        mask = bytearray(rnd.random() < 0.8 for _ in range(n))
        g = nx.DiGraph()
        g.add_nodes_from(k for k in range(n) if mask[k])
        g.add_edges_from((a, b) for a in range(n) for b in edges[a]
                         if mask[a] and mask[b] and a != b)
        want = {frozenset(c) for c in nx.strongly_connected_components(g) if len(c) > 1}
        got = {frozenset(c) for c in live.sccs(edges, mask)}
        assert got == want


def _graph(edges: list[list[tuple[int, int]]]) -> ExploreResult:
    res = ExploreResult()
    res.edges = [[w for w, _ in out] for out in edges]
    res.edge_actors = [bytes(a for _, a in out) for out in edges]
    res.parent = [-1] + [0] * (len(edges) - 1)
    return res


def test_weak_fairness_rejects_a_cycle_that_ignores_an_enabled_actor() -> None:
    # 0 <-> 1 by actor 0; actor 1 is enabled in both states (to state 2) and never steps
    weak, strong, env = 0b11, 0b100, 0b1000
    res = _graph([[(1, 0), (2, 1)], [(0, 0), (2, 1)], []])
    assert live.fair_components(res, [0, 1], weak, strong, env) == []
    # once actor 1 is disabled in state 1, the cycle is fair
    res = _graph([[(1, 0), (2, 1)], [(0, 0)], []])
    assert live.fair_components(res, [0, 1], weak, strong, env) == [([0, 1], 0b1)]


def test_strong_fairness_drops_the_states_that_keep_offering_a_step() -> None:
    # 0 -> 1 -> 2 -> 0 by actor 0; the strongly fair actor 2 is enabled in state 2 only
    # (to state 3) and never taken: only cycles avoiding state 2 stay fair (none here)
    weak, strong, env = 0b11, 0b100, 0b1000
    res = _graph([[(1, 0)], [(2, 0)], [(0, 0), (3, 2)], []])
    assert live.fair_components(res, [0, 1, 2], weak, strong, env) == []
    # with a second cycle 0 <-> 1 it survives the refinement
    res = _graph([[(1, 0)], [(2, 0), (0, 0)], [(0, 0), (3, 2)], []])
    parts = live.fair_components(res, [0, 1, 2], weak, strong, env)
    assert [sorted(c) for c, _ in parts] == [[0, 1]]


@pytest.mark.parametrize("go", VERSIONS)
def test_faithful_model_has_no_fair_lasso(go: str) -> None:
    lr = live.check(program(1, 1, 1, go))
    assert [p.id for p, _ in lr.lassos] == ["LIVE-RUN", "LIVE-EXIT", "LIVE-STW",
                                            "LIVE-FOREACHP", "LIVE-RETAKE"]
    assert all(la is None for _, la in lr.lassos), lr.lassos


@pytest.mark.slow
def test_explore_reports_liveness_beside_safety() -> None:
    run = explore(with_parts(Config(2, 1, 2), PART_SETS["core"]), "1.25")
    assert run.result.verdict == Verdict.HOLDS
    ids = [r.id.rsplit(".", 1)[1] for r in run.liveness]
    assert ids == ["LIVE-RUN", "LIVE-EXIT", "LIVE-STW", "LIVE-RETAKE"]
    assert all(r.verdict == Verdict.HOLDS == r.expected for r in run.liveness)
    assert all(r.kind == "liveness" for r in run.liveness)


def _itf_closes(cex: object) -> None:
    doc = cex.itf  # type: ignore[attr-defined]
    loop = doc["loop"]
    strip = [{k: v for k, v in s.items() if k != "#meta"} for s in doc["states"]]
    assert 0 <= loop < len(strip)
    assert strip[loop] == strip[-1], "the lasso's cycle returns to its first state"


@pytest.mark.parametrize("mid,prop", [("T5-retake-no-10ms", "LIVE-RETAKE"),
                                      ("T5-no-retake", "LIVE-RUN")])
def test_retake_mutants_are_killed_by_liveness(mid: str, prop: str) -> None:
    (rec,) = mutant_results("1.25", only=[mid])
    assert rec.verdict == Verdict.REFUTED, rec.details
    assert rec.details["killed_by"] == prop and rec.details["kill_kind"] == "liveness"
    cex = rec.counterexample
    assert cex is not None and "repeats forever" in cex.values["cycle"]
    _itf_closes(cex)
    # the faithful model in the same configuration has no such lasso
    faithful = explore(MUTANTS[mid].config, "1.25", liveness=True)  # type: ignore[arg-type]
    assert all(r.verdict == Verdict.HOLDS for r in faithful.liveness)


@pytest.mark.slow
def test_without_sysmon_preemption_a_g_starves_in_a_cycle() -> None:
    """Without retake.preempt, a G that loops fast syscalls keeps its P (sysmon's retake
    always loses the CAS to the returning M) and the other G starves: a real cycle, not a
    stuck state."""
    prog = program(2, 1, 2, **{p: p in PART_SETS["core"] for p in
                               ("stw", "foreachp", "gc", "sysmon", "blockhint", "raw")})
    steps = dict(prog.steps)
    del steps["retake.preempt"]
    lr = live.check(prog.mutated("no-preempt", steps=steps))
    found = dict((p.id, la) for p, la in lr.lassos)
    la = found["LIVE-RUN"]
    assert la is not None and len(la.cycle) > 2 and la.cycle[0] == la.cycle[-1]
    cex = live.lasso_counterexample(lr.explorer, lr.run, la, "replay", {})
    _itf_closes(cex)
    k = cex.values["loop_start_state"]
    assert any(s.step.startswith("exitsyscall") for s in cex.trace[k:])


def test_r14_mutant_is_killed_by_gos_own_throw() -> None:
    """exitsyscall0 reading gp.lockedm after unlocking sched.lock: another M runs gp and
    locks it to itself, and this M's stoplockedm throws as Go's does."""
    (rec,) = mutant_results("1.25", only=["R14-lockedm-late"])
    assert rec.verdict == Verdict.REFUTED
    assert rec.details["killed_by"] == "I0" and rec.details["kill_kind"] == "go-throw"
    last = rec.counterexample.trace[-1]  # type: ignore[union-attr]
    throws = [v for k, v in last.state.items() if k.endswith(".throw") and v]
    assert any("stoplockedm: inconsistent locking" in str(t) for t in throws), throws
    assert any(s.step == "user.LockOSThread" for s in rec.counterexample.trace)  # type: ignore[union-attr]


def test_locked_model_holds_with_liveness() -> None:
    from dataclasses import replace

    run = explore(replace(Config(1, 1, 1), locked=True), "1.25")
    assert run.result.verdict == Verdict.HOLDS, run.result.details
    assert run.liveness and all(r.verdict == Verdict.HOLDS for r in run.liveness)

"""Liveness on the native explorer against liveness.py's Python search: the same verdict
(and the same G or P, cycle length and actors) for every property on every configuration
both can do, for the faithful model and for mutants only liveness kills; its lassos replay
through the step definitions and close their loop; the pending predicates evaluated once
per read path agree with evaluating them state by state."""

from __future__ import annotations

import random

import numpy as np
import pytest
from entersys.model.mutants import MUTANTS
from entersys.model.state import Config
from entersys.oracle import liveness as live
from entersys.oracle import native_liveness as nl
from entersys.oracle.explore import normalize_ticks
from entersys.oracle.protocol import MUTANT_CONFIG, build_program
from entersys.oracle.replay import replay


def test_evaluate_agrees_with_state_by_state() -> None:
    rnd = random.Random(3)
    rows = np.array([[rnd.randrange(4) for _ in range(6)] for _ in range(3000)],
                    dtype=np.int16)

    def pred(s: object) -> bool:  # reads depend on values read before
        return any(s[i] in (1, 3) and s[i + 3] == 2 for i in range(3)) or s[5] == s[0]  # type: ignore[index]

    want = np.array([pred(tuple(int(x) for x in r)) for r in rows])
    got = nl.evaluate(pred, rows)
    assert got.tolist() == want.tolist()
    assert 0 < got.sum() < len(rows)


def _summary(lr: live.LivenessRun) -> list[tuple[str, object]]:
    return [(p.id, None if la is None else (la.g, len(la.cycle), tuple(la.actors)))
            for p, la in lr.lassos]


CASES = [(Config(1, 1, 1), "1.25", None),
         (Config(1, 1, 1), "1.27", None),
         (MUTANTS["T5-no-retake"].config, "1.25", "T5-no-retake"),
         (MUTANTS["T5-retake-no-10ms"].config, "1.25", "T5-retake-no-10ms"),
         (MUTANTS["Y-no-timed-wake"].config or MUTANT_CONFIG, "1.27", "Y-no-timed-wake")]


@pytest.mark.parametrize("cfg,go,mutant", CASES,
                         ids=[f"{c.ms}{c.ps}{c.gs}-{g}-{m}" for c, g, m in CASES])
def test_native_liveness_agrees_with_python(cfg: Config, go: str, mutant: str | None) -> None:
    py = live.check(build_program(cfg, go, mutant))
    nat = nl.check(build_program(cfg, go, mutant))
    assert nat.run.states == py.run.states and nat.run.transitions == py.run.transitions
    assert _summary(nat) == _summary(py)
    if mutant:
        assert any(la is not None for _, la in nat.lassos), "the mutant is killed"
    for prop, la in nat.lassos:
        if la is not None:
            _replays(nat, prop, la)


def _replays(lr: live.LivenessRun, prop: live.LivenessProperty, la: live.Lasso) -> None:
    """The lasso's steps run through the step definitions from the initial state, break
    no invariant, keep the property pending on the cycle, and return to the cycle's
    first state (up to the tick normal form every engine explores under)."""
    ex = lr.explorer
    cex = live.lasso_counterexample(ex, lr.run, la, "replay", {})
    rep = replay(ex.prog, [f"{t.actor}:{t.step}" for t in cex.trace])
    assert rep.violated == []
    norm = []
    for s in rep.states:
        s = list(s)
        normalize_ticks(ex.L, s)
        norm.append(tuple(s))
    loop = cex.itf["loop"]
    assert norm[loop] == norm[-1]
    assert norm[-1] == lr.run.order[la.cycle[-1]]
    pending = prop.make(ex, la.g or 0)
    assert pending is not None and all(pending(s) for s in norm[loop:])


def test_replaced_edge_actors_agree_with_python() -> None:
    """find_lassos(edge_acts=...) (how a caller re-labels edges, e.g. a timer's steps as
    the environment's) agrees with liveness.find_lassos on the same re-labelled graph."""
    from dataclasses import replace as dc_replace

    prog = build_program(MUTANTS["T5-retake-no-10ms"].config, "1.25")
    py = live.check(prog)
    nat = nl.check(build_program(MUTANTS["T5-retake-no-10ms"].config, "1.25"))
    # sysmon's edges become the environment's: no cycle may use them and none is owed
    sysmon = nat.explorer.actor_names.index("sysmon")
    env = len(nat.explorer.actor_names) - 1
    acts = np.where(nat.run.acts == sysmon, env, nat.run.acts).astype(np.uint8)
    table = bytes(env if a == sysmon else a for a in range(256))
    py_res = dc_replace(py.run, edge_actors=[a.translate(table) for a in py.run.edge_actors])
    want = live.find_lassos(py.explorer, py_res)
    got = nl.find_lassos(nat.explorer, nat.run, edge_acts=acts)  # type: ignore[arg-type]
    # the same through liveness.find_lassos on a replaced native graph (searched in C)
    nat_res = dc_replace(nat.run, edge_actors=[a.translate(table) for a in nat.run.edge_actors])
    assert [(p.id, la is None) for p, la in live.find_lassos(nat.explorer, nat_res)] == \
        [(p.id, la is None) for p, la in got]
    summ = [(p.id, None if la is None else (la.g, len(la.cycle), tuple(la.actors)))
            for p, la in want]
    assert [(p.id, None if la is None else (la.g, len(la.cycle), tuple(la.actors)))
            for p, la in got] == summ
    assert summ != _summary(py), "re-labelling changed a verdict"


def test_explore_checks_liveness_natively_past_the_python_limit(monkeypatch) -> None:
    """With the native engine, `--liveness auto` checks graphs past liveness.AUTO_LIMIT
    (here forced to 0, as the default configuration's 18M states are past it), and a
    mutant only liveness kills is killed through explore() with the native search."""
    from entersys.oracle.protocol import explore

    monkeypatch.setattr(live, "AUTO_LIMIT", 0)
    cfg = MUTANTS["T5-retake-no-10ms"].config
    assert cfg is not None
    py = explore(cfg, "1.25", engine="python")
    assert py.liveness == [] and "not checked" in py.result.details["liveness"]
    nat = explore(cfg, "1.25", engine="native")
    assert "checked in" in nat.result.details["liveness"]
    assert [r.id.rsplit(".", 1)[1] for r in nat.liveness] == ["LIVE-RUN", "LIVE-EXIT",
                                                              "LIVE-STW", "LIVE-RETAKE"]
    assert all(r.verdict == r.expected for r in nat.liveness)
    mut = explore(cfg, "1.25", mutant="T5-retake-no-10ms", engine="native")
    assert mut.result.details["killed_by"] == "LIVE-RETAKE"
    cex = mut.result.counterexample
    assert cex is not None and "repeats forever" in cex.values["cycle"]

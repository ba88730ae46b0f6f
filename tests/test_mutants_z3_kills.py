"""The Z3 mutant engine (entersys.proofs.mutants_z3) and its one-query fair-lasso search
(entersys.proofs.lasso_unroll): a kill of each design is decoded into the explorer's
counterexample record and the trace replays through the interpreter to the violation Z3
named; a liveness mutant's fair loop closes and passes the project's lasso replay; the
small configurations switch one actor's part on at a time; a mutant out of budget is
"unknown", never "holds"."""

from __future__ import annotations

from dataclasses import replace

import pytest
from entersys.model.mutants import MUTANTS
from entersys.oracle.protocol import build_program
from entersys.oracle.replay import replay
from entersys.proofs import lasso_unroll, mutants_z3
from entersys.results import Verdict


def test_small_configs_switch_one_actor_on_at_a_time() -> None:
    for go in ("1.25", "1.27"):
        cat = mutants_z3.catalog_config(go, "R15-idlelocked-late" if go == "1.25"
                                        else "N3-plain-store")
        rungs = mutants_z3.small_configs(go, None)
        assert rungs[0][1] == "M only"
        assert not any(getattr(rungs[0][0], p) for p in mutants_z3.SMALL_PARTS)
        for cfg, what in rungs[1:]:
            on = [p for p in (*mutants_z3.SMALL_PARTS, "secret") if getattr(cfg, p)]
            assert on == [what] and (cfg.ms, cfg.ps, cfg.gs) == (cat.ms, cat.ps, cat.gs)
        assert ("secret" in [w for _, w in rungs]) == (go in mutants_z3.SECRET_VERSIONS)
    # a mutant with a configuration of its own keeps its sizes (and LockOSThread)
    own = MUTANTS["R14-lockedm-late"].config
    assert own is not None
    for cfg, _ in mutants_z3.small_configs("1.25", "R14-lockedm-late"):
        assert (cfg.ms, cfg.ps, cfg.gs, cfg.locked) == (own.ms, own.ps, own.gs, True)


def test_out_of_budget_is_unknown_never_holds(monkeypatch) -> None:
    monkeypatch.setattr(mutants_z3, "MUTANT_BUDGET_S", 0.0)
    parts, run, tried, prog = mutants_z3.hunt("1.27", "N3-plain-store")
    assert parts is None and prog is None and run.status == "unknown"
    assert tried[0]["search"] == "not run: out of budget"
    rec = mutants_z3._record("1.27", "N3-plain-store", mutants_z3.DEPTH, 1000)
    assert rec.verdict == Verdict.UNKNOWN and rec.expected == Verdict.REFUTED


def _kill(go: str, mid: str) -> None:
    rec = mutants_z3._record(go, mid, mutants_z3.DEPTH, mutants_z3.MUTANT_TIMEOUT_MS)
    assert rec.verdict == Verdict.REFUTED, rec.details
    cex = rec.counterexample
    assert cex is not None and f"--go {go} --only {mid}" in cex.replay
    steps = cex.trace
    assert [s.index for s in steps] == list(range(1, len(steps) + 1))
    assert all(s.changes for s in steps)
    # the labels replay through the interpreter (on the rung's configuration) to a state
    # that violates what Z3 named
    rung = rec.details["rungs"][-1]
    cfg = {"catalog configuration": mutants_z3.catalog_config(go, mid)}.get(rung["parts"][0])
    cfg = cfg or dict((w, c) for c, w in mutants_z3.small_configs(go, mid))[rung["parts"][0]]
    prog = build_program(cfg, go, mid)
    rep = replay(prog, [f"{s.actor}:{s.step}" for s in steps])
    got = {inv for n, inv in rep.violated if n == len(steps)}
    assert set(rec.details["violated"]) <= got


@pytest.mark.slow
def test_old_design_kill_is_decoded_and_replays() -> None:
    _kill("1.25", "R3-syscallsp-late")


@pytest.mark.slow
def test_new_design_kill_is_decoded_and_replays() -> None:
    _kill("1.27", "N3-plain-store")


@pytest.mark.slow
def test_fair_lasso_in_one_query_closes_and_replays() -> None:
    from entersys.model.state import Config
    from entersys.oracle.protocol import with_parts
    from entersys.proofs import lasso_z3

    mid = "T5-no-retake"
    own = MUTANTS[mid].config
    assert own is not None
    cfg, what = mutants_z3.lasso_configs("1.25", mid)[0]
    assert what == "1 M, sysmon" and cfg.ms == 1 and (cfg.ps, cfg.gs) == (own.ps, own.gs)
    prog = build_program(cfg, "1.25", mid)
    run = lasso_unroll.search(prog, LASSO_DEPTH)
    assert run.status == "refuted" and run.property.startswith("LIVE-")
    assert "cycle closes" in run.confirmation or "only a new GC round" in run.confirmation
    cex = lasso_z3.counterexample(prog, run, mutants_z3.replay_command("1.25", mid))
    assert cex.itf["loop"] == (run.loop_start if run.loop_start >= 0 else len(run.labels))
    # the faithful model has no such lasso within the same bound
    faithful = build_program(replace(with_parts(Config(1, own.ps, own.gs), ("sysmon",)),
                                     go="1.25"), "1.25")
    assert lasso_unroll.search(faithful, LASSO_DEPTH).status == "holds"


LASSO_DEPTH = 20

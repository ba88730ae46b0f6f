"""Every catalogued mutant is killed by the explorer with a shortest counterexample, for
both supported Go versions; the counterexample trace replays through the step
definitions to the same violation."""

from __future__ import annotations

import json

import pytest
from entersys.model.mutants import MUTANTS, apply, for_version, killable
from entersys.model.program import VERSIONS, Program
from entersys.oracle.protocol import MUTANT_CONFIG, build_program, explore
from entersys.oracle.replay import ReplayError, replay
from entersys.results import Status, Verdict


@pytest.mark.parametrize("go,mid", [(go, mid) for go in VERSIONS for mid in for_version(go)])
def test_mutant_is_killed_with_a_replayable_trace(go: str, mid: str) -> None:
    cfg = MUTANTS[mid].config or MUTANT_CONFIG
    run = explore(cfg, go, mid)
    rec = run.result
    if not killable(mid):  # recorded as equivalent in the model, with the reason
        assert rec.verdict == rec.expected == Verdict.HOLDS, rec.details
        assert rec.status == Status.PASS and rec.details["equivalent"]
        return
    assert rec.verdict == Verdict.REFUTED, f"{mid} survived ({rec.details})"
    assert rec.status == Status.PASS
    cex = rec.counterexample
    assert cex is not None and cex.trace, "a kill comes with a numbered trace"
    assert [st.index for st in cex.trace] == list(range(1, len(cex.trace) + 1))
    assert cex.replay and f"--mutant {mid}" in cex.replay
    labels = [f"{st.actor}:{st.step}" for st in cex.trace]
    assert rec.details["killed_by"] and rec.details["kill_kind"]
    if run.run.violations and run.run.violations[0].kind == "invariant":
        prop = run.run.violations[0].property
        rep = replay(build_program(cfg, go, mid), labels)
        assert (len(labels), prop) in rep.violated
        # the faithful protocol cannot even take this trace, or takes it without violation
        try:
            faithful = replay(build_program(cfg, go), labels)
            assert (len(labels), prop) not in faithful.violated
        except ReplayError:
            pass


def test_mutant_itf_trace_is_well_formed() -> None:
    rec = explore(MUTANT_CONFIG, "1.25", "R7-store-first").result
    itf = rec.counterexample.itf
    doc = json.loads(json.dumps(itf))
    assert doc["#meta"]["format"] == "ITF"
    assert len(doc["states"]) == len(rec.counterexample.trace) + 1
    assert set(doc["vars"]) <= set(doc["states"][0])


def test_mutants_transform_without_touching_the_original() -> None:
    prog = Program(MUTANT_CONFIG)
    before = {k: list(v[0]) for k, v in prog.routines.items()}
    for mid in for_version(prog.go):
        apply(prog, mid)
    assert {k: list(v[0]) for k, v in prog.routines.items()} == before


def test_version_specific_mutant_is_harmless_where_the_field_does_not_exist() -> None:
    """m.mcache exists only in Go 1.14: the same mutation leaves Go 1.25 correct, which
    shows the version parameter changes the protocol."""
    assert explore(MUTANT_CONFIG, "1.14", "V14-wirep-no-mcache").result.verdict == \
        Verdict.REFUTED
    rec = explore(MUTANT_CONFIG, "1.25", "V14-wirep-no-mcache").result
    assert rec.verdict == Verdict.HOLDS

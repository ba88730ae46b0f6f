"""g.sched as data: each save records whether the saved context is valid where the G
stands (g.schedok), reentersyscall's `syscallsp = sp` copies it (g.syscallsp 1 valid, 2
stale), and the observers that unwind a syscalling G from outside (the GC's stack scan,
the tracer's unwinder) record a stale read (G-SCHED). A save moved after the G switch
is killed by what an observer reads; the re-save after a systemstack call is equivalent
in the modelled versions, and says why."""

from __future__ import annotations

import pytest
from entersys.model.invariants import KILL_KINDS
from entersys.model.mutants import MUTANTS, killable
from entersys.model.program import Program
from entersys.oracle.explore import Explorer
from entersys.oracle.protocol import MUTANT_CONFIG, build_program, explore
from entersys.oracle.replay import replay

OBSERVERS = ("gc.scan", "traceback.syscall")


@pytest.mark.parametrize("go", ["1.25", "1.14"])
def test_save_after_the_g_switch_is_killed_by_an_observer(go: str) -> None:
    run = explore(MUTANT_CONFIG, go, "R3-save-after-casgstatus")
    rec = run.result
    assert rec.verdict.label == "refuted"
    assert rec.details["killed_by"] == "G-SCHED"
    assert rec.details["kill_kind"] == KILL_KINDS["G-SCHED"] == "observer"
    trace = rec.counterexample.trace
    assert trace[-1].step.split("(")[0] in OBSERVERS, trace[-1]
    labels = [f"{s.actor}:{s.step}" for s in trace]
    rep = replay(build_program(MUTANT_CONFIG, go, "R3-save-after-casgstatus"), labels)
    assert (len(labels), "G-SCHED") in rep.violated


@pytest.mark.parametrize("go", ["1.25", "1.14"])
def test_dropped_resave_is_equivalent_and_says_why(go: str) -> None:
    m = MUTANTS["R4-no-save"]
    assert not killable("R4-no-save") and "syscallsp" in m.equivalent
    rec = explore(MUTANT_CONFIG, go, "R4-no-save").result
    assert rec.expected.label == "holds" and rec.verdict.label == "holds"
    assert rec.details["equivalent"] == m.equivalent


def test_observer_step_adds_nothing_to_the_faithful_model() -> None:
    """The tracer's read is a transition only when it sees a stale context: without it the
    faithful graph is the same."""
    prog = Program(MUTANT_CONFIG)
    with_obs = Explorer(prog).run(progress=False)
    steps = {k: v for k, v in prog.steps.items() if k != "traceback.syscall"}
    without = prog.mutated("no-tracer", steps=steps)
    without.finish()
    res = Explorer(without).run(progress=False)
    assert (with_obs.states, with_obs.transitions) == (res.states, res.transitions)
    assert not with_obs.violations


def test_a_stale_syscallsp_is_read_by_the_tracer_alone() -> None:
    """Without the GC's stack scan (both observers are steps of the `gc` part's actor) the
    tracer's unwinder still kills the moved save."""
    prog = build_program(MUTANT_CONFIG, "1.25", "R3-save-after-casgstatus")
    steps = {k: v for k, v in prog.steps.items() if k != "gc.scan"}
    noscan = prog.mutated("R3-save-after-casgstatus", steps=steps)
    noscan.finish()
    ex = Explorer(noscan)
    res = ex.run(progress=False)
    assert [v.property for v in res.violations][:1] == ["G-SCHED"]
    path = ex.trace_to(res, res.violations[0].state)
    assert path[-1][0].split(":")[1].startswith("traceback.syscall"), path[-1][0]

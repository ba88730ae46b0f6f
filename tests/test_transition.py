"""The Z3 transition relation T (entersys.proofs.transition) against the concrete
interpreter: for Hypothesis-generated states (reachable ones, and perturbed ones off the
reachable set) the successors Z3 admits are exactly the interpreter's; and bounded model
checking over T kills a mutant with a trace that replays."""

from __future__ import annotations

import random

import pytest
from conftest import program
from entersys.model.ops import CONCRETE
from entersys.model.state import View
from entersys.oracle.explore import Explorer
from entersys.oracle.protocol import build_program, with_parts
from entersys.proofs.bmc import bmc, counterexample
from entersys.proofs.transition import Transition, successors
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hst

PROG = program(2, 2, 1)
TR = Transition(PROG)


def _reachable(n: int = 200) -> list[tuple[int, ...]]:
    res = Explorer(PROG, symmetry=False).run(max_states=3000, progress=False,
                                             stop_at_first=False)
    states = list(res.parents)
    random.Random(11).shuffle(states)
    return states[:n]


REACHABLE = _reachable()


def interpreter_successors(s: list[int]) -> set[tuple[int, ...]]:
    out = set()
    for inst in PROG.instances():
        guard, writes = PROG.apply(inst, View(PROG.layout, CONCRETE, s.__getitem__))
        if guard:
            n = list(s)
            for pos, val in writes.items():
                n[pos] = int(val)
            out.add(tuple(n))
    return out


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(idx=hst.integers(0, len(REACHABLE) - 1), flips=hst.lists(
    hst.tuples(hst.integers(0, len(PROG.layout) - 1), hst.integers(0, 4)), max_size=3))
def test_T_successors_equal_the_interpreters(idx: int, flips: list[tuple[int, int]]) -> None:
    s = list(REACHABLE[idx])
    for pos, val in flips:
        s[pos] = val
    assert successors(TR, s) == interpreter_successors(s)


def test_a_missing_frame_condition_is_caught() -> None:
    """A T whose frame condition wrongly covers a written field (here M0's pc: no step
    moves it) disagrees with the interpreter on some reachable state."""
    broken = Transition(PROG)
    broken.writers[PROG.layout.index["m0.pc"]] = []
    assert any(successors(broken, list(s)) != interpreter_successors(list(s))
               for s in REACHABLE[:60])


def test_bmc_faithful_holds_and_mutant_is_refuted() -> None:
    cfg = with_parts(PROG.cfg.__class__(1, 1, 1), ())
    assert bmc(build_program(cfg, "1.25"), 9).status == "holds"
    prog = build_program(cfg, "1.25", "R3-syscallsp-late")
    run = bmc(prog, 9)
    assert run.status == "refuted" and run.violated == ["I3"]
    cex = counterexample(prog, run, "replay")
    assert len(cex.trace) == run.depth == 7
    assert cex.trace[-1].changes["g0.status"] == ("_Grunning", "_Gsyscall")


def test_bmc_rejects_a_depth_it_cannot_represent() -> None:
    with pytest.raises(ValueError):
        bmc(PROG, 1000)

"""Symbolic readiness: every step instance evaluates over a symbolic (Z3) state, and at
concrete states (reachable ones and Hypothesis-perturbed ones) the symbolic guard and
successor equal the concrete interpreter's; the compiled engine agrees with both."""

from __future__ import annotations

import random

from conftest import program
from entersys.model.invariants import INVARIANTS
from entersys.model.ops import CONCRETE
from entersys.model.state import View
from entersys.oracle.compiled import CompiledProgram
from entersys.oracle.explore import Explorer
from entersys.proofs.protocol_z3 import (
    SymbolicState,
    evaluate_at,
    symbolic_invariant,
    symbolic_step,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hst

PROG = program(2, 2, 2)
SYM = SymbolicState(PROG)
STEPS = {inst: symbolic_step(PROG, inst, SYM) for inst in PROG.instances()}
COMPILED = CompiledProgram(PROG)


def _reachable(n: int = 300) -> list[tuple[int, ...]]:
    ex = Explorer(PROG, symmetry=False)
    res = ex.run(max_states=5000, progress=False, stop_at_first=False)
    states = list(res.parents)
    random.Random(7).shuffle(states)
    return states[:n]


REACHABLE = _reachable()


def _concrete(inst, s):
    view = View(PROG.layout, CONCRETE, s.__getitem__)
    guard, writes = PROG.apply(inst, view)
    n = list(s)
    if guard:
        for pos, val in writes.items():
            n[pos] = val
    return bool(guard), n


def test_every_step_can_fire_somewhere() -> None:
    """Each instance's symbolic guard is satisfiable (no dead step) and writes only
    positions of the state."""
    import z3

    for inst, st in STEPS.items():
        if isinstance(st.guard, bool):
            assert st.guard, inst.label
        else:
            s = z3.Solver()
            s.add(st.guard)
            assert s.check() == z3.sat, inst.label
        assert all(0 <= pos < len(PROG.layout) for pos in st.writes), inst.label


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(idx=hst.integers(0, len(REACHABLE) - 1), flips=hst.lists(
    hst.tuples(hst.integers(0, len(PROG.layout) - 1), hst.integers(0, 4)), max_size=3))
def test_symbolic_equals_concrete(idx: int, flips: list[tuple[int, int]]) -> None:
    s = list(REACHABLE[idx])
    for pos, val in flips:  # also off the reachable set: the readings must still agree
        s[pos] = val
    for inst, st in STEPS.items():
        guard, succ = _concrete(inst, s)
        assert evaluate_at(st.guard, SYM, s) == guard, inst.label
        comp = COMPILED.fns[inst](s)
        assert (comp is not None) == guard, inst.label
        if guard:
            sym_succ = list(s)
            for pos, term in st.writes.items():
                sym_succ[pos] = evaluate_at(term, SYM, s)
            assert [int(x) for x in sym_succ] == [int(x) for x in succ], inst.label
            assert [int(x) for x in comp] == [int(x) for x in succ], inst.label


def test_invariants_symbolic_equals_concrete() -> None:
    view_of = lambda s: View(PROG.layout, CONCRETE, s.__getitem__)  # noqa: E731
    for s in REACHABLE[:40]:
        for inv in INVARIANTS:
            term = symbolic_invariant(PROG, inv, SYM)
            assert evaluate_at(term, SYM, s) == bool(inv.pred(PROG, view_of(s))), inv.id


def test_a_drifting_reading_is_caught() -> None:
    """If the symbolic reading drifted from the concrete one (here: a Z3 `select` that
    reads the neighbouring P), the comparison above must notice on reachable states."""
    from entersys.proofs.protocol_z3 import Z3ProtocolOps

    class Drifted(Z3ProtocolOps):
        @staticmethod
        def select(values, ref, default=0):
            return Z3ProtocolOps.select(values[1:] + values[:1], ref, default)

    sym = SymbolicState(PROG)
    sym.view.X = Drifted()
    mismatches = 0
    for inst in PROG.instances():
        st = symbolic_step(PROG, inst, sym)
        for s in REACHABLE[:30]:
            if evaluate_at(st.guard, sym, s) != _concrete(inst, s)[0]:
                mismatches += 1
    assert mismatches > 0

"""Unbounded proofs and the x86-TSO handshake: the Houdini strengthening proves the named
invariants inductive on a small configuration (each survivor re-checked: the conjunction
is closed under T), a lone non-inductive invariant yields a counterexample to induction
printed as a state, and the plain-store mutant of R8 holds under SC but not under TSO,
with a counterexample naming the buffered store."""

from __future__ import annotations

import pytest
import z3
from entersys.model.state import Config
from entersys.oracle.protocol import build_program, with_parts
from entersys.proofs.induction import Candidate, cti, houdini, prove
from entersys.proofs.transition import Transition, solver

PROG = build_program(with_parts(Config(1, 1, 1), ()), "1.25")


@pytest.mark.slow
def test_houdini_strengthening_is_inductive() -> None:
    run = prove(PROG, ["I1", "I3", "I4", "I7", "G-LOST"])
    assert run.status == "inductive"
    assert {"I1", "I4", "I7", "G-LOST"} <= set(run.proved)
    # independent re-check: the whole conjunction is preserved by T and holds initially
    tr = Transition(PROG)
    conj = [tr.inv_terms[i] for i in run.proved] + [c.term for c in run.auxiliary]
    pre, post, t = tr.one_step()
    s = solver()
    s.add(*[tr.at(c, pre) for c in conj], t, z3.Not(z3.And(*[tr.at(c, post) for c in conj])))
    assert s.check() == z3.unsat
    s = solver()
    s.add(tr.is_init(pre), z3.Not(z3.And(*[tr.at(c, pre) for c in conj])))
    assert s.check() == z3.unsat


def test_a_lone_invariant_gets_a_cti_state() -> None:
    tr = Transition(PROG)
    c = cti(tr, [], "I3")
    assert c["step"].startswith("M0:") and "g0.status" in c["state"]
    assert c["changes"]


def test_houdini_drops_a_false_candidate() -> None:
    tr = Transition(PROG)
    pc = tr.sym.vars[PROG.layout.index["m0.pc"]]
    never_moves = Candidate("m0 stays idle", "false", pc == PROG.labels["idle"])
    status, live, _ = houdini(tr, [never_moves])
    assert status == "inductive" and live == []


@pytest.mark.slow
def test_tso_plain_store_refuted_only_under_tso() -> None:
    from entersys.proofs.tso import check, window_program

    prog = window_program("1.25", "R8-plain-store")
    assert check(prog, tso=False).status == "holds"
    run = check(prog, tso=True)
    assert run.status == "refuted" and "STW-HANDSHAKE" in run.violated
    assert any("reentersyscall.11.Psyscall buffers p0.status" in b for b in run.buffered)

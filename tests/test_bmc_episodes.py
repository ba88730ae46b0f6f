"""The two-episode BMC's machinery (entersys.proofs.unroll.Subst, lemmas, strengthen,
bmc_lemmas, bmc_episodes): the fast substitution agrees with Z3's, lifting renames fields
and references, the numpy lemma filter agrees with Z3's evaluation, the strengthening is
inductive when re-checked independently, and the same encoding finds a planted mutant on
N = 2 with a counterexample that replays, while the faithful model holds."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
import z3
from entersys.model.state import Config
from entersys.oracle.protocol import PART_SETS, build_program, with_parts
from entersys.proofs import bmc_episodes
from entersys.proofs.bmc_lemmas import bmc_with_lemmas
from entersys.proofs.lemmas import lift, sample_states, true_on
from entersys.proofs.strengthen import strengthen
from entersys.proofs.transition import Transition
from entersys.proofs.unroll import Subst
from entersys.results import Verdict


def _prog(go: str, n: int, parts: tuple[str, ...] = PART_SETS["core"], mutant=None):
    return build_program(replace(with_parts(Config(n, n, n), parts), go=go), go, mutant)


def test_subst_agrees_with_z3_substitute() -> None:
    tr = Transition(_prog("1.27", 2))
    dst = [z3.Int(f"x{i}") for i in range(len(tr.sym.vars))]
    sub = Subst(tr.sym.vars, dst)
    pairs = list(zip(tr.sym.vars, dst))
    terms = [g for g in tr.guards if not isinstance(g, bool)][:40]
    terms += [tr.inv_terms[i] for i in tr.inv_terms]
    for t in terms:
        assert sub(t).eq(z3.substitute(t, *pairs)), t


def test_lift_renames_fields_and_references() -> None:
    small, big = _prog("1.27", 1), _prog("1.27", 2)
    sv, bv = Transition(small).sym.vars, Transition(big).sym.vars
    si, bi = small.layout.index, big.layout.index
    user = small.labels["user"]
    cand = z3.Implies(sv[si["m0.pc"]] == user, sv[si["m0.p"]] == 1)
    lemmas = {lm.name: lm.term for lm in lift(small, [("c", cand)], big, bv)}
    # m and p are mentioned: 2 x 2 renamings; the "same" lemma names the renamed P, the
    # "any" lemma any non-nil P (one per M: the P's renaming does not change it)
    assert len(lemmas) == 6
    m1pc, m1p = bv[bi["m1.pc"]], bv[bi["m1.p"]]
    want = {"c [m1,p1; same]": z3.Implies(m1pc == user, m1p == 2),
            "c [m1,p0; any]": z3.Implies(m1pc == user, z3.Or(m1p == 1, m1p == 2))}
    for name, term in want.items():
        s = z3.Solver()
        s.add(z3.Not(term == lemmas[name]))
        assert s.check() == z3.unsat, (name, lemmas[name])


def test_true_on_agrees_with_z3_evaluation() -> None:
    from entersys.proofs.induction import mine

    small, big = _prog("1.27", 1), _prog("1.27", 2)
    tr = Transition(big)
    cands, _ = mine(small, Transition(small))
    rng = random.Random(5)
    picked = rng.sample(cands, 40)
    lemmas = rng.sample(lift(small, [(c.name, c.term) for c in picked], big, tr.sym.vars), 120)
    states = rng.sample(sample_states(big, bfs_states=3000, walks=5, steps=60), 15)
    kept = {lm.name for lm in true_on(lemmas, tr.sym, states)}
    subs = [Subst(tr.sym.vars, [z3.IntVal(x) for x in s]) for s in states]
    for lm in lemmas:
        z3_true = all(z3.is_true(z3.simplify(sub(lm.term))) for sub in subs)
        assert (lm.name in kept) == z3_true, lm.name
    assert 0 < len(kept) < len(lemmas)  # the sample refutes some lifted lemmas, not all


@pytest.mark.slow
def test_strengthening_is_inductive_and_initially_true() -> None:
    """On the bare protocol (no sysmon or stop-the-world) at 1 M: Houdini's survivors are
    re-checked here, independently, to hold initially and be preserved by T (LIA); BMC
    under them holds to its depth."""
    prog = _prog("1.27", 1, ())
    tr = Transition(prog)
    st = strengthen(prog, tr)
    assert st.status == "inductive" and st.lemmas and st.lifted >= st.at_init >= st.sampled
    terms = [lm.term for lm in st.lemmas] + [tr.inv_terms[i] for i in st.proved]
    assert all(z3.is_true(z3.simplify(z3.substitute(t, *tr.sym.substitution(tr.init))))
               for t in terms)
    pre, post, t = tr.one_step()
    s = z3.SolverFor("QF_LIA")
    s.add(*[tr.at(x, pre) for x in terms], t, z3.Or(*[z3.Not(tr.at(x, post)) for x in terms]))
    assert s.check() == z3.unsat
    run, log = bmc_with_lemmas(tr, 6, st.lemmas, budget_s=120)
    assert run.status == "holds" and len(log.depth_seconds) == 7


@pytest.mark.slow
def test_planted_mutant_found_on_two_ms_and_the_faithful_model_holds() -> None:
    """R3-syscallsp-late on 2 Ms / 2 Ps / 2 Gs with sysmon and stop-the-world: the same
    record (rounds, narrow bit-vectors) refutes it with a trace the interpreter confirms;
    the faithful model holds to the same depth."""
    rec = bmc_episodes.record("1.25", 2, budget_s=170, depth=7, mutant="R3-syscallsp-late")
    assert rec.verdict == Verdict.REFUTED and "I3" in rec.details["violated"]
    assert rec.counterexample is not None and rec.counterexample.trace
    assert "--only R3-syscallsp-late" in rec.counterexample.replay
    ok = bmc_episodes.record("1.25", 2, budget_s=170, depth=4)
    assert ok.verdict == Verdict.HOLDS and ok.details["depth"] == 4
    assert not ok.details["covers_two_episodes_per_m"] and "strengthening" not in ok.details

"""An inductive strengthening of the protocol for N Ms, Ps and Gs, for the two-episode BMC
(entersys.proofs.bmc_lemmas): the one-M configuration's mined candidates
(entersys.proofs.induction.mine, 1 M / 1 P / 1 G, same parts) are lifted onto every choice
of M, P and G (entersys.proofs.lemmas), those false in a sample of reachable states (the
initial state among them) are dropped, and Houdini (entersys.proofs.induction.houdini)
drops the rest until their conjunction, with the named invariants that survive, is
preserved by every step of the N-M transition relation.

What survives is true initially and inductive, so it holds in every reachable state of the
N-M configuration at every depth: a sound strengthening to assert at every BMC frame."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from entersys.model.program import Program
from entersys.oracle.protocol import build_program
from entersys.proofs.induction import Candidate, houdini, mine
from entersys.proofs.lemmas import Lemma, lift, sample_states, true_on
from entersys.proofs.transition import TIMEOUT_MS, Transition


@dataclass
class Strengthening:
    """`status` "inductive" (Houdini closed: `lemmas` and the named invariants `proved`
    are together preserved by T and true initially) or "unknown" (a Houdini query gave
    up: `lemmas` is empty). Counts: `mined` one-M candidates, `lifted`, `at_init` true
    initially, `sampled` true in every sampled state; `rounds` of Houdini; `seconds`
    wall."""

    status: str
    lemmas: list[Lemma] = field(default_factory=list)
    proved: list[str] = field(default_factory=list)
    mined: int = 0
    lifted: int = 0
    at_init: int = 0
    sampled: int = 0
    rounds: int = 0
    seconds: float = 0.0


def one_m_program(prog: Program) -> Program:
    """`prog`'s version, parts and mutant on 1 M / 1 P / 1 G."""
    cfg = replace(prog.cfg, ms=1, ps=1, gs=1)
    return build_program(cfg, cfg.go, prog.mutant)


def strengthen(prog: Program, tr: Transition, timeout_ms: int = TIMEOUT_MS) -> Strengthening:
    """The lifted, Houdini-pruned strengthening of `prog` (whose Transition is `tr`)."""
    t0 = time.perf_counter()
    small = one_m_program(prog)
    cands, _ = mine(small, Transition(small))
    # the control vector names every routine of the one-M program at once: no lifting
    usable = [(c.name, c.term) for c in cands if not c.name.startswith("(") or
              "vectors)" not in c.name]
    lemmas = lift(small, usable, prog, tr.sym.vars)
    at_init = true_on(lemmas, tr.sym, [tr.init])  # what makes the survivors invariants
    sampled = true_on(at_init, tr.sym, sample_states(prog))
    targets = [Candidate(i, "named invariant", t, True) for i, t in tr.inv_terms.items()]
    status, live, rounds = houdini(tr, targets + [Candidate(lm.name, "lifted", lm.term)
                                                  for lm in sampled], timeout_ms)
    out = Strengthening(status, mined=len(cands), lifted=len(lemmas), at_init=len(at_init),
                        sampled=len(sampled), rounds=rounds)
    if status == "inductive":
        out.lemmas = [Lemma(c.name, c.term) for c in live if not c.target]
        out.proved = [c.name for c in live if c.target]
    out.seconds = time.perf_counter() - t0
    return out

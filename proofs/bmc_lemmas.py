"""Incremental bounded model checking under a proved inductive strengthening: the
strengthening (entersys.proofs.strengthen: lemmas true initially and preserved by every
step, hence true in every reachable state) is asserted at every frame of the unrolling,
and every named invariant is checked at every frame up to the depth.

Sound: the asserted lemmas hold in every reachable state, so they exclude no real run; a
violation found is a real run (it is replayed through the interpreter by the caller).
When the lemmas and the invariants are inductive together, each depth's query is refuted
one step back, so the depth costs about the same at every frame."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import z3
from entersys.proofs.bmc import BmcRun
from entersys.proofs.lemmas import Lemma
from entersys.proofs.transition import SEED, TIMEOUT_MS, Transition


@dataclass
class DepthLog:
    """Wall seconds per depth (building and solving), and the solver seconds in all."""

    depth_seconds: list[float] = field(default_factory=list)
    solver_seconds: float = 0.0


def bmc_with_lemmas(tr: Transition, depth: int, lemmas: Sequence[Lemma], budget_s: float,
                    timeout_ms: int = TIMEOUT_MS, semantics: str = "rounds",
                    log: Callable[[str], None] | None = None,
                    inv_ids: Sequence[str] | None = None) -> tuple[BmcRun, DepthLog]:
    """Check every named invariant of `tr` (or those of `inv_ids`; once shown at a depth
    they are asserted there, which prunes the deeper queries) in every state reachable
    within `depth` BMC
    steps (entersys.proofs.unroll, `semantics`), with `lemmas` (each true in every
    reachable state: the caller's proof) asserted at every frame. Returns ("holds",
    "refuted" with its interleaving steps, or "unknown" with the last depth shown to hold
    when a query gives up or the wall-clock `budget_s` is spent) and the per-depth log.
    Raises ValueError as entersys.proofs.unroll.Unrolling does for a depth too deep."""
    from entersys.proofs.unroll import Unrolling

    t0 = time.perf_counter()
    ids = list(inv_ids) if inv_ids is not None else list(tr.inv_terms)
    s = z3.SolverFor("QF_BV")
    s.set("random_seed", SEED)
    u = Unrolling(tr, s, depth, semantics)
    narrowed = [u.narrow(lm.term) for lm in lemmas]
    out = DepthLog()
    queries = 0
    for k in range(depth + 1):
        tk = time.perf_counter()
        if k > 0:
            u.extend()
        sub = u.subst(k)
        s.add(*[sub(t) for t in narrowed])
        good = [u.at(tr.inv_terms[i], k) for i in ids]
        lit = z3.Bool(f"bad@{k}")
        s.add(z3.Implies(lit, z3.Or(*[z3.Not(g) for g in good])))
        left = budget_s - (time.perf_counter() - t0)
        r = z3.unknown
        if left > 0:
            s.set("timeout", max(1, int(min(timeout_ms, left * 1000))))
            q = time.perf_counter()
            r = s.check(lit)
            out.solver_seconds += time.perf_counter() - q
            queries += 1
        if r == z3.sat:
            m = s.model()
            violated = [i for i, g in zip(ids, good)
                        if z3.is_false(m.eval(g, model_completion=True))]
            return (BmcRun("refuted", k, u.labels(m, k), violated,
                           time.perf_counter() - t0, queries), out)
        if r != z3.unsat:
            return BmcRun("unknown", k - 1, seconds=time.perf_counter() - t0,
                          queries=queries), out
        s.add(z3.Not(lit), *good)
        out.depth_seconds.append(round(time.perf_counter() - tk, 3))
        if log:
            log(f"depth {k}: holds ({time.perf_counter() - t0:.1f} s)")
    return BmcRun("holds", depth, seconds=time.perf_counter() - t0, queries=queries), out

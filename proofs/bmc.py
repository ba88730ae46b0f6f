"""Bounded model checking of the protocol with Z3: the transition relation
(entersys.proofs.transition) unrolled from the initial state, every named invariant checked
at every depth up to a bound. A violation is decoded into the explorer's counterexample
record (numbered steps with actor, step, rule, changed fields and the state after each),
confirmed by replaying its step labels through the concrete interpreter."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import z3
from entersys.model.program import Program
from entersys.oracle.explore import Explorer
from entersys.oracle.replay import replay
from entersys.proofs.bv import MAX_DEPTH, ToBitVec
from entersys.proofs.transition import SEED, TIMEOUT_MS, Frame, Transition
from entersys.results import Counterexample, TraceStep


@dataclass
class BmcRun:
    """The outcome of one unrolling: `status` is "holds" (no violation up to `depth`),
    "refuted" (a trace of `len(labels)` steps violates `violated`) or "unknown" (the solver
    gave up at depth `depth`)."""

    status: str
    depth: int
    labels: list[str] = field(default_factory=list)
    violated: list[str] = field(default_factory=list)
    seconds: float = 0.0
    queries: int = 0


def bmc(prog: Program, depth: int, inv_ids: Sequence[str] | None = None,
        timeout_ms: int = TIMEOUT_MS, tr: Transition | None = None) -> BmcRun:
    """Check the invariants `inv_ids` (default: all) at every state reachable in at most
    `depth` steps from the initial state. Finds a shortest violating trace. Solved in the
    bit-vector reading (entersys.proofs.bv), exact up to MAX_DEPTH steps.

    Raises ValueError for a depth over MAX_DEPTH."""
    if not 0 <= depth <= MAX_DEPTH:
        raise ValueError(f"depth must be in 0..{MAX_DEPTH}, not {depth}")
    t0 = time.perf_counter()
    tr = tr or Transition(prog)
    ids = list(inv_ids) if inv_ids is not None else list(tr.inv_terms)
    bv = ToBitVec()
    s = z3.SolverFor("QF_BV")
    s.set("random_seed", SEED)
    s.set("timeout", timeout_ms)
    frames: list[Frame] = [tr.frame("s0")]
    s.add(bv(tr.is_init(frames[0])))
    queries = 0
    for k in range(depth + 1):
        f = frames[k]
        bad = z3.Or(*[z3.Not(tr.invariant(i, f)) for i in ids])
        s.push()
        s.add(bv(bad))
        r = s.check()
        queries += 1
        if r == z3.sat:
            m = s.model()
            labels = [tr.instances[_val(m, bv(frames[j].act))].label for j in range(k)]
            violated = [i for i in ids if z3.is_false(m.eval(bv(tr.invariant(i, f)),
                                                             model_completion=True))]
            s.pop()
            return BmcRun("refuted", k, labels, violated, time.perf_counter() - t0, queries)
        s.pop()
        if r != z3.unsat:
            return BmcRun("unknown", k, seconds=time.perf_counter() - t0, queries=queries)
        if k == depth:
            break
        nxt = tr.frame(f"s{k + 1}")
        s.add(bv(tr.step(f, nxt)))
        frames.append(nxt)
    return BmcRun("holds", depth, seconds=time.perf_counter() - t0, queries=queries)


def bmc_search(prog: Program, depth: int, inv_ids: Sequence[str] | None = None,
               timeout_ms: int = TIMEOUT_MS, semantics: str = "interleaving",
               tr: Transition | None = None) -> BmcRun:
    """One satisfiability query for a violation of `inv_ids` (default: all) at any state
    reachable within `depth` BMC steps (entersys.proofs.unroll: narrow bit-vectors,
    `semantics` "interleaving" or "rounds"), bit-blasted to Z3's SAT solver. Built to find
    deep counterexamples fast: no per-depth refutation and no shortest-trace guarantee.
    "refuted" carries the interleaving steps up to the first violating frame; "holds"
    means no violation within `depth` BMC steps. Raises ValueError for a depth whose
    interleaving steps exceed entersys.proofs.unroll.MAX_STEPS."""
    from entersys.proofs.unroll import Unrolling

    t0 = time.perf_counter()
    tr = tr or Transition(prog)
    ids = list(inv_ids) if inv_ids is not None else list(tr.inv_terms)
    s = z3.Then("simplify", "bit-blast", "sat").solver()
    s.set("timeout", timeout_ms)
    s.set("random_seed", SEED)
    u = Unrolling(tr, s, depth, semantics)
    for _ in range(depth):
        u.extend()
    bad = [[z3.Not(u.at(tr.inv_terms[i], k)) for i in ids] for k in range(depth + 1)]
    s.add(z3.Or(*[b for row in bad for b in row]))
    r = s.check()
    if r == z3.unsat:
        return BmcRun("holds", depth, seconds=time.perf_counter() - t0, queries=1)
    if r != z3.sat:
        return BmcRun("unknown", depth, seconds=time.perf_counter() - t0, queries=1)
    m = s.model()
    k = next(k for k, row in enumerate(bad)
             if any(z3.is_true(m.eval(b, model_completion=True)) for b in row))
    violated = [i for i, b in zip(ids, bad[k]) if z3.is_true(m.eval(b, model_completion=True))]
    return BmcRun("refuted", k, u.labels(m, k), violated, time.perf_counter() - t0, 1)


def bmc_deepening(prog: Program, depth: int, inv_ids: Sequence[str] | None = None,
                  timeout_ms: int = TIMEOUT_MS, semantics: str = "rounds",
                  budget_s: float = 600.0, tr: Transition | None = None) -> BmcRun:
    """Incremental BMC in `semantics` (entersys.proofs.unroll), one solver for every depth:
    at depth k, is an invariant of `inv_ids` violated at frame k? Each depth is checked
    under an assumption literal, and once refuted nowhere the invariants are asserted at
    frame k (sound: every state there is reachable and was just shown to satisfy them),
    which prunes the deeper queries. Stops at the first violation ("refuted", the
    interleaving steps up to it), at `depth` ("holds"), or when a query is unknown or the
    wall-clock `budget_s` is spent ("unknown", `depth` = the last depth shown to hold)."""
    from entersys.proofs.bmc_lemmas import bmc_with_lemmas

    return bmc_with_lemmas(tr or Transition(prog), depth, [], budget_s, timeout_ms,
                           semantics, inv_ids=inv_ids)[0]


def _val(m: z3.ModelRef, t: Any) -> int:
    return int(m.eval(t, model_completion=True).as_signed_long())


def _at_init(prog: Program) -> list[str]:
    from entersys.model.ops import CONCRETE
    from entersys.model.state import View, initial_state

    s = initial_state(prog.layout, prog.labels)
    view = View(prog.layout, CONCRETE, s.__getitem__)
    return [i.id for i in prog.invariants if not i.pred(prog, view)]


def describe(prog: Program, state: Sequence[int]) -> dict[str, Any]:
    """The explorer's readable form of a state (labels and status names)."""
    return Explorer.describe(SimpleNamespace(L=prog.layout, prog=prog), tuple(state))  # type: ignore[arg-type]


def replayed_steps(prog: Program, labels: list[str]) -> tuple[Any, list[TraceStep]]:
    """(the interpreter's Replay of `labels`, the numbered TraceSteps with the changed
    fields and the state after each): a Z3 trace as the explorer's record shows it.
    Raises ReplayError (entersys.oracle.replay) if a step is not enabled."""
    rep = replay(prog, labels)
    rules = {name: st_.rule for name, st_ in prog.steps.items()}
    steps: list[TraceStep] = []
    prev = describe(prog, rep.states[0])
    for k, (lab, s) in enumerate(zip(labels, rep.states[1:]), 1):
        cur = describe(prog, s)
        changes = {f: (prev[f], cur[f]) for f in cur if cur[f] != prev[f]}
        actor, stepname = lab.split(":", 1)
        steps.append(TraceStep(k, actor, stepname, rules.get(stepname.split("(")[0], ""),
                               changes, cur))
        prev = cur
    return rep, steps


def counterexample(prog: Program, run: BmcRun, replay_cmd: str) -> Counterexample:
    """The violating trace as the explorer's record: it is replayed through the concrete
    interpreter, which must confirm every step and the violation."""
    rep, steps = replayed_steps(prog, run.labels)
    confirmed = sorted({inv for n, inv in rep.violated if n == len(run.labels)})
    if not set(run.violated) <= set(confirmed if run.labels else _at_init(prog)):
        raise RuntimeError(f"Z3 trace does not replay: Z3 says {run.violated}, "
                           f"the interpreter says {confirmed}")
    return Counterexample(
        summary=f"{', '.join(run.violated)} violated after {len(steps)} steps (Z3 bounded "
                "model checking; shortest, replayed through the interpreter)",
        trace=steps, replay=replay_cmd)

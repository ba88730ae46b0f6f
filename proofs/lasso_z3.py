"""Bounded lasso search with Z3 (liveness to safety): a path s0 .. sK from the initial state
whose last state repeats an earlier one, s_K = s_l in the explorer's tick normal form, such
that every state of the loop s_l .. s_{K-1} keeps a liveness property pending and the loop
is fair under the fairness of entersys.oracle.liveness (read from there, not restated):
every weakly fair actor enabled in all loop states steps in the loop, every strongly fair
one enabled in some loop state steps in it, and no environment step (a new GC round) is
taken inside it. A pending state from which only the environment can step is the
degenerate lasso (a permanent stall), searched for too.

The transition relation is entersys.proofs.transition's T (the one step definition). The
pending predicates are the liveness module's concrete Python predicates: Z3 sees one fresh
Boolean per frame, refined lazily (each candidate lasso's loop states are evaluated
concretely, and the values of the fields the predicate read fix it at every frame), so the
encoding is exact and no predicate is written twice. A found lasso is confirmed by the
project's lasso replay (app.cmd_replay._lasso_reproduces) before it is reported."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import z3
from entersys.model.program import Program
from entersys.model.state import View
from entersys.oracle import liveness
from entersys.oracle.explore import ACTORS, M, tick_normal_form
from entersys.proofs.bv import MAX_DEPTH, ToBitVec
from entersys.proofs.protocol_z3 import Z3P
from entersys.proofs.transition import SEED, TIMEOUT_MS, Frame, Transition
from entersys.results import Counterexample

MAX_REFINEMENTS = 400  # lazy refinements of the pending predicates per depth


@dataclass
class LassoRun:
    """`status`: "refuted" (a fair lasso of `property` of `loop_start`..len(labels) steps),
    "holds" (none up to `depth` steps) or "unknown" (the solver gave up, or the
    refinement bound was hit)."""

    status: str
    depth: int
    property: str = ""
    about: str = ""
    labels: list[str] = field(default_factory=list)
    loop_start: int = -1          # state index where the loop starts; -1: a stall
    stepped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    queries: int = 0
    confirmation: str = ""


class _Recorder(tuple):  # type: ignore[type-arg]
    """A state that records which positions a predicate reads."""

    read: set[int]

    def __getitem__(self, i: Any) -> Any:
        self.read.add(i)
        return tuple.__getitem__(self, i)


def _evaluate(pred: Callable[[Any], bool], state: Sequence[int]) -> tuple[bool, dict[int, int]]:
    rec = _Recorder(state)
    rec.read = set()
    val = bool(pred(rec))
    return val, {i: state[i] for i in rec.read}


class _LazyPredicate:
    """One Boolean per frame for a concrete predicate, constrained by the evaluations
    learned so far: fields equal to an evaluated state's read fields => the same value."""

    def __init__(self, name: str, pred: Callable[[Any], bool]) -> None:
        self.name, self.pred = name, pred
        self.learned: dict[tuple[tuple[int, int], ...], bool] = {}
        self.added: set[tuple[tuple[tuple[int, int], ...], int]] = set()  # (key, frame)

    def var(self, k: int) -> Any:
        return z3.Bool(f"{self.name}@{k}")

    def lemma(self, key: tuple[tuple[int, int], ...], val: bool, frame: Frame, k: int,
              bv: ToBitVec) -> Any:
        match = z3.And(*[bv(frame.vars[p]) == z3.BitVecVal(v, bv.width) for p, v in key])
        return z3.Implies(match, self.var(k) == val)

    def learn(self, state: Sequence[int]) -> tuple[tuple[tuple[int, int], ...], bool] | None:
        val, read = _evaluate(self.pred, state)
        key = tuple(sorted(read.items()))
        if key in self.learned:
            return None
        self.learned[key] = val
        return key, val


def fairness(prog: Program) -> SimpleNamespace:
    """The liveness module's actors for `prog`: actor_names, actor_of (instance -> actor
    number) and the weak/strong/environment masks (liveness.prepare, liveness._masks)."""
    ms = prog.cfg.ms
    ns = SimpleNamespace(prog=prog, L=prog.layout,
                         actor_names=[f"M{i}" for i in range(ms)] + list(ACTORS))
    ns.actor_of = {i: (i.m if i.step.actor == M else ms + ACTORS.index(i.step.actor))
                   for i in prog.instances()}
    liveness.prepare(ns)  # type: ignore[arg-type]
    ns.weak, ns.strong, ns.env = liveness._masks(ns)  # type: ignore[arg-type]
    return ns


class LassoSearch:
    """The unrolling shared by every property of one program (frames, T, fairness)."""

    def __init__(self, prog: Program, timeout_ms: int = TIMEOUT_MS) -> None:
        self.prog = prog
        self.tr = Transition(prog, invariants=[])
        self.fair = fairness(prog)
        self.bv = ToBitVec()
        self.timeout_ms = timeout_ms
        tr, fair = self.tr, self.fair
        self.actor = [fair.actor_of[i] for i in tr.instances]
        env_id = fair.env.bit_length() - 1
        self.env_acts = [k for k, a in enumerate(self.actor) if a == env_id]
        self.writes: list[dict[int, Any]] = [{} for _ in tr.instances]
        for pos, ws in tr.writers.items():
            for k, w in ws:
                self.writes[k][pos] = w
        sv = tr.sym.vars
        self.norm_w = tick_normal_form(prog.layout, View(prog.layout, Z3P, sv.__getitem__))
        # per instance: enabled with a step that changes the state
        self.moves = []
        for k, g in enumerate(tr.guards):
            ch = [w != sv[p] for p, w in self.writes[k].items()]
            self.moves.append(z3.And(g, z3.Or(*ch)) if ch else z3.BoolVal(False))
        self.frames: list[Frame] = []

    def _frame(self, k: int) -> Frame:
        while len(self.frames) <= k:
            self.frames.append(self.tr.frame(f"l{len(self.frames)}"))
        return self.frames[k]

    def at(self, term: Any, k: int) -> Any:
        return self.bv(self.tr.at(term, self._frame(k)))

    def norm(self, k: int) -> list[Any]:
        f = self._frame(k)
        out = list(f.vars)
        for p, w in self.norm_w.items():
            out[p] = self.tr.at(w if not isinstance(w, int) else z3.IntVal(w), f)
        return [self.bv(x) for x in out]

    def search(self, props: list[tuple[str, str, Callable[[Any], bool]]], depth: int,
               loops: bool = True, stalls: bool = True) -> LassoRun:
        """The shortest fair lasso (or stall) of any of `props` (id, about, pending
        predicate) within `depth` steps: one query per depth for all of them (`loops`
        False: stalls only, a much smaller query). Raises ValueError for a depth over
        MAX_DEPTH."""
        if not 1 <= depth <= MAX_DEPTH:
            raise ValueError(f"depth must be in 1..{MAX_DEPTH}, not {depth}")
        t0 = time.perf_counter()
        bv, tr = self.bv, self.tr
        s = z3.SolverFor("QF_BV")
        s.set("random_seed", SEED)
        s.set("timeout", self.timeout_ms)
        s.add(bv(tr.is_init(self._frame(0))))
        lazy = [_LazyPredicate(f"pend{n}", pred) for n, (_, _, pred) in enumerate(props)]
        exh = _LazyPredicate("exh", liveness._m_exhausted(self.fair))  # type: ignore[arg-type]
        preds = lazy + [exh]
        norms: list[list[Any]] = [self.norm(0)]
        queries = 0
        for K in range(0, depth + 1):
            if K > 0:
                s.add(bv(tr.step(self._frame(K - 1), self._frame(K))))
                norms.append(self.norm(K))
            stuck = z3.And(z3.Not(exh.var(K)), *[z3.Not(self.at(self.moves[a], K))
                                                  for a in range(len(tr.instances))
                                                  if a not in self.env_acts])
            stall = z3.Bool(f"stall{K}")
            which = [z3.Bool(f"prop{K}.{n}") for n in range(len(props))]
            goal = [z3.PbEq([(b, 1) for b in which], 1),
                    z3.Implies(stall, stuck)]
            inloop: list[Any] = []
            if K > 0 and loops:
                loop, inloop = self._loop(K, exh, norms)
                goal.append(z3.Or(stall, loop) if stalls else z3.And(z3.Not(stall), loop))
            elif stalls:
                goal.append(stall)
            else:
                continue
            for n, lp in enumerate(lazy):
                pend = z3.And(*[z3.Implies(inloop[k], lp.var(k)) for k in range(len(inloop))])
                goal.append(z3.Implies(which[n], z3.If(stall, lp.var(K), pend)))
            r, m, got = self._refine(s, z3.And(*goal), preds, range(K + 1))
            queries += got
            if r == "unknown":
                return LassoRun("unknown", K, seconds=time.perf_counter() - t0,
                                queries=queries)
            if r == "sat":
                assert m is not None
                n = next(n for n, b in enumerate(which)
                         if z3.is_true(m.eval(b, model_completion=True)))
                return self._decode(m, K, z3.is_true(m.eval(stall, model_completion=True)),
                                    props[n][0], props[n][1], t0, queries)
        return LassoRun("holds", depth, seconds=time.perf_counter() - t0, queries=queries)

    def _loop(self, K: int, exh: _LazyPredicate, norms: list[list[Any]]
              ) -> tuple[Any, list[Any]]:
        """A loop s_l .. s_K (l symbolic) closing in tick normal form, outside the
        M-exhausted states, with no environment step, and fair; and per frame k < K the
        condition that k is inside the loop."""
        bv, fair = self.bv, self.fair
        start = [z3.Bool(f"loopstart{K}.{l_}") for l_ in range(K)]
        inloop = [z3.Or(*start[:k + 1]) for k in range(K)]
        conj: list[Any] = [z3.PbEq([(b, 1) for b in start], 1)]
        for l_ in range(K):
            conj.append(z3.Implies(start[l_], z3.And(*[a == b for a, b in
                                                       zip(norms[K], norms[l_])])))
        acts = [bv(self._frame(k).act) for k in range(K)]
        moved = [z3.Or(*[a != b for a, b in zip(norms[k + 1], norms[k])]) for k in range(K)]
        w = bv.width
        conj.append(z3.Or(*[z3.And(inloop[k], moved[k]) for k in range(K)]))
        for k in range(K):
            conj.append(z3.Implies(inloop[k], z3.And(z3.Not(exh.var(k)),
                                                     *[acts[k] != z3.BitVecVal(a, w)
                                                       for a in self.env_acts])))
        by_actor: dict[int, list[int]] = {}
        for a, who in enumerate(self.actor):
            by_actor.setdefault(who, []).append(a)
        for who in range(len(fair.actor_names)):
            bit = 1 << who
            if not (fair.weak | fair.strong) & bit or who not in by_actor:
                continue
            mine = by_actor[who]
            en = [z3.Or(*[self.at(self.moves[a], k) for a in mine]) for k in range(K)]
            steps = z3.Or(*[z3.And(inloop[k], moved[k],
                                   z3.Or(*[acts[k] == z3.BitVecVal(a, w) for a in mine]))
                            for k in range(K)])
            if fair.weak & bit:
                enabled = z3.And(*[z3.Implies(inloop[k], en[k]) for k in range(K)])
            else:
                enabled = z3.Or(*[z3.And(inloop[k], en[k]) for k in range(K)])
            conj.append(z3.Implies(enabled, steps))
        return z3.And(*conj), inloop

    def _refine(self, s: z3.Solver, goal: Any, preds: list[_LazyPredicate],
                frames: range) -> tuple[str, z3.ModelRef | None, int]:
        """Check `goal`, refining the lazy predicates until a model agrees with them."""
        queries = 0
        lit = z3.FreshBool("goal")
        s.add(z3.Implies(lit, goal))  # checked under an assumption: lemmas stay global
        for _ in range(MAX_REFINEMENTS):
            r = s.check(lit)
            queries += 1
            if r == z3.unsat:
                return "unsat", None, queries
            if r != z3.sat:
                return "unknown", None, queries
            m = s.model()
            stale = False
            for k in frames:
                state = [m.eval(self.bv(v), model_completion=True).as_signed_long()
                         for v in self._frame(k).vars]
                for lp in preds:
                    lp.learn(state)
                    val, read = _evaluate(lp.pred, state)
                    if z3.is_true(m.eval(lp.var(k), model_completion=True)) != val:
                        stale = True
            self._add_lemmas(s, preds)
            if not stale:
                return "sat", m, queries
        return "unknown", None, queries

    def _add_lemmas(self, s: z3.Solver, preds: list[_LazyPredicate]) -> None:
        for lp in preds:
            for key, val in lp.learned.items():
                for k in range(len(self.frames)):
                    if (key, k) not in lp.added:
                        s.add(lp.lemma(key, val, self._frame(k), k, self.bv))
                        lp.added.add((key, k))

    def _decode(self, m: z3.ModelRef, K: int, stall: bool, pid: str, about: str,
                t0: float, queries: int) -> LassoRun:
        tr = self.tr
        acts = [m.eval(self.bv(self._frame(k).act), model_completion=True).as_signed_long()
                for k in range(K)]
        labels = [tr.instances[a].label for a in acts]
        loop = -1
        if not stall:
            loop = next(l_ for l_ in range(K) if z3.is_true(
                m.eval(z3.Bool(f"loopstart{K}.{l_}"), model_completion=True)))
        stepped = sorted({self.fair.actor_names[self.actor[a]] for a in acts[max(loop, 0):]})
        return LassoRun("refuted", K, pid, about, labels, loop,
                        stepped if not stall else [], time.perf_counter() - t0, queries)


def properties(prog: Program, ids: Sequence[str] | None = None
               ) -> list[tuple[str, str, Callable[[Any], bool]]]:
    """(property id, what it is about, pending predicate) of every liveness property of
    entersys.oracle.liveness that applies to `prog` (only `ids`, if given)."""
    ns = fairness(prog)
    out = []
    for prop in liveness.PROPERTIES:
        if ids is not None and prop.id not in ids:
            continue
        targets = {"g": range(prog.cfg.gs), "p": range(prog.cfg.ps)}.get(prop.per, [0])
        for j in targets:
            pred = prop.make(ns, j)  # type: ignore[arg-type]
            if pred is not None:
                out.append((prop.id, f"{prop.per.upper()}{j}" if prop.per else "", pred))
    return out


def search(prog: Program, depth: int, ids: Sequence[str] | None = None,
           timeout_ms: int = TIMEOUT_MS, loops: bool = True) -> LassoRun:
    """The shortest fair lasso of any liveness property (or `ids`) of `prog` within
    `depth` steps, confirmed by the project's lasso replay."""
    run = LassoSearch(prog, timeout_ms).search(properties(prog, ids), depth, loops)
    if run.status == "refuted":
        confirm(prog, run)
    return run


def confirm(prog: Program, run: LassoRun) -> None:
    """Replay the lasso through the concrete interpreter and the project's lasso check
    (closing in tick normal form, fair). Raises RuntimeError if it does not reproduce."""
    from entersys.cmd_replay import _lasso_reproduces
    from entersys.oracle.replay import replay

    rep = replay(prog, run.labels)
    states = [list(s) for s in rep.states]
    ok, why = _lasso_reproduces(prog, states, run.property, run.labels)
    if not ok:
        raise RuntimeError(f"Z3 lasso does not replay: {why}")
    run.confirmation = why


def counterexample(prog: Program, run: LassoRun, replay_cmd: str) -> Counterexample:
    """The lasso as the explorer's liveness record (entersys.oracle.liveness's
    lasso_counterexample shape): numbered steps with the changed fields and the state
    after each, the loop's start in `values`, and the ITF trace with `loop`."""
    from entersys.oracle.explore import itf
    from entersys.proofs.bmc import describe, replayed_steps

    rep, steps = replayed_steps(prog, run.labels)
    prop = next(p for p in liveness.PROPERTIES if p.id == run.property)
    who = f" ({run.about})" if run.about else ""
    head = (f"{prop.id} (liveness) violated: {prop.title}, under fairness{who}; "
            f"{prop.meaning}.")
    ns = SimpleNamespace(L=prog.layout, prog=prog)
    ns.describe = lambda s: describe(prog, s)
    doc: dict[str, Any] = itf([("", rep.states[0])] + list(zip(run.labels, rep.states[1:])),
                              ns)  # type: ignore[arg-type]
    if run.loop_start < 0:
        summary = (f"{head} After step {len(steps)} no actor can step (only a new GC or "
                   "stop-the-world round could): the last state repeats forever, a "
                   "permanent stall (Z3 bounded lasso search, replayed)")
        values: dict[str, Any] = {"cycle": f"the state after step {len(steps)} repeats "
                                           "forever", "loop_start_state": len(steps)}
        doc["loop"] = len(steps)
    else:
        summary = (f"{head} Steps 1-{run.loop_start} lead to the cycle; steps "
                   f"{run.loop_start + 1}-{len(steps)} repeat forever (every continuously "
                   f"enabled actor steps in it: {', '.join(run.stepped)}; Z3 bounded lasso "
                   "search, replayed)")
        values = {"cycle": f"steps {run.loop_start + 1}-{len(steps)} repeat forever",
                  "loop_start_state": run.loop_start}
        doc["loop"] = run.loop_start
    return Counterexample(summary=summary, values=values, trace=steps, replay=replay_cmd,
                          itf=doc)

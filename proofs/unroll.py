"""The unrolling that bounded model checking and the lasso search share: T (the one step
definition, read through entersys.proofs.transition) as a planning-style SAT encoding over
narrow bit-vectors, in one of two semantics.

- "interleaving": each BMC step is one step instance of one actor (or a stutter).
- "rounds" (relaxed exists-step semantics): each BMC step is a round in which every actor,
  in a fixed order (the Ms, then sysmon, stop-the-world, forEachP, the GC), takes at most
  one step, each seeing the state its predecessors in the round left. A round is a
  sequence of real interleaving steps, so the semantics is sound without any
  independence argument; it covers every run of at most K steps, and every run whose
  steps fall into K such rounds (e.g. N Ms stepping side by side, sysmon and
  stop-the-world taking their steps in the same rounds), at about the cost of one
  interleaving step per round: an actor's sub-step only gets new variables for the fields
  its instances write.

Encoding per sub-step: one Boolean per instance, at most one of an actor's true; an
instance that fires has its guard and its writes; a field no firing instance writes keeps
its value (explanatory frame axioms)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import z3
from entersys.proofs.narrow import ToNarrowBitVec, _bits, field_bounds
from entersys.proofs.transition import Transition

SEMANTICS = ("interleaving", "rounds")
MAX_STEPS = 2000  # interleaving steps an unrolling may stand for (the widths grow with it)


class Unrolling:
    """Frames of narrow bit-vectors from the initial state, extended one BMC step at a
    time into a solver (`extend`). `frames[k]` is the state after k BMC steps (a list of
    bit-vector terms, one per Layout position); `fired[k]` the (instance index, Boolean)
    pairs of BMC step k, in firing order; `micro` the same per actor's sub-step (one per BMC
    step in interleaving semantics, one per actor in rounds) with the state before it.
    `steps_bound` is the number of interleaving steps the widths must hold (rounds *
    actors)."""

    def __init__(self, tr: Transition, solver: z3.Solver, depth: int,
                 semantics: str = "interleaving", tag: str = "u") -> None:
        if semantics not in SEMANTICS:
            raise ValueError(f"unknown semantics {semantics!r}")
        self.tr, self.s, self.semantics, self.tag = tr, solver, semantics, tag
        prog = tr.prog
        owner = [i.m if i.m >= 0 else prog.cfg.ms + _actor_rank(i.step.actor)
                 for i in tr.instances]
        order = sorted(set(owner))
        self.groups: list[list[int]] = (
            [[k for k, o in enumerate(owner) if o == a] for a in order]
            if semantics == "rounds" else [list(range(len(tr.instances)))])
        self.per_step = len(self.groups)
        bound = depth * self.per_step
        if not 0 <= bound <= MAX_STEPS:
            raise ValueError(f"{depth} BMC steps of {self.per_step} sub-steps: more than "
                             f"{MAX_STEPS} steps")
        names = prog.layout.names
        iv = field_bounds(tr.sym.vars, tr.init, tr.writers, bound)
        self.width = [_bits(*b) for b in iv]
        wmap = {f"sym.{n}": w for n, w in zip(names, self.width)}
        self.bv = ToNarrowBitVec(wmap.get)
        self.svars = [z3.BitVec(f"sym.{n}", w) for n, w in zip(names, self.width)]
        # the instances' guards and writes, translated once over self.svars
        sub = [(v, z3.Int(f"sym.{n}")) for v, n in zip(tr.sym.vars, names)]

        def narrow(t: Any) -> Any:
            if isinstance(t, bool):
                return z3.BoolVal(t)
            return self.bv(z3.substitute(t, *sub)) if not z3.is_true(t) else t

        self.guards = [narrow(g) for g in tr.guards]
        self.writes: list[dict[int, Any]] = [{} for _ in tr.instances]
        for pos, ws in tr.writers.items():
            for k, w in ws:
                val = narrow(z3.IntVal(w) if isinstance(w, int) else w)
                self.writes[k][pos] = self._fit(val, self.width[pos])
        init = [z3.BitVecVal(x, w) for x, w in zip(tr.init, self.width)]
        self.frames: list[list[Any]] = [init]
        self._narrowed: dict[int, tuple[Any, Any]] = {}
        self._substs: list[Subst] = []
        self._to_named = Subst(tr.sym.vars, [z3.Int(f"sym.{n}") for n in names])
        self.fired: list[list[tuple[int, Any]]] = []
        # per actor's sub-step, in order: (the state before it, {instance: fired literal})
        self.micro: list[tuple[list[Any], dict[int, Any]]] = []

    @staticmethod
    def _fit(val: Any, w: int) -> Any:
        """`val` at width w: the field's bounds (field_bounds) hold every value any write
        assigns it within the bound, so a wider term is truncated without loss."""
        size = val.size()
        if size == w:
            return val
        return z3.Extract(w - 1, 0, val) if size > w else z3.SignExt(w - size, val)

    def narrow(self, term: Any) -> Any:
        """A term over the symbolic state (transition.sym.vars, Int) read over the narrow
        state variables `svars` (memoised per term)."""
        if isinstance(term, bool):
            return z3.BoolVal(term)
        key = term.get_id()
        hit = self._narrowed.get(key)
        if hit is None:
            hit = self._narrowed[key] = (term, self.bv(self._to_named(term)))
        return hit[1]

    def subst(self, k: int) -> Subst:
        """The substitution of frame k's terms for the narrow state variables."""
        while len(self._substs) <= k:
            self._substs.append(Subst(self.svars, self.frames[len(self._substs)]))
        return self._substs[k]

    def at(self, term: Any, k: int) -> Any:
        """A term over the symbolic state (transition.sym.vars, Int) at frame k."""
        return self.subst(k)(self.narrow(term))

    def extend(self) -> None:
        """Add BMC step len(self.fired) to the solver."""
        k = len(self.fired)
        cur = list(self.frames[k])
        fired: list[tuple[int, Any]] = []
        for j, group in enumerate(self.groups):
            n0, pre = len(fired), cur
            cur = self._substep(cur, group, f"{self.tag}{k}.{j}", fired)
            self.micro.append((pre, dict(fired[n0:])))
        self.frames.append(cur)
        self.fired.append(fired)

    def _substep(self, pre: list[Any], group: Sequence[int], tag: str,
                 fired: list[tuple[int, Any]]) -> list[Any]:
        s = self.s
        sub = Subst(self.svars, pre)
        lits = []
        touched: dict[int, list[Any]] = {}
        for k in group:
            g = self.guards[k]
            if z3.is_false(g):
                continue
            lit = z3.Bool(f"{tag}.a{k}")
            lits.append((k, lit))
            if not z3.is_true(g):
                s.add(z3.Implies(lit, sub(g)))
            for pos in self.writes[k]:
                touched.setdefault(pos, []).append((k, lit))
        if len(lits) > 1:
            s.add(z3.AtMost(*[b for _, b in lits], 1))
        post = list(pre)
        for pos, ws in touched.items():
            v = z3.BitVec(f"{tag}.{self.tr.prog.layout.names[pos]}", self.width[pos])
            post[pos] = v
            for k, lit in ws:
                s.add(z3.Implies(lit, v == sub(self.writes[k][pos])))
            s.add(z3.Or(v == pre[pos], *[lit for _, lit in ws]))
        fired.extend(lits)
        return post

    def labels(self, m: z3.ModelRef, upto: int | None = None) -> list[str]:
        """The interleaving steps a model takes in BMC steps 0..upto-1, in order."""
        out: list[str] = []
        for fired in self.fired[:upto]:
            out.extend(self.tr.instances[k].label for k, lit in fired
                       if z3.is_true(m.eval(lit, model_completion=True)))
        return out


class Subst:
    """Simultaneous substitution of `dst[i]` for `src[i]` in a term, through Z3's C API
    with the argument arrays built once (z3.substitute re-checks every pair's sort on
    each call, which cost most of an unrolling's construction time)."""

    def __init__(self, src: Sequence[Any], dst: Sequence[Any]) -> None:
        pairs = [(a, b) for a, b in zip(src, dst) if not a.eq(b)]
        if any(a.sort() != b.sort() for a, b in pairs):
            raise ValueError("Subst: a pair of different sorts")
        self.n = len(pairs)
        self.src = (z3.Ast * max(1, self.n))()
        self.dst = (z3.Ast * max(1, self.n))()
        for i, (a, b) in enumerate(pairs):
            self.src[i], self.dst[i] = a.as_ast(), b.as_ast()
        self.ctx = src[0].ctx if len(src) else z3.main_ctx()
        self._keep = pairs  # the arrays hold raw pointers: keep the terms alive

    def __call__(self, t: Any) -> Any:
        if self.n == 0 or z3.is_true(t) or z3.is_false(t):
            return t
        return z3.z3._to_expr_ref(z3.Z3_substitute(self.ctx.ref(), t.as_ast(), self.n,
                                                self.src, self.dst), self.ctx)


def _actor_rank(actor: str) -> int:
    from entersys.oracle.explore import ACTORS

    return ACTORS.index(actor)

"""Bounded fair-lasso search in one SAT query (liveness to safety) over the narrow
unrolling of entersys.proofs.unroll: is there, within K interleaving steps (stutters
allowed, so "within", not "exactly"), a path from the initial state whose last frame
repeats an earlier frame l in the explorer's tick normal form, such that

- every frame of the loop l..K-1 keeps one liveness property pending and is not
  M-exhausted, and the loop takes no environment step (a new GC round);
- the loop is fair under entersys.oracle.liveness's classes (liveness.prepare, read
  through entersys.proofs.lasso_z3.fairness): a weakly fair class (each M, sysmon, W, F,
  the GC) enabled in every loop frame steps in it; a strongly fair class (each M's
  preemption, each G's turn in the run queue, sysmon's visit of each P, each P's "10 ms
  passed" choice) enabled in some loop frame steps in it; "enabled" and "steps" count only
  steps that change the state (in tick normal form);
- frame l is the first occurrence of that state (so the replay, which closes the cycle at
  the first repeat, sees the same cycle);

or whose last frame is a pending stall (only the environment can step).

The pending predicates and the M-exhausted condition are entersys.oracle.liveness's Cond
formulas, interpreted over the frames' bit-vectors (cond_term), not restated. Compared with
entersys.proofs.lasso_z3 (one query per depth over full-width bit-vectors, predicates
refined lazily) this asks one query per depth bound, bit-blasted to Z3's SAT solver, so a
deep lasso costs one solve. A found lasso is decoded into lasso_z3.LassoRun and confirmed
by lasso_z3.confirm (the project's lasso replay) before it is reported."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import z3
from entersys.model.program import Program
from entersys.model.state import View
from entersys.oracle import liveness
from entersys.oracle.explore import tick_normal_form
from entersys.proofs import lasso_z3
from entersys.proofs.protocol_z3 import Z3P
from entersys.proofs.transition import SEED, TIMEOUT_MS, Transition
from entersys.proofs.unroll import Unrolling


def cond_term(c: liveness.Cond, frame: Sequence[Any], width: Sequence[int]) -> Any:
    """liveness.Cond `c` (("in", pos, values), "not", "and", "or") as a Z3 Boolean over
    `frame` (one signed bit-vector per Layout position, `width[pos]` bits). A value outside
    a field's width cannot occur within the unrolling's bound (narrow.field_bounds), so
    its alternative is false."""
    if c.op == "in":
        pos, vals = c.args
        w = width[pos]
        alts = [frame[pos] == z3.BitVecVal(v, w) for v in sorted(vals)
                if -(1 << (w - 1)) <= v <= (1 << (w - 1)) - 1]
        return z3.Or(*alts) if alts else z3.BoolVal(False)
    if c.op == "not":
        return z3.Not(cond_term(c.args[0], frame, width))
    parts = [cond_term(x, frame, width) for x in c.args]
    if c.op == "and":
        return z3.And(*parts) if parts else z3.BoolVal(True)
    return z3.Or(*parts) if parts else z3.BoolVal(False)


def properties(prog: Program, ids: Sequence[str] | None = None
               ) -> list[tuple[str, str, liveness.Cond]]:
    """(property id, what it is about, pending Cond) of every liveness property of
    entersys.oracle.liveness that applies to `prog` (only `ids`, if given)."""
    return lasso_z3.properties(prog, ids)  # type: ignore[return-value]


class NarrowLasso:
    """One bounded fair-lasso query of `prog` within `depth` interleaving steps."""

    def __init__(self, prog: Program, timeout_ms: int = TIMEOUT_MS) -> None:
        self.prog = prog
        self.tr = Transition(prog, invariants=[])
        self.fair = lasso_z3.fairness(prog)
        self.timeout_ms = timeout_ms
        self.actor = [self.fair.actor_of[i] for i in self.tr.instances]
        env_id = self.fair.env.bit_length() - 1
        self.env_acts = {k for k, a in enumerate(self.actor) if a == env_id}
        self.norm_w = tick_normal_form(prog.layout, View(prog.layout, Z3P,
                                                         self.tr.sym.vars.__getitem__))

    def search(self, props: list[tuple[str, str, liveness.Cond]], depth: int,
               semantics: str = "interleaving") -> lasso_z3.LassoRun:
        """A fair lasso (or stall) of one of `props` within `depth` BMC steps of
        `semantics` (entersys.proofs.unroll; in "rounds" the loop starts at a round's
        boundary, and fairness is judged on every state inside the rounds): "refuted" (the
        run's labels, loop start as a label index, -1 for a stall), "holds" (none within
        `depth`) or "unknown" (the per-query timeout). Not necessarily the shortest."""
        t0 = time.perf_counter()
        fair = self.fair
        s = z3.Then("simplify", "bit-blast", "sat").solver()
        s.set("timeout", self.timeout_ms)
        s.set("random_seed", SEED)
        u = Unrolling(self.tr, s, depth, semantics, tag="z")
        for _ in range(depth):
            u.extend()
        # micro-steps: one actor's sub-step each (a step or a stutter); fr[i] the state
        # before micro-step i, fr[n] the last; loops may start at a BMC step's boundary
        n, per = len(u.micro), u.per_step
        fr = [pre for pre, _ in u.micro] + [u.frames[depth]]
        lits = [fired for _, fired in u.micro]
        width = u.width
        norms = [self._norm(u, x) for x in fr]
        moves = [self._moves(u, x) for x in fr]
        exh = [cond_term(liveness._m_exhausted(fair), x, width)  # type: ignore[arg-type]
               for x in fr]
        bounds = list(range(0, n, per))
        start = {b: z3.Bool(f"loopstart.{b}") for b in bounds}
        inloop = [z3.Or(*[start[b] for b in bounds if b <= i]) for i in range(n)]
        stall = z3.Bool("stall")
        which = [z3.Bool(f"prop.{k}") for k in range(len(props))]
        goal: list[Any] = [z3.Or(*which), z3.AtMost(*which, 1)]
        # the stall: pending at the end, not M-exhausted, only the environment can move
        stuck = z3.And(z3.Not(exh[n]), *[z3.Not(mv) for a, mv in moves[n].items()
                                         if a not in self.env_acts])
        # the loop: one start b, the last state = the state at b (normal form), b its first
        # occurrence, something moves, no environment step, not M-exhausted, fair
        loop: list[Any] = [z3.Or(*start.values()), z3.AtMost(*start.values(), 1)]
        fresh: list[Any] = []  # fresh[i]: the last state differs from states 0..i-1
        acc: Any = z3.BoolVal(True)
        for i in range(n + 1):
            fresh.append(acc)
            if i < n:
                acc = z3.And(acc, z3.Or(*[a != b for a, b in zip(norms[n], norms[i])]))
        for b in bounds:
            same = z3.And(*[x == y for x, y in zip(norms[n], norms[b])])
            loop.append(z3.Implies(start[b], z3.And(same, fresh[b])))
        moved = [z3.Or(*[a != b for a, b in zip(norms[i + 1], norms[i])]) for i in range(n)]
        loop.append(z3.Or(*[z3.And(inloop[i], moved[i]) for i in range(n)]))
        for i in range(n):
            env_here = [b for a, b in lits[i].items() if a in self.env_acts]
            loop.append(z3.Implies(inloop[i], z3.And(z3.Not(exh[i]),
                                                     *[z3.Not(b) for b in env_here])))
        by_class: dict[int, list[int]] = {}
        for a, who in enumerate(self.actor):
            by_class.setdefault(who, []).append(a)
        for who, mine in sorted(by_class.items()):
            bit = 1 << who
            if not (fair.weak | fair.strong) & bit:
                continue
            en = [z3.Or(*[moves[i][a] for a in mine if a in moves[i]]) for i in range(n)]
            steps = z3.Or(*[z3.And(inloop[i], moved[i],
                                   z3.Or(*[lits[i][a] for a in mine if a in lits[i]]))
                            for i in range(n)])
            if fair.weak & bit:
                enabled = z3.And(*[z3.Implies(inloop[i], en[i]) for i in range(n)])
            else:
                enabled = z3.Or(*[z3.And(inloop[i], en[i]) for i in range(n)])
            loop.append(z3.Implies(enabled, steps))
        goal.append(z3.If(stall, stuck, z3.And(*loop)))
        for k, (_, _, cond) in enumerate(props):
            pend = [cond_term(cond, x, width) for x in fr]
            in_loop = z3.And(*[z3.Implies(inloop[i], pend[i]) for i in range(n)])
            goal.append(z3.Implies(which[k], z3.If(stall, pend[n], in_loop)))
        s.add(*goal)
        r = s.check()
        secs = time.perf_counter() - t0
        if r == z3.unsat:
            return lasso_z3.LassoRun("holds", depth, seconds=secs, queries=1)
        if r != z3.sat:
            return lasso_z3.LassoRun("unknown", depth, seconds=secs, queries=1)
        m = s.model()

        def true(b: Any) -> bool:
            return z3.is_true(m.eval(b, model_completion=True))

        k = next(k for k, b in enumerate(which) if true(b))
        taken = [[a for a, b in lits[i].items() if true(b)] for i in range(n)]
        labels = [self.tr.instances[a].label for t in taken for a in t]
        loop_start, stepped = -1, []
        if not true(stall):
            b0 = next(b for b in bounds if true(start[b]))
            loop_start = sum(len(t) for t in taken[:b0])
            stepped = sorted({fair.actor_names[self.actor[a]] for t in taken[b0:] for a in t})
        return lasso_z3.LassoRun("refuted", depth, props[k][0], props[k][1], labels,
                                 loop_start, stepped, secs, 1)

    def _norm(self, u: Unrolling, frame: list[Any]) -> list[Any]:
        """`frame` in tick normal form (explore.tick_normal_form's writes)."""
        if not hasattr(u, "norm_terms"):
            names = self.prog.layout.names
            sub = [(v, z3.Int(f"sym.{n}")) for v, n in zip(self.tr.sym.vars, names)]
            u.norm_terms = {p: u.bv(z3.substitute(z3.IntVal(w) if isinstance(w, int) else w,
                                                   *sub))
                            for p, w in self.norm_w.items()}  # type: ignore[attr-defined]
        sub = list(zip(u.svars, frame))
        out = list(frame)
        for p, t in u.norm_terms.items():  # type: ignore[attr-defined]
            out[p] = z3.substitute(t, *sub)
        return out

    def _moves(self, u: Unrolling, frame: list[Any]) -> dict[int, Any]:
        """Per instance that can fire: enabled at `frame` with a step that changes it."""
        sub = list(zip(u.svars, frame))
        out: dict[int, Any] = {}
        for a, g in enumerate(u.guards):
            if z3.is_false(g) or not u.writes[a]:
                continue
            ch = z3.Or(*[w != u.svars[p] for p, w in u.writes[a].items()])
            out[a] = z3.substitute(z3.And(g, ch), *sub)
        return out


def search(prog: Program, depth: int, ids: Sequence[str] | None = None,
           timeout_ms: int = TIMEOUT_MS, semantics: str = "interleaving"
           ) -> lasso_z3.LassoRun:
    """A fair lasso of any liveness property (or `ids`) of `prog` within `depth` steps, in
    one query, confirmed by the project's lasso replay (lasso_z3.confirm; RuntimeError if
    it does not reproduce)."""
    run = NarrowLasso(prog, timeout_ms).search(properties(prog, ids), depth, semantics)
    if run.status == "refuted":
        lasso_z3.confirm(prog, run)
    return run

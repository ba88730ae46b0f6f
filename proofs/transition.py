"""The transition relation T(s, a, s') of one protocol configuration as a Z3 formula, built
from the symbolic reading of every step instance (entersys.proofs.protocol_z3: guard and
writes) plus frame conditions: a field that the chosen instance does not write keeps its
value. Bounded model checking, induction and the mutant engine all unroll this one T.

A frame is a vector of Z3 integers (one per Layout field) and an action variable `a`
whose value is the index of the step instance taken (Program.instances() order)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import z3
from entersys.model.invariants import Invariant
from entersys.model.program import Instance, Program
from entersys.model.state import initial_state
from entersys.proofs.protocol_z3 import SymbolicState, symbolic_invariant, symbolic_step

# Reproducible solving: one seed everywhere, and a per-query timeout (ms) that turns a
# slow query into "unknown", never into "holds".
SEED = 7
TIMEOUT_MS = 60_000


def solver(timeout_ms: int = TIMEOUT_MS) -> z3.Solver:
    """A QF_LIA solver with the fixed seed and the per-query timeout."""
    s = z3.SolverFor("QF_LIA")
    s.set("random_seed", SEED)
    s.set("timeout", timeout_ms)
    return s


def _b(x: Any) -> Any:
    return z3.BoolVal(x) if isinstance(x, bool) else x


def _i(x: Any) -> Any:
    return z3.IntVal(x) if isinstance(x, int) else x


@dataclass
class Frame:
    """One state of an unrolling: its field variables, and the action taken from it."""

    vars: list[Any]
    act: Any


class Transition:
    """T for one Program: `step(pre, act, post)` is a Z3 formula; `invariant(inv, frame)`
    instantiates a named invariant at a frame. Shapes: a frame has len(prog.layout) Int
    variables; `act` ranges over 0..len(instances)-1. `sym`: the symbolic state the steps
    are read over (default SymbolicState(prog); a subclass may read them with other Ops,
    as entersys.proofs.param_sharp's T# does)."""

    def __init__(self, prog: Program, invariants: Sequence[Invariant] | None = None,
                 sym: SymbolicState | None = None) -> None:
        self.prog = prog
        self.sym = sym or SymbolicState(prog)
        self.instances: list[Instance] = list(prog.instances())
        steps = [symbolic_step(prog, inst, self.sym) for inst in self.instances]
        self.guards = [_b(st.guard) for st in steps]
        # position -> [(instance index, value term)], the instances that write it
        self.writers: dict[int, list[tuple[int, Any]]] = {}
        for k, st in enumerate(steps):
            for pos, val in st.writes.items():
                self.writers.setdefault(pos, []).append((k, _i(val)))
        self.invariants = list(invariants if invariants is not None else prog.invariants)
        self.inv_terms = {inv.id: _b(symbolic_invariant(prog, inv, self.sym))
                          for inv in self.invariants}
        self.init = initial_state(prog.layout, prog.labels)
        self._one: tuple[Frame, Frame, Any] | None = None

    # -- frames -------------------------------------------------------------------------------
    def frame(self, tag: str) -> Frame:
        names = self.prog.layout.names
        return Frame([z3.Int(f"{tag}.{n}") for n in names], z3.Int(f"{tag}.act"))

    def at(self, term: Any, frame: Frame) -> Any:
        """A term over the symbolic state, instantiated at `frame`."""
        if isinstance(term, bool | int):
            return _b(term)
        return z3.substitute(term, *zip(self.sym.vars, frame.vars))

    def is_init(self, frame: Frame) -> Any:
        return z3.And(*[v == x for v, x in zip(frame.vars, self.init)])

    def step(self, pre: Frame, post: Frame) -> Any:
        """T(pre, pre.act, post): the chosen instance is enabled at pre, post has its
        writes, every other field is unchanged (frame condition)."""
        a = pre.act
        sub = list(zip(self.sym.vars, pre.vars))
        conj = [a >= 0, a < len(self.instances)]
        conj.append(z3.Or(*[z3.And(a == k, z3.substitute(g, *sub) if not z3.is_true(g) else g)
                            for k, g in enumerate(self.guards) if not z3.is_false(g)]))
        for pos, old in enumerate(pre.vars):
            val: Any = old
            for k, w in reversed(self.writers.get(pos, [])):
                val = z3.If(a == k, z3.substitute(w, *sub), val)
            conj.append(post.vars[pos] == val)
        return z3.And(*conj)

    def one_step(self) -> tuple[Frame, Frame, Any]:
        """(pre, post, T(pre, post)) over the frames "pre" and "post", built once."""
        if self._one is None:
            pre, post = self.frame("pre"), self.frame("post")
            self._one = (pre, post, self.step(pre, post))
        return self._one

    def invariant(self, inv_id: str, frame: Frame) -> Any:
        return self.at(self.inv_terms[inv_id], frame)

    def all_invariants(self, frame: Frame, ids: Sequence[str] | None = None) -> Any:
        ids = list(ids) if ids is not None else [i.id for i in self.invariants]
        return z3.And(*[self.invariant(i, frame) for i in ids])

    # -- decoding --------------------------------------------------------------------------
    def values(self, model: z3.ModelRef, frame: Frame) -> list[int]:
        return [model.eval(v, model_completion=True).as_long() for v in frame.vars]

    def label(self, model: z3.ModelRef, frame: Frame) -> str:
        return self.instances[model.eval(frame.act, model_completion=True).as_long()].label


def successors(tr: Transition, state: Sequence[int], limit: int = 1000) -> set[tuple[int, ...]]:
    """Every s' with T(state, a, s') for some a, enumerated by the solver with blocking
    clauses (the T-vs-interpreter cross-check compares this with the interpreter)."""
    pre, post, t = tr.one_step()
    s = solver()
    # the pre-state is substituted first: the solver then sees only the choice of action
    s.add(z3.simplify(z3.substitute(t, *[(v, z3.IntVal(x)) for v, x in zip(pre.vars, state)])))
    out: set[tuple[int, ...]] = set()
    while len(out) < limit:
        r = s.check()
        if r == z3.unsat:
            return out
        if r != z3.sat:
            raise RuntimeError(f"solver {r} while enumerating successors")
        vals = tuple(tr.values(s.model(), post))
        out.add(vals)
        s.add(z3.Or(*[v != x for v, x in zip(post.vars, vals)]))
    raise RuntimeError(f"more than {limit} successors")

"""The Z3 reading of the protocol steps: the same step definitions (entersys.model.steps)
evaluated over a symbolic state whose every field is a Z3 integer, giving each step
instance a guard and a successor as Z3 terms, and each invariant a Z3 formula.

This is the base for bounded and inductive proofs, and for the compiled concrete engine
(entersys.oracle.compiled), which is generated from these terms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import z3
from entersys.model.invariants import Invariant
from entersys.model.program import Instance, Program
from entersys.model.state import View


def _b(x: Any) -> Any:
    return z3.BoolVal(x) if isinstance(x, bool) else x


def _i(x: Any) -> Any:
    if isinstance(x, bool):
        return z3.IntVal(int(x))
    if isinstance(x, int):
        return z3.IntVal(x)
    return x


class Z3ProtocolOps:
    symbolic = True

    @staticmethod
    def is_concrete(x: Any) -> bool:
        return isinstance(x, int)

    @staticmethod
    def ite(c: Any, a: Any, b: Any) -> Any:
        if isinstance(c, bool):
            return a if c else b
        a, b = _b(a), _b(b)
        if z3.is_bool(a) or z3.is_bool(b):
            return z3.If(c, _b(a), _b(b))
        return z3.If(c, _i(a), _i(b))

    @staticmethod
    def and_(*xs: Any) -> Any:
        if any(x is False for x in xs):
            return False
        rest = [x for x in xs if x is not True]
        if not rest:
            return True
        return rest[0] if len(rest) == 1 else z3.And(*[_b(x) for x in rest])

    @staticmethod
    def or_(*xs: Any) -> Any:
        if any(x is True for x in xs):
            return True
        rest = [x for x in xs if x is not False]
        if not rest:
            return False
        return rest[0] if len(rest) == 1 else z3.Or(*[_b(x) for x in rest])

    @staticmethod
    def not_(x: Any) -> Any:
        return (not x) if isinstance(x, bool) else z3.Not(x)

    @staticmethod
    def select(values: list[Any], ref: Any, default: int = 0) -> Any:
        if isinstance(ref, int):
            return values[ref - 1] if 1 <= ref <= len(values) else default
        out: Any = _i(default)
        for j in range(len(values) - 1, -1, -1):
            out = z3.If(ref == j + 1, _i(values[j]), out)
        return out

    @staticmethod
    def count(conds: list[Any]) -> Any:
        terms = [z3.If(_b(c), 1, 0) if not isinstance(c, bool) else int(c) for c in conds]
        sym = [t for t in terms if not isinstance(t, int)]
        const = sum(t for t in terms if isinstance(t, int))
        if not sym:
            return const
        return z3.Sum(*sym) + const if const else (sym[0] if len(sym) == 1 else z3.Sum(*sym))


Z3P = Z3ProtocolOps()


class SymbolicState:
    """A state whose field at position i is the Z3 integer `s_i` (named after the field)."""

    def __init__(self, prog: Program) -> None:
        self.prog = prog
        self.vars = [z3.Int(f"s{i}_{n}") for i, n in enumerate(prog.layout.names)]
        self.view = View(prog.layout, Z3P, self.vars.__getitem__)

    def substitution(self, concrete: tuple[int, ...] | list[int]) -> list[tuple[Any, Any]]:
        return [(v, z3.IntVal(x)) for v, x in zip(self.vars, concrete)]


@dataclass
class SymbolicStep:
    inst: Instance
    guard: Any                  # z3 BoolRef (or a Python bool)
    writes: dict[int, Any]      # position -> z3 term (or Python int)


def symbolic_step(prog: Program, inst: Instance, sym: SymbolicState) -> SymbolicStep:
    guard, writes = prog.apply(inst, sym.view)
    return SymbolicStep(inst, guard, writes)


def symbolic_invariant(prog: Program, inv: Invariant, sym: SymbolicState) -> Any:
    return inv.pred(prog, sym.view)


def evaluate_at(term: Any, sym: SymbolicState, concrete: tuple[int, ...] | list[int]) -> Any:
    """Instantiate a symbolic term at a concrete state (Python int or bool)."""
    if isinstance(term, bool | int):
        return term
    val = z3.simplify(z3.substitute(term, *sym.substitution(concrete)))
    if z3.is_true(val):
        return True
    if z3.is_false(val):
        return False
    return val.as_long()

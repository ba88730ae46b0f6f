"""Narrow bit-vectors for bounded unrollings: every field of the protocol state gets the
fewest bits that hold all the values it can take within a bound of K steps, found by
interval iteration over the writes of every step instance (the one step definition, read
through entersys.proofs.transition); Z3's SAT core then searches far fewer bits than with
one width for every field (entersys.proofs.bv: 16 bits).

Sound up to the bound: interval iteration over-approximates the values every field can
hold after at most K steps (guards are ignored, so every write counts as possible), each
term is given the width its operands' widths need (sums and products widen), and operands
are sign-extended to a common width, so no value of any term wraps."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import z3
from entersys.proofs.bv import CONNECTIVES, ToBitVec

Interval = tuple[int, int]


def _bits(lo: int, hi: int) -> int:
    """The fewest bits of a signed bit-vector that holds every value in lo..hi."""
    w = 1
    while not (-(1 << (w - 1)) <= lo and hi <= (1 << (w - 1)) - 1):
        w += 1
    return w


class _Compiled:
    """The Int-valued DAG of a set of terms over the variables `vars` (positions), in
    topological order, evaluated over intervals."""

    def __init__(self, vars_: Sequence[Any], roots: Sequence[Any]) -> None:
        self.pos = {v.get_id(): k for k, v in enumerate(vars_)}
        self.nodes: list[tuple[str, Any]] = []
        self.index: dict[int, int] = {}
        self.roots = [self._add(t) for t in roots]

    def _add(self, t: Any) -> int:
        key = t.get_id()
        hit = self.index.get(key)
        if hit is not None:
            return hit
        node: tuple[str, Any]
        if z3.is_int_value(t):
            node = ("const", t.as_long())
        elif z3.is_const(t) and key in self.pos:
            node = ("var", self.pos[key])
        elif z3.is_const(t):
            raise ValueError(f"narrow: a free Int {t} that is no state field")
        else:
            k = t.decl().kind()
            if k == z3.Z3_OP_ITE:
                node = ("hull", [self._add(t.arg(1)), self._add(t.arg(2))])
            elif k in (z3.Z3_OP_ADD, z3.Z3_OP_SUB, z3.Z3_OP_MUL):
                node = ({z3.Z3_OP_ADD: "add", z3.Z3_OP_SUB: "sub", z3.Z3_OP_MUL: "mul"}[k],
                        [self._add(c) for c in t.children()])
            elif k == z3.Z3_OP_UMINUS:
                node = ("neg", [self._add(t.arg(0))])
            else:
                raise NotImplementedError(f"narrow: no interval reading of {t.decl()}")
        self.nodes.append(node)
        self.index[key] = len(self.nodes) - 1
        return len(self.nodes) - 1

    def evaluate(self, env: Sequence[Interval]) -> list[Interval]:
        val: list[Interval] = []
        for op, arg in self.nodes:
            if op == "const":
                val.append((arg, arg))
            elif op == "var":
                val.append(env[arg])
            elif op == "hull":
                (a, b), (c, d) = val[arg[0]], val[arg[1]]
                val.append((min(a, c), max(b, d)))
            elif op == "neg":
                a, b = val[arg[0]]
                val.append((-b, -a))
            else:
                lo, hi = val[arg[0]]
                for j in arg[1:]:
                    c, d = val[j]
                    if op == "add":
                        lo, hi = lo + c, hi + d
                    elif op == "sub":
                        lo, hi = lo - d, hi - c
                    else:
                        ps = (lo * c, lo * d, hi * c, hi * d)
                        lo, hi = min(ps), max(ps)
                val.append((lo, hi))
        return [val[r] for r in self.roots]


def field_bounds(sym_vars: Sequence[Any], init: Sequence[int],
                 writers: dict[int, list[tuple[int, Any]]], steps: int) -> list[Interval]:
    """Per position, an interval holding every value the field can have after at most
    `steps` steps from `init` (a sound over-approximation: every write of every instance
    counts, enabled or not). Shapes: `sym_vars` and `init` per position; `writers` maps a
    position to (instance, value term over `sym_vars`) as Transition.writers does."""
    order = sorted(writers)
    roots = [w for p in order for _, w in writers[p]]
    owner = [p for p in order for _ in writers[p]]
    dag = _Compiled(sym_vars, [t if not isinstance(t, int) else z3.IntVal(t) for t in roots])
    env: list[Interval] = [(v, v) for v in init]
    for _ in range(steps):
        nxt = list(env)
        for p, (lo, hi) in zip(owner, dag.evaluate(env)):
            a, b = nxt[p]
            nxt[p] = (min(a, lo), max(b, hi))
        if nxt == env:
            break
        env = nxt
    return env


class ToNarrowBitVec(ToBitVec):
    """Int term -> bit-vector term of the width it needs (signed comparisons); Bool
    structure kept. `width_of(name)` gives the width of a free Int constant (a frame's
    field or action), None for a name it does not know (an error). Memoised per term id by
    entersys.proofs.bv.ToBitVec's __call__, and called the same way."""

    def __init__(self, width_of: Callable[[str], int | None]) -> None:
        super().__init__(width=0)  # no single width: see bv_value
        self.width_of = width_of

    def bv_value(self, t: Any, value: int) -> Any:
        """The constant `value` at the width of the translated Int term `t`."""
        return z3.BitVecVal(value, self(t).size())

    @staticmethod
    def _ext(a: Any, w: int) -> Any:
        return a if a.size() == w else z3.SignExt(w - a.size(), a)

    def _same(self, xs: list[Any], extra: int = 0) -> list[Any]:
        w = max(x.size() for x in xs) + extra
        return [self._ext(x, w) for x in xs]

    def _tr(self, t: Any) -> Any:
        if z3.is_int_value(t):
            v = t.as_long()
            return z3.BitVecVal(v, _bits(v, v))
        if z3.is_true(t) or z3.is_false(t):
            return t
        if z3.is_const(t):
            if t.sort() != z3.IntSort():
                return t
            w = self.width_of(t.decl().name())
            if w is None:
                raise ValueError(f"narrow: no width for {t}")
            return z3.BitVec(t.decl().name(), w)
        k = t.decl().kind()
        a = [self(c) for c in t.children()]
        if k == z3.Z3_OP_ITE:
            if z3.is_bool(a[1]):
                return z3.If(a[0], a[1], a[2])
            x, y = self._same([a[1], a[2]])
            return z3.If(a[0], x, y)
        if k in CONNECTIVES:
            return CONNECTIVES[k](*a)
        if k in (z3.Z3_OP_EQ, z3.Z3_OP_DISTINCT):
            if z3.is_bool(a[0]):
                return a[0] == a[1] if k == z3.Z3_OP_EQ else z3.Distinct(*a)
            xs = self._same(a)
            return xs[0] == xs[1] if k == z3.Z3_OP_EQ else z3.Distinct(*xs)
        if k in (z3.Z3_OP_ADD, z3.Z3_OP_SUB):
            xs = self._same(a, (len(a) - 1).bit_length())
            out = xs[0]
            for x in xs[1:]:
                out = out + x if k == z3.Z3_OP_ADD else out - x
            return out
        if k == z3.Z3_OP_MUL:
            out = a[0]
            for x in a[1:]:
                w = out.size() + x.size()
                out = self._ext(out, w) * self._ext(x, w)
            return out
        if k == z3.Z3_OP_UMINUS:
            x = self._ext(a[0], a[0].size() + 1)
            return -x
        if k in (z3.Z3_OP_LE, z3.Z3_OP_LT, z3.Z3_OP_GE, z3.Z3_OP_GT):
            x, y = self._same(a)
            return {z3.Z3_OP_LE: x <= y, z3.Z3_OP_LT: x < y, z3.Z3_OP_GE: x >= y,
                    z3.Z3_OP_GT: x > y}[k]
        raise NotImplementedError(f"no bit-vector reading of {t.decl()}")

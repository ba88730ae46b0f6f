"""The bit-vector reading of the protocol's Z3 terms: the integer terms of the symbolic
steps (entersys.proofs.protocol_z3) translated to signed 16-bit vectors, which Z3's SAT
core searches much faster than linear arithmetic in bounded unrollings.

Sound for bounded model checking from the initial state up to 100 steps: every value a
step computes is a label, a reference, a count or a status (at most _Gscan|_Gcopystack, far
below 2^15), and a step adds or subtracts at most 1, so no value leaves the signed range."""

from __future__ import annotations

from typing import Any

import z3

WIDTH = 16
MAX_DEPTH = 100  # the bound under which no field can overflow (see the module docstring)

_CMP = {z3.Z3_OP_LE: lambda a, b: a <= b, z3.Z3_OP_LT: lambda a, b: a < b,
        z3.Z3_OP_GE: lambda a, b: a >= b, z3.Z3_OP_GT: lambda a, b: a > b}


# Boolean connectives by Z3 op kind: kept as they are by every Int -> bit-vector reading
CONNECTIVES: dict[int, Any] = {z3.Z3_OP_AND: z3.And, z3.Z3_OP_OR: z3.Or,
                               z3.Z3_OP_NOT: z3.Not, z3.Z3_OP_IMPLIES: z3.Implies}


class ToBitVec:
    """Int term -> WIDTH-bit term (signed comparisons); Bool structure kept. Memoised per
    term id (the term is kept alive with its translation, so ids are not reused)."""

    def __init__(self, width: int = WIDTH) -> None:
        self.width = width
        self.memo: dict[int, tuple[Any, Any]] = {}

    def __call__(self, t: Any) -> Any:
        key = t.get_id()
        hit = self.memo.get(key)
        if hit is None:
            hit = (t, self._tr(t))
            self.memo[key] = hit
        return hit[1]

    def _tr(self, t: Any) -> Any:
        w = self.width
        if z3.is_int_value(t):
            return z3.BitVecVal(t.as_long(), w)
        if z3.is_true(t) or z3.is_false(t):
            return t
        if z3.is_const(t):
            return z3.BitVec(t.decl().name(), w) if t.sort() == z3.IntSort() else t
        k = t.decl().kind()
        a = [self(c) for c in t.children()]
        if k == z3.Z3_OP_ITE:
            return z3.If(a[0], a[1], a[2])
        if k in CONNECTIVES:
            return CONNECTIVES[k](*a)
        if k == z3.Z3_OP_EQ:
            return a[0] == a[1]
        if k == z3.Z3_OP_DISTINCT:
            return z3.Distinct(*a)
        if k in (z3.Z3_OP_ADD, z3.Z3_OP_SUB, z3.Z3_OP_MUL):
            out = a[0]
            for x in a[1:]:
                out = out + x if k == z3.Z3_OP_ADD else out - x if k == z3.Z3_OP_SUB else out * x
            return out
        if k == z3.Z3_OP_UMINUS:
            return -a[0]
        if k in _CMP:
            return _CMP[k](a[0], a[1])
        raise NotImplementedError(f"no bit-vector reading of {t.decl()}")

"""The Z3 reading of entersys.model.errno.Ops: the same mapping functions, over 64-bit
bit-vectors instead of Python ints."""

from __future__ import annotations

from typing import Any

import z3
from entersys.model.errno import MASK64


class Z3Ops:
    def ule(self, a: Any, b: Any) -> Any:
        return z3.ULE(a, b)

    def ite(self, c: Any, a: Any, b: Any) -> Any:
        return z3.If(c, a, b)

    def neg(self, a: Any) -> Any:
        return -a

    def const(self, v: int) -> Any:
        return z3.BitVecVal(v & MASK64, 64)

    def not_(self, c: Any) -> Any:
        return z3.Not(c)


Z3 = Z3Ops()


def bv(name: str) -> z3.BitVecRef:
    return z3.BitVec(name, 64)

"""The operations a protocol step may use on values, in their concrete reading (Python
ints and bools). entersys.proofs.protocol_z3 gives the Z3 reading of the same names, so one
step definition runs over both."""

from __future__ import annotations

from typing import Any


class ConcreteOps:
    symbolic = False

    @staticmethod
    def is_concrete(x: Any) -> bool:
        return True

    @staticmethod
    def ite(c: Any, a: Any, b: Any) -> Any:
        return a if c else b

    @staticmethod
    def and_(*xs: Any) -> bool:
        return all(xs)

    @staticmethod
    def or_(*xs: Any) -> bool:
        return any(xs)

    @staticmethod
    def not_(x: Any) -> bool:
        return not x

    @staticmethod
    def select(values: list[Any], ref: Any, default: int = 0) -> Any:
        return values[ref - 1] if 1 <= ref <= len(values) else default

    @staticmethod
    def count(conds: list[Any]) -> int:
        return sum(1 for c in conds if c)


CONCRETE = ConcreteOps()

"""The fast concrete engine: every step instance and invariant is first evaluated over the
symbolic state (entersys.proofs.protocol_z3) and the resulting Z3 terms are translated to
Python source, compiled once per program. It is derived from the same step definitions as
the interpreter, and a test checks that both agree."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import z3
from entersys.model.invariants import Invariant
from entersys.model.program import Instance, Program
from entersys.proofs.protocol_z3 import SymbolicState, symbolic_invariant, symbolic_step

State = tuple[int, ...]

_BIN = {z3.Z3_OP_LE: "<=", z3.Z3_OP_LT: "<", z3.Z3_OP_GE: ">=", z3.Z3_OP_GT: ">",
        z3.Z3_OP_EQ: "==", z3.Z3_OP_SUB: "-", z3.Z3_OP_ADD: "+", z3.Z3_OP_MUL: "*"}


class TermTranslator:
    """Z3 term (over the symbolic state's field variables) -> an expression in a target
    language over the concrete state. One walk of the term for every generated engine;
    a subclass gives only the spelling of its language (Python here, C in
    entersys.oracle.cgen, Promela in entersys.oracle.spin). Raises NotImplementedError for
    an operator no step uses."""

    TRUE, FALSE, AND, OR, NOT = "True", "False", "and", "or", "not "
    LANG = "Python"

    def __init__(self, sym: SymbolicState, var: str = "s") -> None:
        self.pos = {v.get_id(): i for i, v in enumerate(sym.vars)}
        self.var = var
        # the term is kept with its text: a freed term's id may be reused by a new one
        self.memo: dict[int, tuple[Any, str]] = {}

    def field(self, pos: int) -> str:
        return f"{self.var}[{pos}]"

    def ite(self, c: str, a: str, b: str) -> str:
        return f"({a} if {c} else {b})"

    def __call__(self, t: Any) -> str:
        if isinstance(t, bool):
            return self.TRUE if t else self.FALSE
        if isinstance(t, int):
            return str(t)
        key = t.get_id()
        if key not in self.memo:
            self.memo[key] = (t, self._tr(t))
        return self.memo[key][1]

    def _tr(self, t: Any) -> str:
        if z3.is_int_value(t):
            return str(t.as_long())
        if z3.is_true(t):
            return self.TRUE
        if z3.is_false(t):
            return self.FALSE
        if z3.is_const(t) and t.get_id() in self.pos:
            return self.field(self.pos[t.get_id()])
        k = t.decl().kind()
        a = [self(c) for c in t.children()]
        if k == z3.Z3_OP_ITE:
            return self.ite(a[0], a[1], a[2])
        if k == z3.Z3_OP_AND:
            return "(" + f" {self.AND} ".join(a) + ")"
        if k == z3.Z3_OP_OR:
            return "(" + f" {self.OR} ".join(a) + ")"
        if k == z3.Z3_OP_NOT:
            return f"({self.NOT}{a[0]})"
        if k == z3.Z3_OP_UMINUS:
            return f"(-{a[0]})"
        if k == z3.Z3_OP_DISTINCT and len(a) == 2:
            return f"({a[0]} != {a[1]})"
        if k == z3.Z3_OP_IMPLIES:
            return f"(({self.NOT}{a[0]}) {self.OR} {a[1]})"
        if k in (z3.Z3_OP_ADD, z3.Z3_OP_MUL) and len(a) >= 2:
            return "(" + f" {_BIN[k]} ".join(a) + ")"
        if k in _BIN and len(a) == 2:
            return f"({a[0]} {_BIN[k]} {a[1]})"
        raise NotImplementedError(f"cannot translate {t.decl()} ({t}) to {self.LANG}")


Translator = TermTranslator  # the Python spelling


StepFn = Callable[[State], list[int] | None]


class CompiledProgram:
    """Per instance, `fn(s)` returns the successor as a list, or None if disabled."""

    def __init__(self, prog: Program, invariants: list[Invariant] | None = None) -> None:
        self.prog = prog
        sym = SymbolicState(prog)
        tr = Translator(sym)
        self.fns: dict[Instance, StepFn] = {}
        lines = []
        names: list[tuple[str, Instance]] = []
        for k, inst in enumerate(prog.instances()):
            st = symbolic_step(prog, inst, sym)
            guard = tr(_simp(st.guard))
            body = [f"def f{k}(s):", f"    if not {guard}:", "        return None",
                    "    n = list(s)"]
            body += [f"    n[{pos}] = {tr(_simp(val))}" for pos, val in sorted(st.writes.items())]
            body.append("    return n")
            lines.extend(body)
            names.append((f"f{k}", inst))
        invs = invariants if invariants is not None else prog.invariants
        inv_exprs = [tr(_simp(symbolic_invariant(prog, inv, sym))) for inv in invs]
        for k, expr in enumerate(inv_exprs):
            lines.append(f"def inv{k}(s):")
            lines.append(f"    return {expr}")
        # all of them in one expression: the explorer calls this on every new state
        lines.append("def all_inv(s):")
        lines.append("    return " + (" and ".join(f"({e})" for e in inv_exprs) or "True"))
        env: dict[str, Any] = {}
        exec(compile("\n".join(lines), f"<entersys compiled {prog.mutant or 'faithful'}>",
                     "exec"), env)  # noqa: S102 - our own generated code
        self.fns = {inst: env[name] for name, inst in names}
        self.invariants = [(inv, env[f"inv{k}"]) for k, inv in enumerate(invs)]
        self.all_invariants: Callable[[State], bool] = env["all_inv"]
        self.source = "\n".join(lines)


def _simp(t: Any) -> Any:
    if isinstance(t, bool | int):
        return t
    return z3.simplify(t, elim_sign_ext=False)

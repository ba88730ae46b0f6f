"""Candidate lemmas for bounded model checking of N Ms, Ps and Gs, lifted from the
one-M configuration: entersys.proofs.induction mines (and may prove) auxiliary invariants
of 1 M / 1 P / 1 G; every one of them is renamed onto each choice of M, P and G of the
larger configuration, so that the unrolling can assert the true ones at every frame.

A lifted lemma is only a candidate: it proves nothing until the bounded model checker
(entersys.proofs.bmc_lemmas) has shown it holds in every state reachable at a depth, and
only then is it asserted at that depth. Renaming: a field of m0/p0/g0 becomes the same
field of M i / P j / G k; a comparison of a reference field with a constant is lifted in
two ways, "same" (the constant names the renamed entity: p0 -> p j) and "any" (a non-nil
reference may name any entity of its kind), since a one-M fact may say either."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import z3
from entersys.model.program import Program
from entersys.oracle.compiled import TermTranslator
from entersys.proofs.induction import free_consts
from entersys.proofs.protocol_z3 import SymbolicState

KINDS = ("m", "p", "g")
REF_KIND = {"mref": "m", "pref": "p", "gref": "g", "qref": "q"}


@dataclass(frozen=True)
class Lemma:
    """One lifted candidate: `name` (the one-M candidate's name, the renaming and the
    mode), `term` (a Bool over the larger Transition's sym.vars)."""

    name: str
    term: Any


def _entities(small: Program, term: Any) -> set[str]:
    """The entity kinds ("m", "p", "g") whose fields `term` reads or whose entities a
    reference field it reads may name."""
    names, kinds = small.layout.names, small.layout.kinds
    out: set[str] = set()
    for pos in _positions(term):
        head = names[pos].split(".", 1)[0]
        if head[:1] in KINDS and head[1:].isdigit():
            out.add(head[0])
        if kinds[pos] in REF_KIND:
            out.add({"q": "p"}.get(REF_KIND[kinds[pos]], REF_KIND[kinds[pos]]))
    return out


def _positions(term: Any) -> set[int]:
    """Positions of the state fields (sym.vars, named s<pos>_<field>) a term reads."""
    return {int(x.decl().name()[1:].split("_", 1)[0]) for x in free_consts(term)}


class _Lift:
    """Rewrite one-M terms onto the larger program for one renaming and mode."""

    def __init__(self, small: Program, big_prog: Program, big_vars: Sequence[Any],
                 ren: dict[str, int], mode: str) -> None:
        self.small, self.n = small, big_prog.cfg
        self.ren, self.mode = ren, mode
        index = big_prog.layout.index
        self.var: dict[int, Any] = {}
        for pos, name in enumerate(small.layout.names):
            head, _, rest = name.partition(".")
            if rest and head[:1] in KINDS and head[1:] == "0":
                name = f"{head[0]}{ren.get(head[0], 0)}.{rest}"
            if name in index:
                self.var[pos] = big_vars[index[name]]
        self.memo: dict[int, Any] = {}

    def _ref_values(self, kind: str, c: int) -> list[int]:
        """The larger program's values of a reference constant `c` of `kind`."""
        cfg = self.n
        count = {"m": cfg.ms, "p": cfg.ps, "g": cfg.gs, "q": cfg.ps}[kind]
        if kind == "q" and c == self.small.cfg.ps + 1:
            return [cfg.ps + 1]   # the global run queue
        if c <= 0 or c > 1:
            return [c]
        if self.mode == "any":
            return list(range(1, count + 1))
        return [self.ren.get("p" if kind == "q" else kind, 0) + 1]

    def __call__(self, t: Any) -> Any:
        key = t.get_id()
        hit = self.memo.get(key)
        if hit is not None:
            return hit
        out = self._tr(t)
        self.memo[key] = out
        return out

    def _tr(self, t: Any) -> Any:
        if z3.is_const(t) and t.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            pos = int(t.decl().name()[1:].split("_", 1)[0])
            if pos not in self.var:
                raise KeyError(t)
            return self.var[pos]
        if z3.is_const(t) or t.num_args() == 0:
            return t
        if z3.is_eq(t):
            a, b = t.arg(0), t.arg(1)
            for v, c in ((a, b), (b, a)):
                if z3.is_int_value(c) and z3.is_const(v) and not z3.is_int_value(v):
                    pos = int(v.decl().name()[1:].split("_", 1)[0])
                    kind = REF_KIND.get(self.small.layout.kinds[pos])
                    if kind:
                        vals = self._ref_values(kind, c.as_long())
                        x = self(v)
                        return z3.Or(*[x == y for y in vals]) if len(vals) > 1 else x == vals[0]
        kids = [self(c) for c in t.children()]
        if z3.is_and(t):
            return z3.And(*kids)
        if z3.is_or(t):
            return z3.Or(*kids)
        return t.decl()(*kids)


def lift(small: Program, cands: Sequence[tuple[str, Any]], big_prog: Program,
         big_vars: Sequence[Any]) -> list[Lemma]:
    """Every candidate (name, Bool over the one-M program's SymbolicState vars) renamed
    onto every choice of the Ms, Ps and Gs it mentions in `big_prog` (whose
    SymbolicState vars are `big_vars`), in both modes; duplicates dropped."""
    cfg = big_prog.cfg
    count = {"m": cfg.ms, "p": cfg.ps, "g": cfg.gs}
    out: list[Lemma] = []
    seen: set[int] = set()
    lifts: dict[tuple[tuple[tuple[str, int], ...], str], _Lift] = {}
    for name, term in cands:
        kinds = sorted(_entities(small, term))
        for choice in itertools.product(*[range(count[k]) for k in kinds]):
            ren = tuple(zip(kinds, choice))
            for mode in ("same", "any"):
                lf = lifts.get((ren, mode))
                if lf is None:
                    lf = lifts[(ren, mode)] = _Lift(small, big_prog, big_vars, dict(ren),
                                                    mode)
                try:
                    t = z3.simplify(lf(term))
                except KeyError:
                    continue
                if z3.is_true(t) or t.get_id() in seen:
                    continue
                seen.add(t.get_id())
                tag = ",".join(f"{k}{i}" for k, i in ren)
                out.append(Lemma(f"{name} [{tag or 'shared'}; {mode}]", t))
    return out


class _NumpyTerms(TermTranslator):
    """Z3 term -> a numpy expression over the array `s` of states (one row per state)."""

    AND, OR, NOT = "&", "|", "~"
    LANG = "numpy"

    def field(self, pos: int) -> str:
        return f"s[:, {pos}]"

    def ite(self, c: str, a: str, b: str) -> str:
        return f"np.where({c}, {a}, {b})"


def true_on(lemmas: Sequence[Lemma], sym: SymbolicState,
            states: Sequence[Sequence[int]]) -> list[Lemma]:
    """The lemmas true in every one of `states` (concrete states of the program whose
    SymbolicState is `sym`): a cheap filter before any proof, since a lemma false in a
    reachable state is no invariant."""
    import numpy as np

    arr = np.array(states, dtype=np.int64).reshape(len(states), len(sym.vars))
    tr = _NumpyTerms(sym)
    out = []
    for lm in lemmas:
        code = compile(tr(lm.term), "<lemma>", "eval")
        val = eval(code, {"np": np, "s": arr})  # noqa: S307 - our own generated code
        if bool(np.all(val)):
            out.append(lm)
    return out


def sample_states(prog: Program, bfs_states: int = 50_000, walks: int = 40,
                  steps: int = 150, seed: int = 1) -> list[tuple[int, ...]]:
    """Reachable states of `prog`: the first `bfs_states` of a breadth-first search (the
    explorer, no symmetry reduction) and the states of `walks` random runs of `steps`
    steps each (the compiled engine), so that both shallow and deep states are seen."""
    import random

    from entersys.oracle.compiled import CompiledProgram
    from entersys.oracle.explore import Explorer

    res = Explorer(prog, symmetry=False).run(max_states=bfs_states, progress=False,
                                             stop_at_first=False)
    out = list(res.order)
    fns = list(CompiledProgram(prog).fns.values())
    rng = random.Random(seed)
    init = out[0]
    for _ in range(walks):
        s: tuple[int, ...] = init
        for _ in range(steps):
            succ = [n for f in fns if (n := f(s)) is not None]
            if not succ:
                break
            s = tuple(rng.choice(succ))
            out.append(s)
    return out

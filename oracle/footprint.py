"""Read and write footprints of every step instance, taken from the steps' Z3 terms (the
ones the compiled and native engines are generated from) with the explorer's tick normal
form composed after the step, and the partial-order conditions they decide: which groups
of instances (one actor's instances at one program label) could serve as ample sets.

The conditions are those of ample-set reduction for invariants and deadlocks under a BFS
cycle proviso (Peled; Clarke, Grumberg, Peled, "Model Checking", ch. 10), decided by Z3
over every state that satisfies the checked invariants, the field domains (references in
range, program counters at labels) and the tick normal form; assuming the invariants there
is sound because a shortest path to a violation visits only states that satisfy them:
- C1 (independence): every instance of the group and every instance of another actor
  commute, neither disables the other, and the other never enables a group instance;
- C2 (invisibility): no group instance turns a state that violates an invariant into one
  that satisfies them all (the violation would be stepped over).
`ample_groups` reports, for every group, whether it qualifies and if not why (the first
failing instance pair or the invariant-repairing instance)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import z3
from entersys.model.invariants import Invariant
from entersys.model.program import Program
from entersys.oracle.compiled import _simp as simp
from entersys.oracle.explore import tick_normal_form
from entersys.proofs.protocol_z3 import SymbolicState, symbolic_invariant, symbolic_step


@dataclass(frozen=True)
class Footprint:
    """One instance: its label, the layout positions its guard or effect reads, the
    positions it may write (after the tick normal form), its pc field (None: an instance
    that runs at no program label) and its Z3 guard and post-state (one term a field)."""

    label: str
    reads: frozenset[int]
    writes: frozenset[int]
    pc_field: int | None
    guard: Any
    post: tuple[Any, ...]


@dataclass(frozen=True)
class Group:
    """One actor's instances at one program label: (pc field name, label name)."""

    pc_field: str
    label: str
    instances: tuple[str, ...]
    eligible: bool
    reason: str   # "" when eligible; else "visible: X" or "dependent: X with Y (why)"


def _term(x: Any) -> Any:
    if isinstance(x, bool):
        return z3.BoolVal(x)
    if isinstance(x, int):
        return z3.IntVal(x)
    return x


def _positions(term: Any, index: dict[str, int]) -> set[int]:
    out: set[int] = set()
    seen: set[int] = set()
    todo = [term]
    while todo:
        e = todo.pop()
        if e.get_id() in seen:
            continue
        seen.add(e.get_id())
        if z3.is_const(e) and e.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            out.add(index[e.decl().name()])
        todo.extend(e.children())
    return out


class Footprints:
    """The footprints of `prog`'s instances (in Program.instances order) and the facts a
    reachable state satisfies (`assumptions`: domains and the tick normal form)."""

    def __init__(self, prog: Program, invariants: list[Invariant] | None = None) -> None:
        self.prog = prog
        self.sym = sym = SymbolicState(prog)
        L = prog.layout
        xs = sym.vars
        self.index = {v.decl().name(): i for i, v in enumerate(xs)}
        nf = {pos: _term(simp(v)) for pos, v in tick_normal_form(L, sym.view).items()}
        self.items: list[Footprint] = []
        for inst in prog.instances():
            st = symbolic_step(prog, inst, sym)
            post = list(xs)
            for pos, val in st.writes.items():
                post[pos] = _term(val)
            sub = list(zip(xs, post))
            normed = list(post)
            for pos, val in nf.items():   # the normal form reads the post-step state
                normed[pos] = z3.substitute(val, *sub)
            post_t = tuple(_term(simp(v)) for v in normed)
            guard = _term(simp(st.guard))
            reads = _positions(guard, self.index)
            writes = set()
            for pos, v in enumerate(post_t):
                if not z3.eq(v, xs[pos]):
                    writes.add(pos)
                    reads |= _positions(v, self.index)
            self.items.append(Footprint(inst.label, frozenset(reads), frozenset(writes),
                                        prog.pc_field(inst), guard, post_t))
        invs = invariants if invariants is not None else prog.invariants
        self.inv = z3.And([_term(simp(symbolic_invariant(prog, i, sym))) for i in invs])
        cfg = L.cfg
        refs = {"pref": cfg.ps, "mref": cfg.ms, "gref": cfg.gs, "qref": cfg.global_q}
        labels = sorted(set(prog.labels.values()))
        dom = []
        for i, kind in enumerate(L.kinds):
            if kind in refs:
                dom.append(z3.And(xs[i] >= 0, xs[i] <= refs[kind]))
            elif kind.endswith("pc"):
                dom.append(z3.Or([xs[i] == v for v in labels]))
        dom += [xs[pos] == val for pos, val in nf.items()]
        self.assumptions = z3.And(dom)

    def _after(self, term: Any, fp: Footprint) -> Any:
        return z3.substitute(term, *zip(self.sym.vars, fp.post))

    def syntactically_independent(self, a: Footprint, b: Footprint) -> bool:
        """Neither writes what the other reads or writes."""
        return not (a.writes & (b.reads | b.writes)) and not (b.writes & a.reads)

    def _sat(self, f: Any, timeout_ms: int) -> bool:
        s = z3.Solver()
        s.set("timeout", timeout_ms)
        s.add(self.assumptions, f)
        return s.check() != z3.unsat   # unknown counts as dependent (sound)

    def dependence(self, a: Footprint, b: Footprint, timeout_ms: int = 5000) -> str:
        """'' if `b` never enables, disables or fails to commute with `a` in a state that
        satisfies the invariants and assumptions; else which of those can happen."""
        if self.syntactically_independent(a, b):
            return ""
        ga_b, gb_a = self._after(a.guard, b), self._after(b.guard, a)
        ab = [self._after(v, a) for v in b.post]   # b's effect after a
        ba = [self._after(v, b) for v in a.post]   # a's effect after b
        differ = [x != y for x, y in zip(ab, ba) if not z3.eq(x, y)]
        checks = (("disables", z3.And(a.guard, b.guard, z3.Not(ga_b))),
                  ("enables", z3.And(b.guard, z3.Not(a.guard), ga_b)),
                  ("is disabled by", z3.And(a.guard, b.guard, z3.Not(gb_a))),
                  ("does not commute with", z3.And(a.guard, b.guard, z3.Or(differ)))
                  if differ else ("", z3.BoolVal(False)))
        for why, f in checks:
            if why and self._sat(z3.And(self.inv, f), timeout_ms):
                return why
        return ""

    def repairs(self, a: Footprint, timeout_ms: int = 5000) -> bool:
        """Whether `a` can step from a state violating an invariant to one satisfying all."""
        return self._sat(z3.And(a.guard, z3.Not(self.inv), self._after(self.inv, a)),
                         timeout_ms)


def ample_groups(prog: Program, invariants: list[Invariant] | None = None,
                 timeout_ms: int = 5000) -> list[Group]:
    """Every (pc field, label) group of `prog` with whether it meets C1 and C2 (module
    docstring) and, if not, the first reason found. A group of the Ms qualifies only if it
    does for every M (the condition must be symmetric for the symmetry reduction)."""
    fps = Footprints(prog, invariants)
    L = prog.layout
    groups: dict[tuple[int, int], list[int]] = {}
    for k, fp in enumerate(fps.items):
        if fp.pc_field is not None:
            at = prog.labels[prog.at_label(prog.instances()[k].step)]
            groups.setdefault((fp.pc_field, at), []).append(k)
    names = {v: n for n, v in prog.labels.items()}
    out: list[Group] = []
    for (pcf, lab), ks in groups.items():
        reason = ""
        for k in ks:
            if fps.repairs(fps.items[k], timeout_ms):
                reason = f"visible: {fps.items[k].label} can end an invariant violation"
                break
        for k in ks if not reason else ():
            for b in fps.items:
                if b.pc_field == pcf:
                    continue
                why = fps.dependence(fps.items[k], b, timeout_ms)
                if why:
                    reason = f"dependent: {fps.items[k].label} {why} {b.label}"
                    break
            if reason:
                break
        out.append(Group(L.names[pcf], names.get(lab, str(lab)),
                         tuple(fps.items[k].label for k in ks), not reason, reason))
    # symmetric closure over the Ms: m0.pc's group at a label qualifies only with m1.pc's
    bad_m = {g.label for g in out if g.pc_field.endswith(".pc") and g.pc_field[0] == "m"
             and not g.eligible}
    return [Group(g.pc_field, g.label, g.instances, False,
                  "dependent: another M's group at this label is not eligible")
            if g.eligible and g.pc_field[0] == "m" and g.label in bad_m else g
            for g in out]

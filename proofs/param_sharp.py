"""T# of the parameterized proofs (entersys.proofs.param) and its locality figures.

T# is the transition relation of a configuration built from the step definitions
(proofs/transition.py) under two abstractions, both over-approximations at every size: a
reference may name an object outside the configuration ("other", a value outside 1..n),
and reading a field through it gives a fresh unconstrained value (OtherOps); every
aggregate over the Ms, Ps or Gs (a count, an all or an any) is a fresh unconstrained value
(abstract_aggregates). `reads` counts, per step instance, the objects a counterexample to
induction involves; `conjuncts` splits a target into conjuncts over few objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import z3
from entersys.model.program import Program
from entersys.proofs import protocol_z3
from entersys.proofs.induction import _vars_of
from entersys.proofs.param_families import REF_KINDS
from entersys.proofs.transition import Transition

KINDS = ("m", "p", "g")


class OtherOps(protocol_z3.Z3ProtocolOps):
    """The Z3 reading of the steps in which a reference may name an object outside the
    configuration: a read through it is a fresh unconstrained value (nil still reads the
    default); a write through it changes no field (Update writes only in-range objects)."""

    @staticmethod
    def select(values: list[Any], ref: Any, default: int = 0) -> Any:
        if isinstance(ref, int) or not values:
            return protocol_z3.Z3ProtocolOps.select(values, ref, default)
        first = protocol_z3._i(values[0])
        out: Any = z3.FreshConst(first.sort() if z3.is_expr(first) else z3.IntSort(), "other")
        for j in range(len(values) - 1, -1, -1):
            out = z3.If(ref == j + 1, protocol_z3._i(values[j]), out)
        return z3.If(ref == 0, protocol_z3._i(default), out)


class _OtherState(protocol_z3.SymbolicState):
    def __init__(self, prog: Program) -> None:
        super().__init__(prog)
        from entersys.model.state import View

        self.view = View(prog.layout, OtherOps(), self.vars.__getitem__)


def sharp(prog: Program) -> tuple[Transition, dict[str, int]]:
    """T# of `prog`: the Transition under OtherOps with every aggregate over the Ms, Ps
    and Gs abstracted; returns it and label -> aggregates abstracted."""
    tr = Transition(prog, sym=_OtherState(prog))
    abstracted: dict[str, int] = {}
    for kind in KINDS:
        for lab, n in abstract_aggregates(tr, kind).items():
            abstracted[lab] = abstracted.get(lab, 0) + n
    return tr, abstracted


def _table(tr: Transition, kind: str) -> list[dict[str, int]]:
    L = tr.prog.layout
    return {"m": L.mname, "p": L.pname, "g": L.gname}[kind]


def abstract_aggregates(tr: Transition, kind: str) -> dict[str, int]:
    """Replace, in every guard and write of `tr`, each aggregate over the objects of `kind`
    (a sum, conjunction or disjunction whose arguments read the same field of two
    different objects) by a fresh unconstrained constant of its sort: T becomes T#, which
    allows every step T allows at any number of objects. Returns label -> number of
    aggregates abstracted."""
    field_of = {tr.sym.vars[pos].get_id(): (f, j) for j, t in enumerate(_table(tr, kind))
                for f, pos in t.items()}
    fresh: dict[int, Any] = {}

    def agg(x: Any) -> list[Any]:
        found: list[Any] = []
        seen: set[int] = set()
        todo = [x]
        while todo:
            y = todo.pop()
            if not z3.is_expr(y) or y.get_id() in seen:
                continue
            seen.add(y.get_id())
            if z3.is_add(y) or z3.is_and(y) or z3.is_or(y):
                fields: dict[str, set[int]] = {}
                for a in y.children():
                    per: dict[str, set[int]] = {}
                    for v in _vars_of(a):
                        if v in field_of:
                            f, j = field_of[v]
                            per.setdefault(f, set()).add(j)
                    for f, js in per.items():
                        if len(js) == 1:
                            fields.setdefault(f, set()).update(js)
                if any(len(js) > 1 for js in fields.values()):
                    found.append(y)
                    continue
            todo.extend(y.children())
        return found

    def abstract(x: Any) -> tuple[Any, int]:
        if not z3.is_expr(x):
            return x, 0
        found = agg(x)
        if not found:
            return x, 0
        subs = []
        for y in found:
            if y.get_id() not in fresh:
                fresh[y.get_id()] = z3.FreshConst(y.sort(), "agg")
            subs.append((y, fresh[y.get_id()]))
        return z3.substitute(x, *subs), len(found)

    out: dict[str, int] = {}
    for k, inst in enumerate(tr.instances):
        tr.guards[k], n = abstract(tr.guards[k])
        if n:
            out[inst.label] = out.get(inst.label, 0) + n
    for pos, ws in tr.writers.items():
        new = []
        for k, w in ws:
            w2, n = abstract(w)
            if n:
                out[tr.instances[k].label] = out.get(tr.instances[k].label, 0) + n
            new.append((k, w2))
        tr.writers[pos] = new
    return out


@dataclass
class Reads:
    """What one step instance of T# needs, per kind: `base`, the objects its enabling and
    its writes to the scheduler, sysmon and W fields read (its actor, its parameters, the
    object every reference expression it reads through names, every object whose fields
    it reads directly); `extra[w]`, the most any one written object of kind w has its new
    value read beyond that object itself and `base`."""

    base: dict[str, int]
    extra: dict[str, dict[str, int]]
    direct: set[tuple[str, int]] = field(default_factory=set)  # read other than by reference

    def need(self, arity: dict[str, int]) -> dict[str, int]:
        """Objects per kind a counterexample to a family of `arity` involves: base, the
        extra of each of the family's objects this instance may write, and the family's
        own objects."""
        return {k: self.base[k] + arity.get(k, 0)
                + sum(arity.get(w, 0) * self.extra.get(w, {}).get(k, 0) for w in KINDS)
                for k in KINDS}


def reads(tr: Transition) -> dict[str, Reads]:
    """label -> Reads of every step instance of `tr`. A reference expression only
    compared with constants (nil, or the index of an object already counted) needs no
    object: an object outside the configuration is the value n + 1, unequal to each."""
    L = tr.prog.layout
    owner: dict[int, tuple[str, int]] = {}
    for kind in KINDS:
        for j, t in enumerate(_table(tr, kind)):
            for pos in t.values():
                owner[tr.sym.vars[pos].get_id()] = (kind, j)
    refk = {tr.sym.vars[pos].get_id(): REF_KINDS[k] for pos, k in enumerate(L.kinds)
            if REF_KINDS.get(k)}

    def refkind(e: Any) -> str | None:
        while z3.is_app_of(e, z3.Z3_OP_ITE):
            a, b = e.arg(1), e.arg(2)
            e = b if z3.is_int_value(a) else a
        return refk.get(e.get_id()) if z3.is_expr(e) else None

    keys: dict[int, int] = {}

    def key(e: Any) -> int:
        """One reference expression however it is spelled: its simplified form."""
        if e.get_id() not in keys:
            keys[e.get_id()] = z3.simplify(e).get_id()
        return keys[e.get_id()]

    def walk(t: Any, objs: set[tuple[str, int]], refs: dict[int, str]) -> None:
        seen: set[int] = set()
        todo = [t]
        while todo:
            x = todo.pop()
            if not z3.is_expr(x) or x.get_id() in seen:
                continue
            seen.add(x.get_id())
            if z3.is_app_of(x, z3.Z3_OP_ITE):
                c, a, b = x.children()
                reads_a = {owner[v] for v in _vars_of(a) if v in owner}
                chain = None
                for eq in (c.children() if z3.is_and(c) else [c]):
                    if z3.is_eq(eq) and z3.is_int_value(eq.arg(1)):
                        k = refkind(eq.arg(0))
                        if k and (k, eq.arg(1).as_long() - 1) in reads_a:
                            chain = (eq.arg(0), (k, eq.arg(1).as_long() - 1))
                if chain is not None:
                    # a reference chain If(r == j [and ...], <object j's fields>, ...):
                    # what the branch reads of object j is read through r
                    e, named = chain
                    refs[key(e)] = named[0]
                    inner: set[tuple[str, int]] = set()
                    walk(a, inner, refs)
                    objs |= inner - {named}
                    todo.extend([c, b])
                    continue
            if z3.is_eq(x) or z3.is_distinct(x):
                for u, w in ((x.arg(0), x.arg(1)), (x.arg(1), x.arg(0))):
                    k = refkind(u)
                    if k and not z3.is_int_value(w):
                        refs[key(u)] = k
            if x.get_id() in owner:
                objs.add(owner[x.get_id()])
            todo.extend(x.children())

    def count(objs: set[tuple[str, int]], refs: dict[int, str]) -> dict[str, int]:
        return {k: len({o for o in objs if o[0] == k}) + sum(1 for v in refs.values() if v == k)
                for k in KINDS}

    out: dict[str, Reads] = {}
    for k, inst in enumerate(tr.instances):
        objs: set[tuple[str, int]] = set()
        if inst.m >= 0:
            objs.add(("m", inst.m))
        for kind, x in zip(inst.step.params, inst.args, strict=True):
            if kind in ("p", "g"):
                objs.add((kind, x - 1))
        fixed = set(objs)
        refs: dict[int, str] = {}
        if z3.is_expr(tr.guards[k]):
            walk(tr.guards[k], objs, refs)
        per: dict[tuple[str, int], tuple[set[tuple[str, int]], dict[int, str]]] = {}
        for pos, ws in tr.writers.items():
            for kk, w in ws:
                if kk != k or not z3.is_expr(w):
                    continue
                own = owner.get(tr.sym.vars[pos].get_id())
                if own is None:
                    walk(w, objs, refs)
                else:
                    o, r = per.setdefault(own, (set(), {}))
                    walk(w, o, r)
        direct = objs - fixed
        for own, (o, _) in per.items():
            direct |= o - fixed - {own}
        # what every written object of a kind reads alike (the same reference expressions)
        # is one set of objects; what differs per written object is counted per object
        shared_o: set[tuple[str, int]] = set()
        shared_r: dict[int, str] = {}
        for w in KINDS:
            mine = [(o - {own}, r) for own, (o, r) in per.items() if own[0] == w]
            if mine:
                shared_o |= set.intersection(*[o for o, _ in mine])
                common = set.intersection(*[set(r) for _, r in mine])
                shared_r.update({i: mine[0][1][i] for i in common})
        allo, allr = objs | shared_o, {**refs, **shared_r}
        extra: dict[str, dict[str, int]] = {}
        for own, (o, r) in per.items():
            c = count(o - allo - {own}, {i: v for i, v in r.items() if i not in allr})
            e = extra.setdefault(own[0], dict.fromkeys(KINDS, 0))
            for kind in KINDS:
                e[kind] = max(e[kind], c[kind])
        out[inst.label] = Reads(count(allo, allr), extra, direct)
    return out


def conjuncts(term: Any) -> list[Any]:
    """`term` as a list of conjuncts, each as small as Boolean rewriting makes it: And is
    split, If(c, a, b) becomes c => a and not c => b, c => (a and b) becomes c => a and
    c => b, not (a or b) becomes not a and not b (I4-UNWIRED's "no M names P" is one
    conjunct per M)."""
    if z3.is_true(term):
        return []
    if z3.is_and(term):
        return [y for x in term.children() for y in conjuncts(x)]
    if z3.is_not(term):
        x = term.arg(0)
        if z3.is_or(x):
            return [y for c in x.children() for y in conjuncts(z3.Not(c))]
        if z3.is_not(x):
            return conjuncts(x.arg(0))
    if z3.is_app_of(term, z3.Z3_OP_ITE) and z3.is_bool(term.arg(1)):
        c, a, b = term.children()
        return ([z3.Implies(c, y) for y in conjuncts(a)]
                + [z3.Implies(z3.Not(c), y) for y in conjuncts(b)])
    if z3.is_implies(term):
        return [z3.Implies(term.arg(0), y) for y in conjuncts(term.arg(1))]
    return [term]


def conjunct_arity(tr: Transition, term: Any) -> dict[str, int]:
    """Per kind, the most objects one conjunct of `term` (`conjuncts`) reads."""
    owner = _owners(tr)
    worst = dict.fromkeys(KINDS, 0)
    for x in conjuncts(term):
        objs = {owner[v] for v in _vars_of(x) if v in owner}
        for kind in KINDS:
            worst[kind] = max(worst[kind], len({o for o in objs if o[0] == kind}))
    return worst


def _owners(tr: Transition) -> dict[int, tuple[str, int]]:
    return {tr.sym.vars[pos].get_id(): (kind, j) for kind in KINDS
            for j, t in enumerate(_table(tr, kind)) for pos in t.values()}

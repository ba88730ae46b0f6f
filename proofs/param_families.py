"""Candidate families of the parameterized proofs (entersys.proofs.param): symmetric templates
mined from the reachable states of a small configuration, each instantiated for every tuple
of distinct objects of the cutoff configuration and kept or dropped as a whole by Houdini,
so that the surviving conjunction is a universally quantified formula
"for all Ms m1.., Ps p1.., Gs g1..: phi(m1.., p1.., g1..)" whose `arity` (objects per kind in
one instance) the cutoff argument needs (docs/param-proofs.md).

Reference values are compared by class, never by index: 0 is nil, "self" is the object of
the instance the reference is read relative to, anything else is "some" other object. A
reference in the cutoff configuration may also name an object outside it (the value n + 1,
see entersys.proofs.param.OtherOps); every template that reads through a reference asks
that the reference is real (1..n) first, so such an instance holds vacuously.

Templates (value sets S mined; "o" is a P or G; "c" a control field of sysmon, W, F or the
scheduler; "r" a P or G reference of an M):
- O:   o.f in D; o.f == v => o.f2 in S                                   (one o)
- C:   c == v => o.f in S; c == v => m.f in S                            (one o or one M)
- M:   m.pc in D; m.pc == L => m.f in S                                  (one M)
- MO:  m.pc == L and m.r names o => o.f in S                             (one M, one o)
- YO:  y.pc == L and y.r names o => o.f in S; gc.g names g => g.f in S   (one o)
- OM:  o.f == v and o.m names m => m.f in S                              (one o, one M)
- MY:  m.r == y.r' (real) => (m.pc, y.pc) in S                           (one M)
- MM:  m1.r == m2.r' (real) => (m1.pc, m2.pc) in S                       (two Ms)
- S:   c == v => s in S, for every scheduler / sysmon / W field s         (no object)"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import z3
from entersys.model.program import Program
from entersys.proofs.induction import Candidate
from entersys.proofs.transition import Transition

MAX_SET = 3       # a mined set larger than this is not a useful candidate
MAX_DOMAIN = 8    # a field's whole value set is a candidate up to this size
REF_KINDS = {"pref": "p", "gref": "g", "mref": "m", "qref": ""}
# the fields of an object a template reads through a reference (others are rarely useful)
THROUGH = {"p": ("status", "m", "onidle", "wins", "nextp"),
           "g": ("status", "m", "syscallsp", "q"), "m": ("pc", "p", "curg", "oldp", "pp")}


@dataclass
class Family(Candidate):
    """A Candidate whose term is the conjunction of one template over every tuple of
    distinct objects of the cutoff configuration; `arity`: objects per kind of one
    instance ("m", "p", "g")."""

    arity: dict[str, int] = field(default_factory=dict)
    # the instances: (the objects (kind, index) it speaks of, its term)
    parts: list[tuple[tuple[tuple[str, int], ...], Any]] = field(default_factory=list)


class Objects:
    """Field access to one layout, for mined (concrete) states and for the cutoff's
    symbolic state alike: `val(get, kind, j, f, rel)` is object j's field f, a reference
    classed as 0 (nil), 1 (the object `rel` = (kind, index)) or 2 (some other)."""

    def __init__(self, prog: Program) -> None:
        L = prog.layout
        self.L, self.cfg = L, prog.cfg
        self.table = {"m": L.mname, "p": L.pname, "g": L.gname}
        self.n = {"m": prog.cfg.ms, "p": prog.cfg.ps, "g": prog.cfg.gs}
        self.kind = {f: L.kinds[pos] for f, pos in L.pname[0].items()}
        self.kind.update({f: L.kinds[pos] for f, pos in L.gname[0].items()})
        self.mkind = {f: L.kinds[pos] for f, pos in L.mname[0].items()}

    def pos(self, kind: str, j: int, f: str) -> int:
        return self.table[kind][j][f]

    def fkind(self, kind: str, f: str) -> str:
        return self.mkind[f] if kind == "m" else self.kind[f]


def classed(x: Any, fk: str, rel: int | None, sym: bool) -> Any:
    """A field's value for comparison: ints as they are; a reference (fk its layout kind)
    as 0 nil / 1 `rel` (a 1-based reference) / 2 some other object."""
    if fk not in REF_KINDS:
        return x
    if sym:
        if rel is None:
            return z3.If(x == 0, 0, 2)
        return z3.If(x == 0, 0, z3.If(x == rel, 1, 2))
    return 0 if x == 0 else (1 if rel is not None and x == rel else 2)


def member(x: Any, vals: Iterable[int]) -> Any:
    return z3.Or(*[x == v for v in sorted(vals)])


def _real(x: Any, n: int) -> Any:
    return z3.And(x >= 1, x <= n)


class Miner:
    """Mines the families' value sets from the reachable states of `small` and builds
    their terms over the cutoff Transition `tr`."""

    def __init__(self, small: Program, states: list[tuple[int, ...]], tr: Transition) -> None:
        self.small, self.states, self.tr = small, states, tr
        self.a, self.b = Objects(small), Objects(tr.prog)
        self.V = tr.sym.vars
        self.out: list[Family] = []
        self.names = small.label_names
        La = small.layout
        self.ctl = [La.index[c] for c in self.controls()]
        # per kind: the distinct (control values, one object's fields classed) rows
        self.rows: dict[str, set[tuple[tuple[int, ...], tuple[int, ...]]]] = {}
        for kind in ("p", "g", "m"):
            flds = self.fields(kind)
            self.rows[kind] = {(tuple(s[c] for c in self.ctl),
                                tuple(self.cval(s, kind, j, f, None) for f in flds))
                               for s in states for (j,) in self.tuples((kind,))}

    # -- helpers ----------------------------------------------------------------------------
    def add(self, name: str, reason: str, arity: dict[str, int],
            inst: Callable[..., Any], kinds: tuple[str, ...]) -> None:
        """One family: `inst(*objects)` is the instance over distinct objects of `kinds`."""
        parts = []
        ranges = [range(self.b.n[k]) for k in kinds]
        for tup in itertools.product(*ranges):
            if any(tup[x] == tup[y] for x in range(len(kinds)) for y in range(x)
                   if kinds[x] == kinds[y]):
                continue
            parts.append((tuple(zip(kinds, tup, strict=True)), inst(*tup)))
        if parts:
            self.out.append(Family(name, reason, z3.And(*[t for _, t in parts]), arity=arity,
                                   parts=parts))

    def tuples(self, kinds: tuple[str, ...]) -> list[tuple[int, ...]]:
        ranges = [range(self.a.n[k]) for k in kinds]
        return [t for t in itertools.product(*ranges)
                if not any(t[x] == t[y] for x in range(len(kinds)) for y in range(x)
                           if kinds[x] == kinds[y])]

    def fields(self, kind: str) -> list[str]:
        return [f for f in self.a.table[kind][0]
                if self.a.fkind(kind, f) not in ("tick", "stick")]

    def sval(self, kind: str, j: int, f: str, rel: int | None) -> Any:
        return classed(self.V[self.b.pos(kind, j, f)], self.b.fkind(kind, f), rel, True)

    def cval(self, s: tuple[int, ...], kind: str, j: int, f: str, rel: int | None) -> int:
        return int(classed(s[self.a.pos(kind, j, f)], self.a.fkind(kind, f), rel, False))

    def gname(self, pos_a: int) -> str:
        return self.small.layout.names[pos_a]

    def show(self, f: str, fk: str, vals: Iterable[int]) -> str:
        if fk in REF_KINDS:
            return "{" + ", ".join(("nil", "self", "some")[v] for v in sorted(vals)) + "}"
        return "{" + ", ".join(map(str, sorted(vals))) + "}"

    # -- templates ---------------------------------------------------------------------------
    def object_local(self) -> None:
        for kind in ("p", "g"):
            flds = self.fields(kind)
            rows = {r for _, r in self.rows[kind]}
            for a, f in enumerate(flds):
                fk = self.a.fkind(kind, f)
                dom = {r[a] for r in rows}
                if len(dom) <= MAX_DOMAIN and fk not in REF_KINDS:
                    self.add(f"{kind}.{f} in {self.show(f, fk, dom)}",
                             "the values the steps store in the field", {kind: 1},
                             lambda j, f=f, d=dom, k=kind: member(self.sval(k, j, f, None), d),
                             (kind,))
                if len(dom) > MAX_SET + 1:
                    continue
                for b, f2 in enumerate(flds):
                    if f2 == f:
                        continue
                    for v in sorted(dom):
                        vals = {r[b] for r in rows if r[a] == v}
                        if 0 < len(vals) <= MAX_SET:
                            self.add(f"{kind}.{f} == {v} => {kind}.{f2} in "
                                     f"{self.show(f2, self.a.fkind(kind, f2), vals)}",
                                     f"the {kind.upper()}'s fields change together in the steps "
                                     f"that set {f}", {kind: 1},
                                     lambda j, f=f, f2=f2, v=v, vs=vals, k=kind: z3.Implies(
                                         self.sval(k, j, f, None) == v,
                                         member(self.sval(k, j, f2, None), vs)), (kind,))

    def controls(self) -> list[str]:
        L = self.small.layout
        return [n for n in ("y.pc", "w.pc", "f.pc", "gcwaiting", "sysmonwait", "stopwait")
                if n in L.index]

    def control_to_object(self) -> None:
        Lb = self.tr.prog.layout
        for ci, c in enumerate(self.controls()):
            cb = self.V[Lb.index[c]]
            for kind in ("p", "g", "m"):
                flds = self.fields(kind)
                for f in (THROUGH[kind] if kind != "m" else ("pc", "p", "curg")):
                    if f not in flds:
                        continue
                    a = flds.index(f)
                    by: dict[int, set[int]] = {}
                    for cv, r in self.rows[kind]:
                        by.setdefault(cv[ci], set()).add(r[a])
                    for v, vals in sorted(by.items()):
                        if len(vals) <= MAX_SET:
                            self.add(f"{c} == {v} => {kind}.{f} in "
                                     f"{self.show(f, self.a.fkind(kind, f), vals)}",
                                     f"{c} and every {kind.upper()}'s {f} change together",
                                     {kind: 1},
                                     lambda j, f=f, v=v, vs=vals, k=kind, cb=cb: z3.Implies(
                                         cb == v, member(self.sval(k, j, f, None), vs)),
                                     (kind,))

    def m_local(self) -> None:
        flds = self.fields("m")
        rows = {r for _, r in self.rows["m"]}
        a = flds.index("pc")
        pcs = sorted({r[a] for r in rows})
        self.add("m.pc in {" + ", ".join(self.names[x] for x in pcs) + "}",
                 "the control locations an M can reach", {"m": 1},
                 lambda i: member(self.V[self.b.pos("m", i, "pc")], pcs), ("m",))
        for b, f in enumerate(flds):
            if f == "pc":
                continue
            by: dict[int, set[int]] = {}
            for r in rows:
                by.setdefault(r[a], set()).add(r[b])
            for lab, vals in sorted(by.items()):
                if len(vals) <= MAX_SET:
                    self.add(f"m.pc == {self.names[lab]} => m.{f} in "
                             f"{self.show(f, self.a.fkind('m', f), vals)}",
                             f"set by the steps that reach {self.names[lab]}, kept by every "
                             "step enabled meanwhile", {"m": 1},
                             lambda i, f=f, lab=lab, vs=vals: z3.Implies(
                                 self.V[self.b.pos("m", i, "pc")] == lab,
                                 member(self.sval("m", i, f, None), vs)), ("m",))

    def m_through(self) -> None:
        """MO: what an M reaches through its references, and OM: what the M an object
        names is doing."""
        refs = [f for f in self.a.table["m"][0] if self.a.fkind("m", f) in ("pref", "gref")]
        for r in refs:
            kind = REF_KINDS[self.a.fkind("m", r)]
            for f in THROUGH[kind]:
                obs: dict[int, set[int]] = {}
                for s in self.states:
                    for (i,) in self.tuples(("m",)):
                        x = s[self.a.pos("m", i, r)]
                        if 1 <= x <= self.a.n[kind]:
                            obs.setdefault(s[self.a.pos("m", i, "pc")], set()).add(
                                self.cval(s, kind, x - 1, f, i + 1))
                for lab, vals in sorted(obs.items()):
                    if len(vals) > MAX_SET:
                        continue
                    self.add(f"m.pc == {self.names[lab]} and m.{r} names {kind} => "
                             f"{kind}.{f} in {self.show(f, self.a.fkind(kind, f), vals)}",
                             f"what an M holds through {r} at this location is changed only "
                             "by that M or by a CAS it tolerates", {"m": 1, kind: 1},
                             lambda i, j, r=r, f=f, lab=lab, vs=vals, k=kind: z3.Implies(
                                 z3.And(self.V[self.b.pos("m", i, "pc")] == lab,
                                        self.V[self.b.pos("m", i, r)] == j + 1),
                                 member(self.sval(k, j, f, i + 1), vs)), ("m", kind))
        for kind in ("p", "g"):
            for cf in ("status",):
                for f in THROUGH["m"]:
                    obs = {}
                    for s in self.states:
                        for (j,) in self.tuples((kind,)):
                            x = s[self.a.pos(kind, j, "m")]
                            if 1 <= x <= self.a.n["m"]:
                                obs.setdefault(s[self.a.pos(kind, j, cf)], set()).add(
                                    self.cval(s, "m", x - 1, f, j + 1))
                    for v, vals in sorted(obs.items()):
                        if len(vals) > MAX_SET:
                            continue
                        self.add(f"{kind}.{cf} == {v} and {kind}.m names m => m.{f} in "
                                 f"{self.show(f, self.a.fkind('m', f), vals)}",
                                 f"the M a {kind.upper()} names is in the part of its code that "
                                 "set or keeps that link", {"m": 1, kind: 1},
                                 lambda j, i, cf=cf, f=f, v=v, vs=vals, k=kind: z3.Implies(
                                     z3.And(self.V[self.b.pos(k, j, cf)] == v,
                                            self.V[self.b.pos(k, j, "m")] == i + 1),
                                     member(self.sval("m", i, f, j + 1), vs)), (kind, "m"))

    def singleton_through(self) -> None:
        """YO: what sysmon (y.p, y.g, y.m) and the GC (gc.g) reach through their
        references, by sysmon's location."""
        La, Lb = self.small.layout, self.tr.prog.layout
        for r in ("y.p", "y.g", "y.m", "gc.g"):
            if r not in La.index:
                continue
            kind = REF_KINDS[La.kinds[La.index[r]]]
            c = "y.pc" if r.startswith("y.") else "gcwaiting"
            ca, cb = La.index[c], self.V[Lb.index[c]]
            ra, rb = La.index[r], self.V[Lb.index[r]]
            for f in THROUGH[kind]:
                obs: dict[int, set[int]] = {}
                for s in self.states:
                    if 1 <= s[ra] <= self.a.n[kind]:
                        obs.setdefault(s[ca], set()).add(self.cval(s, kind, s[ra] - 1, f, None))
                for v, vals in sorted(obs.items()):
                    if len(vals) > MAX_SET:
                        continue
                    shown = self.names[v] if c == "y.pc" else str(v)
                    self.add(f"{c} == {shown} and {r} names {kind} => {kind}.{f} in "
                             f"{self.show(f, self.a.fkind(kind, f), vals)}",
                             f"what {r.split('.')[0]} holds through {r} is changed only by it or "
                             "by a CAS it tolerates", {kind: 1},
                             lambda j, f=f, v=v, vs=vals, k=kind, cb=cb, rb=rb: z3.Implies(
                                 z3.And(cb == v, rb == j + 1),
                                 member(self.sval(k, j, f, None), vs)), (kind,))

    def aliasing(self, pairs: bool) -> None:
        """MY: an M's reference equal to sysmon's / the GC's, and (with `pairs`) MM: two
        Ms' references to the same object, by the locations of both holders."""
        La, Lb = self.small.layout, self.tr.prog.layout
        mrefs = [f for f in self.a.table["m"][0] if self.a.fkind("m", f) in ("pref", "gref")]
        for r in mrefs:
            kind = REF_KINDS[self.a.fkind("m", r)]
            for y in ("y.p", "y.g", "gc.g"):
                if y not in La.index or REF_KINDS[La.kinds[La.index[y]]] != kind:
                    continue
                ya, yb = La.index[y], self.V[Lb.index[y]]
                ypa, ypb = La.index["y.pc"], self.V[Lb.index["y.pc"]]
                seen = {(s[self.a.pos("m", i, "pc")], s[ypa]) for s in self.states
                        for (i,) in self.tuples(("m",))
                        if s[ya] != 0 and s[self.a.pos("m", i, r)] == s[ya]}
                if not seen or len(seen) > 40:
                    continue
                self.add(f"m.{r} == {y} (real) => (m.pc, y.pc) in mined set ({len(seen)} pairs)",
                         f"an M and {y.split('.')[0]} share a {kind.upper()} only at these "
                         "locations", {"m": 1},
                         lambda i, r=r, ss=seen, yb=yb, ypb=ypb, k=kind: z3.Implies(
                             z3.And(_real(yb, self.b.n[k]),
                                    self.V[self.b.pos("m", i, r)] == yb),
                             z3.Or(*[z3.And(self.V[self.b.pos("m", i, "pc")] == a, ypb == b)
                                     for a, b in sorted(ss)])), ("m",))
            if not pairs:
                continue
            for r2 in mrefs:
                if REF_KINDS[self.a.fkind("m", r2)] != kind:
                    continue
                seen = {(s[self.a.pos("m", i, "pc")], s[self.a.pos("m", i2, "pc")])
                        for s in self.states for (i, i2) in self.tuples(("m", "m"))
                        if s[self.a.pos("m", i, r)] != 0
                        and s[self.a.pos("m", i, r)] == s[self.a.pos("m", i2, r2)]}
                if len(seen) > 60:
                    continue
                self.add(f"m1.{r} == m2.{r2} (real) => (m1.pc, m2.pc) in mined set "
                         f"({len(seen)} pairs)",
                         f"two Ms reach the same {kind.upper()} only at these locations",
                         {"m": 2},
                         lambda i, i2, r=r, r2=r2, ss=seen, k=kind: z3.Implies(
                             z3.And(_real(self.V[self.b.pos("m", i, r)], self.b.n[k]),
                                    self.V[self.b.pos("m", i, r)] ==
                                    self.V[self.b.pos("m", i2, r2)]),
                             z3.Or(*[z3.And(self.V[self.b.pos("m", i, "pc")] == a,
                                            self.V[self.b.pos("m", i2, "pc")] == b)
                                     for a, b in sorted(ss)])), ("m", "m"))

    def scheduler(self) -> None:
        """S: the scheduler's, sysmon's and W's own fields by a control field's value (no
        object: these exist once at every size)."""
        La, Lb = self.small.layout, self.tr.prog.layout
        glob = [n for n in La.names if not n.startswith(("m", "p", "g")) or n == "gcwaiting"
                or n.startswith("gc.")]
        glob = [n for n in glob if n in Lb.index and La.kinds[La.index[n]] not in ("tick",
                                                                                   "stick")]
        kinds = [La.kinds[La.index[n]] for n in glob]
        rows = {tuple(int(classed(s[La.index[n]], fk, None, False))
                      for n, fk in zip(glob, kinds, strict=True)) for s in self.states}
        terms = [classed(self.V[Lb.index[n]], fk, None, True)
                 for n, fk in zip(glob, kinds, strict=True)]
        for b, n in enumerate(glob):
            dom = {r[b] for r in rows}
            if len(dom) <= MAX_DOMAIN:
                self.add(f"{n} in {self.show(n, kinds[b], dom)}", "the values the steps store",
                         {}, lambda t=terms[b], d=dom: member(t, d), ())
        for c in self.controls():
            a = glob.index(c)
            cb = self.V[Lb.index[c]]
            for b, n in enumerate(glob):
                if b == a:
                    continue
                by: dict[int, set[int]] = {}
                for r in rows:
                    by.setdefault(r[a], set()).add(r[b])
                for v, vals in sorted(by.items()):
                    if len(vals) <= MAX_SET:
                        self.add(f"{c} == {v} => {n} in {self.show(n, kinds[b], vals)}",
                                 f"{c} and {n} change together", {},
                                 lambda t=terms[b], cb=cb, v=v, vs=vals: z3.Implies(
                                     cb == v, member(t, vs)), ())


def families(small: Program, states: list[tuple[int, ...]], tr: Transition,
             pairs: bool) -> list[Family]:
    """Every family mined from `states` (reachable states of `small`), over `tr`'s
    configuration; `pairs`: include the two-M aliasing families (arity 2 Ms)."""
    mn = Miner(small, states, tr)
    mn.object_local()
    mn.control_to_object()
    mn.m_local()
    mn.m_through()
    mn.singleton_through()
    mn.aliasing(pairs)
    mn.scheduler()
    return mn.out

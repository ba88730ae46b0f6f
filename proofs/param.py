"""Parameterized proofs of the per-P and per-G invariants (I4, I7; the Go 1.26+ design's
I7-SCAN) for any number of Ms and Ps, by a local inductive invariant and a cutoff.

Method ("cutoff N=2"; the argument is docs/param-proofs.md):
1. Local candidates are mined from the reachable states of the smallest configuration
   (1 M / 1 P / 1 G with sysmon and stop-the-world): for one P (or G), every field's value
   set and "x.f == v => x.f' in S" between its own fields. Each is instantiated for every
   P (G) of the cutoff configuration, so every candidate reads the fields of one object.
2. Houdini (entersys.proofs.induction.houdini, over the transition relation T of the cutoff
   configuration built from the step definitions) keeps the largest subset that T
   preserves. Nothing is assumed about the Ms, sysmon, W or the other objects: in each
   query their fields are free.
3. The target holds for every depth at the cutoff if it survives. The cutoff argument (in
   the doc) carries it to any number of Ms and Ps: a counterexample to the local
   induction at any size involves one object and one step instance; the instance is
   checked here to read, for its guard and its writes to that object, no field of any
   other object of the same kind (`locality`), so its effect on the object is the same in
   the cutoff configuration, where the free fields of the other parties range over every
   value they can take at any size.

Objects are Ps for I4 and I7, Gs for I7-SCAN."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import z3
from entersys.model.state import Config
from entersys.oracle.explore import Explorer
from entersys.oracle.protocol import PART_SETS, build_program, with_parts
from entersys.proofs.induction import MAX_DOMAIN, Candidate, _vars_of, houdini
from entersys.proofs.transition import TIMEOUT_MS, Transition

# target -> the kind of object it speaks of, per design: the targets this method closes.
# Not closed (left to the fixed-size proofs, see docs/param-proofs.md): I1 (owners counted
# over every M), I4 (needs the M-side releasep order), the Go 1.26+ I7-SCAN (its holders
# are Ms, sysmon and W, not fields of the G).
TARGETS: dict[str, dict[str, str]] = {"psyscall": {"I7": "p"}, "scanbit": {}}
CUTOFF = 2   # Ms and Ps (and Gs for a per-G target) of the cutoff configuration


def cutoff_config(kind: str) -> Config:
    """The cutoff configuration: 2 Ms / 2 Ps / 1 G (2 Gs for a per-G target), core parts."""
    return with_parts(Config(CUTOFF, CUTOFF, CUTOFF if kind == "g" else 1),
                      PART_SETS["core"])


@dataclass
class ParamRun:
    """`proved`: targets kept by Houdini at the cutoff; `local`: the surviving local
    candidates (names, per object); `nonlocal_reads`: instances whose guard or writes to
    an object read another object of the same kind (empty: the cutoff argument applies)."""

    status: str
    proved: list[str]
    local: list[Candidate]
    abstracted: dict[str, int] = field(default_factory=dict)
    sources: int = 0   # the most objects one step instance reads (object_sources)
    cfg: Config | None = None
    seconds: float = 0.0


def _local_candidates(go: str, kind: str, n: int, tr: Transition) -> list[Candidate]:
    """The local templates of object 0 of `kind`, mined at 1 M / 1 P / 1 G, instantiated
    for objects 0..n-1 of the cutoff Transition `tr`."""
    small = build_program(replace(with_parts(Config(1, 1, 1), PART_SETS["core"]), go=go), go)
    res = Explorer(small, symmetry=False).run(max_states=400_000, progress=False,
                                              stop_at_first=False)
    if not res.complete:
        raise RuntimeError("mining needs the full reachable set of 1 M / 1 P / 1 G")
    states = list(res.parents)
    Ls = small.layout
    table = Ls.pname if kind == "p" else Ls.gname
    own = {f: pos for f, pos in table[0].items()}
    L, V = tr.prog.layout, tr.sym.vars
    big = L.pname if kind == "p" else L.gname
    out: list[Candidate] = []

    def field(j: int, f: str) -> Any:
        """Object j's field f as compared with the mined values: an M reference only as
        nil (0) or some M (1), since 1/1/1 has one M and the cutoff two."""
        x = V[big[j][f]]
        return z3.If(x == 0, 0, 1) if Ls.kinds[own[f]] == "mref" else x

    for f, pos in own.items():
        dom = sorted({s[pos] for s in states})
        if len(dom) <= MAX_DOMAIN:
            for j in range(n):
                x = field(j, f)
                out.append(Candidate(f"{kind}{j}.{f} in {{{', '.join(map(str, dom))}}}",
                                     "the values the steps store in the field",
                                     z3.Or(*[x == d for d in dom])))
        if len({s[pos] for s in states}) > MAX_DOMAIN:
            continue
        for v in dom:
            for f2, pos2 in own.items():
                vals = sorted({s[pos2] for s in states if s[pos] == v})
                if f2 == f or not 0 < len(vals) <= 3:
                    continue
                for j in range(n):
                    shown = ", ".join(map(str, vals))
                    out.append(Candidate(
                        f"{kind}{j}.{f} == {v} => {kind}{j}.{f2} in {{{shown}}}",
                        f"the {kind.upper()}'s fields change together in the steps that set {f}",
                        z3.Implies(field(j, f) == v,
                                   z3.Or(*[field(j, f2) == x for x in vals]))))
    if kind == "p":  # one M and the P it names: "m.pc == L => P(m.ref).f in S"
        pc0 = Ls.mname[0]["pc"]
        for ref in ("p", "oldp", "pp"):
            r0 = Ls.mname[0][ref]
            for f in ("status", "m", "wins"):
                by_lab: dict[int, set[int]] = {}
                for s in states:
                    by_lab.setdefault(s[pc0], set()).add(
                        s[table[s[r0] - 1][f]] if 1 <= s[r0] <= len(table) else -1)
                for lab, seen in sorted(by_lab.items()):
                    if len(seen) > 3:
                        continue
                    vals = sorted(seen)
                    for i in range(tr.prog.cfg.ms):
                        pc, r = V[L.mname[i]["pc"]], V[L.mname[i][ref]]
                        term = tr.sym.view.P(r, f)
                        if f == "m":  # the M itself (1 at 1/1/1) is M i here
                            term = z3.If(term == i + 1, 1, z3.If(term == 0, 0, 2))
                        val = z3.Or(*[z3.And(r == 0, True) if x == -1 else
                                      z3.And(r != 0, term == x) for x in vals])
                        out.append(Candidate(
                            f"m{i}.pc == {small.label_names[lab]} => P(m{i}.{ref}).{f} in "
                            f"{{{', '.join('nil' if x == -1 else str(x) for x in vals)}}}",
                            f"what an M holds through {ref} at a location is changed only by "
                            "that M or by a CAS it tolerates",
                            z3.Implies(pc == lab, val)))
    return out


def abstract_aggregates(tr: Transition, kind: str) -> dict[str, int]:
    """Replace, in every guard and write of `tr`, each aggregate over the objects of `kind`
    (a count, or an all/any: a sum, conjunction or disjunction whose arguments read the
    same field of two different objects) by a fresh unconstrained constant of its sort:
    T becomes T#, which allows every step T allows at any number of objects (an aggregate
    over N objects takes some value; T# allows all of them). Returns label -> number of
    aggregates abstracted."""
    L = tr.prog.layout
    table = L.pname if kind == "p" else L.gname
    field_of = {tr.sym.vars[pos].get_id(): (f, j) for j, t in enumerate(table)
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
                # an argument reading field f of exactly one object, per argument
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


def object_sources(tr: Transition, kind: str) -> int:
    """The most objects of `kind` one step instance can read (after abstracting the
    aggregates): its parameters of that kind plus the reference fields its guard and
    writes read. The cutoff must be at least this (the cutoff argument's premise)."""
    L = tr.prog.layout
    refk = {"p": "pref", "g": "gref"}[kind]
    refs = {tr.sym.vars[pos].get_id() for pos, k in enumerate(L.kinds) if k == refk}
    worst = 0
    for k, inst in enumerate(tr.instances):
        read: set[int] = set()
        for t in [tr.guards[k]] + [w for ws in tr.writers.values() for kk, w in ws if kk == k]:
            read |= _vars_of(t) & refs if z3.is_expr(t) else set()
        worst = max(worst, sum(1 for x in inst.step.params if x == kind) + len(read))
    return worst


def prove_param(go: str, timeout_ms: int = TIMEOUT_MS) -> ParamRun:
    """Prove the design's per-object targets at the cutoff by local induction, and check
    the locality the cutoff argument needs. Raises RuntimeError if mining is incomplete."""
    t0 = time.perf_counter()
    prog0 = build_program(with_parts(Config(1, 1, 1), ()), go)
    targets = TARGETS[prog0.design]
    if not targets:
        raise ValueError(f"no parameterized target for Go {go}'s design")
    kind = next(iter(targets.values()))
    cfg = cutoff_config(kind)
    prog = build_program(replace(cfg, go=go), go)
    tr = Transition(prog)
    n = cfg.ps if kind == "p" else cfg.gs
    abstracted = abstract_aggregates(tr, kind)
    sources = object_sources(tr, kind)
    if sources > (cfg.ps if kind == "p" else cfg.gs):
        raise RuntimeError(f"a step reads {sources} {kind.upper()}s: above the cutoff")
    cands = [Candidate(i, "named invariant", tr.inv_terms[i], True) for i in targets]
    cands += _local_candidates(go, kind, n, tr)
    status, live, _ = houdini(tr, cands, timeout_ms)
    run = ParamRun(status, [c.name for c in live if c.target],
                   [c for c in live if not c.target], cfg=cfg)
    run.abstracted = abstracted
    run.sources = sources
    run.seconds = time.perf_counter() - t0
    return run

"""Parameterized proofs of I1, I4 and I7 (Go 1.26+: I1, I4-UNWIRED, I7-SCAN) for any number
of Ms and Ps, by a symmetric local inductive invariant and a cutoff.

Method ("cutoff"; the argument is docs/param-proofs.md):
1. T# is the transition relation of a configuration built from the step definitions
   (proofs/transition.py) under two abstractions, both over-approximations at every size:
   a reference may name an object outside the configuration ("other", the value n + 1),
   and reading a field through it gives a fresh unconstrained value (OtherOps); and every
   aggregate over the Ms, Ps or Gs (a count, an all or an any) is a fresh unconstrained
   value (abstract_aggregates).
2. Candidate families (entersys.proofs.param_families) are mined from the reachable states
   of 2 Ms / 1 P / 1 G; each is one template instantiated for every tuple of distinct
   objects, kept or dropped as a whole.
3. Houdini keeps the largest set of families, with the targets, that T# preserves at the
   cutoff configuration and at every smaller one (`sizes`); the conjunction must hold
   initially (checked).
4. Locality: `reads` gives, per step instance and kind, how many objects the instance can
   read (its actor, its parameters, the references it reads, any object read directly);
   the cutoff of a kind must be at least the most an instance reads plus the most objects
   of that kind one surviving family instance (or target conjunct) speaks of. Checked.

A target whose conjunct speaks of more objects than the cutoff allows, or that Houdini
drops, stays unproved ("unknown", with the reason)."""

from __future__ import annotations

import copy
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import z3
from entersys.model.program import DESIGN_OF, Program
from entersys.model.state import Config
from entersys.oracle.explore import Explorer
from entersys.oracle.protocol import PART_SETS, build_program, with_parts
from entersys.proofs.induction import Candidate, _vars_of, cti, houdini
from entersys.proofs.param_families import REF_KINDS, Family, families
from entersys.proofs.param_sharp import (
    KINDS,
    Reads,
    _owners,
    _table,
    conjunct_arity,
    conjuncts,
    reads,
    sharp,
)
from entersys.proofs.transition import TIMEOUT_MS, Transition, solver

# target -> how many objects of each kind one of its conjuncts speaks of (checked on the
# invariant's terms by `conjunct_arity`), and why the conjuncts are that small.
TARGETS: dict[str, dict[str, dict[str, int]]] = {
    "psyscall": {"I7": {"p": 1}, "I4": {"p": 1}, "I1": {"p": 1, "m": 2}},
    "scanbit": {"I7-SCAN": {"g": 1}, "I4-UNWIRED": {"p": 1, "m": 1},
                "I1": {"p": 1, "m": 2}},
}
# The targets the method closes today, per design: the `protocol` group of `verify` proves
# these (and must, exit 0); the opt-in group `protocol-param` tries every target of TARGETS
# and reports the others "unknown" with their reason and counterexample to induction.
CLOSED: dict[str, tuple[str, ...]] = {"psyscall": ("I7",), "scanbit": ()}
ARITY_REASON = {
    "I7": "one P's wins counter and status",
    "I4": "one P's status and p.m",
    "I4-UNWIRED": "one P's status and p.m, and one M's m.p",
    "I7-SCAN": "one G's status and the two singleton holders (the GC's gc.g, sysmon's y.g)",
    "I1": "the owners of one P are counted over every M: at most one owner is a condition "
          "on two Ms at a time, but 'a running P has exactly one' needs one to exist",
}
MINE_CONFIG = Config(2, 1, 1)


def cutoff_config(go: str) -> Config:
    """The cutoff configuration of the design of Go `go`, core parts (sysmon, W)."""
    ms, ps, gs = CUTOFFS[DESIGN_OF[go]]
    return with_parts(Config(ms, ps, gs), PART_SETS["core"])


CUTOFFS = {"psyscall": (3, 2, 2), "scanbit": (3, 3, 2)}
# The family arities each design's run uses (None: every family that fits the cutoff). The
# old design's I7 closes with one-P and object-free families in about 12 s of CPU; the
# whole set (about 75 s) closes nothing more (I4's counterexample to induction stays).
FAMILIES: dict[str, list[dict[str, int]] | None] = {"psyscall": [{"p": 1}, {}],
                                                     "scanbit": None}


@dataclass
class ParamRun:
    """`proved`: targets closed; `unproved`: target -> reason; `local`: the surviving
    families; `need`: per kind, the most objects a counterexample to induction of the
    surviving conjunction involves (at most the cutoff); `sizes`: the configurations
    (Ms, Ps, Gs) Houdini ran on (the cutoff and every smaller one)."""

    status: str
    proved: list[str]
    local: list[Candidate]
    unproved: dict[str, str] = field(default_factory=dict)
    abstracted: dict[str, int] = field(default_factory=dict)
    need: dict[str, int] = field(default_factory=dict)
    sizes: list[tuple[int, int, int]] = field(default_factory=list)
    cfg: Config | None = None
    seconds: float = 0.0
    # target -> a counterexample to its induction relative to the surviving families under
    # T# (step, state, changes), for a target Houdini dropped
    cti: dict[str, dict[str, Any]] = field(default_factory=dict)
    arities: list[dict[str, int]] | None = None  # the family arities used (None: all)


def mined_states(go: str) -> tuple[Program, list[tuple[int, ...]]]:
    """The reachable states of MINE_CONFIG (core parts), explored without symmetry."""
    small = build_program(replace(with_parts(MINE_CONFIG, PART_SETS["core"]), go=go), go)
    res = Explorer(small, symmetry=False).run(max_states=400_000, progress=False,
                                              stop_at_first=False)
    if not res.complete:
        raise RuntimeError("mining needs the full reachable set of 2 Ms / 1 P / 1 G")
    return small, list(res.parents)


def need_of(rd: dict[str, Reads], arity: dict[str, int]) -> dict[str, int]:
    """Per kind, the most objects a counterexample to induction of a family of `arity`
    involves, over every step instance."""
    return {k: max(r.need(arity)[k] for r in rd.values()) for k in KINDS}


def target_family(tr: Transition, inv: str, arity: dict[str, int]) -> Family:
    """The named invariant as a family: its top-level conjuncts, each with the objects it
    reads."""
    owner = _owners(tr)
    parts = [(tuple(sorted({owner[v] for v in _vars_of(x) if v in owner})), x)
             for x in conjuncts(tr.inv_terms[inv])]
    return Family(inv, "named invariant", tr.inv_terms[inv], True, arity=arity, parts=parts)


def pad_failures(tr: Transition, fams: list[Family], timeout_ms: int) -> set[str]:
    """Families that can fail when objects at their initial values (an M parked, a P idle,
    a G runnable, every reference nil) are added to a state satisfying the others'
    instances: every object of each kind but the first n is such a pad, for n up to the
    largest arity of the kind (by symmetry, and since fewer other objects constrain an
    instance's own objects less, this covers every choice of pads), with no reference of
    another object naming a pad. The cutoff argument fills the cutoff configuration with
    pads, so these families are dropped."""
    L = tr.prog.layout
    cut = dict(zip(KINDS, tr_size(tr), strict=True))
    most = {k: min(cut[k], max([f.arity.get(k, 0) for f in fams] + [0])) for k in KINDS}
    bad: set[str] = set()
    s = solver(timeout_ms)
    lits: list[tuple[str, tuple[tuple[str, int], ...], Any, Any]] = []
    for f in fams:
        for objs, term in f.parts:
            b = z3.FreshBool("part")
            s.add(z3.Implies(b, term))
            lits.append((f.name, objs, term, b))
    # the objects that are not pads: the first n of each kind, n up to the largest arity
    # (an instance's check is hardest when its own non-pad objects are the only ones)
    for ns in itertools.product(*[range(most[k] + 1) for k in KINDS]):
        pads = {(k, j) for k, n in zip(KINDS, ns, strict=True) for j in range(n, cut[k])}
        if not pads:
            continue
        sub = [(tr.sym.vars[pos], z3.IntVal(tr.init[pos])) for (k, j) in pads
               for pos in _table(tr, k)[j].values()]
        padpos = {pos for (k, j) in pads for pos in _table(tr, k)[j].values()}
        s.push()
        for pos, kind in enumerate(L.kinds):
            rk = REF_KINDS.get(kind)
            if rk and pos not in padpos:
                s.add(*[tr.sym.vars[pos] != j + 1 for (k, j) in pads if k == rk])
        todo = [(n, z3.substitute(t, *sub)) for n, objs, t, _ in lits
                if n not in bad and pads & set(objs)]
        while todo:
            assume = [b for n, objs, _, b in lits if n not in bad and not pads & set(objs)]
            r = s.check(*assume, z3.Or(*[z3.Not(t) for _, t in todo]))
            if r == z3.unsat:
                break
            if r != z3.sat:
                s.pop()
                return {f.name for f in fams}
            m = s.model()
            failed = {n for n, t in todo if z3.is_false(m.eval(t, model_completion=True))}
            bad |= failed
            todo = [(n, t) for n, t in todo if n not in failed]
        s.pop()
    return bad


def canonical(tr: Transition) -> Transition:
    """`tr` restricted to the step instances that are canonical up to renaming the objects:
    the actor is M0 (if an M) and the parameters of each kind are that kind's objects 0, 1,
    ... in order of first appearance. J and T# are symmetric (every family is instantiated
    for every tuple of objects, the steps and the abstractions treat objects alike), so a
    counterexample to consecution from any instance is one from a canonical instance after
    renaming, and Houdini needs to query only these."""
    keep: list[int] = []
    for k, inst in enumerate(tr.instances):
        if inst.m > 0:
            continue
        seen: dict[str, list[int]] = {}
        ok = True
        for kind, x in zip(inst.step.params, inst.args, strict=True):
            if kind not in ("p", "g"):
                continue
            got = seen.setdefault(kind, [])
            if x not in got:
                ok = ok and x == len(got) + 1
                got.append(x)
        if ok:
            keep.append(k)
    new = copy.copy(tr)
    index = {k: n for n, k in enumerate(keep)}
    new.instances = [tr.instances[k] for k in keep]
    new.guards = [tr.guards[k] for k in keep]
    new.writers = {pos: [(index[k], w) for k, w in ws if k in index]
                   for pos, ws in tr.writers.items()}
    return new


def prove_param(go: str, targets: list[str] | None = None, timeout_ms: int = TIMEOUT_MS,
                cutoff: tuple[int, int, int] | None = None, mutant: str | None = None,
                plant: Callable[[Transition], None] | None = None,
                log: Callable[[str], None] | None = None,
                only: list[dict[str, int]] | None = None) -> ParamRun:
    """Prove `targets` (default: the design's) for any number of Ms and Ps at the cutoff
    (Ms, Ps, Gs) (default: the design's CUTOFFS), of the faithful model or of `mutant`;
    `plant` edits T# before the checks (tests); `log` gets each phase's time; `only`
    keeps just the families of these arities (default: the design's FAMILIES). Raises
    ValueError for a target the design does not have, RuntimeError if mining is
    incomplete."""
    t0 = time.perf_counter()

    def note(what: str) -> None:
        if log:
            log(f"{time.perf_counter() - t0:7.1f} s wall {time.process_time():7.1f} s cpu  {what}")

    design = DESIGN_OF[go]
    table = TARGETS[design]
    names = list(targets or table)
    if any(t not in table for t in names):
        raise ValueError(f"no parameterized target {names} for Go {go}'s design")
    top = cutoff or CUTOFFS[design]
    arities = only if only is not None else FAMILIES[design]
    cut = dict(zip(KINDS, top, strict=True))
    prog = build_program(replace(with_parts(Config(*top), PART_SETS["core"]), go=go), go,
                         mutant)
    tr, abstracted = sharp(prog)
    if plant is not None:
        plant(tr)
    note("T# built")
    rd = reads(tr)
    note("reads")
    direct = sorted({(lab, f"{k}{j}") for lab, r in rd.items() for k, j in r.direct})

    def fits(arity: dict[str, int]) -> bool:
        return all(n <= cut[k] for k, n in need_of(rd, arity).items())

    unproved: dict[str, str] = {}
    live: list[str] = []
    for t in names:
        got = conjunct_arity(tr, tr.inv_terms[t])
        if any(got[k] > table[t].get(k, 0) for k in KINDS):
            unproved[t] = (f"not local: a conjunct of {t} reads {got} objects (Ms, Ps, Gs) at "
                           f"the cutoff, all of a kind: {ARITY_REASON[t]}")
        elif direct:
            unproved[t] = (f"the cutoff {cut} is too small: {len(direct)} step instances read "
                           f"an object other than through a reference or an aggregate, e.g. "
                           f"{direct[0][0]} reads {direct[0][1]}")
        elif not fits(table[t]):
            unproved[t] = (f"not local at this cutoff: {ARITY_REASON[t]}; a counterexample to "
                           f"induction may involve {need_of(rd, table[t])} objects "
                           f"(Ms, Ps, Gs), the cutoff is {cut}")
        else:
            live.append(t)
    cfg = with_parts(Config(*top), PART_SETS["core"])
    if not live:
        return ParamRun("inductive", [], [], unproved, abstracted, {}, [top], cfg=cfg,
                        seconds=time.perf_counter() - t0, arities=arities)
    small, states = mined_states(go)  # candidates of the faithful model, also for a mutant
    fams = [target_family(tr, t, table[t]) for t in live]
    fams += [f for f in families(small, states, tr, pairs=cut["m"] >= 2)
             if fits(f.arity) and (arities is None or {k: n for k, n in f.arity.items() if n}
                                      in arities)]
    keep = {f.name for f in fams}
    status = "inductive"
    reps = canonical(tr)
    note(f"{len(fams)} families")
    while True:
        status, kept, _ = houdini(reps, [f for f in fams if f.name in keep], timeout_ms)
        keep = {c.name for c in kept}
        note(f"Houdini: {len(keep)} kept")
        if status != "inductive":
            break
        bad = pad_failures(tr, [f for f in fams if f.name in keep], timeout_ms)
        note(f"pads: {len(bad)} dropped")
        if not bad:
            break
        keep -= bad
    final = [f for f in fams if f.name in keep]
    if status == "inductive":  # the conjunction holds initially
        s = solver(timeout_ms)
        s.add(*[v == x for v, x in zip(tr.sym.vars, tr.init)],
              z3.Not(z3.And(*[f.term for f in final])))
        if s.check() != z3.unsat:
            status = "false-initially"
    need = dict.fromkeys(KINDS, 0)
    for f in final:
        for k, n in need_of(rd, f.arity).items():
            need[k] = max(need[k], n)
    proved = [f.name for f in final if f.target] if status == "inductive" else []
    ctis: dict[str, dict[str, Any]] = {}
    for t in live:
        if t not in proved:
            unproved[t] = ("not inductive relative to the local families (Houdini dropped it)"
                           if status == "inductive" else f"solver: {status}")
            if status == "inductive":
                try:
                    ctis[t] = cti(tr, [f for f in final if not f.target], t, timeout_ms)
                except (IndexError, KeyError) as e:  # a free field outside its names
                    ctis[t] = {"result": f"counterexample state not describable ({e})"}
    run = ParamRun(status, proved, [f for f in final if not f.target], unproved,
                   abstracted, need, [top], cfg=cfg, cti=ctis, arities=arities)
    run.seconds = time.perf_counter() - t0
    return run


def tr_size(tr: Transition) -> tuple[int, int, int]:
    c = tr.prog.cfg
    return (c.ms, c.ps, c.gs)


def method(run: ParamRun) -> str:
    """The method name of a run's records: the cutoff configuration."""
    c = run.cfg
    assert c is not None
    return f"cutoff {c.ms} M / {c.ps} P / {c.gs} G: symmetric local invariant, Houdini over T#"

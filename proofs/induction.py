"""Unbounded proofs of the protocol invariants for one configuration by an explicit inductive
strengthening. Candidate auxiliary invariants are mined from the reachable states of the
explorer (control-location templates: "an actor at label L has field f in S", "a P in
status s has field f in S", "the P or G an M names has field f in S"); Houdini then drops
every candidate that the transition relation T does not preserve relative to the rest,
until the remaining conjunction is inductive (proved by Z3). The named invariants that
survive hold at every depth; any that does not gets its counterexample to induction."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import z3
from entersys.model.program import Program
from entersys.model.state import G_FIELDS, P_FIELDS
from entersys.oracle.explore import Explorer
from entersys.proofs.transition import TIMEOUT_MS, Transition, solver

MAX_SET = 3          # a mined value set larger than this is not a useful candidate
MAX_DOMAIN = 8       # a field's whole value set is a candidate up to this size
MAX_STATES = 400_000  # the explorer's budget for mining (no symmetry reduction)


@dataclass
class Candidate:
    name: str
    reason: str
    term: Any        # over the symbolic state of the Transition
    target: bool = False


@dataclass
class InductionRun:
    """`proved`: ids of named invariants in the inductive conjunction; `auxiliary`: the
    auxiliary candidates in it; `cti`: for each named invariant not proved, a readable
    counterexample to induction (pre-state, step, violated-after)."""

    status: str                       # "inductive" or "unknown" (solver gave up)
    proved: list[str]
    auxiliary: list[Candidate]
    cti: dict[str, dict[str, Any]] = field(default_factory=dict)
    rounds: int = 0
    seconds: float = 0.0
    states_mined: int = 0
    k_inductive: dict[str, int] = field(default_factory=dict)  # target -> k that closed it


def _fields_of(prog: Program, owner: str) -> list[str]:
    return [n for n in prog.layout.names if n.startswith(owner + ".")]


def mine(prog: Program, tr: Transition, max_states: int = MAX_STATES
         ) -> tuple[list[Candidate], int]:
    """Template candidates true on every reachable state of `prog` (explored without
    symmetry reduction, so that the candidates name concrete Ms, Ps and Gs)."""
    res = Explorer(prog, symmetry=False).run(max_states=max_states, progress=False,
                                             stop_at_first=False)
    if not res.complete:
        raise RuntimeError(f"mining needs the full reachable set (> {max_states} states)")
    states = list(res.parents)
    L, V, cfg = prog.layout, tr.sym.vars, prog.cfg
    names = prog.label_names
    out: list[Candidate] = []

    def values_when(pos_c: int, key: int, pos_f: int | Callable[[tuple[int, ...]], int]
                    ) -> set[int]:
        get = pos_f if callable(pos_f) else (lambda s, p=pos_f: s[p])
        return {get(s) for s in states if s[pos_c] == key}

    def add_set(name: str, reason: str, cond: Any, term: Any, vals: set[int]) -> None:
        if 0 < len(vals) <= MAX_SET:
            out.append(Candidate(name, reason, z3.Implies(cond, z3.Or(*[term == x for x in
                                                                         sorted(vals)]))))

    own: dict[str, list[str]] = {}
    for i in range(cfg.ms):
        own[f"m{i}.pc"] = _fields_of(prog, f"m{i}") + list(_SCHED)
    for c in ("y.pc", "w.pc", "f.pc"):
        own[c] = [n for n in L.names if not n.startswith("m")]
    # the P, G and M references each actor holds in its own fields (the M's are its
    # m{i}.* refs; sysmon's are y.p, y.g and y.m)
    refs: dict[str, list[tuple[int, str]]] = {
        f"m{i}.pc": [(L.mname[i][r], k) for r, k in (("p", "P"), ("oldp", "P"),
                                                     ("pp", "P"), ("curg", "G"))]
        for i in range(cfg.ms)}
    refs["y.pc"] = [(L.index[r], k) for r, k in (("y.p", "P"), ("y.g", "G"), ("y.m", "M"))
                    if r in L.index]
    for c, flds in own.items():
        pc = L.index[c]
        seen = sorted({s[pc] for s in states})
        out.append(Candidate(f"{c} in {{{', '.join(names[x] for x in seen)}}}",
                             "the control locations the routines can reach",
                             z3.Or(*[V[pc] == x for x in seen])))
        for lab in seen:
            for f in flds:
                if f == c:
                    continue
                pos = L.index[f]
                add_set(f"{c} == {names[lab]} => {f} in {{S}}",
                        f"set by the steps that reach {names[lab]}, kept by every step "
                        "enabled meanwhile", V[pc] == lab, V[pos], values_when(pc, lab, pos))
        for rpos, kind in refs.get(c, []):
            table = {"P": L.pname, "G": L.gname, "M": L.mname}[kind]
            rflds: tuple[str, ...] = {"P": ("status", "m") if c.startswith("m") else _P_INTS,
                                      "G": tuple(G_FIELDS), "M": ("pc", "p", "curg")}[kind]
            ref = L.names[rpos]
            for f in rflds:
                term = getattr(tr.sym.view, kind)(V[rpos], f)

                def get(s: tuple[int, ...], r: int = rpos, t: Any = table,
                        f_: str = f) -> int:
                    return s[t[s[r] - 1][f_]] if 1 <= s[r] <= len(t) else 0
                for lab in seen:
                    add_set(f"{c} == {names[lab]} => {kind}({ref}).{f} in {{S}}",
                            f"what the actor holds through {ref} at {names[lab]} is only "
                            "changed by that actor or through a CAS it tolerates",
                            V[pc] == lab, term, values_when(pc, lab, get))
    for j in range(cfg.ps):
        sp = L.pname[j]["status"]
        for v in sorted({s[sp] for s in states}):
            for f in _fields_of(prog, f"p{j}"):
                if f != f"p{j}.status":
                    add_set(f"p{j}.status == {v} => {f} in {{S}}",
                            "fields a P keeps while it stays in one status",
                            V[sp] == v, V[L.index[f]], values_when(sp, v, L.index[f]))
    for j in range(cfg.gs):
        gp = L.gname[j]["status"]
        for v in sorted({s[gp] for s in states}):
            for f in _fields_of(prog, f"g{j}"):
                if f != f"g{j}.status":
                    add_set(f"g{j}.status == {v} => {f} in {{S}}",
                            "fields a G keeps while it stays in one status",
                            V[gp] == v, V[L.index[f]], values_when(gp, v, L.index[f]))
    for pos, f in enumerate(L.names):  # every field's own domain
        dom = {s[pos] for s in states}
        if len(dom) <= MAX_DOMAIN:
            out.append(Candidate(f"{f} in {{{', '.join(map(str, sorted(dom)))}}}",
                                 "the values the steps ever store in the field",
                                 z3.Or(*[V[pos] == x for x in sorted(dom)])))
    ctl = [pos for pos, k in enumerate(L.kinds) if k in ("pc", "ypc", "wpc", "fpc")] + \
        [pos for pos, n in enumerate(L.names) if n.endswith(".status")] + \
        [L.index[n] for n in ("gcwaiting", "stopwait") if n in L.index]
    vecs = sorted({tuple(s[p] for p in ctl) for s in states})
    out.append(Candidate(
        f"({', '.join(L.names[p] for p in ctl)}) in mined set ({len(vecs)} vectors)",
        "the control vector (every routine's location, every P and G status, the "
        "stop-the-world flags) takes only the combinations the reachable states show",
        z3.Or(*[z3.And(*[V[p] == x for p, x in zip(ctl, vec)]) for vec in vecs])))
    small = [pos for pos, k in enumerate(L.kinds) if len({s[pos] for s in states}) > 1
             and len({s[pos] for s in states}) <= MAX_DOMAIN]
    for a_, pa in enumerate(small):
        for pb in small[a_ + 1:]:
            pairs = sorted({(s[pa], s[pb]) for s in states})
            if len(pairs) < len({s[pa] for s in states}) * len({s[pb] for s in states}):
                out.append(Candidate(
                    f"({L.names[pa]}, {L.names[pb]}) in mined set ({len(pairs)} pairs)",
                    "the two fields take only the value pairs the reachable states show",
                    z3.Or(*[z3.And(V[pa] == x, V[pb] == y) for x, y in pairs])))
    out.extend(_pairwise(prog, tr, states, add_set))
    out.extend(_counting(prog, tr, states))
    for cand in out:
        cand.name = cand.name.replace("{S}", "mined set")
    return out, len(states)


def _pairwise(prog: Program, tr: Transition, states: list[tuple[int, ...]],
              add_set: Callable[..., None]) -> list[Candidate]:
    """Correlations inside one P or G, and from a P or G to the M it names: "p.f == v =>
    p.f' in S" for every field f with few values, and "x.m == M => M.pc/p/curg in S"
    (these close the CTIs of I1 and I8: a P handed over or stopped is wired to no M, and
    an M named by a running P is not idle)."""
    L, V, cfg = prog.layout, tr.sym.vars, prog.cfg
    for kind, n, table in (("p", cfg.ps, L.pname), ("g", cfg.gs, L.gname)):
        for j in range(n):
            own = table[j]
            for f, pos in own.items():
                if L.kinds[pos] not in ("int", "mref", "qref"):
                    continue
                seen = {s[pos] for s in states}
                if len(seen) > MAX_SET + 1:
                    continue
                for v in sorted(seen):
                    for f2, pos2 in own.items():
                        if f2 == f or L.kinds[pos2] not in ("int", "mref", "qref"):
                            continue
                        add_set(f"{kind}{j}.{f} == {v} => {kind}{j}.{f2} in {{S}}",
                                f"a {kind.upper()}'s fields change together in the steps that "
                                f"set {f}", V[pos] == v, V[pos2],
                                {s[pos2] for s in states if s[pos] == v})
                if L.kinds[pos] != "mref":
                    continue
                for i in range(cfg.ms):
                    for f2 in ("pc", "p", "curg"):
                        pos2 = L.mname[i][f2]
                        vals = {s[pos2] for s in states if s[pos] == i + 1}
                        add_set(f"{kind}{j}.{f} == m{i} => m{i}.{f2} in {{S}}",
                                f"the M a {kind.upper()} names through {f} is in the part of "
                                f"its code that set or keeps that link", V[pos] == i + 1,
                                V[pos2], vals)
    return []


def _counting(prog: Program, tr: Transition, states: list[tuple[int, ...]]
              ) -> list[Candidate]:
    """stopTheWorld's count: at each location of W, "stopwait + #{P in status s}" is in a
    mined set (stopwait counts the Ps not yet stopped while W waits: I8's strengthening)."""
    L, V, cfg = prog.layout, tr.sym.vars, prog.cfg
    if "stopwait" not in L.index or not cfg.stw:
        return []
    sw, wpc = L.index["stopwait"], L.index["w.pc"]
    sts = [L.pname[j]["status"] for j in range(cfg.ps)]
    out = []
    for lab in sorted({s[wpc] for s in states}):
        for v in sorted({s[p] for s in states for p in sts}):
            vals = {s[sw] + sum(s[p] == v for p in sts) for s in states if s[wpc] == lab}
            if not 0 < len(vals) <= MAX_SET:
                continue
            count = z3.Sum(*[z3.If(V[p] == v, 1, 0) for p in sts]) if sts else 0
            out.append(Candidate(
                f"w.pc == {prog.label_names[lab]} => stopwait + #(P status {v}) in mined set",
                "stopTheWorld sets stopwait to the Ps it must still stop and each stop "
                "decrements it once (a counting invariant)", z3.Implies(
                    V[wpc] == lab, z3.Or(*[V[sw] + count == x for x in sorted(vals)]))))
    return out


# sysmon's P (one at a time, few labels): every small field of it is a template
_P_INTS = tuple(f for f, k in P_FIELDS.items() if k in ("int", "mref"))
_SCHED = ("gcwaiting", "stopwait", "sysmonwait", "lock", "nmidlelocked", "event", "y.p",
          "gc.g")


def houdini(tr: Transition, cands: list[Candidate], timeout_ms: int = TIMEOUT_MS,
            log: Callable[[str], None] | None = None) -> tuple[str, list[Candidate], int]:
    """Drop candidates until their conjunction is inductive under T: returns
    ("inductive", survivors, rounds), or ("unknown", ..., rounds) if the solver gave up.

    T is taken one step instance at a time: the post-state of instance k is its writes, so
    a candidate reading no field that k writes is preserved by k without a query."""
    sym = tr.sym
    ind = [z3.Bool(f"cand{n}") for n in range(len(cands))]
    s = solver(timeout_ms)
    for b, c in zip(ind, cands):
        s.add(z3.Implies(b, c.term))
    reads = [_vars_of(c.term) for c in cands]
    index = {b.get_id(): n for n, b in enumerate(ind)}
    live = set(range(len(cands)))
    # instance -> the candidates its last "preserved" proof used (an unsat core): while all
    # of them stay, the proof stands (the set to preserve only shrinks), so no re-query
    proof: dict[int, set[int]] = {}
    rounds = 0
    changed = True
    while changed:
        changed = False
        rounds += 1
        for k, inst in enumerate(tr.instances):
            if k in proof and proof[k] <= live:
                continue
            writes = {pos: w for pos, ws in tr.writers.items() for kk, w in ws if kk == k}
            written = {sym.vars[pos].get_id() for pos in writes}
            sub = [(sym.vars[pos], w) for pos, w in writes.items()]
            while True:
                hit = [n for n in sorted(live) if reads[n] & written]
                if not hit:
                    proof[k] = set()
                    break
                post = {n: z3.substitute(cands[n].term, *sub) for n in hit}
                s.push()
                s.add(tr.guards[k])
                s.add(z3.Or(*[z3.Not(post[n]) for n in hit]))
                r = s.check(*[ind[n] for n in sorted(live)])
                if r == z3.unsat:
                    proof[k] = {index[b.get_id()] for b in s.unsat_core()}
                    s.pop()
                    break
                if r != z3.sat:
                    s.pop()
                    return "unknown", [cands[n] for n in sorted(live)], rounds
                m = s.model()
                dropped = [n for n in hit if z3.is_false(m.eval(post[n], model_completion=True))]
                s.pop()
                live -= set(dropped)
                changed = True
                if log:
                    log(f"round {rounds}: {inst.label} breaks {len(dropped)}")
    return "inductive", [cands[n] for n in sorted(live)], rounds


def free_consts(t: Any) -> list[Any]:
    """The uninterpreted constants (state variables) a Z3 term reads, each once."""
    out: list[Any] = []
    seen: set[int] = set()
    todo = [t]
    while todo:
        x = todo.pop()
        if x.get_id() in seen:
            continue
        seen.add(x.get_id())
        if z3.is_const(x) and x.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            out.append(x)
        todo.extend(x.children())
    return out


def _vars_of(t: Any) -> set[int]:
    """Ids of the state variables a term reads."""
    return {x.get_id() for x in free_consts(t)}


def prove(prog: Program, inv_ids: list[str] | None = None, timeout_ms: int = TIMEOUT_MS,
          log: Callable[[str], None] | None = None, max_k: int = 3) -> InductionRun:
    """Prove the named invariants (default: all) of `prog` for every depth: by the
    Houdini strengthening, and a target it does not close by k-induction (k <= max_k)
    relative to it (its 1-step counterexample to induction is kept for the report)."""
    t0 = time.perf_counter()
    tr = Transition(prog)
    ids = inv_ids or list(tr.inv_terms)
    aux, n_states = mine(prog, tr)
    targets = [Candidate(i, "named invariant", tr.inv_terms[i], True) for i in ids]
    status, live, rounds = houdini(tr, targets + aux, timeout_ms, log)
    proved = [c.name for c in live if c.target]
    run = InductionRun(status, proved, [c for c in live if not c.target], rounds=rounds,
                       states_mined=n_states)
    if status == "inductive":
        for i in ids:
            if i not in proved:
                run.cti[i] = cti(tr, live, i, timeout_ms)
                k = k_induction(tr, live, i, max_k, timeout_ms)
                if k is not None:
                    run.k_inductive[i] = k
                    run.proved.append(i)
    run.seconds = time.perf_counter() - t0
    return run


def cti(tr: Transition, strengthening: list[Candidate], inv_id: str,
        timeout_ms: int = TIMEOUT_MS) -> dict[str, Any]:
    """A counterexample to induction of `inv_id` relative to the strengthening: a state
    satisfying both from which one step violates the invariant."""
    from entersys.proofs.bmc import describe

    pre, post, t = tr.one_step()
    s = solver(timeout_ms)
    s.add(*[tr.at(c.term, pre) for c in strengthening])
    s.add(tr.invariant(inv_id, pre), t, z3.Not(tr.invariant(inv_id, post)))
    r = s.check()
    if r != z3.sat:
        return {"result": str(r)}
    m = s.model()
    before, after = describe(tr.prog, tr.values(m, pre)), describe(tr.prog, tr.values(m, post))
    return {"step": tr.label(m, pre), "state": before,
            "changes": {f: (before[f], after[f]) for f in after if after[f] != before[f]}}


def k_induction(tr: Transition, strengthening: list[Candidate], inv_id: str, max_k: int,
                timeout_ms: int = TIMEOUT_MS, log: Callable[[str], None] | None = None
                ) -> int | None:
    """The least k in 2..max_k for which `inv_id` is k-inductive relative to the
    (inductive, initially true) strengthening, with its base case (the invariant holds in
    every state reachable within k - 1 steps) checked from the initial state; None if
    none is (or the solver gave up). Linear integer arithmetic: exact for any depth.

    Step case: S and I at s_0 .. s_{k-1}, T between them, and not I at s_k, is unsat.
    Pairwise distinct states (simple paths) are required, as usual for completeness."""
    frames = [tr.frame(f"k{j}") for j in range(max_k + 1)]
    base = solver(timeout_ms)
    base.add(tr.is_init(frames[0]))
    for k in range(1, max_k + 1):
        # base case for depth k - 1
        base.push()
        base.add(z3.Not(tr.invariant(inv_id, frames[k - 1])))
        r = base.check()
        base.pop()
        if r != z3.unsat:
            return None
        base.add(tr.step(frames[k - 1], frames[k]))
        if k < 2:
            continue
        s = solver(timeout_ms)
        for j in range(k):
            s.add(*[tr.at(c.term, frames[j]) for c in strengthening])
            s.add(tr.invariant(inv_id, frames[j]), tr.step(frames[j], frames[j + 1]))
        for a in range(k + 1):
            for b in range(a + 1, k + 1):
                s.add(z3.Or(*[x != y for x, y in zip(frames[a].vars, frames[b].vars)]))
        s.add(*[tr.at(c.term, frames[k]) for c in strengthening])
        s.add(z3.Not(tr.invariant(inv_id, frames[k])))
        r = s.check()
        if log:
            log(f"{inv_id}: {k}-induction step case {r}")
        if r == z3.unsat:
            return k
        if r != z3.sat:
            return None
    return None

"""Liveness under weak fairness per actor over the explored state graph: a fair
non-progress cycle is a reachable cycle, inside the states where a property is still
pending (a G runnable, a returned syscall unserved, a stop-the-world or forEachP
unfinished), along which every actor (each M, sysmon, W, F, the GC, the clock) that is
enabled in every state of the cycle takes a step of its own (TLA+'s WF per actor; SPIN's
weak-fairness non-progress search).

The check runs on a graph explored without symmetry reduction (so that a G's or an M's
identity is the same in every state), as SCCs of the pending states (an iterative Tarjan
over the explorer's id-indexed edge lists): under weak fairness a strongly connected set
of pending states holds a fair cycle iff every actor enabled in all its states steps
inside it, so no recursion into sub-components is needed. A found cycle becomes a lasso:
the BFS prefix to the cycle, then the cycle, marked as repeating (ITF `loop`)."""

from __future__ import annotations

import math
import time
from array import array
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from entersys.model import status as st
from entersys.model.program import SYSMON, Program
from entersys.oracle.explore import ACTORS, Explorer, ExploreResult, State, itf
from entersys.results import CheckResult, Counterexample, TraceStep, Verdict

Pending = Callable[[State], bool]


class Cond:
    """A pending predicate as a formula over state fields: ("in", pos, values),
    ("not", c), ("and", cs...), ("or", cs...). Callable on a concrete state (compiled once
    to Python), and spelled in another language by `text` (entersys.oracle.spin_live
    writes the same formula into SPIN's never claim)."""

    def __init__(self, op: str, *args: Any) -> None:
        self.op, self.args = op, args
        self.fn: Pending = eval(  # noqa: S307 - our own generated expression
            "lambda s: " + self.text(lambda pos: f"s[{pos}]", "and", "or", "not "))

    def __call__(self, s: State) -> bool:
        return bool(self.fn(s))

    def text(self, field: Callable[[int], str], and_: str = "&&", or_: str = "||",
             not_: str = "!") -> str:
        if self.op == "in":
            pos, vals = self.args
            alts = [f"{field(pos)} == {v}" for v in sorted(vals)]
            return "(" + (f" {or_} ".join(alts) if alts else "0 == 1") + ")"
        if self.op == "not":
            return f"({not_}{self.args[0].text(field, and_, or_, not_)})"
        sep = f" {and_} " if self.op == "and" else f" {or_} "
        parts = [c.text(field, and_, or_, not_) for c in self.args]
        return "(" + (sep.join(parts) if parts else ("1 == 1" if self.op == "and"
                                                     else "0 == 1")) + ")"


def field_in(pos: int, *values: int) -> Cond:
    return Cond("in", pos, frozenset(values))

# Steps by which the environment starts a new round (a GC cycle's stop-the-world, a
# forEachP, a stack scan). A stall that lasts only while such rounds restart forever is
# not the runtime's fault: cycles may not use these steps, and they owe no fairness.
ENV_STEPS = ("stw.begin", "forEachP.begin", "gc.scan")
# Steps owed strong fairness: a G whose P has a preemption request is preempted at its
# next safe point in user code (Go 1.14+ asynchronous preemption, preempt.go
# preemptone/asyncPreempt) even if it keeps leaving user code (a loop of RawSyscalls).
STRONG_STEPS = ("gosched", "runSafePointFn.user", "runSafePointFn.sched")
# The global run queue is FIFO (proc.go globrunqget): a G that can be scheduled again and
# again is scheduled eventually, i.e. `schedule(g)` is owed strong fairness per G.
QUEUE_STEPS = ("schedule",)
# sysmon visits every P on each pass (proc.go retake's loop over allp): its per-P steps
# (every sysmon step instantiated per P, i.e. whose first parameter is "p": the old
# design's retake.preempt/sample/decide, the new design's retake.pick, retake.preempt26 and
# sysmon.timeout) are owed strong fairness per P, so that sampling one P cannot starve
# another's retake. Derived from the steps by sysmon_p_steps(); this is the old design's.
SYSMON_P_STEPS = ("retake.preempt", "retake.sample", "retake.decide")
ENV = "env"


def env_steps(prog: Program) -> tuple[str, ...]:
    """Names of the program's environment steps: ENV_STEPS and a design's version of one
    (the Go 1.26+ `stw.begin26` is stopTheWorldWithSema's start as `stw.begin` is)."""
    return tuple(n for n in prog.steps if n.rstrip("0123456789") in ENV_STEPS)


def sysmon_p_steps(prog: Program) -> tuple[str, ...]:
    """Names of the program's sysmon steps instantiated per P (first parameter "p"): the
    steps of retake's visit of one P, owed strong fairness per P."""
    return tuple(n for n, s in prog.steps.items()
                 if s.actor == SYSMON and s.params[:1] == ("p",))


def timed_steps(prog: Program) -> tuple[str, ...]:
    """Names of the program's sysmon steps with a `bit` parameter: bit = 1 is "10 ms have
    passed" (a syscall that lasted a sysmon period: the old design's retake.decide, the
    Go 1.26+ re-check after winning the scan bit; go1.25.5 / go1.27.3 proc.go retake).
    Time passes, so the bit = 1 instance is owed strong fairness of its own, one class per
    step and P (per P when the step has a `p` parameter: each P's syscall ages on its own;
    one class shared by all Ps would let sysmon answer "under 10 ms" forever for one P)."""
    return tuple(n for n, s in prog.steps.items() if s.actor == SYSMON and "bit" in s.params)


def prepare(ex: Explorer) -> None:
    """Number the fairness actors of `ex` before Explorer.run(record_actors=True): each M,
    sysmon, W, F, the GC (weak fairness), each M's preemption, each G's turn in the run
    queue, sysmon's visit of each P, its timed (10 ms) choices and the design's
    STRONGLY_FAIR steps (strong fairness), and the environment (none)."""
    prog = ex.prog
    ms, gs, ps = prog.cfg.ms, prog.cfg.gs, prog.cfg.ps
    per_p, timed, env = sysmon_p_steps(prog), timed_steps(prog), env_steps(prog)
    fair = tuple(n for n in getattr(prog.module, "STRONGLY_FAIR", ()) if n in prog.steps)
    base = [f"M{i}" for i in range(ms)] + list(ACTORS)
    # timed classes: (step, P) for a per-P step, (step, -) otherwise
    timed_cls = [(k, j) for k in timed
                 for j in (range(ps) if prog.steps[k].params[:1] == ("p",) else (None,))]
    ex.actor_names = (base + [f"M{i}.{k}" for i in range(ms) for k in ("gosched", "safepoint")]
                      + [f"G{j}.schedule" for j in range(gs)]
                      + [f"sysmon.P{j}.{k.split('.', 1)[1]}" for j in range(ps)
                         for k in per_p]
                      + [f"sysmon.{'' if j is None else f'P{j}.'}{k.split('.', 1)[1]}.10ms"
                         for k, j in timed_cls]
                      + [f"{k}.fair" for k in fair] + [ENV])
    timed_base = len(base) + 2 * ms + gs + len(per_p) * ps
    actor_of = {}
    for inst in prog.instances():
        name, kind = inst.step.name, inst.step.actor
        if name in env:
            actor_of[inst] = len(ex.actor_names) - 1
        elif name in timed and inst.args[inst.step.params.index("bit")] == 1:
            j = inst.args[0] - 1 if inst.step.params[:1] == ("p",) else None
            actor_of[inst] = timed_base + timed_cls.index((name, j))
        elif name in STRONG_STEPS:
            actor_of[inst] = len(base) + 2 * inst.m + (name != "gosched")
        elif name in QUEUE_STEPS:
            actor_of[inst] = len(base) + 2 * ms + inst.args[0] - 1
        elif name in per_p:
            actor_of[inst] = (len(base) + 2 * ms + gs + len(per_p) * (inst.args[0] - 1)
                              + per_p.index(name))
        elif name in fair:
            actor_of[inst] = timed_base + len(timed_cls) + fair.index(name)
        else:
            actor_of[inst] = inst.m if inst.m >= 0 else base.index(kind)
    ex.actor_of = actor_of


def _masks(ex: Explorer) -> tuple[int, int, int]:
    """(weakly fair actors, strongly fair actors, the environment) as bit masks."""
    n = len(ex.actor_names)
    ms = ex.prog.cfg.ms
    weak = (1 << (ms + len(ACTORS))) - 1
    strong = ((1 << (n - 1)) - 1) & ~weak
    return weak, strong, 1 << (n - 1)


@dataclass(frozen=True)
class LivenessProperty:
    """`pending(state)` holds while the property waits; it must not stay pending forever
    on a fair path. `per` is "g" (or "p") for one check per G (per P), whose 0-based
    number is passed as the second argument of `make`; "" for one check."""

    id: str
    title: str
    meaning: str   # what a fair violation means about the runtime, in one sentence
    per: str
    make: Callable[[Explorer, int], Cond | None]


def _runnable(ex: Explorer, j: int) -> Cond:
    return field_in(ex.L.gname[j]["status"], st._Grunnable, st._Gscanrunnable)


def _exiting(ex: Explorer, j: int) -> Cond:
    prog, L = ex.prog, ex.L
    labels = {prog.labels[x] for r in ("exitsyscall", "exitsyscall.slow")
              for x in prog.routines[r][0]}
    pairs = [(L.mname[i]["pc"], L.mname[i]["curg"]) for i in range(L.cfg.ms)]
    return Cond("or", *[Cond("and", field_in(pc, *labels), field_in(g, j + 1))
                        for pc, g in pairs])


def _stw(ex: Explorer, _: int) -> Cond | None:
    if not ex.prog.cfg.stw:
        return None
    gcw, wpc = ex.L.index["gcwaiting"], ex.L.index["w.pc"]
    stopped = ex.prog.labels["w.stopped"]
    return Cond("and", field_in(gcw, 1), Cond("not", field_in(wpc, stopped)))


def _foreachp(ex: Explorer, _: int) -> Cond | None:
    if not ex.prog.cfg.foreachp:
        return None
    fpc = ex.L.index["f.pc"]
    return field_in(fpc, ex.prog.labels["f.scan"], ex.prog.labels["f.wait"])


def _psyscall(ex: Explorer, j: int) -> Cond | None:
    if not ex.prog.cfg.sysmon:
        return None
    pos = ex.L.pname[j]["status"]
    if ex.prog.design != "scanbit":
        return field_in(pos, st._Psyscall)
    # Go 1.26+: no _Psyscall; the P stays _Prunning, wired to an M whose G is in _Gsyscall
    # (setBlockOnExitSyscall's test, go1.27.3 proc.go), spelled out over the Ms and Gs
    L = ex.L
    alts = [Cond("and", field_in(L.pname[j]["m"], i + 1), field_in(L.mname[i]["curg"], k + 1),
                 field_in(L.gname[k]["status"], st._Gsyscall, st._Gscansyscall))
            for i in range(L.cfg.ms) for k in range(L.cfg.gs)]
    return Cond("and", field_in(pos, st._Prunning), Cond("or", *alts))


def _m_exhausted(ex: Explorer) -> Cond:
    """A P on the idle list, a G queued, and no M parked: Go would create an M (newm in
    startm); the model's Ms are fixed, so no liveness claim is made in such a state."""
    L, idle = ex.L, ex.prog.labels["idle"]
    onidle = [L.pname[j]["onidle"] for j in range(L.cfg.ps)]
    qs = [L.gname[j]["q"] for j in range(L.cfg.gs)]
    pcs = [L.mname[i]["pc"] for i in range(L.cfg.ms)]
    return Cond("and", Cond("or", *[Cond("not", field_in(k, 0)) for k in onidle]),
                Cond("or", *[Cond("not", field_in(k, 0)) for k in qs]),
                Cond("not", Cond("or", *[field_in(k, idle) for k in pcs])))


PROPERTIES: list[LivenessProperty] = [
    LivenessProperty("LIVE-RUN", "every runnable G eventually runs",
                     "a runnable G is starved forever although every thread and sysmon "
                     "keep being scheduled", "g", _runnable),
    LivenessProperty("LIVE-EXIT", "every G whose syscall returned eventually runs",
                     "a G whose system call has returned never gets back to user code",
                     "g", _exiting),
    LivenessProperty("LIVE-STW", "a pending stop-the-world eventually completes",
                     "stopTheWorld waits forever for a P", "", _stw),
    LivenessProperty("LIVE-FOREACHP", "forEachP eventually finishes",
                     "forEachP waits forever for a P to run its fn", "", _foreachp),
    LivenessProperty("LIVE-RETAKE", "a P left in _Psyscall (Go 1.26+: _Prunning under a "
                     "G in _Gsyscall) is eventually retaken or reacquired",
                     "a P stays in _Psyscall forever while its M blocks: "
                     "sysmon never takes it back (it can never deep-sleep, and the P's "
                     "work waits on the blocked call)", "p", _psyscall),
]


@dataclass
class Lasso:
    property: LivenessProperty
    g: int | None              # the G or P it is about (per-G/P properties), 0-based
    prefix: list[int]          # state ids from the initial state to the cycle's entry
    cycle: list[int]           # state ids of the cycle, starting and ending at its entry
    actors: list[str]          # actors that step inside the cycle


def sccs(edges: list[list[int]], mask: bytearray, acts: list[bytes] | None = None,
         skip: int = -1) -> list[list[int]]:
    """Non-trivial strongly connected components of the subgraph induced by the states
    with mask[k] set (self-loops, and edges of actor `skip`, ignored): iterative Tarjan,
    O(states + edges)."""
    n = len(edges)
    index = array("i", [-1]) * n
    low = array("i", [0]) * n
    onstack = bytearray(n)
    stack: list[int] = []
    out: list[list[int]] = []
    counter = 0
    for root in range(n):
        if not mask[root] or index[root] != -1:
            continue
        work = [(root, 0)]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        onstack[root] = 1
        while work:
            v, pi = work[-1]
            ev = edges[v]
            av = acts[v] if acts is not None else None
            descended = False
            while pi < len(ev):
                w = ev[pi]
                pi += 1
                if w == v or not mask[w] or (av is not None and av[pi - 1] == skip):
                    continue
                if index[w] == -1:
                    work[-1] = (v, pi)
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    onstack[w] = 1
                    work.append((w, 0))
                    descended = True
                    break
                if onstack[w] and index[w] < low[v]:
                    low[v] = index[w]
            if descended:
                continue
            work.pop()
            if work:
                u = work[-1][0]
                if low[v] < low[u]:
                    low[u] = low[v]
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    onstack[w] = 0
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(comp)
    return out


def _enabled(edges: list[int], acts: bytes, k: int) -> int:
    """Bit mask of the actors with a non-stuttering step out of state k."""
    m = 0
    for w, a in zip(edges, acts):
        if w != k:
            m |= 1 << a
    return m


def fair_components(res: ExploreResult, comp: list[int], weak: int, strong: int,
                    env: int) -> list[tuple[list[int], int]]:
    """The fair parts of one strongly connected set of pending states, with the actors
    stepping inside each. Weak fairness: an actor enabled in every state must step inside
    (else no cycle of the set is fair). Strong fairness: an actor enabled anywhere must
    step inside; if it does not, the states where it is enabled are dropped and the rest
    is split again (Emerson-Lei)."""
    assert res.edges is not None and res.edge_actors is not None
    edges, acts = res.edges, res.edge_actors
    env_id = env.bit_length() - 1
    out: list[tuple[list[int], int]] = []
    todo = [comp]
    while todo:
        c = todo.pop()
        inside = set(c)
        stepped, always, anywhere = 0, -1, 0
        for k in c:
            en = _enabled(edges[k], acts[k], k)
            always &= en
            anywhere |= en
            for w, x in zip(edges[k], acts[k]):
                if w != k and w in inside and x != env_id:
                    stepped |= 1 << x
        if always & weak & ~stepped:
            continue
        owed = anywhere & strong & ~stepped
        if not owed:
            out.append((c, stepped))
            continue
        mask = bytearray(len(edges))
        for k in c:
            if not _enabled(edges[k], acts[k], k) & owed:
                mask[k] = 1
        todo.extend(sccs(edges, mask, acts, env_id))
    return out


def _path_within(res: ExploreResult, inside: set[int], src: int,
                 goal: Callable[[int, int, int], bool], skip: int) -> list[int]:
    """Shortest path inside `inside` from src whose last edge (u, w, actor) meets goal;
    the list of state ids after src."""
    assert res.edges is not None and res.edge_actors is not None
    prev: dict[int, int] = {src: -1}
    dq = deque([src])
    while dq:
        u = dq.popleft()
        for w, a in zip(res.edges[u], res.edge_actors[u]):
            if w == u or w not in inside or a == skip:
                continue
            if goal(u, w, a):
                path = [w]
                x = u
                while x != src:
                    path.append(x)
                    x = prev[x]
                return path[::-1]
            if w not in prev:
                prev[w] = u
                dq.append(w)
    raise RuntimeError("no path inside a strongly connected component")  # pragma: no cover


def _stuck(res: ExploreResult, mask: bytearray, skip: int) -> int | None:
    """The first pending state in which no actor but the environment can step: the
    property stays pending forever (a permanent stall, unless a new GC round ends it)."""
    assert res.edges is not None and res.edge_actors is not None
    for k, (e, a) in enumerate(zip(res.edges, res.edge_actors)):
        if mask[k] and not any(w != k and x != skip for w, x in zip(e, a)):
            return k
    return None


def _prefix(res: ExploreResult, k: int) -> list[int]:
    out = []
    while k >= 0:
        out.append(k)
        k = res.parent[k]
    return out[::-1]


def lasso(res: ExploreResult, comp: list[int], stepped: int,
          skip: int) -> tuple[list[int], list[int]]:
    """The shortest prefix to the component's earliest-found state, and a cycle through it
    that takes a step of every actor that steps inside the component."""
    entry = min(comp)  # ids are BFS order: the least id is nearest to the initial state
    prefix = _prefix(res, entry)
    inside = set(comp)
    cycle = [entry]
    cur = entry
    todo = [a for a in range(stepped.bit_length()) if stepped >> a & 1]
    for a in todo:
        def by(u: int, w: int, x: int, a: int = a) -> bool:
            return x == a
        seg = _path_within(res, inside, cur, by, skip)
        cycle.extend(seg)
        cur = cycle[-1]
    if cur != entry or len(cycle) == 1:
        cycle.extend(_path_within(res, inside, cur, lambda u, w, x: w == entry, skip))
    return prefix, cycle


def find_lassos(ex: Explorer, res: ExploreResult,
                properties: list[LivenessProperty] | None = None) -> list[tuple[
                    LivenessProperty, Lasso | None]]:
    """For each property that applies to the program: its first fair lasso, or None.
    A graph of the native explorer (entersys.oracle.native_liveness.NativeGraph, also
    after dataclasses.replace of its edge_actors) is searched in C, the same way."""
    search = getattr(res, "search_lassos", None)
    if search is not None:
        return search(ex, properties)  # type: ignore[no-any-return]
    if res.edges is None or res.edge_actors is None:
        raise ValueError("liveness needs an exploration run with record_actors=True")
    if not res.complete:
        raise ValueError("liveness needs a complete exploration")
    out: list[tuple[LivenessProperty, Lasso | None]] = []
    weak, strong, env = _masks(ex)
    exhausted = _m_exhausted(ex)
    for prop in properties or PROPERTIES:
        targets = {"g": range(ex.L.cfg.gs), "p": range(ex.L.cfg.ps)}.get(prop.per, [0])
        found: Lasso | None = None
        applies = False
        for j in targets:
            pending = prop.make(ex, j)
            if pending is None:
                continue
            applies = True
            mask = bytearray(pending(s) and not exhausted(s) for s in res.order)
            stuck = _stuck(res, mask, env.bit_length() - 1)
            if stuck is not None:
                found = Lasso(prop, j if prop.per else None, _prefix(res, stuck), [stuck], [])
                break
            for comp in sccs(res.edges, mask, res.edge_actors, env.bit_length() - 1):
                fair = fair_components(res, comp, weak, strong, env)
                if not fair:
                    continue
                part, stepped = fair[0]
                prefix, cycle = lasso(res, part, stepped, env.bit_length() - 1)
                names = [ex.actor_names[a] for a in range(len(ex.actor_names))
                         if stepped >> a & 1]
                found = Lasso(prop, j if prop.per else None, prefix, cycle, names)
                break
            if found:
                break
        if applies:
            out.append((prop, found))
    return out


def lasso_counterexample(ex: Explorer, res: ExploreResult, la: Lasso, replay: str,
                         rules: dict[str, str]) -> Counterexample:
    """The lasso as a numbered trace: prefix steps, then the cycle's steps; values name
    the step at which the cycle starts, and the ITF trace carries `loop`."""
    ids = la.prefix + la.cycle[1:]
    path: list[tuple[str, State]] = [("", res.order[ids[0]])]
    for a, b in zip(ids, ids[1:]):
        sa, sb = res.order[a], res.order[b]
        lab = next(inst.label for inst, n in ex.successors(sa) if ex.sym.canon(n) == sb)
        path.append((lab, sb))
    steps: list[TraceStep] = []
    prev = ex.describe(path[0][1])
    for k, (lab, s) in enumerate(path[1:], 1):
        cur = ex.describe(s)
        changes = {f: (prev[f], cur[f]) for f in cur if cur[f] != prev[f]}
        actor, _, stp = lab.partition(":")
        steps.append(TraceStep(k, actor, stp, rules.get(stp.split("(")[0], ""), changes, cur))
        prev = cur
    loop = len(la.prefix)  # the state index (0 = initial) at which the cycle starts
    who = f" ({la.property.per.upper()}{la.g})" if la.g is not None else ""
    doc: dict[str, Any] = itf(path, ex)
    doc["loop"] = loop - 1
    head = (f"{la.property.id} (liveness) violated: {la.property.title}, under fairness"
            f"{who}; {la.property.meaning}.")
    if len(la.cycle) == 1:
        summary = (f"{head} After step {len(steps)} no actor can step (only a new GC or "
                   "stop-the-world round could): the last state repeats forever, a "
                   "permanent stall")
        values: dict[str, Any] = {"cycle": f"the state after step {len(steps)} repeats "
                                           "forever", "loop_start_state": loop - 1}
    else:
        summary = (f"{head} Steps 1-{loop - 1} lead to the cycle; steps {loop}-{len(steps)} "
                   f"repeat forever (every continuously enabled actor steps in it: "
                   f"{', '.join(la.actors)})")
        values = {"cycle": f"steps {loop}-{len(steps)} repeat forever",
                  "loop_start_state": loop - 1}
    return Counterexample(summary=summary, values=values, trace=steps, replay=replay,
                          itf=doc)


# A symmetric exploration of this many states (times the M, P and G permutations it
# folded) is checked for liveness automatically; larger ones only when asked for.
AUTO_LIMIT = 400_000


def estimated_states(symmetric_states: int, ms: int, ps: int, gs: int) -> int:
    """States of the same configuration without symmetry reduction (an upper bound)."""
    return symmetric_states * math.factorial(ms) * math.factorial(ps) * math.factorial(gs)


@dataclass
class LivenessRun:
    explorer: Explorer
    run: ExploreResult
    lassos: list[tuple[LivenessProperty, Lasso | None]]
    seconds: float


def check(prog: Program, max_states: int = 3_000_000) -> LivenessRun:
    """Explore `prog` without symmetry, recording each edge's actor, and look for a fair
    lasso of every property. Raises ValueError if the exploration is cut off or stops
    at a safety violation (liveness is judged on complete graphs only)."""
    t0 = time.perf_counter()
    ex = Explorer(prog, symmetry=False)
    prepare(ex)
    res = ex.run(max_states=max_states, progress=False, record_actors=True)
    if res.violations:
        raise ValueError(f"safety violation {res.violations[0].property} first")
    return LivenessRun(ex, res, find_lassos(ex, res), time.perf_counter() - t0)


def records(lr: LivenessRun, group: str, tag: str, title: str, replay: str,
            expected: dict[str, Verdict] | None = None) -> list[CheckResult]:
    """One record per property: holds (no fair lasso) or refuted (with the lasso).
    `expected` overrides the expected verdict per property id (a finding about Go)."""
    rules = {name: s.rule for name, s in lr.explorer.prog.steps.items()}
    out = []
    for prop, la in lr.lassos:
        cex = None if la is None else lasso_counterexample(
            lr.explorer, lr.run, la, replay, rules)
        out.append(CheckResult(
            f"{group}.{tag}.{prop.id}", group, f"{title}: {prop.title} (weak fairness per "
            "actor)", "liveness", Verdict.HOLDS if la is None else Verdict.REFUTED,
            (expected or {}).get(prop.id, Verdict.HOLDS), lr.seconds, cex,
            {"states": lr.run.states, "transitions": lr.run.transitions,
             "symmetry": False, "fair_actors": lr.explorer.actor_names[:-1],
             "about": None if la is None else (f"{prop.per.upper()}{la.g}"
                                               if la.g is not None else None)}))
    return out


# ==== bounded stalls: what only sysmon's timer ends ===========================================
#
# The fairness above lets sysmon's clock fire: its per-P steps (SYSMON_P_STEPS: a pass
# that finds forcePreemptNS or the 10 ms sysretake delay elapsed, or samples a tick) are
# strongly fair, and its sleep ends on its timeout (sysmon.wake while sysmonwait is still
# set: nobody woke it). A property that holds only because of that clock is a stall Go
# ends by sysmon's timer, by design: a latency finding, not a deadlock. It is found by
# searching again with the timer's edges taken from sysmon and given to the environment
# (usable by no cycle, owed no fairness): a fair lasso then is a stall that lasts as long
# as the timer does not fire, and the fewest timer firings on a path from the lasso's
# cycle to the property's fulfilment is the number of sysmon periods it lasts at least.

TIMER_STEPS = (*SYSMON_P_STEPS, "sysmon.wake (timeout)")


@dataclass
class Stall:
    """A bounded stall: the lasso that exists without sysmon's timer, and the fewest
    sysmon periods (timer firings) after which the pending property can be fulfilled."""

    lasso: Lasso
    periods: int


def _timer_edges(ex: Explorer, res: ExploreResult) -> Any:
    """res.edge_actors with every edge of sysmon's timer given to the environment: a list
    of bytes per state, or, for a native graph (native_liveness.NativeGraph), its lazy
    edge table with the new actors (computed with numpy over the CSR)."""
    assert res.edges is not None and res.edge_actors is not None
    env_id = len(ex.actor_names) - 1
    # sysmon's per-P visits and a design's "10 ms passed" classes (timed_steps) are the
    # clock's edges, in both designs
    timer_ids = {k for k, n in enumerate(ex.actor_names)
                 if n.startswith("sysmon.P") or n.endswith(".10ms")}
    sysmon_id = ex.actor_names.index("sysmon") if "sysmon" in ex.actor_names else -1
    ypc, wait = ex.L.index["y.pc"], ex.L.index["sysmonwait"]
    asleep = ex.prog.labels["y.sleep"]
    if hasattr(res, "edge_acts"):
        import numpy as np
        from entersys.oracle import native_liveness as nl

        acts = res.edge_acts()
        off = res.edges.off  # type: ignore[attr-defined]
        (timeout,) = nl.pending_mask(ex, [lambda s: s[ypc] == asleep and s[wait] == 1])  # type: ignore[arg-type]
        src = np.repeat(np.arange(len(off) - 1), np.diff(off))
        hit = np.isin(acts, sorted(timer_ids)) | ((acts == sysmon_id) & (timeout[src] == 1))
        new = acts.copy()
        new[hit] = env_id
        return nl._Edges(off, res.edges.dst, new)  # type: ignore[attr-defined]
    out: list[bytes] = []
    for k, acts in enumerate(res.edge_actors):
        s = res.order[k]
        timeout = s[ypc] == asleep and s[wait] == 1
        if not timer_ids.intersection(acts) and not (timeout and sysmon_id in acts):
            out.append(acts)
            continue
        out.append(bytes(env_id if a in timer_ids or (timeout and a == sysmon_id) else a
                         for a in acts))
    return out


def _periods(res: ExploreResult, timer: list[bytes], env_id: int, start: list[int],
             pending: Pending) -> int | None:
    """Fewest timer edges on a path from any of `start` to a state where `pending` is
    false (0-1 BFS over the graph; the environment's own rounds are not used)."""
    assert res.edges is not None and res.edge_actors is not None
    dist = {k: 0 for k in start}
    dq = deque(start)
    while dq:
        u = dq.popleft()
        if not pending(res.order[u]):
            return dist[u]
        for w, a, t in zip(res.edges[u], res.edge_actors[u], timer[u]):
            if a == env_id:
                continue
            cost = 1 if t == env_id else 0
            d = dist[u] + cost
            if d < dist.get(w, 1 << 30):
                dist[w] = d
                (dq.appendleft if cost == 0 else dq.append)(w)
    return None


def bounded_stalls(lr: LivenessRun) -> list[tuple[LivenessProperty, Stall]]:
    """For each property that holds under full fairness, the stall (if any) that only
    sysmon's timer ends: a fair lasso without the timer, and its number of periods."""
    ex, res = lr.explorer, lr.run
    if not ex.prog.cfg.sysmon or res.edge_actors is None:
        return []
    held = [p for p, la in lr.lassos if la is None]
    if not held:
        return []

    timer = _timer_edges(ex, res)
    env_id = len(ex.actor_names) - 1
    untimed = replace(res, edge_actors=timer)
    out = []
    for prop, la in find_lassos(ex, untimed, held):
        if la is None:
            continue
        pending = prop.make(ex, la.g if la.g is not None else 0)
        assert pending is not None
        k = _periods(res, timer, env_id, sorted(set(la.cycle)), pending)
        if k is not None and k > 0:
            out.append((prop, Stall(la, k)))
    return out


def stall_records(lr: LivenessRun, stalls: list[tuple[LivenessProperty, Stall]], group: str,
                  tag: str, title: str, replay: str) -> list[CheckResult]:
    """One `latency` record per bounded stall: verdict holds, expected holds (the property
    is fulfilled: Go ends the stall by sysmon's timer, by design), and a `latency` detail
    with the number of sysmon periods, the lasso without the timer (step labels, the loop
    start) and what it means. A finding Go has by design is an expected verdict: it never
    changes the exit code."""

    ex = lr.explorer
    untimed = replace(lr.run, edge_actors=_timer_edges(ex, lr.run))
    out = []
    for prop, stall in stalls:
        la = stall.lasso
        cex = lasso_counterexample(ex, untimed, la, replay, {})
        labels = [f"{s.actor}:{s.step}" for s in cex.trace]
        about = f" ({prop.per.upper()}{la.g})" if la.g is not None else ""
        k = stall.periods
        latency = f"bounded stall: ends after {k} sysmon period{'s' if k != 1 else ''}"
        loop = len(la.prefix)
        if len(la.cycle) == 1:
            how = (f"after step {len(labels)} no actor but sysmon's timer can step; the "
                   "state repeats until the timer fires")
        else:
            how = (f"steps {loop}-{len(labels)} repeat, every other actor stepping, until "
                   "the timer fires")
        out.append(CheckResult(
            f"{group}.{tag}.{prop.id}.latency", group,
            f"{title}: {prop.title}{about} only by sysmon's timer: {latency}", "latency",
            Verdict.HOLDS, Verdict.HOLDS, lr.seconds, None,
            {"latency": latency, "sysmon_periods": k, "property": prop.id,
             "about": about.strip(" ()") or None,
             "finding": f"without sysmon's timer, {prop.meaning}; Go ends it by the timer "
                        f"(sysmon's {', '.join(TIMER_STEPS)}), at least {k} period(s) "
                        "of 20 us-10 ms later",
             "lasso": how, "trace": labels, "loop_start_state": loop - 1,
             "timer_steps": list(TIMER_STEPS), "replay": replay}))
    return out

"""Exhaustive breadth-first exploration of the protocol model for a small configuration:
symmetry reduction over M/P/G identities, every invariant on every state, deadlock
detection, and progress checks on the state graph.

Violations come back as the shortest trace (BFS order) in the common counterexample record,
with the fields each step changed; `itf()` renders the same trace as ITF JSON.
"""

from __future__ import annotations

import itertools
import time
import weakref
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from entersys.model import status as st
from entersys.model.invariants import Invariant
from entersys.model.ops import CONCRETE
from entersys.model.program import GC, PC_FIELD, SYSMON, THROWS, F, Instance, M, Program, W
from entersys.model.state import Layout, View, initial_state
from entersys.oracle.compiled import CompiledProgram
from entersys.results import Counterexample, TraceStep

State = tuple[int, ...]
_PRODUCTIVE = (M, W, F)
ACTORS = (SYSMON, W, F, GC)  # the actors other than the Ms, in a fixed order


def normalize_ticks(layout: Layout, s: list[int]) -> None:
    """Ticks are only ever copied, incremented and compared for equality, and every copy
    is <= its source, so (value == the P's current tick) is all that matters: rewrite each
    P's tick to 1 and every copy to 1 (equal) or 0 (older). Keeps the state space finite."""
    _normalizer(layout)(s)


_NORMALIZERS: weakref.WeakKeyDictionary[Layout, Any] = weakref.WeakKeyDictionary()


def _normalizer(layout: Layout) -> Any:
    """normalize_ticks specialised to one layout (generated once: it runs on every edge)."""
    if layout in _NORMALIZERS:
        return _NORMALIZERS[layout]
    cfg = layout.cfg
    lines = ["def norm(s):"]
    for j in range(cfg.ps):
        n = layout.pname[j]
        lines.append(f"    s[{n['pd_tick']}] = 1 if s[{n['pd_tick']}] == s[{n['syscalltick']}] "
                     "else 0")
        lines.append(f"    s[{n['pd_sched']}] = 1 if s[{n['pd_sched']}] == s[{n['schedtick']}] "
                     "else 0")
    ticks = "(" + ", ".join(str(layout.pname[j]["syscalltick"]) for j in range(cfg.ps)) + ",)"
    for i in range(cfg.ms):
        n = layout.mname[i]
        lines.append(f"    r = s[{n['oldp']}] or s[{n['pp']}]")
        lines.append(f"    s[{n['syscalltick']}] = (1 if s[{n['syscalltick']}] == "
                     f"s[{ticks}[r - 1]] else 0) if r else 0")
    for j in range(cfg.ps):
        n = layout.pname[j]
        lines.append(f"    s[{n['syscalltick']}] = 1")
        lines.append(f"    s[{n['schedtick']}] = 1")
    env: dict[str, Any] = {}
    exec("\n".join(lines), env)  # noqa: S102 - generated from the layout
    _NORMALIZERS[layout] = env["norm"]
    return env["norm"]


class Symmetry:
    """Canonical representative under all permutations of M, P and G identities.

    Entities are first ordered by a signature that no relabelling changes (their own
    fields, and only whether each reference is nil); the representative is the least
    relabelled state among the permutations that put the signatures in order, so the full
    minimum over every permutation is only taken among entities that tie."""

    def __init__(self, layout: Layout, enabled: bool = True) -> None:
        cfg = layout.cfg
        self.enabled = enabled
        self.trivial = cfg.ms == cfg.ps == cfg.gs == 1
        self.memo: dict[State, State] = {}
        self.funcs: dict[tuple[tuple[int, ...], ...], Any] = {}
        if not enabled:
            return
        for pm in itertools.permutations(range(cfg.ms)):
            for pp in itertools.permutations(range(cfg.ps)):
                for pg in itertools.permutations(range(cfg.gs)):
                    self.funcs[(pm, pp, pg)] = self._compile(layout, pm, pp, pg)
        self.sig = self._signatures(layout)

    @staticmethod
    def _signatures(layout: Layout) -> Any:
        """Generated: per M, P and G a tuple that no relabelling changes: its own fields
        with references reduced to nil-or-not, refined by the own tuples of the entities it
        references (so that fewer entities tie and fewer permutations are tried)."""
        cfg = layout.cfg

        def own(table: list[dict[str, int]], i: int) -> str:
            items = []
            for pos in table[i].values():
                kind = layout.kinds[pos]
                if kind in ("pref", "mref", "gref"):
                    items.append(f"s[{pos}] == 0")
                elif kind == "qref":
                    items.append(f"s[{pos}] == 0, s[{pos}] == {cfg.global_q}")
                else:
                    items.append(f"s[{pos}]")
            return "(" + ", ".join(items) + ",)"

        lines = ["def sig(s):"]
        lines.append("    P = (None, " + ", ".join(own(layout.pname, j) for j in range(cfg.ps))
                     + ",)")
        lines.append("    G = (None, " + ", ".join(own(layout.gname, j) for j in range(cfg.gs))
                     + ",)")
        lines.append("    M = (None, " + ", ".join(own(layout.mname, i) for i in range(cfg.ms))
                     + ",)")
        ms = [f"(M[{i + 1}], P[s[{layout.mname[i]['p']}]], P[s[{layout.mname[i]['oldp']}]], "
              f"G[s[{layout.mname[i]['curg']}]])" for i in range(cfg.ms)]
        gs = [f"(G[{j + 1}], M[s[{layout.gname[j]['m']}]])" for j in range(cfg.gs)]
        ps = [f"(P[{j + 1}], M[s[{layout.pname[j]['m']}]])" for j in range(cfg.ps)]
        lines.append("    return ((" + ", ".join(ms) + ",), (" + ", ".join(ps) + ",), ("
                     + ", ".join(gs) + ",))")
        env: dict[str, Any] = {}
        exec("\n".join(lines), env)  # noqa: S102 - generated from the layout
        return env["sig"]

    @staticmethod
    def _orders(sigs: tuple[Any, ...]) -> list[tuple[int, ...]]:
        """Every permutation perm (old index -> new index) that sorts sigs."""
        n = len(sigs)
        if n == 1:
            return [(0,)]
        if n == 2:
            a, b = sigs
            return [(0, 1)] if a < b else [(1, 0)] if b < a else [(0, 1), (1, 0)]
        order = sorted(range(n), key=sigs.__getitem__)
        groups: list[list[int]] = []
        for i in order:
            if groups and sigs[groups[-1][0]] == sigs[i]:
                groups[-1].append(i)
            else:
                groups.append([i])
        out = []
        for choice in itertools.product(*[itertools.permutations(g) for g in groups]):
            flat = [i for g in choice for i in g]
            perm = [0] * len(sigs)
            for new, old in enumerate(flat):
                perm[old] = new
            out.append(tuple(perm))
        return out

    @staticmethod
    def _compile(layout: Layout, pm: tuple[int, ...], pp: tuple[int, ...],
                 pg: tuple[int, ...]) -> Any:
        cfg = layout.cfg
        tables = {
            "pref": (0, *[pp[i] + 1 for i in range(cfg.ps)]),
            "mref": (0, *[pm[i] + 1 for i in range(cfg.ms)]),
            "gref": (0, *[pg[i] + 1 for i in range(cfg.gs)]),
            "qref": (0, *[pp[i] + 1 for i in range(cfg.ps)], cfg.ps + 1),
        }
        src_of = [0] * len(layout)
        for name, pos in layout.index.items():
            ent, _, f = name.partition(".")
            if ent[0] in "mpg" and ent[1:].isdigit() and f:
                k, i = ent[0], int(ent[1:])
                perm = {"m": pm, "p": pp, "g": pg}[k]
                dest = layout.index[f"{k}{perm[i]}.{f}"]
                src_of[dest] = pos
            else:
                src_of[pos] = pos
        parts = []
        for dest in range(len(layout)):
            src = src_of[dest]
            kind = layout.kinds[src]
            if kind in tables:
                parts.append(f"T_{kind}[s[{src}]]")
            else:
                parts.append(f"s[{src}]")
        env = {f"T_{k}": v for k, v in tables.items()}
        return eval("lambda s: (" + ", ".join(parts) + ",)", env)  # noqa: S307 - generated

    def canon(self, s: State) -> State:
        if not self.enabled or self.trivial:
            return s
        hit = self.memo.get(s)
        if hit is not None:
            return hit
        if len(self.memo) > 2_000_000:
            self.memo.clear()
        out = self.memo[s] = self._canon(s)
        return out

    def _canon(self, s: State) -> State:
        ms, ps, gs = self.sig(s)
        om, op, og = self._orders(ms), self._orders(ps), self._orders(gs)
        if len(om) == 1 and len(op) == 1 and len(og) == 1:
            return self.funcs[(om[0], op[0], og[0])](s)
        return min(self.funcs[(a, b, c)](s) for a in om for b in op for c in og)


@dataclass
class Violation:
    property: str
    title: str
    state: State
    kind: str = "invariant"   # invariant, deadlock, progress


@dataclass
class ExploreResult:
    states: int = 0
    transitions: int = 0
    depth: int = 0
    seconds: float = 0.0
    violations: list[Violation] = field(default_factory=list)
    complete: bool = True
    ids: dict[State, int] = field(default_factory=dict)
    order: list[State] = field(default_factory=list)
    parent: list[int] = field(default_factory=list)
    via: list[Any] = field(default_factory=list)
    # with Explorer.run(record_actors=True): per state id, the successor ids and, in
    # the same order, the actor number of each edge (Explorer.actor_names)
    edges: list[list[int]] | None = None
    edge_actors: list[bytes] | None = None

    @property
    def parents(self) -> dict[State, tuple[State | None, Any]]:
        """state -> (parent state, instance that led to it); built on demand."""
        return {s: (self.order[p] if p >= 0 else None, self.via[k])
                for k, (s, p) in enumerate(zip(self.order, self.parent))}

    @property
    def states_per_second(self) -> float:
        return self.states / self.seconds if self.seconds else 0.0


class Explorer:
    def __init__(self, prog: Program, symmetry: bool = True,
                 invariants: list[Invariant] | None = None, engine: str = "compiled") -> None:
        self.prog = prog
        self.L = prog.layout
        self.sym = Symmetry(self.L, symmetry)
        self.invariants = invariants if invariants is not None else prog.invariants
        if engine not in ("compiled", "interpreted"):
            raise ValueError(f"unknown engine {engine!r}")
        self.compiled = CompiledProgram(prog, self.invariants) if engine == "compiled" else None
        self._norm = _normalizer(self.L)
        # actors for fairness: one per M, then sysmon, W, F, GC (numbers in edge_actors;
        # entersys.oracle.liveness.prepare refines them)
        self.actor_names = [f"M{i}" for i in range(prog.cfg.ms)] + list(ACTORS)
        ms = prog.cfg.ms
        self.actor_of = {i: (i.m if i.step.actor == M else ms + ACTORS.index(i.step.actor))
                         for i in prog.instances()}
        self.on_edge: Any = None  # callback(state, instance, successor before symmetry)
        # candidate instances by (pc field position, label value); GC steps always
        self.by_pc: dict[tuple[int, int], list[Instance]] = {}
        self.free: list[Instance] = []
        self.pc_fields: list[int] = []
        for inst in prog.instances():
            pcf = prog.pc_field(inst)
            if pcf is None:
                self.free.append(inst)
                continue
            key = (pcf, prog.labels[prog.at_label(inst.step)])
            self.by_pc.setdefault(key, []).append(inst)
            if pcf not in self.pc_fields:
                self.pc_fields.append(pcf)
        fns = self.compiled.fns if self.compiled else {}

        def entry(i: Instance) -> tuple[Instance, Any, bool]:
            return (i, fns[i], i.step.actor in _PRODUCTIVE)

        self._free_fns = [entry(i) for i in self.free] if fns else []
        self._pc_fns: list[tuple[int, dict[int, list[tuple[Instance, Any, bool]]]]] = []
        if fns:
            for pcf in self.pc_fields:
                table: dict[int, list[tuple[Instance, Any, bool]]] = {}
                for (f, lab), insts in self.by_pc.items():
                    if f == pcf:
                        table[lab] = [entry(i) for i in insts]
                self._pc_fns.append((pcf, table))

    def initial(self) -> State:
        s = list(initial_state(self.L, self.prog.labels))
        normalize_ticks(self.L, s)
        return self.sym.canon(tuple(s))

    def _expand(self, s: State) -> tuple[list[tuple[Instance, State]], bool]:
        """Successors through the compiled engine, and whether an M, W or F step is among
        them (the hot loop of the explorer)."""
        out: list[tuple[Instance, State]] = []
        app, norm, productive = out.append, self._norm, False
        for inst, fn, prod in self._free_fns:
            n = fn(s)
            if n is not None:
                norm(n)
                app((inst, tuple(n)))
                productive = productive or prod
        for pcf, table in self._pc_fns:
            for inst, fn, prod in table.get(s[pcf], ()):
                n = fn(s)
                if n is not None:
                    norm(n)
                    app((inst, tuple(n)))
                    productive = productive or prod
        return out, productive

    def successors(self, s: State) -> list[tuple[Instance, State]]:
        if self.compiled is not None:
            return self._expand(s)[0]
        out = []
        cands = list(self.free)
        for pcf in self.pc_fields:
            cands.extend(self.by_pc.get((pcf, s[pcf]), ()))
        view = View(self.L, CONCRETE, s.__getitem__)
        for inst in cands:
            guard, writes = self.prog.apply(inst, view, want_effect=bool)
            if not guard:
                continue
            n = list(s)
            for pos, val in writes.items():
                n[pos] = val
            normalize_ticks(self.L, n)
            out.append((inst, tuple(n)))
        return out

    def check_invariants(self, s: State) -> list[Invariant]:
        if self.compiled is not None:
            if self.compiled.all_invariants(s):
                return []
            return [inv for inv, fn in self.compiled.invariants if not fn(s)]
        view = View(self.L, CONCRETE, s.__getitem__)
        return [inv for inv in self.invariants if not inv.pred(self.prog, view)]

    def is_intended_terminal(self, s: State) -> bool:
        """Every G waits in a blocking call for an event nobody can send (a deadlock of the
        program, not of the runtime)."""
        return self.prog.intended_terminal(s)

    def run(self, max_states: int = 2_000_000, progress: bool = True,
            stop_at_first: bool = True, record_actors: bool = False) -> ExploreResult:
        t0 = time.perf_counter()
        res = ExploreResult()
        init = self.initial()
        # one dict (state -> id); everything else is a list indexed by id, in BFS order
        ids: dict[State, int] = {init: 0}
        order: list[State] = [init]
        parent: list[int] = [-1]
        via: list[Any] = [None]
        depth: list[int] = [0]
        edges: list[list[int]] = []
        productive: list[bool] = []   # has a step of an M, W or F (not GC/sysmon noise)
        actors: list[bytes] = []
        actor_of = self.actor_of
        canon, check = self.sym.canon, self.check_invariants
        for inv in check(init):
            res.violations.append(Violation(inv.id, inv.title, init))
        head = 0
        while head < len(order) and not (stop_at_first and res.violations):
            s = order[head]
            sid = head
            head += 1
            if self.compiled is not None:
                succ, prod = self._expand(s)
            else:
                succ = self.successors(s)
                prod = any(inst.step.actor in _PRODUCTIVE for inst, _ in succ)
            out: list[int] = []
            productive.append(prod)
            if not succ and not self.is_intended_terminal(s):
                res.violations.append(Violation("DEADLOCK", "no step enabled in a state that "
                                                "is not an intended terminal state", s,
                                                "deadlock"))
            res.transitions += len(succ)
            for inst, raw in succ:
                if self.on_edge is not None:
                    self.on_edge(s, inst, raw)
                n = canon(raw)
                k = ids.get(n)
                if k is None:
                    k = ids[n] = len(order)
                    order.append(n)
                    parent.append(sid)
                    via.append(inst)
                    depth.append(depth[sid] + 1)
                    for inv in check(n):
                        res.violations.append(Violation(inv.id, inv.title, n))
                    if len(order) >= max_states:
                        res.complete = False
                        head = len(order)  # stop expanding
                        out.append(k)
                        break
                out.append(k)
            edges.append(out)
            if record_actors:
                actors.append(bytes(actor_of[inst] for inst, _ in succ[:len(out)]))
        res.states = len(order)
        res.depth = max(depth)
        res.ids, res.order, res.parent, res.via = ids, order, parent, via
        if record_actors:
            res.edges, res.edge_actors = edges, actors
        if progress and not res.violations and res.complete:
            res.violations.extend(self.check_progress(order, edges, productive))
        res.seconds = time.perf_counter() - t0
        return res

    # -- progress on the state graph ---------------------------------------------------------
    def check_progress(self, order: list[State], edges: list[list[int]],
                       productive: list[bool]) -> list[Violation]:
        """Progress on the state graph (all checks are over sets of states, so symmetry
        reduction cannot mix up identities):
        - DEADLOCK: from every state some M, W or F step stays reachable (GC scans and
          sysmon's sleeping cannot hide a stuck runtime), unless every G waits in a
          blocking call with W and F idle;
        - P-STW: from a state with gcwaiting set, a world-stopped state is reachable;
        - P-FOREACHP: from a state where forEachP waits, its completion is reachable;
        - P-EXIT: from a state where some M is inside exitsyscall, a state with no M
          inside it is reachable (every returning syscall can finish)."""
        n = len(order)
        rev: list[list[int]] = [[] for _ in range(n)]
        for a, outs in enumerate(edges):
            for b in outs:
                rev[b].append(a)
        L, labels = self.L, self.prog.labels
        out: list[Violation] = []

        def can_reach(target: set[int]) -> set[int]:
            seen = set(target)
            dq = deque(target)
            while dq:
                x = dq.popleft()
                for y in rev[x]:
                    if y not in seen:
                        seen.add(y)
                        dq.append(y)
            return seen

        def require(pid: str, title: str, source: list[int], target: set[int]) -> None:
            if not source:
                return
            ok = can_reach(target)
            bad = [k for k in source if k not in ok]
            if bad:
                out.append(Violation(pid, title, order[bad[0]], "progress"))

        live = {k for k in range(n) if productive[k]}
        require("DEADLOCK", "a state from which no M, W or F step is ever possible again",
                [k for k in range(n) if not self.is_intended_terminal(order[k])], live)
        if self.prog.cfg.stw:
            gcw, wpc = L.index["gcwaiting"], L.index["w.pc"]
            require("P-STW", "from a state with gcwaiting set, no world-stopped state is "
                    "reachable", [k for k, s in enumerate(order) if s[gcw] == 1],
                    {k for k, s in enumerate(order) if s[wpc] == labels["w.stopped"]})
        if self.prog.cfg.foreachp:
            fpc = L.index["f.pc"]
            require("P-FOREACHP", "forEachP waits forever for a safe point",
                    [k for k, s in enumerate(order) if s[fpc] == labels["f.wait"]],
                    {k for k, s in enumerate(order) if s[fpc] == labels["f.idle"]})
        exiting = {labels[x] for r in ("exitsyscall", "exitsyscall.slow")
                   for x in self.prog.routines[r][0]}
        pcs = [L.mname[i]["pc"] for i in range(L.cfg.ms)]
        inside = [k for k, s in enumerate(order) if any(s[p] in exiting for p in pcs)]
        inside_set = set(inside)
        require("P-EXIT", "a returning syscall can never finish", inside,
                {k for k in range(n) if k not in inside_set})
        return out

    # -- traces --------------------------------------------------------------------------------
    def trace_to(self, res: ExploreResult, target: State) -> list[tuple[str, State]]:
        """The path to `target`, replayed concretely from the initial state so that the
        identities of Ms, Ps and Gs stay the same along the whole trace."""
        canon_path: list[State] = []
        k = res.ids[target]
        while k >= 0:
            canon_path.append(res.order[k])
            k = res.parent[k]
        canon_path.reverse()
        s = list(initial_state(self.L, self.prog.labels))
        normalize_ticks(self.L, s)
        raw: State = tuple(s)
        path: list[tuple[str, State]] = [("", raw)]
        for nxt in canon_path[1:]:
            for inst, succ in self.successors(raw):
                if self.sym.canon(succ) == nxt:
                    raw = succ
                    path.append((inst.label, raw))
                    break
            else:  # pragma: no cover - the BFS graph and the step semantics disagree
                raise RuntimeError("trace replay diverged from the explored graph")
        return path

    def describe(self, s: State) -> dict[str, Any]:
        """A readable form of a state: labels and status names instead of numbers."""
        L, names = self.L, self.prog.label_names
        out: dict[str, Any] = {}
        for name, pos in L.index.items():
            v = s[pos]
            f = name.rpartition(".")[2]
            if name.endswith(".pc") or name in PC_FIELD.values():
                v = names[v]
            elif f == "throw" and v:
                v = f"{v} ({THROWS.get(v, '?')})"
            elif name.startswith("p") and f == "status":
                v = st.P_NAMES.get(v, v)
            elif name.startswith("g") and f == "status" and name[1].isdigit():
                v = st.G_NAMES.get(v, v)
            out[name] = v
        return out

    def counterexample(self, res: ExploreResult, viol: Violation, replay: str,
                       rules: dict[str, str]) -> Counterexample:
        path = self.trace_to(res, viol.state)
        steps: list[TraceStep] = []
        prev = self.describe(path[0][1])
        for k, (lab, s) in enumerate(path[1:], 1):
            cur = self.describe(s)
            changes = {f: (prev[f], cur[f]) for f in cur if cur[f] != prev[f]}
            name = lab.split(":", 1)[1].split("(")[0]
            steps.append(TraceStep(k, lab.split(":", 1)[0], lab.split(":", 1)[1],
                                   rules.get(name, ""), changes, cur))
            prev = cur
        return Counterexample(
            summary=f"{viol.property} ({viol.kind}) violated: {viol.title}; "
                    f"shortest trace has {len(steps)} steps (replayed from the initial state, "
                    "so M, P and G numbers stay the same throughout)",
            trace=steps, replay=replay, itf=itf(path, self))


def itf(path: list[tuple[str, State]], ex: Explorer) -> dict[str, Any]:
    """The trace in the ITF format (Apalache/Quint): {"#meta", "vars", "states"}."""
    vars_ = list(ex.L.index)
    states = []
    for k, (lab, s) in enumerate(path):
        d = ex.describe(s)
        row: dict[str, Any] = {"#meta": {"index": k, "action": lab or "init"}}
        for name in vars_:
            v = d[name]
            row[name] = v if isinstance(v, str) else {"#bigint": str(v)}
        states.append(row)
    return {"#meta": {"format": "ITF", "format-description":
                      "https://apalache-mc.org/docs/adr/015adr-trace.html",
                      "source": "entersys explore"},
            "vars": vars_, "states": states}

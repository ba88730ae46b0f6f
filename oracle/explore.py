"""Exhaustive breadth-first exploration of the protocol model for a small configuration:
symmetry reduction over M/P/G identities, every invariant on every state, deadlock
detection, and progress checks on the state graph.

Violations come back as the shortest trace (BFS order) in the common counterexample record,
with the fields each step changed; `itf()` renders the same trace as ITF JSON.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from entersys.model import status as st
from entersys.model.invariants import INVARIANTS, Invariant
from entersys.model.ops import CONCRETE
from entersys.model.state import Layout, View, initial_state
from entersys.model.steps import PC_FIELD, Instance, Program
from entersys.results import Counterexample, TraceStep

State = tuple[int, ...]


def normalize_ticks(layout: Layout, s: list[int]) -> None:
    """Ticks are only ever copied, incremented and compared for equality, and every copy
    is <= its source, so (value == the P's current tick) is all that matters: rewrite each
    P's tick to 1 and every copy to 1 (equal) or 0 (older). Keeps the state space finite."""
    cfg = layout.cfg
    for j in range(cfg.ps):
        n = layout.pname[j]
        t, sch = s[n["syscalltick"]], s[n["schedtick"]]
        s[n["pd_tick"]] = 1 if s[n["pd_tick"]] == t else 0
        s[n["pd_sched"]] = 1 if s[n["pd_sched"]] == sch else 0
    for i in range(cfg.ms):
        n = layout.mname[i]
        ref = s[n["oldp"]] or s[n["pp"]]
        if ref:
            s[n["syscalltick"]] = 1 if s[n["syscalltick"]] == \
                s[layout.pname[ref - 1]["syscalltick"]] else 0
        else:
            s[n["syscalltick"]] = 0
    for j in range(cfg.ps):
        n = layout.pname[j]
        s[n["syscalltick"]] = 1
        s[n["schedtick"]] = 1


class Symmetry:
    """Canonical representative under all permutations of M, P and G identities."""

    def __init__(self, layout: Layout, enabled: bool = True) -> None:
        cfg = layout.cfg
        self.enabled = enabled
        self.funcs = []
        if not enabled:
            return
        for pm in itertools.permutations(range(cfg.ms)):
            for pp in itertools.permutations(range(cfg.ps)):
                for pg in itertools.permutations(range(cfg.gs)):
                    self.funcs.append(self._compile(layout, pm, pp, pg))

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
        if not self.enabled:
            return s
        return min(f(s) for f in self.funcs)


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
    parents: dict[State, tuple[State | None, str]] = field(default_factory=dict)
    complete: bool = True

    @property
    def states_per_second(self) -> float:
        return self.states / self.seconds if self.seconds else 0.0


class Explorer:
    def __init__(self, prog: Program, symmetry: bool = True,
                 invariants: list[Invariant] | None = None) -> None:
        self.prog = prog
        self.L = prog.layout
        self.sym = Symmetry(self.L, symmetry)
        self.invariants = invariants if invariants is not None else INVARIANTS
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

    def initial(self) -> State:
        s = list(initial_state(self.L, self.prog.labels))
        normalize_ticks(self.L, s)
        return self.sym.canon(tuple(s))

    def successors(self, s: State) -> list[tuple[Instance, State]]:
        view = View(self.L, CONCRETE, s.__getitem__)
        out = []
        cands = list(self.free)
        for pcf in self.pc_fields:
            cands.extend(self.by_pc.get((pcf, s[pcf]), ()))
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
        view = View(self.L, CONCRETE, s.__getitem__)
        return [inv for inv in self.invariants if not inv.pred(self.prog, view)]

    def is_intended_terminal(self, s: State) -> bool:
        """Every G waits in a blocking call for an event nobody can send (a deadlock of the
        program, not of the runtime)."""
        L, labels = self.L, self.prog.labels
        waiting = {labels["sysblock"], labels["rawblock"]}
        holders = [s[L.mname[i]["pc"]] for i in range(L.cfg.ms) if s[L.mname[i]["curg"]]]
        return len(holders) == L.cfg.gs and all(pc in waiting for pc in holders)

    def run(self, max_states: int = 2_000_000, progress: bool = True,
            stop_at_first: bool = True) -> ExploreResult:
        t0 = time.perf_counter()
        res = ExploreResult()
        init = self.initial()
        parents: dict[State, tuple[State | None, str]] = {init: (None, "")}
        ids: dict[State, int] = {init: 0}
        order: list[State] = [init]
        edges: list[list[int]] = []
        depth = {init: 0}
        queue = deque([init])
        for inv in self.check_invariants(init):
            res.violations.append(Violation(inv.id, inv.title, init))
        while queue and not (stop_at_first and res.violations):
            s = queue.popleft()
            succ = self.successors(s)
            out: list[int] = []
            if not succ and not self.is_intended_terminal(s):
                res.violations.append(Violation("DEADLOCK", "no step enabled in a state that "
                                                "is not an intended terminal state", s,
                                                "deadlock"))
            for inst, raw in succ:
                res.transitions += 1
                n = self.sym.canon(raw)
                if n not in ids:
                    ids[n] = len(order)
                    order.append(n)
                    parents[n] = (s, inst.label)
                    depth[n] = depth[s] + 1
                    res.depth = max(res.depth, depth[n])
                    bad = self.check_invariants(n)
                    for inv in bad:
                        res.violations.append(Violation(inv.id, inv.title, n))
                    if len(order) >= max_states:
                        res.complete = False
                        queue.clear()
                        break
                    queue.append(n)
                out.append(ids[n])
            edges.append(out)
        res.states = len(order)
        res.parents = parents
        if progress and not res.violations and res.complete:
            res.violations.extend(self.check_progress(order, edges))
        res.seconds = time.perf_counter() - t0
        return res

    # -- progress on the state graph ---------------------------------------------------------
    def check_progress(self, order: list[State], edges: list[list[int]]) -> list[Violation]:
        n = len(order)
        rev: list[list[int]] = [[] for _ in range(n)]
        for a, outs in enumerate(edges):
            for b in outs:
                rev[b].append(a)
        L, labels = self.L, self.prog.labels
        out = []
        gcw, wstopped = L.index["gcwaiting"], L.index["w.pc"]

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

        if self.prog.cfg.stw:
            stopped = {i for i, s in enumerate(order) if s[wstopped] == labels["w.stopped"]}
            ok = can_reach(stopped)
            for i, s in enumerate(order):
                if s[gcw] == 1 and i not in ok:
                    out.append(Violation("P-STW", "from a state with gcwaiting set, no "
                                         "world-stopped state is reachable", s, "progress"))
                    break
        # a returning syscall can always reach a state where its G runs or is queued
        ret_label = labels[self.prog.routines["exitsyscall"][0][0]] \
            if self.prog.routines["exitsyscall"][0] else labels["user"]
        user = labels["user"]
        for i in range(L.cfg.ms):
            pcf, curg = L.mname[i]["pc"], L.mname[i]["curg"]
            starts = [k for k, s in enumerate(order) if s[pcf] == ret_label]
            if not starts:
                continue
            # target: the G that M i returned with runs user code or is queued; by symmetry
            # we accept any state where M i is back in user code or holds no G
            good = {k for k, s in enumerate(order) if s[pcf] == user or s[curg] == 0}
            ok = can_reach(good)
            bad = [k for k in starts if k not in ok]
            if bad:
                out.append(Violation("P-EXIT", "a returning syscall cannot reach a state "
                                     "where its G runs or is queued", order[bad[0]],
                                     "progress"))
                break
        return out

    # -- traces --------------------------------------------------------------------------------
    def trace_to(self, res: ExploreResult, target: State) -> list[tuple[str, State]]:
        """The path to `target`, replayed concretely from the initial state so that the
        identities of Ms, Ps and Gs stay the same along the whole trace."""
        canon_path: list[State] = []
        cur: State | None = target
        while cur is not None:
            canon_path.append(cur)
            cur = res.parents[cur][0]
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
                    f"shortest trace has {len(steps)} steps (identities are canonical "
                    "under symmetry)",
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

"""Liveness under fairness on the native explorer: the search of entersys.oracle.liveness
(fair non-progress cycles among a property's pending states, weak fairness per actor,
strong fairness for some steps) run over the edges the generated C explorer records,
so that the default configuration (2 Ms / 2 Ps / 2 Gs, several million states without
symmetry) gets a liveness verdict.

What comes from where, so that nothing is defined twice:
- the fairness actors (names, the actor of each step instance, the weak / strong /
  environment masks) are liveness.prepare's and liveness._masks', passed into C as one
  byte per instance;
- the properties and their pending predicates are liveness.PROPERTIES (and
  liveness._m_exhausted); each predicate, a Python function of a state, is evaluated on
  every state by `evaluate` below, which runs it once per distinct path of field reads
  and applies its answer to every state with the same values on the fields it read;
- the SCC search and the fairness refinement (native_bfs.c es_fair_cycle, es_stuck)
  follow liveness.find_lassos, sccs and fair_components step for step, in the same
  order; the lasso (liveness.lasso) and its counterexample (liveness.lasso_counterexample)
  are liveness.py's own functions, run over lazy views of the native edges.

The graph is explored without symmetry, as liveness.check does (a G's or an M's identity
is then the same in every state). Memory: the packed states, the edges (6 bytes each)
and, during the SCC search, about 30 bytes per state."""

from __future__ import annotations

import copy
import ctypes
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from entersys.model.program import Program
from entersys.oracle import liveness as live
from entersys.oracle.explore import ExploreResult, State
from entersys.oracle.native_explore import NativeError, NativeExplorer, NativeResult

CHUNK = 1 << 20
# `explore --liveness auto` on the native engine checks graphs (without symmetry) up to
# this many states: 2 Ms / 2 Ps / 2 Gs core (18M states for Go 1.25) needs about 3 GB.
AUTO_LIMIT = 40_000_000  # states unpacked at a time to evaluate the pending predicates


class _Probe:
    """A state whose reads are recorded (field position, value), in order. Any access but
    s[int] raises TypeError: `evaluate` relies on the predicate reading fields only."""

    __slots__ = ("row", "reads")

    def __init__(self, row: Sequence[int]) -> None:
        self.row = row
        self.reads: list[tuple[int, int]] = []

    def __getitem__(self, pos: int) -> int:
        if not isinstance(pos, int):
            raise TypeError("a pending predicate may only read s[field]")
        v = int(self.row[pos])
        self.reads.append((pos, v))
        return v


def evaluate(pred: Callable[[Any], bool], states: np.ndarray) -> np.ndarray:
    """pred on every row of `states` (shape (n, fields), int16) as a bool array of n.

    The predicate is a deterministic function of the fields it reads, so two states that
    agree on the fields it read on one of them take the same path and get the same answer.
    The rows are split by the value of the first field read, then of the next field read
    on that branch, and so on (a decision tree grown on demand); the predicate runs once
    per leaf, not once per state."""
    n = states.shape[0]
    out = np.zeros(n, dtype=bool)
    todo: list[tuple[np.ndarray, int]] = [(np.arange(n), 0)]
    while todo:
        idx, depth = todo.pop()
        if idx.size == 0:
            continue
        probe = _Probe(states[idx[0]])
        answer = bool(pred(probe))
        if len(probe.reads) <= depth:  # every row here agrees on every field it read
            out[idx] = answer
            continue
        col = states[idx, probe.reads[depth][0]]
        order = np.argsort(col, kind="stable")
        col, idx = col[order], idx[order]
        cuts = np.flatnonzero(np.diff(col)) + 1
        todo.extend((part, depth + 1) for part in np.split(idx, cuts))
    return out


class _Edges:
    """res.edges / res.edge_actors of liveness.py, read lazily from the native CSR."""

    def __init__(self, off: np.ndarray, dst: np.ndarray, act: np.ndarray | None) -> None:
        self.off, self.dst, self.act = off, dst, act

    def __len__(self) -> int:
        return len(self.off) - 1

    def __getitem__(self, k: int) -> Any:
        lo, hi = int(self.off[k]), int(self.off[k + 1])
        if self.act is None:
            return self.dst[lo:hi].tolist()
        return self.act[lo:hi].tobytes()

    def __iter__(self) -> Iterator[Any]:
        offs = self.off.tolist()
        if self.act is None:
            for lo, hi in zip(offs, offs[1:]):
                yield self.dst[lo:hi].tolist()
            return
        flat = self.act.tobytes()
        for lo, hi in zip(offs, offs[1:]):
            yield flat[lo:hi]


class _ById:
    """res.parent / res.order of liveness.py, read lazily from the native run."""

    def __init__(self, n: int, get: Callable[[int], Any]) -> None:
        self.n, self.get = n, get

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, k: int) -> Any:
        if not 0 <= k < self.n:
            raise IndexError(k)
        return self.get(k)

    def __iter__(self) -> Iterator[Any]:
        for k in range(self.n):
            yield self.get(k)


class _States(_ById):
    """res.order: states by id, iterated CHUNK at a time (as tuples)."""

    def __init__(self, ex: NativeExplorer, n: int) -> None:
        super().__init__(n, ex.state)
        self.ex = ex

    def __iter__(self) -> Iterator[Any]:
        nf = len(self.ex.L)
        buf = np.empty((min(CHUNK, max(self.n, 1)), nf), dtype=np.int16)
        for lo in range(0, self.n, CHUNK):
            hi = min(self.n, lo + CHUNK)
            part = buf[:hi - lo]
            self.ex.lib.es_states(self.ex.handle, lo, hi, part.ctypes.data)
            yield from map(tuple, part.tolist())


@dataclass
class NativeGraph(ExploreResult):
    """The liveness.py view (edges, edge_actors, parent, order, read lazily) of a native
    run without symmetry, with `acts`, the fairness actor of every edge (uint8, in the
    order of the native CSR). A plain ExploreResult otherwise: liveness.py's functions
    (lasso, lasso_counterexample, records, and dataclasses.replace of it) work on it."""

    acts: Any = None

    def edge_acts(self) -> np.ndarray:
        """The fairness actor of every edge as edge_actors now gives them: `acts`, or the
        per-state bytes a caller put in their place (dataclasses.replace)."""
        ea = self.edge_actors
        if isinstance(ea, _Edges) and ea.act is not None:
            return np.asarray(ea.act, dtype=np.uint8)
        flat = np.frombuffer(b"".join(ea or []), dtype=np.uint8)
        if flat.size != self.acts.size:
            raise ValueError("edge_actors does not match the recorded edges")
        return flat

    def search_lassos(self, ex: Any, properties: list[live.LivenessProperty] | None
                      ) -> list[tuple[live.LivenessProperty, live.Lasso | None]]:
        """liveness.find_lassos on this graph, in C (find_lassos below)."""
        return find_lassos(ex, self, properties, self.edge_acts())


def _view(res: NativeResult, ex: NativeExplorer, act_of_inst: np.ndarray) -> NativeGraph:
    """The liveness.py view of the graph of a native run (it stays owned by `ex`)."""
    lib, h = ex.lib, ex.handle
    n, ne = res.states, lib.es_nedges(h)
    off = np.ctypeslib.as_array(lib.es_edge_offsets(h), shape=(n + 1,))
    dst = np.ctypeslib.as_array(lib.es_edge_targets(h), shape=(max(ne, 1),))[:ne]
    ins = np.ctypeslib.as_array(lib.es_edge_instances(h), shape=(max(ne, 1),))[:ne]
    acts = np.ascontiguousarray(act_of_inst[ins], dtype=np.uint8)
    return NativeGraph(
        states=res.states, transitions=res.transitions, depth=res.depth,
        complete=res.complete, seconds=res.seconds,
        parent=_ById(n, lambda k: lib.es_parent(h, k)),  # type: ignore[arg-type]
        order=_States(ex, n),  # type: ignore[arg-type]
        edges=_Edges(off, dst, None),  # type: ignore[arg-type]
        edge_actors=_Edges(off, dst, acts), acts=acts)  # type: ignore[arg-type]


def pending_mask(ex: NativeExplorer, preds: list[Callable[[State], bool]],
                 exclude: Callable[[State], bool] | None = None) -> list[np.ndarray]:
    """Per predicate, the uint8 mask of the states where it holds (and `exclude` does
    not), over every state of the run, evaluated CHUNK states at a time."""
    n, nf = ex.lib.es_count(ex.handle), len(ex.L)
    masks = [np.zeros(n, dtype=np.uint8) for _ in preds]
    buf = np.empty((min(CHUNK, max(n, 1)), nf), dtype=np.int16)
    for lo in range(0, n, CHUNK):
        hi = min(n, lo + CHUNK)
        part = buf[:hi - lo]
        ex.lib.es_states(ex.handle, lo, hi, part.ctypes.data)
        keep = ~evaluate(exclude, part) if exclude is not None else None
        for m, pred in zip(masks, preds):
            got = evaluate(pred, part)
            m[lo:hi] = got & keep if keep is not None else got
    return masks


def find_lassos(ex: NativeExplorer, graph: NativeGraph,
                properties: list[live.LivenessProperty] | None = None,
                edge_acts: np.ndarray | None = None,
                ) -> list[tuple[live.LivenessProperty, live.Lasso | None]]:
    """liveness.find_lassos over a native run: for each property that applies, its first
    fair lasso (the same search, in the same order), or None. `edge_acts` replaces the
    fairness actor of each edge (default: graph.acts)."""
    if not graph.complete:
        raise ValueError("liveness needs a complete exploration")
    lib, h = ex.lib, ex.handle
    weak, strong, env = live._masks(ex)
    env_id = env.bit_length() - 1
    if len(ex.actor_names) > 64:
        raise NativeError("more than 64 fairness actors")
    acts = np.ascontiguousarray(graph.acts if edge_acts is None else edge_acts,
                                dtype=np.uint8)
    res = copy.copy(graph)  # the lassos' paths follow the actors searched with
    res.edge_actors = _Edges(graph.edges.off, graph.edges.dst,  # type: ignore[union-attr]
                             acts)  # type: ignore[assignment]
    props = properties or live.PROPERTIES
    targets = {"g": range(ex.L.cfg.gs), "p": range(ex.L.cfg.ps)}
    jobs = [(prop, j, prop.make(ex, j)) for prop in props
            for j in targets.get(prop.per, [0])]
    preds = [p for _, _, p in jobs if p is not None]
    masks = iter(pending_mask(ex, preds, live._m_exhausted(ex)))  # type: ignore[arg-type]
    by_prop: dict[str, list[tuple[int, np.ndarray]]] = {}
    for prop, j, p in jobs:
        if p is not None:
            by_prop.setdefault(prop.id, []).append((j, next(masks)))
    out: list[tuple[live.LivenessProperty, live.Lasso | None]] = []
    comp = np.empty(max(graph.states, 1), dtype=np.uint32)
    stepped = ctypes.c_uint64()
    for prop in props:
        if prop.id not in by_prop:
            continue
        found: live.Lasso | None = None
        for j, mask in by_prop[prop.id]:
            about = j if prop.per else None
            stuck = lib.es_stuck(h, acts.ctypes.data, mask.ctypes.data, env_id)
            if stuck >= 0:
                found = live.Lasso(prop, about, live._prefix(res, stuck), [stuck], [])
                break
            k = lib.es_fair_cycle(h, acts.ctypes.data, mask.ctypes.data, weak, strong,
                                  env_id, comp.ctypes.data, ctypes.byref(stepped))
            if k < 0:
                raise MemoryError("native explorer: no memory for the liveness search")
            if k:
                part = comp[:k].tolist()
                prefix, cycle = live.lasso(res, part, stepped.value, env_id)
                names = [ex.actor_names[a] for a in range(len(ex.actor_names))
                         if stepped.value >> a & 1]
                found = live.Lasso(prop, about, prefix, cycle, names)
                break
        out.append((prop, found))
    return out


def check(prog: Program, max_states: int = 20_000_000, threads: int = 1,
          values: list[set[int]] | None = None,
          on_progress: Callable[[dict[str, Any]], Any] | None = None) -> live.LivenessRun:
    """liveness.check on the native explorer: explore `prog` without symmetry, recording
    edges, and look for a fair lasso of every property. `values` (NativeExplorer.values of
    an earlier run of the same program) seeds the per-field value tables, which saves the
    restarts that learn them. `on_progress` gets the explorer's counters while the graph is
    built, with "phase": "liveness graph", then {"phase": "fair cycles"}. Raises
    ValueError if the run is cut off by `max_states` or stops at a safety violation."""
    t0 = time.perf_counter()
    ex = NativeExplorer(prog, symmetry=False, threads=threads)
    if values is not None and len(values) == len(ex.values):
        ex.values = [a | b for a, b in zip(ex.values, values)]
    live.prepare(ex)
    act_of_inst = np.array([ex.actor_of[i] for i in ex.instances], dtype=np.uint8)
    tick = None if on_progress is None else (
        lambda c: on_progress({"phase": "liveness graph", **c}))
    res = ex.run(max_states=max_states, progress=False, edges=True, on_progress=tick)
    if on_progress is not None:
        on_progress({"phase": "fair cycles", "states": res.states})
    if res.violations:
        raise ValueError(f"safety violation {res.violations[0].property} first")
    if not res.complete:
        raise ValueError(f"liveness needs a complete exploration (cut at {max_states} "
                         "states)")
    graph = _view(res, ex, act_of_inst)
    return live.LivenessRun(ex, graph, find_lassos(ex, graph), time.perf_counter() - t0)

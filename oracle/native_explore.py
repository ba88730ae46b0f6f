"""The native explorer: the program's steps, invariants, tick normal form, progress
predicates and symmetry tables generated as C (entersys.oracle.cgen, from the steps' Z3
terms), compiled with the generic BFS driver (native_bfs.c) into a shared library cached
under ~/.cache/entersys/native-explore/<sha256 of the source>.so, and run through ctypes.

`NativeExplorer` is an `Explorer`: same results, counterexamples (replayed through the
compiled Python engine from the initial state) and descriptions; only `run` is native."""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from entersys.model.invariants import Invariant
from entersys.model.program import Instance, Program
from entersys.model.state import initial_state
from entersys.oracle.cgen import generate
from entersys.oracle.explore import (
    DEADLOCK_TITLE,
    Explorer,
    ExploreResult,
    State,
    Violation,
    normalize_ticks,
    progress_properties,
    tick_normal_form,
)

DRIVER = Path(__file__).with_name("native_bfs.c")
CFLAGS = ("-O2", "-shared", "-fPIC", "-pthread", "-Wl,-Bsymbolic")
ES_DONE, ES_VIOLATION, ES_LIMIT, ES_FAULT, ES_NOMEM, ES_UNKNOWN = 0, 1, 2, -1, -2, -3
ES_INTERRUPTED = -4
MAXV = 256  # values a field may take (native_bfs.c)
ProgressFn = Callable[[dict[str, Any]], None]
_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_int,
                       ctypes.c_uint64)


@contextlib.contextmanager
def _signals_recorded(stop: list[int]) -> Iterator[None]:
    """While active (main thread only), SIGINT and SIGTERM append to `stop` instead of
    raising; the previous handlers come back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in old:
        signal.signal(sig, lambda signum, frame: stop.append(signum))
    try:
        yield
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


class NativeError(RuntimeError):
    """The generated code could not be compiled or loaded, or a run faulted."""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "entersys" / "native-explore"


def build(source: str) -> Path:
    """Compile generated C + the driver into a cached shared library (keyed by the sha256
    of both sources and the flags); returns its path. Raises NativeError if gcc fails."""
    driver = DRIVER.read_text()
    key = hashlib.sha256("\0".join((source, driver, *CFLAGS)).encode()).hexdigest()[:32]
    out = cache_dir() / f"{key}.so"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    if sys.stderr is not None and sys.stderr.isatty() and not os.environ.get("ENTERSYS_QUIET"):
        # the first run of a large configuration compiles for a minute: say so
        sys.stderr.write(f"compiling the generated explorer ({len(source) // 1024} KiB of C; "
                         "cached for the next run)...\n")
        sys.stderr.flush()
    with tempfile.TemporaryDirectory(prefix="entersys-cgen-") as tmp:
        gen = Path(tmp) / "model.c"
        gen.write_text(source)
        lib = Path(tmp) / "lib.so"
        proc = subprocess.run(["gcc", *CFLAGS, "-o", str(lib), str(gen), str(DRIVER)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise NativeError("gcc failed on the generated explorer: "
                              + proc.stderr.strip().splitlines()[-1] if proc.stderr else "")
        tmp_out = out.with_suffix(f".{os.getpid()}.tmp")
        tmp_out.write_bytes(lib.read_bytes())
        tmp_out.replace(out)  # whole or not at all
    return out


def _load(path: Path) -> ctypes.CDLL:
    lib = ctypes.CDLL(str(path))
    P, u64, i64, c_int = ctypes.c_void_p, ctypes.c_uint64, ctypes.c_int64, ctypes.c_int
    i16p = ctypes.POINTER(ctypes.c_int16)
    sig = {"es_new": (P, [i16p, ctypes.POINTER(c_int), c_int, u64, c_int, c_int]),
           "es_free": (None, [P]), "es_run_bfs": (c_int, [P, i16p, c_int, _CB]),
           "es_canon": (c_int, [P, i16p]), "es_fault_field": (c_int, [P]),
           "es_fault_value": (c_int, [P]), "es_packed_bytes": (c_int, [P]),
           "es_count": (u64, [P]), "es_transitions": (u64, [P]), "es_depth": (c_int, [P]),
           "es_violation": (i64, [P]), "es_parent": (i64, [P, u64]), "es_via": (c_int, [P, u64]),
           "es_state": (None, [P, u64, i16p]), "es_nzero": (u64, [P]),
           "es_zero": (ctypes.c_uint32, [P, u64]), "es_bytes": (u64, [P]),
           "es_progress": (i64, [P, c_int]), "es_bad_at": (ctypes.c_uint32, [P, u64]),
           "es_nedges": (u64, [P]), "es_edge_offsets": (ctypes.POINTER(ctypes.c_uint32), [P]),
           "es_edge_targets": (ctypes.POINTER(ctypes.c_uint32), [P]),
           "es_edge_instances": (ctypes.POINTER(ctypes.c_uint16), [P]),
           "es_states": (None, [P, u64, u64, P]), "es_stuck": (i64, [P, P, P, c_int]),
           "es_fair_cycle": (i64, [P, P, P, u64, u64, c_int, P, ctypes.POINTER(u64)])}
    for name, (res, args) in sig.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    return lib


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # pragma: no cover - not Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class _NativeSymmetry:
    """The generated canonicaliser behind Explorer's `sym.canon` (for trace replay)."""

    def __init__(self, ex: NativeExplorer) -> None:
        self.ex = ex
        self.enabled = ex.symmetry

    def canon(self, s: State) -> State:
        return self.ex.canon(s)


class NativeResult(ExploreResult):
    """An ExploreResult whose states stay in the native run (ids in BFS order); `ids`
    holds only the states that violations name. `bytes` is what the run allocated."""

    def __init__(self, ex: NativeExplorer) -> None:
        super().__init__()
        self._ex = ex
        self.bytes = 0
        self.rss_delta = 0
        self.threads = ex.threads
        self.packed_bytes = 0   # bytes of one stored state
        self.restarts = 0       # runs restarted to learn a field's new value

    @property
    def bytes_per_state(self) -> float:
        return self.bytes / self.states if self.states else 0.0

    def state(self, k: int) -> State:
        return self._ex.state(k)

    def edge_list(self) -> Iterator[tuple[int, int, str]]:
        """Every edge of an exhaustive run as (source id, target id, instance label) (ids in
        BFS order; 0 is the initial state). Empty unless the run recorded edges."""
        lib, h = self._ex.lib, self._ex.handle
        ne = lib.es_nedges(h)
        if not ne:
            return
        off, dst, ins = (lib.es_edge_offsets(h), lib.es_edge_targets(h),
                         lib.es_edge_instances(h))
        labels = [i.label for i in self._ex.instances]
        for a in range(self.states):
            for e in range(off[a], off[a + 1]):
                yield a, dst[e], labels[ins[e]]


# Generated source and library per program, for this process: Z3 orders the operands of
# a simplified term by the order its terms were created in, so generating the same program
# twice in one process gives a different (equivalent) source, which would miss the
# library cache and recompile (about a minute at 2 Ms / 2 Ps / 2 Gs). The key names the
# program's steps, invariants and progress properties; the value keeps them alive so
# their ids are not reused.
_GENERATED: dict[tuple[Any, ...], tuple[str, Path, tuple[Any, ...]]] = {}


def _generated(prog: Program, invariants: list[Invariant],
               progress: list[Any]) -> tuple[str, Path]:
    """(C source, built library) of `prog` with these invariants and progress checks."""
    steps = tuple(prog.steps.values())
    key = (repr(prog.cfg), prog.go, prog.mutant, getattr(prog, "fuse", True),
           repr(prog.routines), tuple(id(x) for x in steps),
           tuple(id(i) for i in invariants), tuple((p.id, p.title) for p in progress),
           tuple(i.label for i in prog.instances()))
    hit = _GENERATED.get(key)
    if hit is None:
        gen = generate(prog, invariants, progress, tick_normal_form)
        hit = _GENERATED[key] = (gen.source, build(gen.source), (steps, tuple(invariants)))
    return hit[0], hit[1]


class NativeExplorer(Explorer):
    """Explorer whose `run` is the generated native BFS. `threads` workers expand each
    batch (the results do not depend on it). A stored state codes each field by its index
    in a table of the values that field takes, in just enough bits; the tables start from
    the layout (labels, references, the initial state) and a run that meets a new value
    restarts with it added (`restarts` counts them)."""

    def __init__(self, prog: Program, symmetry: bool = True,
                 invariants: list[Invariant] | None = None, threads: int = 1) -> None:
        super().__init__(prog, symmetry=False, invariants=invariants)
        self.symmetry = symmetry
        self.threads = threads
        self.values = self._seed_values()
        self.progress_props = progress_properties(prog)
        source, self.library = _generated(prog, self.invariants, self.progress_props)
        self.instances: list[Instance] = list(prog.instances())
        self.source = source
        self.lib = _load(self.library)
        self.handle: Any = None
        self.sym = _NativeSymmetry(self)  # type: ignore[assignment]
        self._canon_h = self._new(0, 1, 1)

    def __del__(self) -> None:
        lib = getattr(self, "lib", None)
        if lib is not None:
            lib.es_free(getattr(self, "handle", None))
            lib.es_free(getattr(self, "_canon_h", None))

    def _seed_values(self) -> list[set[int]]:
        L, cfg, labels = self.L, self.L.cfg, self.prog.labels.values()
        init = initial_state(L, self.prog.labels)
        refs = {"pref": cfg.ps, "mref": cfg.ms, "gref": cfg.gs, "qref": cfg.global_q}
        out = []
        for pos, kind in enumerate(L.kinds):
            vals = {0, 1, init[pos]}
            if kind in refs:
                vals |= set(range(refs[kind] + 1))
            elif kind.endswith("pc"):
                vals |= set(labels)
            out.append(vals)
        return out

    def _new(self, want_edges: int, max_states: int, threads: int) -> Any:
        n = len(self.L)
        vals = (ctypes.c_int16 * (n * MAXV))()
        nvals = (ctypes.c_int * n)()
        for f, vs in enumerate(self.values):
            if len(vs) > MAXV:
                raise NativeError(f"field {self.L.names[f]} takes more than {MAXV} values")
            for c, v in enumerate(sorted(vs)):
                vals[f * MAXV + c] = v
            nvals[f] = len(vs)
        h = self.lib.es_new(vals, nvals, want_edges, max_states, threads, int(self.symmetry))
        if not h:
            raise MemoryError("native explorer: no memory for the visited set")
        return h

    def canon(self, s: State) -> State:
        buf = (ctypes.c_int16 * len(s))(*s)
        if self.lib.es_canon(self._canon_h, buf) < 0:
            raise NativeError("a state value is outside the int16 range")
        return tuple(buf)

    def state(self, k: int) -> State:
        buf = (ctypes.c_int16 * len(self.L))()
        self.lib.es_state(self.handle, k, buf)
        return tuple(buf)

    def initial(self) -> State:
        s = list(initial_state(self.L, self.prog.labels))
        normalize_ticks(self.L, s)
        return self.canon(tuple(s))

    def run(self, max_states: int = 2_000_000, progress: bool = True,
            stop_at_first: bool = True, on_progress: ProgressFn | None = None,
            edges: bool | None = None) -> NativeResult:
        """Explore; `progress` also runs the progress checks (which need the edges, also
        kept when `edges`); `on_progress` gets {states, transitions, depth,
        states_per_second, bytes, rss} about twice a second."""
        want_edges = progress if edges is None else (edges or progress)
        restarts = 0
        while True:
            res, status = self._run(max_states, want_edges, stop_at_first, on_progress)
            if status != ES_UNKNOWN:
                break
            f, v = self.lib.es_fault_field(self.handle), self.lib.es_fault_value(self.handle)
            self.values[f].add(v)
            restarts += 1
        if status == ES_FAULT:
            raise NativeError("a step wrote a value outside the int16 range")
        if status == ES_NOMEM:
            raise MemoryError("native explorer ran out of memory")
        res.restarts = restarts
        res.packed_bytes = self.lib.es_packed_bytes(self.handle)
        self._violations(res, status)
        if progress and not res.violations and res.complete:
            res.violations.extend(self._progress(res))
        res.seconds = time.perf_counter() - res._t0  # type: ignore[attr-defined]
        return res

    def _run(self, max_states: int, want_edges: bool, stop_at_first: bool,
             on_progress: ProgressFn | None) -> tuple[NativeResult, int]:
        if self.handle is not None:
            self.lib.es_free(self.handle)
        res = NativeResult(self)
        t0 = res._t0 = time.perf_counter()  # type: ignore[attr-defined]
        rss0 = _rss_bytes()
        self.handle = None
        self.handle = self._new(int(want_edges), max_states, self.threads)

        stop: list[int] = []

        def report(states: int, transitions: int, depth: int, nbytes: int) -> int:
            if stop:
                return 1
            if on_progress is not None:
                dt = time.perf_counter() - t0
                on_progress({"states": states, "transitions": transitions, "depth": depth,
                             "seconds": dt, "states_per_second": states / dt if dt else 0.0,
                             "bytes": nbytes, "rss": _rss_bytes()})
            return 1 if stop else 0

        cb = _CB(report)
        init = (ctypes.c_int16 * len(self.L))(*self.initial())
        # Ctrl-C/SIGTERM while the search runs in C: a Python handler cannot raise inside
        # the C call (nor usefully inside a ctypes callback), so it only records the signal;
        # the next progress callback stops the search and KeyboardInterrupt is raised here.
        with _signals_recorded(stop):
            status = self.lib.es_run_bfs(self.handle, init, int(stop_at_first), cb)
        if status == ES_INTERRUPTED or stop:
            raise KeyboardInterrupt
        h = self.handle
        res.states, res.transitions = self.lib.es_count(h), self.lib.es_transitions(h)
        res.depth = self.lib.es_depth(h)
        res.complete = status != ES_LIMIT
        res.bytes = self.lib.es_bytes(h)
        res.rss_delta = max(0, _rss_bytes() - rss0)
        return res, status

    def _remember(self, res: NativeResult, k: int) -> State:
        s = self.state(k)
        res.ids[s] = k
        return s

    def _violations(self, res: NativeResult, status: int) -> None:
        """Invariant violations (the least id the run found) and deadlocks: states without
        successors that are not intended terminals, in discovery order."""
        lib, h = self.lib, self.handle
        found: list[tuple[int, Violation]] = []
        v = lib.es_violation(h)
        if v >= 0:
            s = self._remember(res, v)
            when = lib.es_parent(h, v)
            for inv in self.check_invariants(s):
                found.append((when, Violation(inv.id, inv.title, s)))
        for k in range(lib.es_nzero(h)):
            z = lib.es_zero(h, k)
            s = self.state(z)
            if not self.is_intended_terminal(s):
                self._remember(res, z)
                found.append((z, Violation("DEADLOCK", "no step enabled in a state that is "
                                           "not an intended terminal state", s, "deadlock")))
                break
        found.sort(key=lambda x: x[0])
        res.violations.extend(v for _, v in found)

    def _progress(self, res: NativeResult) -> list[Violation]:
        lib, h = self.lib, self.handle
        out: list[Violation] = []
        n = lib.es_progress(h, -1)
        if n < 0:
            raise MemoryError("native explorer: no memory for the progress checks")
        for k in range(n):
            b = lib.es_bad_at(h, k)
            s = self.state(b)
            if not self.is_intended_terminal(s):
                self._remember(res, b)
                out.append(Violation("DEADLOCK", DEADLOCK_TITLE, s, "progress"))
                break
        for k, prop in enumerate(self.progress_props):
            if lib.es_progress(h, k) > 0:
                s = self._remember(res, lib.es_bad_at(h, 0))
                out.append(Violation(prop.id, prop.title, s, "progress"))
        return out

    def trace_to(self, res: ExploreResult, target: State) -> list[tuple[str, State]]:
        """The path to `target` from the native parent links, replayed concretely from the
        initial state (identities stay stable) through the compiled Python engine."""
        k = res.ids[target]
        chain: list[State] = []
        while k >= 0:
            chain.append(self.state(k))
            k = self.lib.es_parent(self.handle, k)
        chain.reverse()
        path_res = ExploreResult(ids={s: i for i, s in enumerate(chain)}, order=chain,
                                 parent=list(range(-1, len(chain) - 1)))
        return super().trace_to(path_res, chain[-1])

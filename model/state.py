"""The model state: a flat record of named integer fields (Ms, Ps, Gs, the scheduler,
sysmon, the stop-the-world and forEachP callers), with a read view and an update builder
that work the same over Python ints and Z3 terms.

References are 1-based (0 = nil): `m.p`, `m.oldp` and `sysmon.p` name Ps, `p.m` and `g.m`
name Ms, `m.curg` and `gc.g` name Gs; `g.q` is 0 (no queue), 1..nP (that P's local run
queue) or nP+1 (the global run queue)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from entersys.model import status as st

# Per-entity fields; the kind says how a symmetry permutation relabels the value.
M_FIELDS = {"pc": "pc", "p": "pref", "oldp": "pref", "curg": "gref", "locks": "int",
            "syscalltick": "tick", "mcache": "int", "throw": "int", "pp": "pref",
            "tmp": "int", "lockedg": "gref", "nextp": "pref", "gp": "gref",
            # Go 1.27: whether the M's signal stack holds secrets (runtime/secret)
            "sigsecret": "int"}
P_FIELDS = {"status": "int", "m": "mref", "syscalltick": "tick", "schedtick": "stick",
            "onidle": "int", "safepoint": "int", "preempt": "int", "wins": "int",
            "scanned": "int", "pd_tick": "tick", "pd_sched": "stick", "fnruns": "int",
            "nextp": "int"}
# g.schedok: 1 while g.sched is valid for where the G stands (saved at its last stop or
# re-saved after a systemstack call clobbered it), 0 while it is stale (the G runs on
# from its last save, or a systemstack call overwrote it); g.syscallsp: 0 unset, 1 copied
# from a valid g.sched, 2 copied from a stale one (reentersyscall's `syscallsp = sp`).
G_FIELDS = {"status": "int", "syscallsp": "int", "throwsplit": "int", "poisoned": "int",
            "schedok": "int", "m": "mref", "q": "qref", "lockedm": "mref"}
SCHED_FIELDS = {"gcwaiting": "int", "stopwait": "int", "sysmonwait": "int", "lock": "int",
                "nmidlelocked": "int", "event": "int",
                "y.pc": "ypc", "y.p": "pref", "w.pc": "wpc", "f.pc": "fpc", "gc.g": "gref",
                # Go 1.26+: the syscallingThread sysmon's retake holds (its M and G)
                "y.m": "mref", "y.g": "gref",
                # a throw of an actor that is not an M (W, F, the GC): Go's code
                "throw": "int",
                # an observer (the GC's stack scan, the tracer's unwinder) read a stale
                # saved context of a G in a syscall (steps.read_context)
                "obs.stale": "int"}

LOCK_FREE, LOCK_W, LOCK_F = 0, 1, 2
# The optional parts of the model: the Config flags below, in this order.
PARTS = ("stw", "foreachp", "gc", "sysmon", "blockhint", "raw", "rawwait", "locked", "secret")


@dataclass(frozen=True)
class Config:
    ms: int = 2
    ps: int = 2
    gs: int = 2
    go: str = "1.25"
    stw: bool = True        # include the stop-the-world initiator W
    foreachp: bool = True   # include the forEachP caller F
    gc: bool = True         # include the GC stack scanner
    sysmon: bool = True
    blockhint: bool = True  # Gs may call entersyscallblock
    raw: bool = True        # Gs may make a blocking RawSyscall
    # Gs may make a RawSyscall that returns only after another G has run (a pipe, a
    # socketpair or FUSE peer): a misuse of RawSyscall, so off unless asked for
    rawwait: bool = False
    # Gs may call LockOSThread/UnlockOSThread (g.lockedm, m.lockedg and the locked-M
    # paths of schedule and exitsyscall0): off unless asked for (it adds states)
    locked: bool = False
    secret: bool = True     # Go 1.27: signals in runtime/secret mode dirty signal stacks

    def validate(self) -> None:
        for name, n, lo in (("ms", self.ms, 1), ("ps", self.ps, 1), ("gs", self.gs, 1)):
            if not isinstance(n, int) or n < lo:
                raise ValueError(f"--{name} must be a whole number >= {lo}, not {n!r}")
        if self.ms > 6 or self.ps > 6 or self.gs > 8:
            raise ValueError("configuration too large (at most 6 Ms, 6 Ps, 8 Gs)")

    @property
    def global_q(self) -> int:
        return self.ps + 1


class Layout:
    """Field name -> position in the state tuple, and the per-field symmetry kind."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        names: list[str] = []
        kinds: list[str] = []
        for i in range(cfg.ms):
            for f, k in M_FIELDS.items():
                names.append(f"m{i}.{f}")
                kinds.append(k)
        for i in range(cfg.ps):
            for f, k in P_FIELDS.items():
                names.append(f"p{i}.{f}")
                kinds.append(k)
        for i in range(cfg.gs):
            for f, k in G_FIELDS.items():
                names.append(f"g{i}.{f}")
                kinds.append(k)
        for f, k in SCHED_FIELDS.items():
            names.append(f)
            kinds.append(k)
        self.names = names
        self.kinds = kinds
        self.index = {n: i for i, n in enumerate(names)}
        self.mname = [{f: self.index[f"m{i}.{f}"] for f in M_FIELDS} for i in range(cfg.ms)]
        self.pname = [{f: self.index[f"p{i}.{f}"] for f in P_FIELDS} for i in range(cfg.ps)]
        self.gname = [{f: self.index[f"g{i}.{f}"] for f in G_FIELDS} for i in range(cfg.gs)]

    def __len__(self) -> int:
        return len(self.names)


class View:
    """Read access to one state through an Ops (concrete or Z3). `get(i)` reads position i."""

    __slots__ = ("L", "X", "get", "cfg")

    def __init__(self, layout: Layout, ops: Any, get: Any) -> None:
        self.L, self.X, self.get, self.cfg = layout, ops, get, layout.cfg

    def m(self, i: int, f: str) -> Any:
        return self.get(self.L.mname[i][f])

    def p(self, i: int, f: str) -> Any:
        return self.get(self.L.pname[i][f])

    def g(self, i: int, f: str) -> Any:
        return self.get(self.L.gname[i][f])

    def s(self, f: str) -> Any:
        return self.get(self.L.index[f])

    def P(self, ref: Any, f: str) -> Any:
        """Field f of the P named by ref (1-based; may be symbolic)."""
        return self.X.select([self.p(j, f) for j in range(self.cfg.ps)], ref)

    def G(self, ref: Any, f: str) -> Any:
        return self.X.select([self.g(j, f) for j in range(self.cfg.gs)], ref)

    def M(self, ref: Any, f: str) -> Any:
        return self.X.select([self.m(j, f) for j in range(self.cfg.ms)], ref)


class Update:
    """Collects writes of one step. Values are computed from the pre-state; a later write
    to the same field wins; a write through a symbolic reference becomes one guarded write
    per candidate field."""

    __slots__ = ("L", "X", "writes", "v", "atomic", "_locked")

    def __init__(self, view: View) -> None:
        self.v, self.L, self.X = view, view.L, view.X
        self.writes: dict[int, Any] = {}
        # position -> when it is written by a locked instruction (Go's atomic store, CAS,
        # lock): the x86-TSO reading drains the store buffer then; other writes are plain
        self.atomic: dict[int, Any] = {}
        self._locked: Any = None

    def _set(self, pos: int, value: Any) -> None:
        self.writes[pos] = value
        if self._locked is not None:
            self.atomic[pos] = self._locked

    @contextmanager
    def locked(self, when: Any = True) -> Iterator[None]:
        """Writes made inside are Go atomics (XCHG/LOCK CMPXCHG on amd64), executed when
        `when` holds (a CAS attempted only under a condition)."""
        self._locked = when
        try:
            yield
        finally:
            self._locked = None

    def _old(self, pos: int) -> Any:
        return self.writes.get(pos, self.v.get(pos))

    def now(self, pos: int) -> Any:
        """The value at position pos with this step's writes so far applied."""
        return self.writes.get(pos, self.v.get(pos))

    def m(self, i: int, **kw: Any) -> None:
        for f, val in kw.items():
            self._set(self.L.mname[i][f], val)

    def p(self, i: int, **kw: Any) -> None:
        for f, val in kw.items():
            self._set(self.L.pname[i][f], val)

    def g(self, i: int, **kw: Any) -> None:
        for f, val in kw.items():
            self._set(self.L.gname[i][f], val)

    def s(self, f: str, val: Any) -> None:
        self._set(self.L.index[f], val)

    def _ref(self, table: list[dict[str, int]], ref: Any, kw: dict[str, Any]) -> None:
        X = self.X
        if X.is_concrete(ref):
            if 1 <= ref <= len(table):
                for f, val in kw.items():
                    self._set(table[ref - 1][f], val)
            return
        for j, names in enumerate(table):
            for f, val in kw.items():
                pos = names[f]
                self._set(pos, X.ite(ref == j + 1, val, self._old(pos)))

    def P(self, ref: Any, **kw: Any) -> None:
        self._ref(self.L.pname, ref, kw)

    def G(self, ref: Any, **kw: Any) -> None:
        self._ref(self.L.gname, ref, kw)

    def M(self, ref: Any, **kw: Any) -> None:
        self._ref(self.L.mname, ref, kw)


def initial_state(layout: Layout, pcs: dict[str, int]) -> tuple[int, ...]:
    """All Ms parked, all Ps idle on the idle list, all Gs runnable on the global queue."""
    cfg = layout.cfg
    s = [0] * len(layout)
    for i in range(cfg.ms):
        s[layout.mname[i]["pc"]] = pcs["idle"]
    for i in range(cfg.ps):
        n = layout.pname[i]
        s[n["status"]] = st._Pidle
        s[n["onidle"]] = 1
        s[n["syscalltick"]] = 1
        s[n["schedtick"]] = 1
        s[n["pd_tick"]] = 1
        s[n["pd_sched"]] = 1
    for i in range(cfg.gs):
        n = layout.gname[i]
        s[n["status"]] = st._Grunnable
        s[n["q"]] = cfg.global_q
        s[n["schedok"]] = 1
    s[layout.index["y.pc"]] = pcs["y.run"]
    s[layout.index["w.pc"]] = pcs["w.idle"]
    s[layout.index["f.pc"]] = pcs["f.idle"]
    return tuple(s)

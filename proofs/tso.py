"""The x86-TSO reading of the protocol, for the store->load handshake of rule R8: the entering
M stores `_Psyscall` and then reads `sched.gcwaiting`; stop-the-world stores `gcwaiting` and
then reads every P's status. Each thread (an M, the stop-the-world caller W) has a FIFO
store buffer; a step's plain stores to shared memory (P, G and scheduler fields) enter it,
its loads see its own newest buffered store or else memory, and a flush step moves the
oldest entry to memory. A step whose Ops mark a write as a Go atomic (Update.locked: XCHG or
LOCK CMPXCHG on amd64) drains its thread's buffer and writes memory directly. Everything is
derived from the step definitions: read through prog.apply with a buffered View.

The check is bounded: from the state where M0 is about to release its P in
`reentersyscall`, every interleaving of M0, W and the flushes up to a depth."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import z3
from entersys.model.ops import CONCRETE
from entersys.model.program import Ctx, Instance, Program, Step
from entersys.model.state import Config, View, initial_state
from entersys.oracle.protocol import build_program, with_parts
from entersys.proofs.bv import ToBitVec
from entersys.proofs.protocol_z3 import Z3P
from entersys.proofs.transition import SEED, TIMEOUT_MS
from entersys.results import CheckResult, Counterexample, TraceStep, Verdict, timed

SLOTS = 3  # store-buffer entries per thread
# Fields that are no memory of Go's: the model's ghosts and per-actor locals.
GHOSTS = {"wins", "fnruns", "scanned", "pd_tick", "pd_sched"}
NOT_MEMORY = {"y.pc", "w.pc", "f.pc", "y.p", "gc.g"}
WINDOW_AT = "reentersyscall.11.release"
PROPERTIES = ("STW-HANDSHAKE", "I8")
GROUP = "protocol"


@dataclass(frozen=True)
class Window:
    """Where a design's entering M meets stop-the-world: the label M0 starts at, the
    step whose shared store the plain-store mutant makes a plain MOV, the properties
    checked, and the plain-store mutant's name."""

    at: str
    store_step: str
    properties: tuple[str, ...]
    mutant: str
    depth: int     # actions unrolled from the window's start


WINDOWS = {
    # R8: store _Psyscall, then load gcwaiting (stopTheWorld: store gcwaiting, then load
    # every P's status)
    "psyscall": Window(WINDOW_AT, "reentersyscall.11.Psyscall", PROPERTIES,
                       "R8-plain-store", 10),
    # Go 1.26+: load gcwaiting, then CAS the G to _Gsyscall (casgstatus); stopTheWorld
    # takes a syscalling G's P through the G's scan bit (castogscanstatus)
    "scanbit": Window("reentersyscall26.9.gcwait", "reentersyscall.5.casgstatus",
                      ("I1", "I7-SCAN", "I8"), "N3-plain-gsyscall", 7),
}


def window_of(prog: Program) -> Window:
    return WINDOWS[prog.design]


def plain_store_mutant(prog: Program) -> Program:
    """The design's window store made a plain MOV instead of a Go atomic (the old
    design: `_Psyscall` stored without atomic.Store; Go 1.26+: the G's switch to
    `_Gsyscall` written without casgstatus's CAS)."""
    win = window_of(prog)
    old = prog.steps[win.store_step]

    def fn(c: Ctx) -> Iterator[Any]:
        yield from old.fn(c)
        c.u.atomic.clear()

    steps = dict(prog.steps)
    steps[old.name] = Step(old.name, old.actor, old.at, old.rule,
                           f"mutant: plain store in {old.name}", fn, old.params)
    out = prog.mutated(win.mutant, steps=steps)
    out.finish()
    return out


def shared_positions(prog: Program) -> list[int]:
    L = prog.layout
    return [i for i, n in enumerate(L.names) if not n.startswith("m")
            and n.rpartition(".")[2] not in GHOSTS and n not in NOT_MEMORY]


def window_start(prog: Program) -> tuple[int, ...]:
    """The first state (breadth-first over M0's steps alone) where M0 is at the design's
    window label."""
    target = prog.labels[window_of(prog).at]
    pcpos = prog.layout.mname[0]["pc"]
    ms = [i for i in prog.instances() if i.step.actor == "M"]
    start = initial_state(prog.layout, prog.labels)
    seen, todo = {start}, deque([start])
    while todo:
        s = todo.popleft()
        if s[pcpos] == target:
            return s
        for inst in ms:
            g, w = prog.apply(inst, View(prog.layout, CONCRETE, s.__getitem__))
            if g:
                n = list(s)
                for p, v in w.items():
                    n[p] = v
                t = tuple(int(x) for x in n)
                if t not in seen:
                    seen.add(t)
                    todo.append(t)
    raise RuntimeError(f"no state with M0 at {window_of(prog).at}")


@dataclass
class TsoFrame:
    mem: list[Any]
    n: dict[str, Any]                       # thread -> entries in its buffer
    pos: dict[str, list[Any]]
    val: dict[str, list[Any]]
    act: Any


@dataclass
class TsoRun:
    status: str
    depth: int
    labels: list[str] = field(default_factory=list)
    buffered: list[str] = field(default_factory=list)
    violated: list[str] = field(default_factory=list)
    seconds: float = 0.0


class TsoMachine:
    """One step relation over memory plus store buffers; `tso=False` is sequential
    consistency (every store goes to memory at once)."""

    def __init__(self, prog: Program, tso: bool) -> None:
        self.prog, self.tso = prog, tso
        self.threads = [f"M{i}" for i in range(prog.cfg.ms)] + ["W"]
        self.shared = shared_positions(prog)
        self.insts = [i for i in prog.instances() if i.step.actor in ("M", "W")]
        self.names = prog.layout.names
        self.actions: list[tuple[str, Instance | None]] = \
            [("step", i) for i in self.insts] + [("flush:" + t, None) for t in self.threads]

    def thread(self, inst: Instance) -> str:
        return f"M{inst.m}" if inst.step.actor == "M" else "W"

    def frame(self, tag: str) -> TsoFrame:
        return TsoFrame([z3.Int(f"{tag}.{n}") for n in self.names],
                        {t: z3.Int(f"{tag}.{t}.n") for t in self.threads},
                        {t: [z3.Int(f"{tag}.{t}.pos{j}") for j in range(SLOTS)]
                         for t in self.threads},
                        {t: [z3.Int(f"{tag}.{t}.val{j}") for j in range(SLOTS)]
                         for t in self.threads}, z3.Int(f"{tag}.act"))

    def read(self, f: TsoFrame, t: str, p: int) -> Any:
        out = f.mem[p]
        for j in range(SLOTS):
            out = z3.If(z3.And(j < f.n[t], f.pos[t][j] == p), f.val[t][j], out)
        return out

    def _drained(self, f: TsoFrame, t: str) -> list[Any]:
        mem = list(f.mem)
        for p in self.shared:
            for j in range(SLOTS):
                mem[p] = z3.If(z3.And(j < f.n[t], f.pos[t][j] == p), f.val[t][j], mem[p])
        return mem

    def step(self, pre: TsoFrame, post: TsoFrame) -> Any:
        """T_TSO(pre, post) by action index pre.act."""
        cases = []
        for k, (kind, inst) in enumerate(self.actions):
            mem, n = list(pre.mem), dict(pre.n)
            pos = {t: list(v) for t, v in pre.pos.items()}
            val = {t: list(v) for t, v in pre.val.items()}
            if inst is None:
                t = kind.split(":", 1)[1]
                guard = pre.n[t] > 0
                for p in self.shared:
                    mem[p] = z3.If(pre.pos[t][0] == p, pre.val[t][0], mem[p])
                pos[t] = pre.pos[t][1:] + [z3.IntVal(0)]
                val[t] = pre.val[t][1:] + [z3.IntVal(0)]
                n[t] = pre.n[t] - 1
            else:
                t = self.thread(inst)
                sh = set(self.shared)
                view = View(self.prog.layout, Z3P,
                            lambda p, t=t, sh=sh: self.read(pre, t, p) if p in sh else pre.mem[p])
                atomic: dict[int, Any] = {}
                g, writes = self.prog.apply(inst, view, atomic=atomic)
                locked = _b(Z3P.or_(*atomic.values())) if self.tso else z3.BoolVal(True)
                plain = [(p, w) for p, w in writes.items() if p in sh and p not in atomic]
                # the locked path: drain the buffer, every write to memory
                lmem = self._drained(pre, t) if self.tso else list(pre.mem)
                for p, w in writes.items():
                    lmem[p] = _i(w)
                # the plain path: shared stores into the buffer (an unexecuted CAS writes
                # nothing), the rest to memory
                pmem = list(pre.mem)
                for p, w in writes.items():
                    if p not in sh:
                        pmem[p] = _i(w)
                # a store happens only where the value changes (`ite(c, new, old)` writes
                # nothing when c is false); its slot is the next free one
                ppos, pval = list(pre.pos[t]), list(pre.val[t])
                used: Any = pre.n[t]
                for p, w in plain:
                    en = _i(w) != self.read(pre, t, p)
                    for j in range(SLOTS):
                        hit = z3.And(en, used == j)
                        ppos[j] = z3.If(hit, p, ppos[j])
                        pval[j] = z3.If(hit, _i(w), pval[j])
                    used = used + z3.If(en, 1, 0)
                guard = z3.And(_b(g), z3.Or(locked, used <= SLOTS))
                mem = [z3.If(locked, a, b) for a, b in zip(lmem, pmem)]
                n[t] = z3.If(locked, 0 if self.tso else pre.n[t], used)
                pos[t] = [z3.If(locked, a, b) for a, b in zip(pre.pos[t], ppos)]
                val[t] = [z3.If(locked, a, b) for a, b in zip(pre.val[t], pval)]
            eqs = [a == b for a, b in zip(post.mem, mem)]
            for t in self.threads:
                eqs.append(post.n[t] == n[t])
                eqs += [a == b for a, b in zip(post.pos[t], pos[t])]
                eqs += [a == b for a, b in zip(post.val[t], val[t])]
            cases.append(z3.And(pre.act == k, guard, *eqs))
        return z3.Or(*cases)

    def label(self, k: int) -> str:
        kind, inst = self.actions[k]
        return inst.label if inst is not None else kind


def _b(x: Any) -> Any:
    return z3.BoolVal(x) if isinstance(x, bool) else x


def _i(x: Any) -> Any:
    return z3.IntVal(x) if isinstance(x, int) else x


def check(prog: Program, tso: bool, depth: int = 10, timeout_ms: int = TIMEOUT_MS) -> TsoRun:
    """BMC of the handshake window: is a state with empty buffers violating one of
    PROPERTIES reachable within `depth` actions?"""
    t0 = time.perf_counter()
    mach = TsoMachine(prog, tso)
    start = window_start(prog)
    bv = ToBitVec()
    s = z3.SolverFor("QF_BV")
    s.set("random_seed", SEED)
    s.set("timeout", timeout_ms)
    frames = [mach.frame("t0")]
    f0 = frames[0]
    s.add(bv(z3.And(*[v == x for v, x in zip(f0.mem, start)],
                    *[f0.n[t] == 0 for t in mach.threads])))
    invs = [i for i in prog.invariants if i.id in window_of(prog).properties]
    for k in range(depth + 1):
        f = frames[k]
        view = View(prog.layout, Z3P, f.mem.__getitem__)
        bad = z3.And(*[f.n[t] == 0 for t in mach.threads],
                     z3.Or(*[z3.Not(_b(i.pred(prog, view))) for i in invs]))
        s.push()
        s.add(bv(bad))
        r = s.check()
        if r == z3.sat:
            m = s.model()
            acts = [m.eval(bv(frames[j].act), model_completion=True).as_signed_long()
                    for j in range(k)]
            labels = [mach.label(a) for a in acts]
            violated = [i.id for i in invs if z3.is_false(
                m.eval(bv(_b(i.pred(prog, view))), model_completion=True))]
            buffered = _buffered(mach, m, frames, acts, bv)
            s.pop()
            return TsoRun("refuted", k, labels, buffered, violated, time.perf_counter() - t0)
        s.pop()
        if r != z3.unsat:
            return TsoRun("unknown", k, seconds=time.perf_counter() - t0)
        if k < depth:
            nxt = mach.frame(f"t{k + 1}")
            s.add(bv(mach.step(f, nxt)))
            frames.append(nxt)
    return TsoRun("holds", depth, seconds=time.perf_counter() - t0)


def _buffered(mach: TsoMachine, m: z3.ModelRef, frames: list[TsoFrame], acts: list[int],
              bv: ToBitVec) -> list[str]:
    """For each step of the trace that left stores in its buffer: 'step k: label buffers
    field := value'."""
    out = []
    for k, a in enumerate(acts):
        kind, inst = mach.actions[a]
        if inst is None:
            continue
        t = mach.thread(inst)
        ev = lambda x: m.eval(bv(x), model_completion=True).as_signed_long()  # noqa: E731
        before, after = ev(frames[k].n[t]), ev(frames[k + 1].n[t])
        for j in range(before, after):
            p, v = ev(frames[k + 1].pos[t][j]), ev(frames[k + 1].val[t][j])
            out.append(f"step {k + 1}: {inst.label} buffers {mach.names[p]} := {v}")
    return out


def window_program(go: str, mutant: str | None = None) -> Program:
    cfg = replace(with_parts(Config(1, 1, 1), ("stw",)), go=go)
    if mutant in ("R8-plain-store", "N3-plain-gsyscall"):
        return plain_store_mutant(build_program(cfg, go))
    return build_program(cfg, go, mutant)


CASES = (  # (model, memory model, expected verdict)
    (None, "tso", Verdict.HOLDS), (None, "sc", Verdict.HOLDS),
    ("R8-plain-store", "sc", Verdict.HOLDS), ("R8-plain-store", "tso", Verdict.REFUTED),
    ("R8-gcwait-early", "sc", Verdict.REFUTED), ("R8-gcwait-early", "tso", Verdict.REFUTED),
)


# Go 1.26+ has no store->load handshake (it loads gcwaiting first, then CASes the G's
# status): every shared store in its window is a locked instruction, so TSO adds nothing
# to SC for the faithful model. The plain-store mutant of the G's switch holds under both
# to the window's depth (7 actions; the TSO unrolling of this design's larger window
# reached depth 8 in 290 s on a loaded machine, so the group stops at 7).
SCAN_CASES = (
    (None, "tso", Verdict.HOLDS), (None, "sc", Verdict.HOLDS),
    ("N3-plain-gsyscall", "sc", Verdict.HOLDS), ("N3-plain-gsyscall", "tso", Verdict.HOLDS),
)


_WHAT = {"psyscall": "R8 store->load handshake",
         "scanbit": "gcwaiting load / casgstatus(_Gsyscall) window"}


def cases(go: str) -> tuple[tuple[str | None, str, Verdict], ...]:
    return CASES if window_program(go).design == "psyscall" else SCAN_CASES


def applies(go: str) -> bool:
    """Whether the TSO group has a window for Go `go` (both designs have one)."""
    return window_program(go).design in WINDOWS


def records(go: str, depth: int | None = None, timeout_ms: int = TIMEOUT_MS
            ) -> list[CheckResult]:
    return [case_record(go, k, depth, timeout_ms) for k in range(len(cases(go)))]


def case_record(go: str, case: int, depth: int | None = None,
                timeout_ms: int = TIMEOUT_MS) -> CheckResult:
    """The record of case `case` of cases(go): one bounded check of the design's window
    to `depth` actions (default: the window's own depth)."""
    mutant, mm, expected = cases(go)[case]
    with timed() as t:
        prog = window_program(go, mutant)
        run = check(prog, mm == "tso", depth or window_of(prog).depth, timeout_ms)
    verdict = {"holds": Verdict.HOLDS, "refuted": Verdict.REFUTED}.get(run.status,
                                                                        Verdict.UNKNOWN)
    cex = None
    if run.status == "refuted":
        cex = Counterexample(
            summary=f"{', '.join(run.violated)} violated under {mm.upper()} after "
                    f"{len(run.labels)} actions from M0 at {window_of(prog).at}"
                    + (f"; buffered: {'; '.join(run.buffered)}" if run.buffered else ""),
            trace=[TraceStep(k, lab.split(":", 1)[0], lab.split(":", 1)[-1], "", {}, {})
                   for k, lab in enumerate(run.labels, 1)],
            replay=f"entersys verify --only protocol --go {go}")
    name = mutant or "faithful"
    return CheckResult(
        f"{GROUP}.go{go}.tso.{name}.{mm}", GROUP,
        f"Go {go} {_WHAT[prog.design]}, {name}, under {mm.upper()}", "tso", verdict,
        expected, t(), cex,
        {"method": "bounded model checking of the handshake window (Z3, QF_BV), "
                   f"store buffers of {SLOTS} entries" if mm == "tso" else
                   "bounded model checking of the handshake window (Z3, QF_BV)",
         "depth": run.depth, "memory_model": mm, "solver_seconds": round(run.seconds, 3),
         "buffered_stores": run.buffered, "violated": run.violated})

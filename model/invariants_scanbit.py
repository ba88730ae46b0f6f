"""The invariants of the Go 1.26+ design (spec section 5, V27 readings of I1, I2, I7 and I10)
as named predicates over a View, in the same Ops as the steps, for every engine.

Old-design invariants that still apply are the same functions (entersys.model.invariants).
Those that no longer hold, and why, are listed in RETIRED."""

from __future__ import annotations

from typing import Any

from entersys.model import invariants as old
from entersys.model import status as st
from entersys.model.invariants import Invariant
from entersys.model.program import Program
from entersys.model.state import View

# Old-design invariants this design does not check, and why.
RETIRED = {
    "I4": "_Psyscall is never stored (runtime2.go renames it _Psyscall_unused): the check "
          "would hold vacuously. Its role (the released P carries no M) is I4-UNWIRED.",
    "I7": "there are no _Psyscall episodes to count winners of (p.wins stays 0); the single "
          "serialization point is the G's status word: I7-SCAN and I7-WIRE.",
    "G-RUNNING-P": "fails by design: a _Grunning G may lack a P after "
                   "entersyscallHandleGCWait, in entersyscallblock between handoffp and the "
                   "switch to _Gsyscall, and in exitsyscall before a P is found (spec I10, "
                   "debugExtendGrunningNoP). Replaced by I10.",
    "STW-HANDSHAKE": "states R8's _Psyscall store -> gcwaiting load handshake, which this "
                     "design does not have: reentersyscall loads gcwaiting before its G "
                     "switch. Whether the world still stops is the progress check P-STW.",
}


def _pcs_in(prog: Program, v: View, i: int, names: tuple[str, ...]) -> Any:
    pc = v.m(i, "pc")
    return v.X.or_(*[pc == prog.labels[n] for n in names if n in prog.labels])


def i1_exclusive(prog: Program, v: View) -> Any:
    """I1 (V27): every P has at most one owner: an M with m.p == P, the idle list, or a
    stealer between takeP and handing the P on (sysmon before handoffp; an M before its
    acquirep). A _Prunning P has exactly one (the attached M, or the stealer that unwired
    it), a _Pgcstop P none (W), and a P on the idle list is _Pidle."""
    X = v.X
    y_own = {prog.labels[n] for n in ("retake.takeP.unwire", "retake.handoffp")
             if n in prog.labels}
    m_own = ("exitsyscallTryGetP.acquirep",)
    conds = []
    for j in range(v.cfg.ps):
        ref = j + 1
        owners = [v.m(i, "p") == ref for i in range(v.cfg.ms)]
        owners += [X.and_(_pcs_in(prog, v, i, m_own), v.m(i, "pp") == ref)
                   for i in range(v.cfg.ms)]
        owners.append(X.and_(X.or_(*[v.s("y.pc") == lab for lab in sorted(y_own)]),
                             v.s("y.p") == ref))
        n = X.count(owners) + X.ite(v.p(j, "onidle") == 1, 1, 0)
        s = v.p(j, "status")
        conds += [n <= 1, X.ite(s == st._Prunning, n == 1, True),
                  X.ite(s == st._Pgcstop, n == 0, True),
                  X.ite(v.p(j, "onidle") == 1, s == st._Pidle, True)]
    return X.and_(*conds)


def i4_unwired(prog: Program, v: View) -> Any:
    """I4-UNWIRED (R16, releaseP): a P that is not _Prunning is wired to no M: p.m == 0 and
    no m.p names it (releaseP clears both before its status store publishes the P)."""
    X = v.X
    conds = []
    for j in range(v.cfg.ps):
        running = v.p(j, "status") == st._Prunning
        named = X.or_(*[v.m(i, "p") == j + 1 for i in range(v.cfg.ms)])
        conds.append(X.ite(running, True, X.and_(v.p(j, "m") == 0, X.not_(named))))
    return X.and_(*conds)


def scan_holders(prog: Program, v: View, g: int) -> Any:
    """How many parties hold G g's scan bit: the GC, or sysmon between its CAS and its
    resume (the other stealers take and release it within one step)."""
    X = v.X
    ref = g + 1
    y_hold = [prog.labels[n] for n in ("retake.block.recheck", "retake.takeP",
                                        "retake.takeP.status", "retake.takeP.unwire",
                                        "retake.block.store")
              if n in prog.labels]
    held_by_y = X.and_(v.s("y.g") == ref, X.or_(*[v.s("y.pc") == lab for lab in y_hold]))
    return X.count([v.s("gc.g") == ref, held_by_y])


def i7_scan(prog: Program, v: View) -> Any:
    """I7-SCAN (V27): at most one party holds a G's scan bit, and the bit is set exactly
    while someone holds it."""
    X = v.X
    conds = []
    for j in range(v.cfg.gs):
        n = scan_holders(prog, v, j)
        scanned = v.g(j, "status") >= st._Gscan
        conds += [n <= 1, X.ite(scanned, n == 1, n == 0)]
    return X.and_(*conds)


def i7_wire(prog: Program, v: View) -> Any:
    """I7-WIRE (V27): while nobody holds the bit of a G in _Gsyscall, its M's wiring is
    consistent: either m.p == P with p.m == M and P _Prunning, or m.p == 0 and no P
    names M. So m.p / p.m / p.status of a syscall-attached P change only under the bit."""
    X = v.X
    conds = []
    for i in range(v.cfg.ms):
        g = v.m(i, "curg")
        mp = v.m(i, "p")
        wired = X.and_(mp != 0, v.P(mp, "m") == i + 1, v.P(mp, "status") == st._Prunning)
        free = X.and_(mp == 0, *[v.p(j, "m") != i + 1 for j in range(v.cfg.ps)])
        conds.append(X.ite(X.and_(g != 0, v.G(g, "status") == st._Gsyscall),
                           X.or_(wired, free), True))
    return X.and_(*conds)


# Labels at which an M's _Grunning G may lack a P (spec I10).
NO_P_WINDOWS = (
    "reentersyscall26.9.save", "reentersyscall.5.casgstatus",   # after entersyscallHandleGCWait
    "entersyscallblock.casgstatus",                             # after handoffp(releasep())
    "exitsyscall26.7.mp", "exitsyscallTryGetP.stealOldP", "exitsyscallTryGetP.acquirep",
    "exitsyscallTryGetP.stealOldP.release",                     # (mutant N7-steal-no-bit)
    "exitsyscallTryGetP.pidle",
    "exitsyscall.6.locks", "exitsyscallNoP.casgstatus",        # exit before a P is found
)


def i10_running_no_p(prog: Program, v: View) -> Any:
    """I10 (V27): a _Grunning G's M has a P, except in the windows of
    entersyscallHandleGCWait, entersyscallblock and exitsyscall before a P is found."""
    X = v.X
    conds = []
    for i in range(v.cfg.ms):
        g = v.m(i, "curg")
        running = X.and_(g != 0, v.G(g, "status") == st._Grunning, v.G(g, "m") == i + 1)
        conds.append(X.ite(running, X.or_(v.m(i, "p") != 0,
                                          _pcs_in(prog, v, i, NO_P_WINDOWS)), True))
    return X.and_(*conds)


def secret_erased(prog: Program, v: View) -> Any:
    """SECRET (V27, runtime/secret): an M sitting in a system call it entered through
    reentersyscall (m.oldp set) has no secrets on its signal stack. entersyscallblock
    (runtime-internal notetsleepg) does not erase them in go1.27.3, so it is exempt."""
    X = v.X
    return X.and_(*[X.ite(X.and_(_pcs_in(prog, v, i, ("sys", "sysblock")),
                                 v.m(i, "oldp") != 0),
                          v.m(i, "sigsecret") == 0, True) for i in range(v.cfg.ms)])


def intended_terminal(prog: Program, s: Any) -> bool:
    return old.intended_terminal(prog, s)


INVARIANTS: list[Invariant] = [
    Invariant("I0", "no M throws (wirep, checkdead, nil P, stopwait, releasep)",
              old.i0_no_throw),
    Invariant("I1", "P exclusivity (V27 owners)", i1_exclusive),
    Invariant("I2", "wiring symmetry m.p == P => p.m == M", old.i2_wiring),
    Invariant("I3", "_Gsyscall implies syscallsp set", old.i3_syscallsp),
    Invariant("I4-UNWIRED", "a P not _Prunning is wired to no M (releaseP order)",
              i4_unwired),
    Invariant("I5", "m.locks balance at step boundaries (now including "
              "exitsyscallTryGetP)", old.i5_locks),
    # the old design's R1-LOCKS (data: a _Gsyscall G whose M holds a _Prunning P) does not
    # apply: here the P stays _Prunning through the syscall; R1 stays a restated order
    Invariant("R1-ORDER", "m.locks > 0 while the runtime runs with the G in _Gsyscall",
              old.r1_locks_while_syscall),
    Invariant("I6", "throwsplit set for the whole syscall span", old.i6_throwsplit),
    Invariant("I7-SCAN", "at most one holder of a G's scan bit; set iff held", i7_scan),
    Invariant("I7-WIRE", "a syscall-attached P's wiring changes only under the scan bit",
              i7_wire),
    Invariant("I8", "stopwait accounting; world stopped => every P _Pgcstop",
              old.i8_stopwait),
    Invariant("I9", "a syscall G is on no run queue", old.i9_syscall_not_queued),
    Invariant("I10", "_Grunning without a P only in Go's windows", i10_running_no_p),
    Invariant("G-LOST", "no G is lost", old.no_g_lost),
    Invariant("NO-P-USER", "no G runs user code without a P", old.no_user_code_without_p),
    Invariant("R4-SAVE", "saved context valid during the syscall", old.schedok_in_syscall),
    Invariant("G-SCHED", "no observer (GC stack scan, tracer unwinder) reads a stale "
              "saved context", old.g_sched_observed),
    Invariant("FN-ONCE", "forEachP's fn runs at most once per P", old.safepoint_once),
    Invariant("SECRET", "no secrets on the signal stack of an M in a syscall (V27)",
              secret_erased),
]

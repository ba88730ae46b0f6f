"""The invariants of spec section 5 (I1-I9, I11) and the model's own safety properties as
named predicates over a View, written with the same Ops as the steps so that the explorer,
the Hypothesis machine and Z3 all check the one definition."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from entersys.model import status as st
from entersys.model.ops import CONCRETE
from entersys.model.program import Program
from entersys.model.state import View


@dataclass(frozen=True)
class Invariant:
    id: str
    title: str
    pred: Callable[[Program, View], Any]


def _labels_in(prog: Program, routines: tuple[str, ...]) -> set[int]:
    return {prog.labels[n] for r in routines for n in prog.routines[r][0]}


def i0_no_throw(prog: Program, v: View) -> Any:
    """I0: no M throws (m.throw), and neither do W, F or the GC (sched's throw)."""
    return v.X.and_(*[v.m(i, "throw") == 0 for i in range(v.cfg.ms)], v.s("throw") == 0)


def _owners(prog: Program, v: View, j: int) -> Any:
    """How many parties own P j (spec I1)."""
    X = v.X
    ref = j + 1
    pcx3 = prog.labels.get("exitsyscallfast.wirep", -1)
    pc11 = prog.labels.get("reentersyscall.11.Psyscall", -1)
    ms = [v.m(i, "p") == ref for i in range(v.cfg.ms)]
    # transient owners: an M between its CAS and wirep, an M between release and the
    # _Psyscall store (Go's local pp), sysmon between its CAS and handoffp
    trans = [X.and_(v.m(i, "pc") == pcx3, v.m(i, "oldp") == ref) for i in range(v.cfg.ms)]
    trans += [X.and_(v.m(i, "pc") == pc11, v.m(i, "pp") == ref, v.m(i, "p") == 0)
              for i in range(v.cfg.ms)]
    y_hand = prog.labels.get("retake.handoffp", -1)
    trans.append(X.and_(v.s("y.pc") == y_hand, v.s("y.p") == ref))
    idle = v.p(j, "onidle") == 1
    return X.count(ms) + X.count(trans) + X.ite(idle, 1, 0)


def i1_exclusive(prog: Program, v: View) -> Any:
    """I1: every P has at most one owner; a running P exactly one; a _Psyscall or
    _Pgcstop P none (nobody, resp. W)."""
    X = v.X
    conds = []
    for j in range(v.cfg.ps):
        n = _owners(prog, v, j)
        s = v.p(j, "status")
        conds.append(n <= 1)
        conds.append(X.ite(s == st._Prunning, n == 1, True))
        conds.append(X.ite(X.or_(s == st._Psyscall, s == st._Pgcstop), n == 0, True))
        conds.append(X.ite(v.p(j, "onidle") == 1, s == st._Pidle, True))
    return X.and_(*conds)


def i2_wiring(prog: Program, v: View) -> Any:
    """I2: m.p == P implies p.m == M (outside wirep/releasep, which are atomic here)."""
    X = v.X
    return X.and_(*[X.ite(v.m(i, "p") == j + 1, v.p(j, "m") == i + 1, True)
                    for i in range(v.cfg.ms) for j in range(v.cfg.ps)])


def _in_syscall(v: View, status: Any) -> Any:
    return v.X.or_(status == st._Gsyscall, status == st._Gscansyscall)


def _syscall_gs_have(v: View, field: str) -> Any:
    """Every G in _Gsyscall (with or without the scan bit) has `field` set."""
    X = v.X
    return X.and_(*[X.ite(_in_syscall(v, v.g(j, "status")), v.g(j, field) == 1, True)
                    for j in range(v.cfg.gs)])


def i3_syscallsp(prog: Program, v: View) -> Any:
    """I3: a G in _Gsyscall (with or without the scan bit) has syscallsp set (copied from
    a valid or a stale g.sched: whether the copy was valid is what observers see, G-SCHED)."""
    X = v.X
    return X.and_(*[X.ite(_in_syscall(v, v.g(j, "status")), v.g(j, "syscallsp") != 0, True)
                    for j in range(v.cfg.gs)])


def g_sched_observed(prog: Program, v: View) -> Any:
    """G-SCHED: no observer (the GC's stack scan of a G, the tracer's unwinder of a
    syscalling G) has read a stale saved context (obs.stale, written by
    steps.read_context)."""
    return v.s("obs.stale") == 0


def i4_psyscall_no_m(prog: Program, v: View) -> Any:
    """I4: p.status == _Psyscall implies p.m == 0."""
    X = v.X
    return X.and_(*[X.ite(v.p(j, "status") == st._Psyscall, v.p(j, "m") == 0, True)
                    for j in range(v.cfg.ps)])


def i5_locks(prog: Program, v: View) -> Any:
    """I5 (both designs, one definition): m.locks is a count, 0 <= m.locks <= 1 (the
    modelled routines never nest an acquirem). That it is back to 0 where Go needs it is
    Go's own check, not this predicate: schedule throws "schedule: holding locks" and
    stopm "stopm holding locks" (I0), so a lost m.locks-- is killed by Go's throw at the
    next schedule or stopm, and a reordering that keeps the count balanced by then is not
    refuted. Go 1.25 proc.go schedule/stopm."""
    X = v.X
    return X.and_(*[X.and_(v.m(i, "locks") >= 0, v.m(i, "locks") <= 1)
                    for i in range(v.cfg.ms)])


def r1_locks_data(prog: Program, v: View) -> Any:
    """R1 (old design), from data: an M whose G is in _Gsyscall (with or without the scan
    bit) while the M holds a _Prunning P (m.p) has m.locks > 0. This is the condition under
    which Go would act on a preemption request: newstack lets a preempted G run on when
    `m.locks != 0 || ... || m.p.status != _Prunning`, and isAsyncSafePoint refuses an
    asynchronous preemption on the same terms; preempting a G that is not _Grunning is
    the fault R1 guards against (the G is in _Gsyscall with a half-written g.sched).
    Outside that window (no P, or a P already _Psyscall) nothing that reads m.locks can
    act on the M, so moving m.locks++/-- there is a correct reordering and holds.
    Go 1.25 stack.go newstack, preempt.go isAsyncSafePoint, proc.go reentersyscall."""
    X = v.X
    conds = []
    for i in range(v.cfg.ms):
        g, mp = v.m(i, "curg"), v.m(i, "p")
        risky = X.and_(g != 0, _in_syscall(v, v.G(g, "status")), mp != 0,
                       v.P(mp, "status") == st._Prunning)
        conds.append(X.ite(risky, v.m(i, "locks") > 0, True))
    return X.and_(*conds)


def r1_locks_while_syscall(prog: Program, v: View) -> Any:
    """R1 as a restated order, kept for the Go 1.26+ design only (its M keeps its
    _Prunning P through the syscall, so the old design's data condition, r1_locks_data,
    does not separate its windows): while its M runs the runtime's enter or exit code and
    the G is in _Gsyscall (g.sched may be inconsistent), m.locks > 0. Exempt: the
    moment the kernel returns (the first label of exitsyscall, before its m.locks++) and
    the slow path after exitsyscall's m.locks-- (it mcalls to g0)."""
    X = v.X
    seq = prog.routines["exitsyscall"][0]
    runtime = _labels_in(prog, ("reentersyscall", "exitsyscall"))
    if seq:
        runtime.discard(prog.labels[seq[0]])
    conds = []
    for i in range(v.cfg.ms):
        pc, g = v.m(i, "pc"), v.m(i, "curg")
        in_sys = _in_syscall(v, v.G(g, "status"))
        isin = X.or_(*[pc == lab for lab in sorted(runtime)])
        conds.append(X.ite(X.and_(isin, in_sys), v.m(i, "locks") > 0, True))
    return X.and_(*conds)


def i6_throwsplit(prog: Program, v: View) -> Any:
    """I6: a G in _Gsyscall has throwsplit set (the span from entry step 2 to exit)."""
    return _syscall_gs_have(v, "throwsplit")


def i7_one_winner(prog: Program, v: View) -> Any:
    """I7: at most one successful transition out of each _Psyscall episode."""
    return v.X.and_(*[v.p(j, "wins") <= 1 for j in range(v.cfg.ps)])


def i8_stopwait(prog: Program, v: View) -> Any:
    """I8: while gcwaiting, stopwait counts the Ps not yet stopped; a stopped world has
    every P _Pgcstop; otherwise stopwait is 0."""
    X = v.X
    not_stopped = X.count([v.p(j, "status") != st._Pgcstop for j in range(v.cfg.ps)])
    world_stopped = v.s("w.pc") == prog.labels["w.stopped"]
    all_gcstop = X.and_(*[v.p(j, "status") == st._Pgcstop for j in range(v.cfg.ps)])
    return X.and_(
        X.ite(v.s("gcwaiting") == 1, v.s("stopwait") == not_stopped, v.s("stopwait") == 0),
        X.ite(world_stopped, all_gcstop, True))


def i9_syscall_not_queued(prog: Program, v: View) -> Any:
    """I9: a _Gsyscall G is on no run queue; a queued G is _Grunnable (maybe scanned)."""
    X = v.X
    conds = []
    for j in range(v.cfg.gs):
        s, q = v.g(j, "status"), v.g(j, "q")
        conds.append(X.ite(_in_syscall(v, s), q == 0, True))
        conds.append(X.ite(q != 0, X.or_(s == st._Grunnable, s == st._Gscanrunnable), True))
    return X.and_(*conds)


def no_g_lost(prog: Program, v: View) -> Any:
    """Every G is accounted for exactly once: on a run queue, or the curg of exactly one M
    (running, in a syscall, or in that M's hands during exitsyscall0)."""
    X = v.X
    conds = []
    for j in range(v.cfg.gs):
        holders = X.count([v.m(i, "curg") == j + 1 for i in range(v.cfg.ms)])
        queued = X.ite(v.g(j, "q") != 0, 1, 0)
        conds.append(holders + queued == 1)
    return X.and_(*conds)


def no_user_code_without_p(prog: Program, v: View) -> Any:
    """An M running user code (or blocked in a raw syscall) owns a running P and its G is
    _Grunning (spec I11 and section 9)."""
    X = v.X
    user = {prog.labels["user"], prog.labels["rawblock"], prog.labels["rawwait"]}
    conds = []
    for i in range(v.cfg.ms):
        pc, mp, g = v.m(i, "pc"), v.m(i, "p"), v.m(i, "curg")
        in_user = X.or_(*[pc == lab for lab in user])
        conds.append(X.ite(in_user, X.and_(mp != 0, v.P(mp, "status") == st._Prunning,
                                           v.P(mp, "m") == i + 1,
                                           v.G(g, "status") == st._Grunning), True))
    return X.and_(*conds)


def schedok_in_syscall(prog: Program, v: View) -> Any:
    """R4 as a restated order (label `sys`), kept for the Go 1.26+ design only: while an M
    is in the system call proper, its G's saved context is valid. The old design checks
    what observers read instead (G-SCHED)."""
    X = v.X
    sys = {prog.labels["sys"], prog.labels["sysblock"]}
    return X.and_(*[X.ite(X.or_(*[v.m(i, "pc") == lab for lab in sys]),
                          v.G(v.m(i, "curg"), "schedok") == 1, True)
                    for i in range(v.cfg.ms)])


def safepoint_once(prog: Program, v: View) -> Any:
    """forEachP runs fn at most once per P per round."""
    return v.X.and_(*[v.p(j, "fnruns") <= 1 for j in range(v.cfg.ps)])


def g_running_has_p(prog: Program, v: View) -> Any:
    """Old design: a _Grunning G's M owns a P (spec R10: the P is in hand before the G may
    act as running; entersyscall switches the G before releasing the P)."""
    X = v.X
    conds = []
    for j in range(v.cfg.gs):
        gm = v.g(j, "m")
        conds.append(X.ite(v.g(j, "status") == st._Grunning,
                           X.and_(gm != 0, v.M(gm, "p") != 0), True))
    return X.and_(*conds)


def stw_handshake(prog: Program, v: View) -> Any:
    """R8 (the store->load handshake), from data: while gcwaiting is set, a P that the
    stop-the-world loop has already visited (p.scanned, W's loop over allp) and found not
    stoppable is in _Psyscall only while the M that put it there still holds it as its
    local `pp` of reentersyscall (m.pp), i.e. has yet to run its own gcwaiting check
    (entersyscall_gcwait, T3). Otherwise neither W's CAS (T6) nor the M stops that P and
    the world waits for sysmon's retake or the syscall's return. Go 1.25 proc.go
    stopTheWorldWithSema, reentersyscall."""
    X = v.X
    conds = []
    for j in range(v.cfg.ps):
        entering = X.or_(*[v.m(i, "pp") == j + 1 for i in range(v.cfg.ms)])
        conds.append(X.ite(X.and_(v.s("gcwaiting") == 1, v.p(j, "scanned") == 1,
                                  v.p(j, "status") == st._Psyscall),
                           entering, True))
    return X.and_(*conds)


def locked_pairs(prog: Program, v: View) -> Any:
    """LockOSThread's pairing: m.lockedg == G exactly when g.lockedm == M."""
    X = v.X
    return X.and_(*[(v.m(i, "lockedg") == j + 1) == (v.g(j, "lockedm") == i + 1)
                    for i in range(v.cfg.ms) for j in range(v.cfg.gs)])


def terminal(prog: Program, v: View) -> Any:
    """A state where every G waits in a blocking call for an event nobody can send, with
    W and F idle: a deadlock of the program, not of the runtime (any Ops)."""
    X, labels, ms = v.X, prog.labels, range(v.cfg.ms)
    waiting = (labels["sysblock"], labels["rawblock"], labels["rawwait"])
    return X.and_(X.count([v.m(i, "curg") != 0 for i in ms]) == v.cfg.gs,
                  *[X.or_(v.m(i, "curg") == 0, *[v.m(i, "pc") == w for w in waiting])
                    for i in ms],
                  v.s("w.pc") == labels["w.idle"], v.s("f.pc") == labels["f.idle"])


def intended_terminal(prog: Program, s: Any) -> bool:
    """`terminal` on a concrete state (a tuple or list of field values)."""
    return bool(terminal(prog, View(prog.layout, CONCRETE, s.__getitem__)))


INVARIANTS: list[Invariant] = [
    Invariant("I0", "nobody throws (Go's own checks: wirep, releasep, stopm, schedule, "
              "casgstatus, stopTheWorld, forEachP, checkdead, stoplockedm, ...)",
              i0_no_throw),
    Invariant("I1", "P exclusivity", i1_exclusive),
    Invariant("I2", "wiring symmetry m.p == P => p.m == M", i2_wiring),
    Invariant("I3", "_Gsyscall implies syscallsp set", i3_syscallsp),
    Invariant("I4", "_Psyscall implies p.m == 0", i4_psyscall_no_m),
    Invariant("I5", "m.locks balance at step boundaries", i5_locks),
    Invariant("R1-LOCKS", "m.locks > 0 while a _Gsyscall G's M holds a _Prunning P "
              "(where Go would act on a preemption)", r1_locks_data),
    Invariant("I6", "throwsplit set for the whole syscall span", i6_throwsplit),
    Invariant("I7", "exactly one winner per _Psyscall episode", i7_one_winner),
    Invariant("I8", "stopwait accounting; world stopped => every P _Pgcstop", i8_stopwait),
    Invariant("I9", "a syscall G is on no run queue", i9_syscall_not_queued),
    Invariant("G-LOST", "no G is lost", no_g_lost),
    Invariant("NO-P-USER", "no G runs user code without a P", no_user_code_without_p),
    Invariant("G-SCHED", "no observer (GC stack scan, tracer unwinder) reads a stale "
              "saved context", g_sched_observed),
    Invariant("FN-ONCE", "forEachP's fn runs at most once per P", safepoint_once),
    Invariant("G-RUNNING-P", "a _Grunning G's M owns a P", g_running_has_p),
    Invariant("STW-HANDSHAKE", "no P escapes a stop-the-world in _Psyscall (R8)",
              stw_handshake),
    Invariant("LOCKED", "m.lockedg and g.lockedm name each other", locked_pairs),
]


# What kind of failure each property stands for, as the mutant catalog reports its kills:
# a throw Go itself would raise; a G or P lost or owned twice; a liveness failure (Go
# would hang or starve); an inconsistency of the data the runtime reads; or a restated
# step order (a property that names program labels; none of the old design's is one now:
# the Go 1.26+ design still uses r1_locks_while_syscall, see its docstring).
KILL_KINDS = {
    "I0": "go-throw",
    "I1": "lost-or-duplicated", "I7": "lost-or-duplicated", "G-LOST": "lost-or-duplicated",
    "I2": "inconsistent-data", "I3": "inconsistent-data", "I4": "inconsistent-data",
    "I6": "inconsistent-data", "I8": "inconsistent-data", "I9": "inconsistent-data",
    "NO-P-USER": "inconsistent-data", "G-RUNNING-P": "inconsistent-data",
    "R4-SAVE": "inconsistent-data", "FN-ONCE": "inconsistent-data",
    "G-SCHED": "observer",
    "LOCKED": "inconsistent-data",
    # the Go 1.26+ design's own (entersys.model.invariants_scanbit)
    "I7-SCAN": "lost-or-duplicated", "I7-WIRE": "lost-or-duplicated",
    "I4-UNWIRED": "inconsistent-data", "I10": "inconsistent-data", "SECRET": "inconsistent-data",
    "DEADLOCK": "liveness", "P-STW": "liveness", "P-FOREACHP": "liveness",
    "P-EXIT": "liveness", "LIVE-RUN": "liveness", "LIVE-EXIT": "liveness",
    "LIVE-STW": "liveness", "LIVE-FOREACHP": "liveness", "LIVE-RETAKE": "liveness",
    # R1-LOCKS and STW-HANDSHAKE are defined from data (m.locks, m.p, p.status, the
    # local pp, p.scanned, gcwaiting); I5 is a bound on m.locks, Go's throws do the rest
    "R1-LOCKS": "inconsistent-data", "I5": "inconsistent-data",
    "STW-HANDSHAKE": "inconsistent-data",
    # the Go 1.26+ design's R1 (r1_locks_while_syscall names program labels)
    "R1-ORDER": "restated-order",
}


def load_user_invariants(path: str) -> list[Invariant]:
    """The invariants of a user file: every function named `inv_*` taking (prog, v) and
    returning a condition over v.X (see examples/invariants.py); id from the name, title
    from the docstring. Raises ValueError if the file cannot be read or defines none."""
    import runpy

    try:
        ns = runpy.run_path(path)
    except (OSError, SyntaxError, ImportError, NameError) as e:
        raise ValueError(f"cannot load invariants from {path}: {e}") from None
    out = []
    for name, fn in ns.items():
        if name.startswith("inv_") and callable(fn):
            title = (fn.__doc__ or name).strip().splitlines()[0]
            out.append(Invariant(name[4:].upper().replace("_", "-"), title, fn))
    if not out:
        raise ValueError(f"{path} defines no inv_* function")
    return out

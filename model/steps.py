"""The syscall protocol of the old design (Go 1.14-1.25, P goes `_Psyscall`) as named atomic
steps: each is defined once, as a generator that first yields its guard and then writes its
effect, over a View/Update pair and an Ops (concrete or Z3).

A step runs for an actor (an M, sysmon, the stop-the-world caller W, the forEachP caller F,
the GC scanner) and, for the sequential routines (`reentersyscall`, `exitsyscall`, ...), at a
program label; its successor label comes from the routine's order, so that reordering or
dropping a step (a mutant) is a change of the routine list, not of the step. Go's shared
sub-steps (acquirep, handoffp, the CAS out of `_Psyscall`, checkdead) are functions here,
used by every step that performs them. Every engine (explorer, Hypothesis machine, Z3,
graphs, trace replay) runs these definitions through entersys.model.program.Program.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from entersys.model import status as st
from entersys.model.program import GC, SYSMON, Ctx, F, M, W, step
from entersys.model.state import LOCK_FREE, LOCK_W

# ==== Go's shared sub-steps =================================================================

def work_for(c: Ctx, pref: Any) -> Any:
    """A runnable G on the global queue or on P pref's local queue."""
    gq = c.v.cfg.global_q
    return c.any_g(lambda j: c.X.or_(c.v.g(j, "q") == gq,
                                          c.X.and_(pref != 0, c.v.g(j, "q") == pref)))

def idle_p_exists(c: Ctx) -> Any:
    return c.X.or_(*[c.v.p(j, "onidle") == 1 for j in range(c.v.cfg.ps)])

def acquirep(c: Ctx, pref: Any) -> None:
    """wirep: m.p = P, p.m = M, _Prunning; throws "wirep: already in go" unless m.p is
    nil, "wirep: invalid p state" unless p.m == 0 and P is idle. Go 1.25 proc.go wirep."""
    X, v = c.X, c.v
    c.throw(c.me("p") != 0, 11)
    c.throw(X.or_(v.P(pref, "m") != 0, v.P(pref, "status") != st._Pidle), 1)
    c.u.P(pref, status=st._Prunning, m=c.m + 1, onidle=0)
    c.set_me(p=pref)
    if c.go114:
        c.set_me(mcache=1)

def cas_psyscall(c: Ctx, pref: Any, new: int, cond: Any = True, tick: bool = True) -> Any:
    """atomic.Cas(&p.status, _Psyscall, new), attempted when `cond` holds; returns
    whether it won. Every winner counts one win of the episode (the I7 ghost) and,
    with `tick`, bumps p.syscalltick as every stealer does."""
    X, v = c.X, c.v
    won = X.and_(cond, v.P(pref, "status") == st._Psyscall)
    with c.u.locked(cond):
        c.u.P(pref, status=X.ite(won, new, v.P(pref, "status")),
              wins=X.ite(won, v.P(pref, "wins") + 1, v.P(pref, "wins")))
    if tick:
        c.u.P(pref, syscalltick=X.ite(won, v.P(pref, "syscalltick") + 1,
                                         v.P(pref, "syscalltick")))
    return won

def handoffp(c: Ctx, pref: Any) -> None:
    """handoffp (coarse, sched.lock held): with gcwaiting the P stops for STW and
    stopwait drops; otherwise the pending safe-point fn runs, and the P goes to a parked M
    when there is work on a run queue and an M is parked (startm(pp): the M's m.nextp,
    p.nextp here; Go would create an M if none were parked), else on the idle list.
    Go 1.25 proc.go handoffp/startm."""
    X, v = c.X, c.v
    gcw = v.s("gcwaiting") == 1
    sp = v.P(pref, "safepoint")
    # startm(pp) takes a parked M (mget) that no earlier handoff has taken yet
    parked = X.count([v.m(i, "pc") == c.prog.label("idle") for i in range(v.cfg.ms)
                      if i != c.m or c.step.actor != M])
    handed = X.count([v.p(j, "nextp") == 1 for j in range(v.cfg.ps)])
    give = X.and_(X.not_(gcw), work_for(c, pref), parked > handed)
    c.u.P(pref,
             status=X.ite(gcw, st._Pgcstop, st._Pidle),
             onidle=X.ite(X.or_(gcw, give), 0, 1),
             nextp=X.ite(give, 1, 0),
             safepoint=X.ite(gcw, sp, 0),
             fnruns=X.ite(X.and_(X.not_(gcw), sp == 1), v.P(pref, "fnruns") + 1,
                          v.P(pref, "fnruns")))
    c.u.s("stopwait", X.ite(gcw, v.s("stopwait") - 1, v.s("stopwait")))

def checkdead_on_stop(c: Ctx, idlelocked_delta: int = 0) -> None:
    """stopm -> mput -> checkdead: with no M left running (counting sysmon's
    incidlelocked(-1) and the Ms parked locked to a G in sched.nmidlelocked, changed by
    `idlelocked_delta` in this same step), a runnable or syscalling G is a fatal
    'checkdead' throw. Go 1.25 proc.go checkdead."""
    X, v = c.X, c.v
    idle = c.prog.label("idle")
    others_running = X.count([v.m(j, "pc") != idle for j in range(v.cfg.ms) if j != c.m])
    # the stop-the-world and forEachP callers run on Ms of their own
    callers = X.count([v.s("w.pc") != c.prog.label("w.idle"),
                       v.s("f.pc") != c.prog.label("f.idle")])
    # an M woken by startm(pp) with a P in m.nextp is no longer idle (mget took it)
    # (read with this step's writes: handoffp may have woken one just now)
    woken = X.count([c.u.now(v.L.pname[j]["nextp"]) == 1 for j in range(v.cfg.ps)])
    # a P left on the idle list while a G is queued has an M being started for it: every
    # Go path that frees a P with work about calls wakep/startm, which makes an M if none
    # is parked (newm); the model's Ms are fixed, so that M is counted here
    queued = c.any_g(lambda j: v.g(j, "q") != 0)
    starting = X.ite(X.and_(queued, X.or_(*[c.u.now(v.L.pname[j]["onidle"]) == 1
                                              for j in range(v.cfg.ps)])), 1, 0)
    run = others_running + callers + woken + starting - (v.s("nmidlelocked")
                                                           + idlelocked_delta)
    live = (st._Grunnable, st._Grunning, st._Gsyscall, st._Gscanrunnable,
            st._Gscansyscall)
    alive = c.any_g(lambda j: X.or_(*[v.g(j, "status") == s for s in live]))
    c.throw(X.and_(run <= 0, alive), 3)


def stopm_checks(c: Ctx) -> None:
    """stopm's entry checks, on the M's state with this step's writes so far: throws
    "stopm holding locks" unless m.locks == 0 and "stopm holding p" unless m.p is nil.
    Go 1.25 proc.go stopm."""
    X, L = c.X, c.v.L
    c.throw(c.u.now(L.mname[c.m]["locks"]) != 0, 15)
    c.throw(X.and_(c.u.now(L.mname[c.m]["p"]) != 0), 14)


def casgstatus(c: Ctx, g: Any, old: int, new: int) -> Any:
    """casgstatus(gp, old, new): throws "casgstatus: bad incoming values" when old or new
    carries the _Gscan bit or old == new (the arguments are constants of the calling step,
    so only a mutant reaches it); returns the CAS's enabling condition, g.status == old
    (Go spins while the GC holds the scan bit, i.e. while the status is old|_Gscan), and
    writes new. Go 1.25 proc.go casgstatus."""
    bad = bool(old & st._Gscan) or bool(new & st._Gscan) or old == new
    if bad:
        c.throw(True, 16)
    c.u.G(g, status=new)
    return c.v.G(g, "status") == old


def stale_context(c: Ctx, g: Any) -> Any:
    """Whether an observer that unwinds G g's stack from outside reads a stale context:
    the GC's scanstack and the tracer's traceStack/unwinder start from (syscallpc,
    syscallsp, syscallbp) when syscallsp != 0 and from g.sched otherwise, so the read is
    stale if syscallsp was copied from a stale g.sched (2) or is unset while g.sched is
    stale. Go 1.25 mgcmark.go scanstack, traceback.go unwinder.initAt, tracestack.go
    traceStack (go1.14 traceback.go gentraceback reads the same fields)."""
    X, v = c.X, c.v
    sp = v.G(g, "syscallsp")
    return X.or_(sp == 2, X.and_(sp == 0, v.G(g, "schedok") == 0))


def read_context(c: Ctx, g: Any) -> None:
    """An observer reads G g's saved context: a stale read is recorded in obs.stale (the
    invariant G-SCHED)."""
    c.u.s("obs.stale", c.X.ite(stale_context(c, g), 1, c.v.s("obs.stale")))


def fn_runs(c: Ctx) -> Any:
    """How many times forEachP's fn has run this round (sum of p.fnruns): Go's
    sched.safePointWait counts down from gomaxprocs by one per run (runSafePointFn's
    Xadd(-1), forEachP's idle Ps, handoffp), so safePointWait == ps - fn_runs."""
    v = c.v
    total: Any = 0
    for j in range(v.cfg.ps):
        total = total + v.p(j, "fnruns")
    return total


# ==== scheduler (coarse) ==================================================================

SCHED_SRC = "proc.go schedule/execute/stopm/startm (coarse)"


@step("startm", M, "idle", "", SCHED_SRC + ": pidleget, or the P handed over by "
      "startm(pp) (m.nextp); acquirep", ("p",))
def _startm(c: Ctx) -> Iterator[Any]:
    X, v = c.X, c.v
    (p,) = c.args
    # An M that startm(pp) woke (mget, m.nextp = pp) takes that P and no other: a parked
    # M may take an idle P with work only while more Ms are parked than Ps handed over.
    # (Without this, the M meant for a handed-over P could run off with another one, and
    # the handed-over P would wait for an M that Go would have created: a false deadlock
    # of the fixed set of Ms.)
    idle = c.prog.label("idle")
    parked = X.count([v.m(i, "pc") == idle for i in range(v.cfg.ms)])
    handed = X.count([v.p(j, "nextp") == 1 for j in range(v.cfg.ps)])
    yield X.and_(v.s("lock") == LOCK_FREE,
                 X.or_(v.P(p, "nextp") == 1,
                       X.and_(v.P(p, "onidle") == 1, work_for(c, p),
                              v.s("gcwaiting") == 0, parked > handed)))
    acquirep(c, p)
    c.u.P(p, nextp=0)
    c.goto("sched")


@step("schedule", M, "sched", "", SCHED_SRC + ": execute(gp)", ("g",))
def _schedule(c: Ctx) -> Iterator[Any]:
    X, v = c.X, c.v
    (g,) = c.args
    mp = c.me("p")
    q = v.G(g, "q")
    # findRunnable runs a pending safe-point fn first (runSafePointFn.sched); a locked M
    # never gets here (schedule.stoplockedm), and a G locked to an M goes to that M
    yield X.and_(v.s("gcwaiting") == 0, v.G(g, "status") == st._Grunnable,
                 X.or_(q == v.cfg.global_q, q == mp), v.P(mp, "safepoint") == 0,
                 c.me("lockedg") == 0, v.G(g, "lockedm") == 0)
    c.throw(c.me("locks") != 0, 17)  # schedule: holding locks
    # gogo(&gp.sched) resumes the G: from now on g.sched lags behind it
    c.u.G(g, status=st._Grunning, m=c.m + 1, q=0, schedok=0)
    c.set_me(curg=g)
    c.u.P(mp, schedtick=v.P(mp, "schedtick") + 1)
    c.goto("user")


@step("gcstopm", M, "sched", "I8", "proc.go gcstopm: releasep, _Pgcstop, stopwait--")
def _gcstopm(c: Ctx) -> Iterator[Any]:
    X, v = c.X, c.v
    mp = c.me("p")
    yield X.and_(v.s("gcwaiting") == 1, v.s("lock") == LOCK_FREE, c.me("lockedg") == 0)
    c.throw(v.s("stopwait") <= 0, 6)
    c.u.P(mp, status=st._Pgcstop, m=0)
    c.set_me(p=0)
    c.u.s("stopwait", v.s("stopwait") - 1)
    stopm_checks(c)
    c.goto("idle")


@step("stopm", M, "sched", "", SCHED_SRC + ": findrunnable found nothing; releasep, stopm")
def _stopm(c: Ctx) -> Iterator[Any]:
    return stopm_body(c)


def stopm_body(c: Ctx, release: bool = True) -> Iterator[Any]:
    """findRunnable found nothing: the P's pending fn runs, releasep + pidleput (unless
    `release` is False: the mutant stopm-no-releasep), then stopm."""
    X, v = c.X, c.v
    mp = c.me("p")
    yield X.and_(v.s("gcwaiting") == 0, v.s("lock") == LOCK_FREE, X.not_(work_for(c, mp)),
                 c.me("lockedg") == 0)
    sp = v.P(mp, "safepoint")
    if release:
        c.u.P(mp, status=st._Pidle, m=0, onidle=1, safepoint=0,
              fnruns=X.ite(sp == 1, v.P(mp, "fnruns") + 1, v.P(mp, "fnruns")))
        c.set_me(p=0)
    stopm_checks(c)
    checkdead_on_stop(c)
    c.goto("idle")


def _safepoint_body(c: Ctx) -> Iterator[Any]:
    X, v = c.X, c.v
    mp = c.me("p")
    yield X.and_(mp != 0, v.P(mp, "safepoint") == 1)
    c.u.P(mp, safepoint=0, fnruns=v.P(mp, "fnruns") + 1)
    c.pc_set = True  # stays where it is


step("runSafePointFn.sched", M, "sched", "T7", "proc.go runSafePointFn")(_safepoint_body)
step("runSafePointFn.user", M, "user", "T7", "proc.go runSafePointFn")(_safepoint_body)


@step("gosched", M, "user", "I11", "proc.go gopreempt_m/goschedImpl: G to the global queue")
def _gosched(c: Ctx) -> Iterator[Any]:
    X, v = c.X, c.v
    mp, g = c.me("p"), c.me("curg")
    yield X.or_(v.P(mp, "preempt") == 1, v.s("gcwaiting") == 1)
    # mcall(gopreempt_m) saves the G's context in g.sched
    c.u.G(g, status=st._Grunnable, m=0, q=v.cfg.global_q, schedok=1)
    c.set_me(curg=0)
    c.u.P(mp, preempt=0)
    c.goto("sched")


@step("user.signal", M, "user", "", "user code readies whatever a blocked syscall waits for")
def _signal(c: Ctx) -> Iterator[Any]:
    yield c.v.s("event") == 0
    c.u.s("event", 1)
    c.pc_set = True


@step("user.Syscall", M, "user", "T1", "syscall.Syscall -> entersyscall")
def _user_syscall(c: Ctx) -> Iterator[Any]:
    yield True
    c.goto("@reentersyscall")


@step("user.entersyscallblock", M, "user", "T13", "proc.go entersyscallblock (notetsleepg)")
def _user_block(c: Ctx) -> Iterator[Any]:
    yield True
    c.goto("@entersyscallblock")


@step("user.RawSyscall.block", M, "user", "I11",
      "syscall.RawSyscall: no entersyscall; G stays _Grunning, P stays _Prunning")
def _raw_block(c: Ctx) -> Iterator[Any]:
    yield True
    c.goto("rawblock")


@step("RawSyscall.return", M, "rawblock", "I11",
      "the raw call returns (the kernel, not a G, ends it: it may take any time)")
def _raw_return(c: Ctx) -> Iterator[Any]:
    yield True
    c.goto("user")


@step("user.RawSyscall.wait", M, "user", "I11",
      "syscall.RawSyscall on a pipe/socketpair/FUSE peer: no entersyscall; the M blocks in "
      "the kernel holding its _Prunning P until another G has run (part `rawwait`)")
def _raw_wait(c: Ctx) -> Iterator[Any]:
    yield True
    c.goto("rawwait")


@step("RawSyscall.wakeup", M, "rawwait", "I11",
      "the peer G has run (user.signal); the raw call returns")
def _raw_wakeup(c: Ctx) -> Iterator[Any]:
    yield c.v.s("event") == 1
    c.u.s("event", 0)
    c.goto("user")


# ==== LockOSThread and the locked-M paths (part `locked`) ===================================

LK = "proc.go "


@step("user.LockOSThread", M, "user", "R14", LK + "dolockOSThread: m.lockedg = gp; "
      "gp.lockedm = m (one locked G at a time: the model's Ms are fixed, and each locked "
      "G takes one out of the pool for good)")
def _lock(c: Ctx) -> Iterator[Any]:
    v = c.v
    g = _gp(c)
    yield c.X.and_(*[v.g(j, "lockedm") == 0 for j in range(v.cfg.gs)])
    c.u.G(g, lockedm=c.m + 1)
    c.set_me(lockedg=g)


@step("user.UnlockOSThread", M, "user", "R14", LK + "dounlockOSThread: m.lockedg = 0; "
      "gp.lockedm = 0")
def _unlock(c: Ctx) -> Iterator[Any]:
    g = _gp(c)
    yield c.v.G(g, "lockedm") == c.m + 1
    c.u.G(g, lockedm=0)
    c.set_me(lockedg=0)


@step("schedule.stoplockedm", M, "sched", "R14",
      LK + "schedule: mp.lockedg != 0 -> stoplockedm: handoffp(releasep()); park")
def _sched_stoplockedm(c: Ctx) -> Iterator[Any]:
    X, v = c.X, c.v
    mp = c.me("p")
    yield X.and_(c.me("lockedg") != 0, v.s("lock") == LOCK_FREE)
    c.throw(X.or_(mp == 0, v.P(mp, "m") != c.m + 1), 7)
    c.set_me(p=0)
    c.u.P(mp, m=0)  # releasep
    handoffp(c, mp)
    _stoplockedm_or_stopm(c, True)


@step("schedule.startlockedm", M, "sched", "R14",
      LK + "schedule: gp.lockedm != 0 -> startlockedm(gp): hand this P to gp's M "
      "(m.nextp), incidlelocked(-1), stopm", ("g",))
def _sched_startlockedm(c: Ctx) -> Iterator[Any]:
    X, v = c.X, c.v
    (g,) = c.args
    mp = c.me("p")
    q = v.G(g, "q")
    lm = v.G(g, "lockedm")
    yield X.and_(v.s("gcwaiting") == 0, v.s("lock") == LOCK_FREE,
                 v.G(g, "status") == st._Grunnable, X.or_(q == v.cfg.global_q, q == mp),
                 v.P(mp, "safepoint") == 0, c.me("lockedg") == 0, lm != 0)
    c.throw(v.M(lm, "nextp") != 0, 10)
    c.u.G(g, q=0)
    c.u.M(lm, curg=g, nextp=mp)
    c.u.P(mp, m=0, status=st._Pidle, onidle=0)
    c.set_me(p=0)
    c.u.s("nmidlelocked", v.s("nmidlelocked") - 1)
    stopm_checks(c)
    checkdead_on_stop(c, idlelocked_delta=-1)
    c.goto("idle")


@step("stoplockedm.wake", M, "lockedpark", "R14",
      LK + "stoplockedm: woken with m.nextp: lockedg must be runnable; acquirep; execute")
def _lockedwake(c: Ctx) -> Iterator[Any]:
    v = c.v
    np_ = c.me("nextp")
    g = c.me("curg")
    yield np_ != 0
    c.throw(v.G(g, "status") != st._Grunnable, 9)
    acquirep(c, np_)
    c.set_me(nextp=0)
    c.u.G(g, status=st._Grunning, m=c.m + 1, schedok=0)
    c.u.P(np_, schedtick=v.P(np_, "schedtick") + 1)
    c.goto("user")


# ==== reentersyscall (spec 3.1) =============================================================

RE = "proc.go reentersyscall"


def _gp(c: Ctx) -> Any:
    return c.me("curg")


@step("reentersyscall.1.locks", M, None, "R1", RE + " step 1: m.locks++")
def _re1(c: Ctx) -> Iterator[Any]:
    yield True
    c.set_me(locks=c.me("locks") + 1, pp=c.me("p"))


@step("reentersyscall.2.stackguard", M, None, "R2",
      RE + " step 2: stackguard0 = stackPreempt; throwsplit = true")
def _re2(c: Ctx) -> Iterator[Any]:
    yield True
    c.u.G(_gp(c), poisoned=1, throwsplit=1)


@step("reentersyscall.3.save", M, None, "R3", RE + " step 3: save(pc, sp)")
def _re3(c: Ctx) -> Iterator[Any]:
    yield True
    c.u.G(_gp(c), schedok=1)


@step("reentersyscall.4.syscallsp", M, None, "R3",
      RE + " step 4: syscallsp = sp; syscallpc = pc (go1.23+: syscallbp = bp): copies of "
      "what save() put in g.sched")
def _re4(c: Ctx) -> Iterator[Any]:
    g = _gp(c)
    yield True
    c.u.G(g, syscallsp=c.X.ite(c.v.G(g, "schedok") == 1, 1, 2))


@step("reentersyscall.5.casgstatus", M, None, "T1",
      RE + " step 5: casgstatus(gp, _Grunning, _Gsyscall)")
def _re5(c: Ctx) -> Iterator[Any]:
    g = _gp(c)
    yield casgstatus(c, g, st._Grunning, st._Gsyscall)


@step("reentersyscall.8.sysmon", M, None, "R4",
      RE + " step 8: if sched.sysmonwait, entersyscall_sysmon on the system stack")
def _re8(c: Ctx) -> Iterator[Any]:
    X, v = c.X, c.v
    wait = v.s("sysmonwait") == 1
    yield X.or_(X.not_(wait), v.s("lock") == LOCK_FREE)
    c.u.s("sysmonwait", 0)
    c.u.G(_gp(c), schedok=X.ite(wait, 0, v.G(_gp(c), "schedok")))
    c.set_me(tmp=X.ite(wait, 1, 0))


def _save_if_called(c: Ctx) -> Iterator[Any]:
    """save(pc, sp) inside the `if` whose systemstack call clobbered g.sched (m.tmp)."""
    X = c.X
    yield True
    c.u.G(_gp(c), schedok=X.ite(c.me("tmp") == 1, 1, c.v.G(_gp(c), "schedok")))
    c.set_me(tmp=0)


step("reentersyscall.8.save", M, None, "R4",
     RE + " step 8: save again after systemstack")(_save_if_called)


@step("reentersyscall.9.safepoint", M, None, "R5",
      RE + " step 9: if p.runSafePointFn != 0, run it on the system stack")
def _re9(c: Ctx) -> Iterator[Any]:
    return safepoint_check(c, "p")


def safepoint_check(c: Ctx, ref: str) -> Iterator[Any]:
    """`if gp.m.p.ptr().runSafePointFn != 0 { systemstack(runSafePointFn) }` with the P
    read through m.p (`ref` "p", Go's code) or through reentersyscall's local pp (`ref`
    "pp": the variant the R5 pp mutants use)."""
    X, v = c.X, c.v
    mp = c.me(ref)
    pending = X.and_(mp != 0, v.P(mp, "safepoint") == 1)
    yield True
    c.throw(mp == 0, 4)
    c.u.P(mp, safepoint=0, fnruns=X.ite(pending, v.P(mp, "fnruns") + 1, v.P(mp, "fnruns")))
    c.u.G(_gp(c), schedok=X.ite(pending, 0, v.G(_gp(c), "schedok")))
    c.set_me(tmp=X.ite(pending, 1, 0))


step("reentersyscall.9.save", M, None, "R4",
     RE + " step 9: save again after systemstack")(_save_if_called)


@step("reentersyscall.10.syscalltick", M, None, "R6",
      RE + " step 10: m.syscalltick = p.syscalltick (V14 also m.mcache = nil)")
def _re10(c: Ctx) -> Iterator[Any]:
    return syscalltick_copy(c, "p")


def syscalltick_copy(c: Ctx, ref: str) -> Iterator[Any]:
    """`gp.m.syscalltick = gp.m.p.ptr().syscalltick` through m.p (`ref` "p", Go's code) or
    through the local pp (`ref` "pp": the variant the R6 pp mutants use)."""
    mp = c.me(ref)
    yield True
    c.throw(mp == 0, 4)
    c.set_me(syscalltick=c.v.P(mp, "syscalltick"))
    if c.go114:
        c.set_me(mcache=0)


@step("reentersyscall.11.release", M, None, "R7",
      RE + " step 11: pp.m = 0; m.oldp = pp; m.p = 0 (plain writes)")
def _re11a(c: Ctx) -> Iterator[Any]:
    pp = c.me("pp")
    yield True
    c.throw(pp == 0, 4)
    c.u.P(pp, m=0)
    c.set_me(oldp=pp, p=0)


@step("reentersyscall.11.Psyscall", M, None, "T2/R7",
      RE + " step 11: atomic.Store(&pp.status, _Psyscall)")
def _re11b(c: Ctx) -> Iterator[Any]:
    pp = c.me("pp")
    yield True
    c.throw(pp == 0, 4)
    with c.u.locked():
        c.u.P(pp, status=st._Psyscall, wins=0)


@step("reentersyscall.12.gcwait", M, None, "T3/R8",
      RE + " step 12: if sched.gcwaiting, entersyscall_gcwait (CAS _Psyscall -> _Pgcstop)")
def _re12(c: Ctx) -> Iterator[Any]:
    X, v = c.X, c.v
    pp = c.me("pp")
    gcw = v.s("gcwaiting") == 1
    yield X.or_(X.not_(gcw), v.s("lock") == LOCK_FREE)
    won = cas_psyscall(c, pp, st._Pgcstop, X.and_(gcw, v.s("stopwait") > 0))
    c.u.s("stopwait", X.ite(won, v.s("stopwait") - 1, v.s("stopwait")))


@step("reentersyscall.13.locks", M, None, "R1", RE + " step 13: m.locks--")
def _re13(c: Ctx) -> Iterator[Any]:
    yield True
    c.set_me(locks=c.me("locks") - 1, pp=0)


# ==== the system call itself ==============================================================

@step("syscall.return", M, "sys", "", "the kernel returns at once")
def _sys_return(c: Ctx) -> Iterator[Any]:
    yield True
    c.goto("@exitsyscall")


@step("syscall.block", M, "sys", "", "the call blocks until some event")
def _sys_block(c: Ctx) -> Iterator[Any]:
    yield True
    c.goto("sysblock")


@step("syscall.wakeup", M, "sysblock", "", "the event arrives; the kernel returns")
def _sys_wakeup(c: Ctx) -> Iterator[Any]:
    yield c.v.s("event") == 1
    c.u.s("event", 0)
    c.goto("@exitsyscall")


# ==== exitsyscall (spec 3.4) ================================================================

EX = "proc.go exitsyscall"


@step("exitsyscall.1.locks", M, None, "R1", EX + " step 1: m.locks++")
def _ex1(c: Ctx) -> Iterator[Any]:
    yield True
    c.set_me(locks=c.me("locks") + 1)


@step("exitsyscallfast.cas", M, None, "T4/T8/I7",
      "proc.go exitsyscallfast: oldp in _Psyscall -> CAS(_Psyscall, _Pidle)")
def _exfast(c: Ctx) -> Iterator[Any]:
    oldp = c.me("oldp")
    yield True
    # the tick moves in exitsyscallfast_reacquired, only if the P was used meanwhile
    won = cas_psyscall(c, oldp, st._Pidle, oldp != 0, tick=False)
    c.branch(won, c.next_label(), "exitsyscallfast.pidle")


@step("exitsyscallfast.wirep", M, None, "T4",
      "proc.go exitsyscallfast: wirep(oldp); exitsyscallfast_reacquired")
def _exwirep(c: Ctx) -> Iterator[Any]:
    X, v = c.X, c.v
    oldp = c.me("oldp")
    yield True
    acquirep(c, oldp)
    moved = c.me("syscalltick") != v.P(oldp, "syscalltick")
    c.u.P(oldp, syscalltick=X.ite(moved, v.P(oldp, "syscalltick") + 1,
                                  v.P(oldp, "syscalltick")))
    c.set_me(oldp=0)
    c.goto("exitsyscall.5.tick")


@step("exitsyscallfast.pidle", M, None, "T9",
      "proc.go exitsyscallfast_pidle: pidleget + acquirep under sched.lock", ("p",))
def _expidle(c: Ctx) -> Iterator[Any]:
    X, v = c.X, c.v
    (p,) = c.args
    yield X.and_(v.s("lock") == LOCK_FREE, v.P(p, "onidle") == 1)
    acquirep(c, p)
    c.u.s("sysmonwait", 0)
    c.set_me(oldp=0)
    c.goto("exitsyscall.5.tick")


@step("exitsyscallfast.nopidle", M, None, "T11",
      "proc.go exitsyscallfast: no idle P; take the slow path")
def _exnopidle(c: Ctx) -> Iterator[Any]:
    X = c.X
    yield X.not_(idle_p_exists(c))  # a racy read of sched.pidle; no lock taken
    c.set_me(oldp=0)
    c.goto("@exitsyscall.slow")


@step("exitsyscall.5.tick", M, None, "R13",
      EX + " step 5: (V14 'lost mcache' check) p.syscalltick++")
def _ex5(c: Ctx) -> Iterator[Any]:
    mp = c.me("p")
    yield True
    c.throw(mp == 0, 4)
    if c.go114:
        c.throw(c.me("mcache") == 0, 2)
    c.u.P(mp, syscalltick=c.v.P(mp, "syscalltick") + 1)


@step("exitsyscall.5.casgstatus", M, None, "T10/R10",
      EX + " step 5: casgstatus(gp, _Gsyscall, _Grunning)")
def _ex5cas(c: Ctx) -> Iterator[Any]:
    g = _gp(c)
    yield casgstatus(c, g, st._Gsyscall, st._Grunning)
    c.u.G(g, schedok=0)  # the G runs on from its syscall frame


@step("exitsyscall.5.syscallsp", M, None, "R11", EX + " step 5: gp.syscallsp = 0")
def _ex5sp(c: Ctx) -> Iterator[Any]:
    yield True
    c.u.G(_gp(c), syscallsp=0)


@step("exitsyscall.5.locks", M, None, "R1", EX + " step 5: m.locks--")
def _ex5locks(c: Ctx) -> Iterator[Any]:
    yield True
    c.set_me(locks=c.me("locks") - 1)


@step("exitsyscall.5.stackguard", M, None, "R2/I6",
      EX + " step 5: restore stackguard0; throwsplit = false")
def _ex5sg(c: Ctx) -> Iterator[Any]:
    yield True
    c.u.G(_gp(c), poisoned=0, throwsplit=0)


# ---- slow path ----

@step("exitsyscall.6.locks", M, None, "R1", EX + " step 6: m.locks-- before mcall(exitsyscall0)")
def _ex6(c: Ctx) -> Iterator[Any]:
    yield True
    c.set_me(locks=c.me("locks") - 1)


@step("exitsyscall0.casgstatus", M, None, "T11",
      "proc.go exitsyscall0: casgstatus(gp, _Gsyscall, _Grunnable); dropg")
def _ex0cas(c: Ctx) -> Iterator[Any]:
    g = _gp(c)
    yield casgstatus(c, g, st._Gsyscall, st._Grunnable)
    c.u.G(g, m=0, schedok=1)  # mcall(exitsyscall0) saved the G's context


@step("exitsyscall0.pidleget", M, None, "T11",
      "proc.go exitsyscall0: pidleget under sched.lock; acquirep; execute(gp)", ("p",))
def _ex0p(c: Ctx) -> Iterator[Any]:
    X, v = c.X, c.v
    (p,) = c.args
    g = _gp(c)
    # execute's casgstatus(_Grunnable, _Grunning) spins while the GC holds the scan bit
    yield X.and_(v.s("lock") == LOCK_FREE, v.P(p, "onidle") == 1,
                 v.G(g, "status") == st._Grunnable)
    acquirep(c, p)
    c.u.s("sysmonwait", 0)
    c.u.G(g, status=st._Grunning, m=c.m + 1, schedok=0)
    c.u.P(p, schedtick=v.P(p, "schedtick") + 1)
    c.goto("exitsyscall.8.resume")


@step("exitsyscall0.globrunqput", M, None, "T11/R14",
      "proc.go exitsyscall0: no P: globrunqput(gp) under sched.lock; stopm")
def _ex0q(c: Ctx) -> Iterator[Any]:
    X, v = c.X, c.v
    g = _gp(c)
    yield X.and_(v.s("lock") == LOCK_FREE, X.not_(idle_p_exists(c)))
    c.u.G(g, q=v.cfg.global_q)
    c.set_me(curg=0)
    if not c.prog.cfg.locked:
        stopm_checks(c)
        checkdead_on_stop(c)
        c.goto("idle")
        return
    # R14: whether gp is locked is read before sched.lock is released (globrunqput
    # gives gp away: another M may run it and lock it to itself meanwhile)
    c.set_me(tmp=X.ite(v.G(g, "lockedm") != 0, 1, 0))
    c.goto("exitsyscall0.stopm")


@step("exitsyscall0.stopm", M, "exitsyscall0.stopm", "T11/R14",
      "proc.go exitsyscall0: unlock(&sched.lock); if locked { stoplockedm() } else stopm()")
def _ex0stop(c: Ctx) -> Iterator[Any]:
    yield True
    locked = c.me("tmp") == 1
    c.set_me(tmp=0)
    _stoplockedm_or_stopm(c, locked)


def _stoplockedm_or_stopm(c: Ctx, locked: Any) -> None:
    """stoplockedm (throws unless m.lockedg's lockedm is this M; the M parks until its G
    is handed back, counted in nmidlelocked) when `locked`, else stopm (checkdead)."""
    X, v = c.X, c.v
    lg = c.me("lockedg")
    c.throw(X.and_(locked, X.or_(lg == 0, v.G(lg, "lockedm") != c.m + 1)), 8)
    c.u.s("nmidlelocked", X.ite(locked, v.s("nmidlelocked") + 1, v.s("nmidlelocked")))
    c.branch(locked, "lockedpark", "idle")
    # stoplockedm hands its P off itself; stopm checks m.locks and m.p
    L = c.v.L
    c.throw(X.and_(X.not_(locked), c.u.now(L.mname[c.m]["locks"]) != 0), 15)
    c.throw(X.and_(X.not_(locked), c.u.now(L.mname[c.m]["p"]) != 0), 14)
    checkdead_on_stop(c)


@step("exitsyscall.8.resume", M, None, "R11",
      EX + " step 8: after execute: syscallsp = 0; p.syscalltick++; throwsplit = false")
def _ex8(c: Ctx) -> Iterator[Any]:
    mp = c.me("p")
    yield True
    c.u.G(_gp(c), syscallsp=0, throwsplit=0, poisoned=0)
    c.u.P(mp, syscalltick=c.v.P(mp, "syscalltick") + 1)
    c.goto("user")


# ==== entersyscallblock (spec 3.3) =========================================================

EB = "proc.go entersyscallblock"


@step("entersyscallblock.1", M, None, "R1/R2/T13",
      EB + ": m.locks++; throwsplit; stackguard0; m.syscalltick = p.syscalltick; "
      "p.syscalltick++")
def _eb1(c: Ctx) -> Iterator[Any]:
    mp = c.me("p")
    yield True
    c.set_me(locks=c.me("locks") + 1, syscalltick=c.v.P(mp, "syscalltick"))
    c.u.P(mp, syscalltick=c.v.P(mp, "syscalltick") + 1)
    c.u.G(_gp(c), poisoned=1, throwsplit=1)


@step("entersyscallblock.save", M, None, "R3", EB + ": save; syscallsp = sched.sp")
def _eb2(c: Ctx) -> Iterator[Any]:
    yield True
    c.u.G(_gp(c), schedok=1, syscallsp=1)


@step("entersyscallblock.casgstatus", M, None, "T1", EB + ": casgstatus(_Grunning, _Gsyscall)")
def _eb3(c: Ctx) -> Iterator[Any]:
    g = _gp(c)
    yield casgstatus(c, g, st._Grunning, st._Gsyscall)


@step("entersyscallblock.handoff", M, None, "T13",
      EB + "_handoff: handoffp(releasep())")
def _eb4(c: Ctx) -> Iterator[Any]:
    mp = c.me("p")
    yield c.v.s("lock") == LOCK_FREE
    c.throw(c.X.or_(mp == 0, c.v.P(mp, "m") != c.m + 1), 7)
    c.set_me(p=0)
    c.u.P(mp, m=0)  # releasep
    handoffp(c, mp)


@step("entersyscallblock.locks", M, None, "R1", EB + ": m.locks--")
def _eb5(c: Ctx) -> Iterator[Any]:
    yield True
    c.set_me(locks=c.me("locks") - 1)


# ==== sysmon (spec 4.3) ====================================================================

RT = "proc.go retake"


@step("sysmon.sleep", SYSMON, "y.run", "",
      "proc.go sysmon: gcwaiting or all Ps idle -> sysmonwait = true; sleep")
def _ysleep(c: Ctx) -> Iterator[Any]:
    X, v = c.X, c.v
    yield X.and_(v.s("lock") == LOCK_FREE,
                 X.or_(v.s("gcwaiting") == 1, c.all_p(lambda j: v.p(j, "onidle") == 1)))
    c.u.s("sysmonwait", 1)
    c.goto("y.sleep")


@step("sysmon.wake", SYSMON, "y.sleep", "",
      "proc.go sysmon: notetsleep(&sched.sysmonnote, forcegcperiod/2) returns: woken, or "
      "its timeout, which ends the sleep even while gcwaiting is set")
def _ywake(c: Ctx) -> Iterator[Any]:
    yield True
    c.u.s("sysmonwait", 0)
    c.goto("y.run")


# Time, as sysmon sees it. sysmon sleeps 20 us, doubling after 50 idle passes up to 10 ms,
# and its sleep ends on its timeout even while gcwaiting is set; each pass looks at every
# P and compares what it sees with what it recorded on an earlier pass (pd.schedtick/
# schedwhen, pd.syscalltick/syscallwhen). Only two durations matter to retake,
# forcePreemptNS and the sysretake delay, both 10 ms. The model keeps no clock: the
# recorded syscalltick is saturated to "same as now / older" (explore.normalize_ticks),
# and "10 ms have passed since it was recorded" (a syscall that lasted a sysmon period)
# is a nondeterministic choice of the step (`retake.decide` with bit = 1; any pass of
# `retake.preempt`). That time does pass is a fairness assumption of the liveness checks
# (entersys.oracle.liveness): sysmon's per-P steps are strongly fair, so a P that keeps
# offering itself is eventually preempted or retaken. The back-off only changes how many
# passes fall in 10 ms, so it needs no state. Go 1.25 proc.go sysmon/retake.

def _sysretake(c: Ctx, p: Any) -> Any:
    """retake's sysretake: sysmon preempted the P's G on this pass (p.preempt set)."""
    return c.v.P(p, "preempt") == 1


@step("retake.preempt", SYSMON, "y.run", "",
      RT + ": a _Prunning or _Psyscall P whose schedtick has not moved for forcePreemptNS "
      "-> preemptone (a syscalling G is preempted once back in user code)", ("p",))
def _ypreempt(c: Ctx) -> Iterator[Any]:
    """When the 10 ms have passed is not tracked (any pass may find them passed), and the
    step is taken only while another G waits to run: otherwise Go's preemption merely
    reschedules the same G, which the protocol cannot tell apart."""
    X, v = c.X, c.v
    (p,) = c.args
    s = v.P(p, "status")
    waiting = c.any_g(lambda j: v.g(j, "q") != 0)
    yield X.and_(X.or_(s == st._Prunning, s == st._Psyscall), v.P(p, "preempt") == 0,
                 waiting)
    c.u.P(p, preempt=1)
    c.pc_set = True


@step("retake.sample", SYSMON, "y.run", "",
      RT + ": syscalltick moved -> record it, skip", ("p",))
def _ysample(c: Ctx) -> Iterator[Any]:
    X, v = c.X, c.v
    (p,) = c.args
    yield X.and_(v.P(p, "status") == st._Psyscall,
                 v.P(p, "pd_tick") != v.P(p, "syscalltick"))
    c.u.P(p, pd_tick=v.P(p, "syscalltick"))
    c.pc_set = True


@step("retake.decide", SYSMON, "y.run", "T5",
      RT + ": same syscalltick on two passes (or sysretake, bit=1), and local work, no idle "
      "P, or 10 ms since the tick was recorded (bit=1)", ("p", "bit"))
def _ydecide(c: Ctx) -> Iterator[Any]:
    X, v = c.X, c.v
    p, elapsed = c.args
    local_work = c.any_g(lambda j: v.g(j, "q") == p)
    yield X.and_(v.P(p, "status") == st._Psyscall,
                 X.or_(v.P(p, "pd_tick") == v.P(p, "syscalltick"),
                       X.and_(elapsed == 1, _sysretake(c, p))),
                 X.or_(elapsed == 1, local_work, X.not_(idle_p_exists(c))))
    c.u.s("y.p", p)
    c.goto("@retake")


@step("retake.incidlelocked-", SYSMON, None, "R15", RT + ": incidlelocked(-1) before the CAS")
def _ydec(c: Ctx) -> Iterator[Any]:
    yield c.v.s("lock") == LOCK_FREE
    c.u.s("nmidlelocked", c.v.s("nmidlelocked") - 1)


@step("retake.cas", SYSMON, None, "T5/I7", RT + ": CAS(_Psyscall, _Pidle); p.syscalltick++")
def _ycas(c: Ctx) -> Iterator[Any]:
    p = c.v.s("y.p")
    yield True
    won = cas_psyscall(c, p, st._Pidle)
    c.branch(won, c.next_label(), "retake.incidlelocked+")


@step("retake.handoffp", SYSMON, None, "T5", RT + ": handoffp(p)")
def _yhand(c: Ctx) -> Iterator[Any]:
    yield c.v.s("lock") == LOCK_FREE
    handoffp(c, c.v.s("y.p"))


@step("retake.incidlelocked+", SYSMON, None, "R15", RT + ": incidlelocked(1)")
def _yinc(c: Ctx) -> Iterator[Any]:
    yield c.v.s("lock") == LOCK_FREE
    c.u.s("nmidlelocked", c.v.s("nmidlelocked") + 1)
    c.u.s("y.p", 0)
    c.goto("y.run")


# ==== stop-the-world (spec 4.4) ===========================================================

STW = "proc.go stopTheWorldWithSema"


@step("stw.begin", W, "w.idle", "R8",
      STW + ": under sched.lock: stopwait = gomaxprocs; gcwaiting = 1; preemptall")
def _wbegin(c: Ctx) -> Iterator[Any]:
    X, v = c.X, c.v
    yield X.and_(v.s("lock") == LOCK_FREE, v.s("f.pc") == c.prog.label("f.idle"))
    with c.u.locked():  # lock(&sched.lock); sched.gcwaiting.Store(true)
        c.u.s("lock", LOCK_W)
        c.u.s("gcwaiting", 1)
    c.u.s("stopwait", v.cfg.ps)
    for j in range(v.cfg.ps):
        c.u.p(j, preempt=X.ite(v.p(j, "status") == st._Prunning, 1, v.p(j, "preempt")))
    c.goto("w.scan")


@step("stw.stop", W, "w.scan", "T6/I7/I8",
      STW + ": CAS(_Psyscall, _Pgcstop) or take an idle P; stopwait--", ("p",))
def _wstop(c: Ctx) -> Iterator[Any]:
    X, v = c.X, c.v
    (p,) = c.args
    yield v.P(p, "scanned") == 0
    idle = v.P(p, "onidle") == 1
    hit = X.or_(cas_psyscall(c, p, st._Pgcstop), idle)
    # an idle P is taken off the idle list and stopped as well
    c.u.P(p, scanned=1, onidle=0, status=X.ite(hit, st._Pgcstop, v.P(p, "status")))
    c.u.s("stopwait", X.ite(hit, v.s("stopwait") - 1, v.s("stopwait")))
    c.pc_set = True


@step("stw.unlock", W, "w.scan", "", STW + ": every P visited; unlock(&sched.lock)")
def _wunlock(c: Ctx) -> Iterator[Any]:
    v = c.v
    yield c.all_p(lambda j: v.p(j, "scanned") == 1)
    c.u.s("lock", LOCK_FREE)
    c.goto("w.wait")


@step("stw.stopped", W, "w.wait", "I8",
      STW + ": the wait ends (stopnote: woken when stopwait reaches 0); then Go's double "
      "check: throw \"stopTheWorld: not stopped\" if stopwait != 0 or a P is not _Pgcstop")
def _wstopped(c: Ctx) -> Iterator[Any]:
    X, v = c.X, c.v
    yield _stw_wait_over(c)
    c.throw(X.or_(v.s("stopwait") != 0,
                  *[v.p(j, "status") != st._Pgcstop for j in range(v.cfg.ps)]), 5)
    c.goto("w.stopped")


def _stw_wait_over(c: Ctx) -> Any:
    """When stopTheWorldWithSema's wait loop ends: the decrement that brought stopwait to 0
    woke sched.stopnote (the 100 us re-preempt timeouts only repeat preemptall)."""
    return c.v.s("stopwait") == 0


@step("stw.start", W, "w.stopped", "",
      "proc.go startTheWorldWithSema: gcwaiting = 0; Ps to the idle list; wake sysmon")
def _wstart(c: Ctx) -> Iterator[Any]:
    X, v = c.X, c.v
    yield v.s("lock") == LOCK_FREE
    c.u.s("gcwaiting", 0)
    c.u.s("sysmonwait", 0)
    for j in range(v.cfg.ps):
        c.u.p(j, scanned=0, preempt=0,
              onidle=X.ite(v.p(j, "status") == st._Pgcstop, 1, v.p(j, "onidle")),
              status=X.ite(v.p(j, "status") == st._Pgcstop, st._Pidle, v.p(j, "status")))
    c.goto("w.idle")


# ==== forEachP (spec 4.4) ==================================================================

FE = "proc.go forEachP"


@step("forEachP.begin", F, "f.idle", "R5",
      FE + ": runSafePointFn = 1 on every P; idle Ps run fn at once")
def _fbegin(c: Ctx) -> Iterator[Any]:
    X, v = c.X, c.v
    yield X.and_(v.s("lock") == LOCK_FREE, v.s("w.pc") == c.prog.label("w.idle"),
                 v.s("gcwaiting") == 0)
    for j in range(v.cfg.ps):
        idle = v.p(j, "onidle") == 1
        c.u.p(j, safepoint=X.ite(idle, 0, 1), fnruns=X.ite(idle, 1, 0), scanned=0)
    c.goto("f.scan")


@step("forEachP.take", F, "f.scan", "T7/I7",
      FE + ": P in _Psyscall with the fn pending: CAS(_Psyscall, _Pidle); handoffp", ("p",))
def _ftake(c: Ctx) -> Iterator[Any]:
    X, v = c.X, c.v
    (p,) = c.args
    yield X.and_(v.P(p, "scanned") == 0, v.s("lock") == LOCK_FREE)
    won = cas_psyscall(c, p, st._Pidle, v.P(p, "safepoint") == 1)
    # handoffp of the won P: the pending fn runs, the P goes on the idle list
    sp, runs = v.P(p, "safepoint"), v.P(p, "fnruns")
    c.u.P(p, scanned=1, onidle=X.ite(won, 1, v.P(p, "onidle")),
          safepoint=X.ite(won, 0, sp), fnruns=X.ite(won, runs + 1, runs))
    c.pc_set = True


@step("forEachP.wait", F, "f.scan", "", FE + ": every P visited; wait for the rest")
def _fwait(c: Ctx) -> Iterator[Any]:
    v = c.v
    yield c.all_p(lambda j: v.p(j, "scanned") == 1)
    for j in range(v.cfg.ps):
        c.u.p(j, scanned=0)
    c.goto("f.wait")


@step("forEachP.done", F, "f.wait", "",
      FE + ": the wait ends (safePointNote: woken when safePointWait reaches 0); throw "
      "\"forEachP: not done\" if safePointWait != 0, \"forEachP: P did not run fn\" if a "
      "P still has runSafePointFn set")
def _fdone(c: Ctx) -> Iterator[Any]:
    X, v = c.X, c.v
    yield _foreachp_wait_over(c)
    c.throw(fn_runs(c) != v.cfg.ps, 12)
    c.throw(X.or_(*[v.p(j, "safepoint") != 0 for j in range(v.cfg.ps)]), 13)
    c.goto("f.idle")


def _foreachp_wait_over(c: Ctx) -> Any:
    """When forEachP's wait loop ends: the run that brought safePointWait to 0 woke
    sched.safePointNote (ps - fn_runs == 0; the note stays woken)."""
    return fn_runs(c) >= c.v.cfg.ps


# ==== the GC's scan bit (T12) ==============================================================

@step("gc.scan", GC, None, "T12/I3",
      "preempt.go suspendG: castogscanstatus; on a syscall G also reset stackguard0", ("g",))
def _gcscan(c: Ctx) -> Iterator[Any]:
    X, v = c.X, c.v
    (g,) = c.args
    s = v.G(g, "status")
    yield X.and_(v.s("gc.g") == 0, X.or_(s == st._Grunnable, s == st._Gsyscall))
    read_context(c, g)  # scanstack unwinds the stack from the saved context
    c.u.G(g, status=s + st._Gscan,
          poisoned=X.ite(s == st._Gsyscall, 0, v.G(g, "poisoned")))
    c.u.s("gc.g", g)


@step("traceback.syscall", GC, None, "R3/R4",
      "tracestack.go traceStack (the tracer's unwinder, e.g. GoStatusStack for every G at a "
      "trace generation): a G in _Gsyscall is unwound from syscallpc/syscallbp, or from "
      "g.sched when syscallsp is 0", ("g",))
def _traceback(c: Ctx) -> Iterator[Any]:
    """The tracer may unwind a syscalling G at any moment; a read that sees a valid context
    changes nothing, so only the reads that see a stale one are transitions (the guard
    includes the staleness): the faithful model gets no new state or edge."""
    X, v = c.X, c.v
    (g,) = c.args
    s = v.G(g, "status")
    yield X.and_(X.or_(s == st._Gsyscall, s == st._Gscansyscall), stale_context(c, g),
                 v.s("obs.stale") == 0)
    read_context(c, g)


@step("gc.release", GC, None, "T12", "preempt.go resumeG: casfrom_Gscanstatus")
def _gcrel(c: Ctx) -> Iterator[Any]:
    v = c.v
    g = v.s("gc.g")
    yield g != 0
    s = v.G(g, "status")
    c.throw(c.X.not_(c.X.or_(*[s == x for x in (st._Gscanrunnable, st._Gscansyscall)])), 18)
    c.u.G(g, status=s - st._Gscan)
    c.u.s("gc.g", 0)


# ==== programs ===========================================================================

ROUTINES: dict[str, tuple[list[str], str]] = {
    # routine: (steps in source order, where the routine continues)
    "reentersyscall": ([
        "reentersyscall.1.locks", "reentersyscall.2.stackguard", "reentersyscall.3.save",
        "reentersyscall.4.syscallsp", "reentersyscall.5.casgstatus",
        "reentersyscall.8.sysmon", "reentersyscall.8.save",
        "reentersyscall.9.safepoint", "reentersyscall.9.save",
        "reentersyscall.10.syscalltick", "reentersyscall.11.release",
        "reentersyscall.11.Psyscall", "reentersyscall.12.gcwait", "reentersyscall.13.locks",
    ], "sys"),
    "exitsyscall": ([
        "exitsyscall.1.locks", "exitsyscallfast.cas", "exitsyscallfast.wirep",
        "exitsyscallfast.pidle",
        "exitsyscall.5.tick", "exitsyscall.5.casgstatus", "exitsyscall.5.syscallsp",
        "exitsyscall.5.locks", "exitsyscall.5.stackguard",
    ], "user"),
    "exitsyscall.slow": ([
        "exitsyscall.6.locks", "exitsyscall0.casgstatus", "exitsyscall0.pidleget",
        "exitsyscall.8.resume",
    ], "user"),
    "entersyscallblock": ([
        "entersyscallblock.1", "entersyscallblock.save", "entersyscallblock.casgstatus",
        "entersyscallblock.handoff", "entersyscallblock.locks",
    ], "sys"),
    "retake": ([
        "retake.incidlelocked-", "retake.cas", "retake.handoffp", "retake.incidlelocked+",
    ], "y.run"),
}
# Alternatives: a step enabled at another step's label (the other branch of a choice).
ALTERNATIVES = {
    "exitsyscallfast.nopidle": "exitsyscallfast.pidle",
    "exitsyscall0.globrunqput": "exitsyscall0.pidleget",
}
PLACES = ["idle", "sched", "user", "sys", "sysblock", "rawblock",
          "y.run", "y.sleep", "w.idle", "w.scan", "w.wait", "w.stopped",
          "f.idle", "f.scan", "f.wait", "rawwait", "exitsyscall0.stopm", "lockedpark"]
# Labels at which an M is inside a runtime prologue/epilogue (m.locks must be 1).
LOCKED_ROUTINES = ("reentersyscall", "exitsyscall", "entersyscallblock")

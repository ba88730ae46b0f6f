"""The syscall protocol of the new design (Go 1.26 and 1.27: no `_Psyscall`; the P stays
`_Prunning` and wired to its M during a system call, and whoever takes it must first win the
syscall G's `_Gscan` bit) as named atomic steps over the same View/Update/Ops machinery as
entersys.model.steps.

Only the steps whose Go code changed are defined here. Go's shared sub-steps (acquirep,
handoffp, checkdead) and the steps whose code is the same in both designs (the scheduler,
the syscall itself, the GC's scan bit, the unchanged parts of reentersyscall, exitsyscall,
entersyscallblock, retake, stop-the-world and forEachP) are the old design's definitions,
listed in SHARED. The new shared sub-steps of Go 1.26+ (`setBlockOnExitSyscall`,
`releaseP` for `takeP`/`gcstopP`, `resume`) are functions here, used by every stealer.

Versions: 1.27 adds `eraseSecretsSignalStk()` at the top of `reentersyscall` (the
RuntimeSecret experiment); it is the one step in VERSION_ONLY. Sources are
go1.26.0/go1.27.3 src/runtime/proc.go unless named otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from entersys.model import status as st
from entersys.model import steps as _old_design
from entersys.model.program import SYSMON, Ctx, F, M, W, step
from entersys.model.state import LOCK_FREE
from entersys.model.steps import _save_if_called, acquirep, handoffp, idle_p_exists
from entersys.model.steps import _wbegin as _stw_begin
from entersys.model.steps import _ypreempt as _retake_preempt

# ==== Go 1.26+ shared sub-steps ==============================================================


def syscalling_thread(c: Ctx, pref: Any) -> tuple[Any, Any, Any]:
    """setBlockOnExitSyscall's racy reads: (looks like a syscall, mp, gp) for P pref:
    p.status == _Prunning, mp = p.m != nil, gp = mp.curg != nil, gp's status minus the scan
    bit is _Gsyscall (the model has no extra Ms, so no _Gdeadextra)."""
    X, v = c.X, c.v
    mp = v.P(pref, "m")
    gp = v.M(mp, "curg")
    s = v.G(gp, "status")
    ok = X.and_(pref != 0, v.P(pref, "status") == st._Prunning, mp != 0, gp != 0,
                X.or_(s == st._Gsyscall, s == st._Gscansyscall))
    return ok, mp, gp


def castogscan(c: Ctx, gp: Any, cond: Any = True) -> Any:
    """castogscanstatus(gp, _Gsyscall, _Gscansyscall) when cond holds: one CAS on the G's
    status word (the lock of this design); returns whether it won."""
    X, v = c.X, c.v
    won = X.and_(cond, gp != 0, v.G(gp, "status") == st._Gsyscall)
    c.u.G(gp, status=X.ite(won, st._Gscansyscall, v.G(gp, "status")))
    return won


def still_wired(c: Ctx, mp: Any, gp: Any, pref: Any) -> Any:
    """setBlockOnExitSyscall's re-check after winning the bit: gp.m == mp && mp.p == pp."""
    X, v = c.X, c.v
    return X.and_(v.G(gp, "m") == mp, v.M(mp, "p") == pref)


def resume(c: Ctx, gp: Any, cond: Any = True) -> None:
    """syscallingThread.resume / casfrom_Gscanstatus(gp, _Gscansyscall, _Gsyscall)."""
    X, v = c.X, c.v
    held = X.and_(cond, gp != 0, v.G(gp, "status") == st._Gscansyscall)
    c.u.G(gp, status=X.ite(held, st._Gsyscall, v.G(gp, "status")))


def unwire(c: Ctx, pref: Any, mp: Any, cond: Any = True) -> None:
    """releaseP, first half: pp.m = 0; mp.p = 0 (plain writes under the scan bit)."""
    X, v = c.X, c.v
    c.u.P(pref, m=X.ite(cond, 0, v.P(pref, "m")))
    c.u.M(mp, p=X.ite(cond, 0, v.M(mp, "p")))


def store_released(c: Ctx, pref: Any, state: int, cond: Any = True) -> None:
    """releaseP, second half: atomic.Store(&pp.status, state); addGSyscallNoP;
    pp.syscalltick++."""
    X, v = c.X, c.v
    c.u.P(pref, status=X.ite(cond, state, v.P(pref, "status")),
          syscalltick=X.ite(cond, v.P(pref, "syscalltick") + 1, v.P(pref, "syscalltick")))


def steal_atomically(c: Ctx, pref: Any) -> tuple[Any, Any, Any]:
    """setBlockOnExitSyscall as one atomic step (racy reads, CAS, re-check: nothing can
    happen in between, so the re-check holds). Used by the stealers that hold sched.lock
    (stop-the-world) or whose window the model does not split (forEachP, exitsyscall)."""
    looks, mp, gp = syscalling_thread(c, pref)
    won = castogscan(c, gp, looks)
    return c.X.and_(won, still_wired(c, mp, gp, pref)), mp, gp


# ==== reentersyscall (spec 3.2) ==============================================================

RE = "go1.27.3 proc.go reentersyscall"


@step("reentersyscall27.2.eraseSecrets", M, None, "V27",
      RE + " step 2: if goexperiment.RuntimeSecret: eraseSecretsSignalStk()")
def _re2_secret(c: Ctx) -> Iterator[Any]:
    yield True
    c.set_me(sigsecret=0)


@step("user.secretSignal", M, "user", "V27",
      "go1.27.3 runtime/secret: a signal delivered in secret mode dirties the M's signal "
      "stack")
def _secret_signal(c: Ctx) -> Iterator[Any]:
    yield c.me("sigsecret") == 0
    c.set_me(sigsecret=1)
    c.pc_set = True


@step("reentersyscall26.4.syscalltick", M, None, "R6",
      RE + " step 4: m.syscalltick = m.p.syscalltick")
def _re4(c: Ctx) -> Iterator[Any]:
    mp = c.me("p")
    yield True
    c.throw(mp == 0, 4)
    c.set_me(syscalltick=c.v.P(mp, "syscalltick"))


@step("reentersyscall26.5.safepoint", M, None, "R5",
      RE + " step 5: if pp.runSafePointFn != 0, systemstack(runSafePointFn)")
def _re5(c: Ctx) -> Iterator[Any]:
    X, v = c.X, c.v
    mp = c.me("p")
    pending = X.and_(mp != 0, v.P(mp, "safepoint") == 1)
    yield True
    c.throw(mp == 0, 4)
    c.u.P(mp, safepoint=0, fnruns=X.ite(pending, v.P(mp, "fnruns") + 1, v.P(mp, "fnruns")))


@step("reentersyscall26.6.oldp", M, None, "N1", RE + " step 6: m.oldp = pp")
def _re6(c: Ctx) -> Iterator[Any]:
    yield True
    c.set_me(oldp=c.me("p"))


@step("reentersyscall26.9.gcwait", M, None, "N2/I8",
      RE + " step 9: if sched.gcwaiting, entersyscallHandleGCWait: under sched.lock, if "
      "stopwait > 0: pp.m = 0; m.p = 0; atomic.Store(_Pgcstop); syscalltick++; stopwait--")
def _re9(c: Ctx) -> Iterator[Any]:
    X, v = c.X, c.v
    mp = c.me("p")
    gcw = v.s("gcwaiting") == 1
    yield X.or_(X.not_(gcw), v.s("lock") == LOCK_FREE)
    give = X.and_(gcw, v.s("stopwait") > 0)
    c.throw(X.and_(give, mp == 0), 4)
    c.u.P(mp, m=X.ite(give, 0, v.P(mp, "m")),
          status=X.ite(give, st._Pgcstop, v.P(mp, "status")),
          syscalltick=X.ite(give, v.P(mp, "syscalltick") + 1, v.P(mp, "syscalltick")))
    c.set_me(p=X.ite(give, 0, mp), tmp=X.ite(gcw, 1, 0))
    c.u.s("stopwait", X.ite(give, v.s("stopwait") - 1, v.s("stopwait")))
    # systemstack clobbered gp.sched
    c.u.G(c.me("curg"), schedok=X.ite(gcw, 0, v.G(c.me("curg"), "schedok")))


@step("reentersyscall26.9.save", M, None, "R4", RE + " step 9: save again after systemstack")
def _re9_save(c: Ctx) -> Iterator[Any]:
    yield from _save_if_called(c)  # the old design's definition of the re-save


# ==== exitsyscall (spec 3.5) =================================================================

EX = "go1.27.3 proc.go exitsyscall"


@step("exitsyscall26.7.mp", M, None, "R9/N6",
      EX + " steps 6-7: oldp = m.oldp; m.oldp = nil; pp = m.p; pp == nil -> "
      "exitsyscallTryGetP(oldp)")
def _ex7(c: Ctx) -> Iterator[Any]:
    X = c.X
    mp, oldp = c.me("p"), c.me("oldp")
    yield True
    # m.pp is Go's local: pp on the fast path, oldp for exitsyscallTryGetP
    c.set_me(oldp=0, pp=X.ite(mp != 0, mp, oldp))
    c.branch(mp != 0, c.next_label(), "@exitsyscallTryGetP")


@step("exitsyscall26.8.tick", M, None, "R13",
      EX + " step 8: with a P: pp.syscalltick++")
def _ex8(c: Ctx) -> Iterator[Any]:
    pp = c.me("pp")
    yield True
    c.throw(pp == 0, 4)
    c.u.P(pp, syscalltick=c.v.P(pp, "syscalltick") + 1)
    c.set_me(pp=0)


TG = "go1.27.3 proc.go exitsyscallTryGetP"


@step("exitsyscallTryGetP.stealOldP", M, None, "N7/N4/R16",
      TG + ": setBlockOnExitSyscall(oldp); thread.takeP(); decGSyscallNoP; "
      "thread.resume(): take the old P back, even from another syscalling M")
def _tg_steal(c: Ctx) -> Iterator[Any]:
    # One step: the racy reads, CAS and re-check, then releaseP and resume. While this M
    # holds the bit the other M cannot move, and nobody else can take the released P.
    oldp = c.me("pp")
    yield True
    ok, mp, gp = steal_atomically(c, oldp)
    unwire(c, oldp, mp, ok)
    store_released(c, oldp, st._Pidle, ok)
    resume(c, gp, ok)
    c.branch(ok, c.next_label(), "exitsyscallTryGetP.pidle")


@step("exitsyscallTryGetP.acquirep", M, None, "N7",
      EX + ": acquirepNoTrace(oldp) after exitsyscallTryGetP returned it")
def _tg_acq(c: Ctx) -> Iterator[Any]:
    yield True
    acquirep(c, c.me("pp"))
    c.goto("exitsyscall26.8.tick")


@step("exitsyscallTryGetP.pidle", M, None, "N7/T9",
      TG + ": sched.pidle != 0: pidleget under sched.lock; acquirepNoTrace", ("p",))
def _tg_pidle(c: Ctx) -> Iterator[Any]:
    X, v = c.X, c.v
    (p,) = c.args
    yield X.and_(v.s("lock") == LOCK_FREE, v.P(p, "onidle") == 1)
    acquirep(c, p)
    c.u.s("sysmonwait", 0)
    c.set_me(pp=p)
    c.goto("exitsyscall26.8.tick")


@step("exitsyscallTryGetP.nopidle", M, None, "N8",
      TG + ": no idle P (racy read of sched.pidle): return nil; mcall(exitsyscallNoP)")
def _tg_nopidle(c: Ctx) -> Iterator[Any]:
    yield c.X.not_(idle_p_exists(c))
    c.set_me(pp=0)
    c.goto("@exitsyscall.slow")


@step("exitsyscallNoP.casgstatus", M, None, "N8",
      "go1.27.3 proc.go exitsyscallNoP: casgstatus(gp, _Grunning, _Grunnable); "
      "decGSyscallNoP; dropg")
def _exnop(c: Ctx) -> Iterator[Any]:
    g = c.me("curg")
    yield c.v.G(g, "status") == st._Grunning
    c.u.G(g, status=st._Grunnable, m=0)


# ==== sysmon retake (spec 4.3, V27) ========================================================

RT = "go1.27.3 proc.go retake"


@step("retake.pick", SYSMON, "y.run", "N3/R15",
      RT + ": a _Prunning P (racy status load); unlock allpLock; incidlelocked(-1); "
      "setBlockOnExitSyscall's racy reads of p.m, m.curg and gp's status", ("p",))
def _ypick(c: Ctx) -> Iterator[Any]:
    # One step from the status load to the racy reads: in between sysmon only takes and
    # drops sched.lock (incidlelocked), which no state of the other actors depends on.
    # Visits of Ps that run user code change nothing the model observes and are left out.
    X, v = c.X, c.v
    (p,) = c.args
    looks, mp, gp = syscalling_thread(c, p)
    yield X.and_(looks, v.s("lock") == LOCK_FREE)
    c.u.s("nmidlelocked", v.s("nmidlelocked") - 1)  # incidlelocked(-1), before the CAS (R15)
    c.u.s("y.p", p)
    c.u.s("y.m", mp)
    c.u.s("y.g", gp)
    c.goto("@retake")


# The CAS's two outcomes are two steps (exactly one is enabled), so that liveness can say
# which one time favours: sysmon read the G in _Gsyscall a few instructions before its CAS,
# and a G that leaves its syscall inside that window on every pass (20 us - 10 ms apart)
# is a timing coincidence, not a schedule Go allows forever. The winning CAS is owed
# strong fairness (STRONGLY_FAIR below; entersys.oracle.liveness): if sysmon keeps
# reaching its CAS while the G is still in _Gsyscall, it eventually wins.
@step("retake.block.cas", SYSMON, None, "N3/I7",
      RT + ": setBlockOnExitSyscall: castogscanstatus(gp, _Gsyscall, _Gscansyscall) wins")
def _ycas(c: Ctx) -> Iterator[Any]:
    gp = c.v.s("y.g")
    yield c.X.and_(gp != 0, c.v.G(gp, "status") == st._Gsyscall)
    castogscan(c, gp)


@step("retake.block.lost", SYSMON, None, "N3/I7",
      RT + ": setBlockOnExitSyscall: castogscanstatus fails (the G left _Gsyscall or "
      "another holds its scan bit): goto done")
def _ylost(c: Ctx) -> Iterator[Any]:
    gp = c.v.s("y.g")
    yield c.X.not_(c.X.and_(gp != 0, c.v.G(gp, "status") == st._Gsyscall))
    c.u.s("y.m", 0)
    c.u.s("y.g", 0)
    c.goto("retake.incidlelocked+")


def recheck_and_check(c: Ctx, recheck: bool = True) -> Iterator[Any]:
    """setBlockOnExitSyscall's re-check (gp.m == mp && mp.p == pp, else release the bit and
    fail), then retake's decision under the bit: tick moved and !sysretake -> record it
    and resume; no local work, an idle P and under 10 ms -> resume; else take the P.
    One step: while sysmon holds the bit nobody else can change what it reads here.
    `recheck=False` is the R16 mutant."""
    X, v = c.X, c.v
    pref, elapsed = c.args  # the P sysmon holds (y.p), as a parameter for fairness per P
    mp, gp, p = v.s("y.m"), v.s("y.g"), v.s("y.p")
    yield p == pref
    ok = still_wired(c, mp, gp, p) if recheck else True
    moved = v.P(p, "pd_tick") != v.P(p, "syscalltick")
    local_work = c.any_g(lambda j: v.g(j, "q") == p)
    skip = X.and_(elapsed == 0, X.or_(moved, X.and_(X.not_(local_work), idle_p_exists(c))))
    # a failed re-check releases the bit; skipping resumes at once (nothing can happen to
    # the G while sysmon holds the bit, so resuming later would look the same)
    resume(c, gp, X.or_(X.not_(ok), skip))
    c.u.P(p, pd_tick=X.ite(ok, v.P(p, "syscalltick"), v.P(p, "pd_tick")),
          pd_sched=X.ite(ok, v.P(p, "schedtick"), v.P(p, "pd_sched")))
    c.u.s("y.m", X.ite(X.and_(ok, X.not_(skip)), mp, 0))
    c.u.s("y.g", X.ite(X.and_(ok, X.not_(skip)), gp, 0))
    c.branch(X.and_(ok, X.not_(skip)), c.next_label(), "retake.incidlelocked+")


@step("retake.block.recheck", SYSMON, None, "R16/T5",
      RT + ": setBlockOnExitSyscall's re-check, then the tick / idle-P checks under the "
      "bit (bit = sysretake / 10 ms elapsed; p = the P sysmon holds, y.p)", ("p", "bit"))
def _yrecheck(c: Ctx) -> Iterator[Any]:
    yield from recheck_and_check(c)


@step("retake.takeP", SYSMON, None, "N4/R16",
      RT + ": thread.takeP() -> releaseP: pp.m = 0; mp.p = 0; atomic.Store(&pp.status, "
      "_Pidle); pp.syscalltick++; then thread.resume()")
def _ytake(c: Ctx) -> Iterator[Any]:
    yield from take_p(c)


def take_p(c: Ctx, resumed: bool = True) -> Iterator[Any]:
    """retake: thread.takeP(); thread.resume(). One step: between them sysmon owns the P
    privately and the G cannot move. `resumed=False` is the N5 mutant."""
    yield True
    unwire(c, c.v.s("y.p"), c.v.s("y.m"))
    store_released(c, c.v.s("y.p"), st._Pidle)
    if resumed:
        resume(c, c.v.s("y.g"))
    c.u.s("y.m", 0)
    c.u.s("y.g", 0)


@step("sysmon.timeout", SYSMON, "y.sleep", "N3",
      "go1.27.3 proc.go sysmon: notetsleep(&sched.sysmonnote, min(forcegcperiod/2, next "
      "timer)) times out while gcwaiting is set; lock(&sched.lock); sysmon then always "
      "runs retake, which visits P p", ("p",))
def _ytimeout(c: Ctx) -> Iterator[Any]:
    # The old design's model lets sysmon wake only through the note or with the world
    # running (sysmon.wake): its stop-the-world never needs sysmon. In this design a P
    # whose G switched to _Gsyscall after W's scan is stopped only by sysmon's retake
    # (handoffp with gcwaiting), so the timed wake-up during a stop is modelled, and it
    # goes straight into retake's visit of an attached P (Go's loop never sleeps again
    # before retake; wake-ups that find no such P change nothing and are left out).
    gen = _ypick(c)
    yield c.X.and_(next(gen), c.v.s("gcwaiting") == 1)
    yield from gen
    c.u.s("sysmonwait", 0)


@step("retake.preempt26", SYSMON, "y.run", "I11",
      RT + ": schedtick unmoved for forcePreemptNS -> preemptone(pp), which in Go 1.26+ "
      "returns at once for a G in _Gsyscall (retake then takes the P instead)", ("p",))
def _ypreempt26(c: Ctx) -> Iterator[Any]:
    gen = _retake_preempt(c)  # the old design's definition, minus syscall-attached Ps
    (p,) = c.args
    yield c.X.and_(next(gen), c.X.not_(syscalling_thread(c, p)[0]))
    yield from gen


# ==== stop-the-world and forEachP (spec 4.4, V27) ============================================

@step("stw.begin26", W, "w.idle", "I11",
      "go1.27.3 proc.go stopTheWorldWithSema: as before (sched.lock, stopwait, gcwaiting, "
      "preemptall), but preemptone skips a P whose G is in _Gsyscall")
def _wbegin(c: Ctx) -> Iterator[Any]:
    X, v = c.X, c.v
    yield from _stw_begin(c)  # the old design's definition
    for j in range(v.cfg.ps):
        pos = v.L.pname[j]["preempt"]
        c.u._set(pos, X.ite(syscalling_thread(c, j + 1)[0], v.p(j, "preempt"), c.u._old(pos)))



@step("stw.stopP", W, "w.scan", "N3/N4/I8",
      "go1.27.3 proc.go stopTheWorldWithSema: setBlockOnExitSyscall; gcstopP; resume "
      "(under sched.lock); or pidleget: _Pgcstop; stopwait--", ("p",))
def _wstop(c: Ctx) -> Iterator[Any]:
    X, v = c.X, c.v
    (p,) = c.args
    yield v.P(p, "scanned") == 0
    ok, mp, _gp = steal_atomically(c, p)
    idle = v.P(p, "onidle") == 1
    hit = X.or_(ok, idle)
    unwire(c, p, mp, ok)
    # gcstopP (releaseP(_Pgcstop): syscalltick++) or an idle P taken off the list
    c.u.P(p, scanned=1, onidle=0, status=X.ite(hit, st._Pgcstop, v.P(p, "status")),
          syscalltick=X.ite(ok, v.P(p, "syscalltick") + 1, v.P(p, "syscalltick")))
    c.u.s("stopwait", X.ite(hit, v.s("stopwait") - 1, v.s("stopwait")))
    # thread.resume(): the CAS above wrote _Gscansyscall; it is released in the same step
    resume(c, _gp, ok)
    c.pc_set = True


@step("forEachP.takeP", F, "f.scan", "N3/N4/T7",
      "go1.27.3 proc.go forEachPInternal: runSafePointFn == 1 -> setBlockOnExitSyscall; "
      "takeP; resume; handoffp", ("p",))
def _ftake(c: Ctx) -> Iterator[Any]:
    X, v = c.X, c.v
    (p,) = c.args
    yield X.and_(v.P(p, "scanned") == 0, v.s("lock") == LOCK_FREE)
    ok, mp, gp = steal_atomically(c, X.ite(v.P(p, "safepoint") == 1, p, 0))
    unwire(c, p, mp, ok)
    resume(c, gp, ok)
    # releaseP(_Pidle) then handoffp, which runs the pending fn and puts the P on the idle
    # list (forEachP runs only while gcwaiting is clear: see forEachP.begin's guard)
    c.u.P(p, syscalltick=X.ite(ok, v.P(p, "syscalltick") + 1, v.P(p, "syscalltick")))
    handoffp(c, X.ite(ok, p, 0))
    c.u.P(p, scanned=1)
    c.pc_set = True


# ==== programs ===========================================================================

ROUTINES: dict[str, tuple[list[str], str]] = {
    "reentersyscall": ([
        "reentersyscall.1.locks", "reentersyscall27.2.eraseSecrets",
        "reentersyscall.2.stackguard", "reentersyscall26.4.syscalltick",
        "reentersyscall26.5.safepoint", "reentersyscall26.6.oldp",
        "reentersyscall.3.save", "reentersyscall.4.syscallsp",
        "reentersyscall26.9.gcwait", "reentersyscall26.9.save",
        "reentersyscall.5.casgstatus",
        "reentersyscall.8.sysmon", "reentersyscall.8.save", "reentersyscall.13.locks",
    ], "sys"),
    "exitsyscall": ([
        "exitsyscall.1.locks", "exitsyscall.5.casgstatus", "exitsyscall26.7.mp",
        "exitsyscall26.8.tick", "exitsyscall.5.syscallsp", "exitsyscall.5.locks",
        "exitsyscall.5.stackguard",
    ], "user"),
    "exitsyscallTryGetP": ([
        "exitsyscallTryGetP.stealOldP", "exitsyscallTryGetP.acquirep",
        "exitsyscallTryGetP.pidle",
    ], "exitsyscall26.8.tick"),
    "exitsyscall.slow": ([
        "exitsyscall.6.locks", "exitsyscallNoP.casgstatus", "exitsyscall0.pidleget",
        "exitsyscall.8.resume",
    ], "user"),
    "entersyscallblock": ([
        "entersyscallblock.1", "entersyscallblock.save", "entersyscallblock.handoff",
        "entersyscallblock.casgstatus", "entersyscallblock.locks",
    ], "sys"),
    "retake": ([
        "retake.block.cas", "retake.block.recheck", "retake.takeP", "retake.handoffp",
        "retake.incidlelocked+",
    ], "y.run"),
}
ALTERNATIVES = {
    "retake.block.lost": "retake.block.cas",
    "exitsyscallTryGetP.nopidle": "exitsyscallTryGetP.pidle",
    "exitsyscall0.globrunqput": "exitsyscall0.pidleget",
}
# Steps owed strong fairness beyond the scheduler's and sysmon's per-P visits (read by
# entersys.oracle.liveness): the winning scan-bit CAS of retake (see retake.block.cas).
STRONGLY_FAIR = ("retake.block.cas",)
PLACES = list(_old_design.PLACES)  # the same places: idle, user code, the call, the actors
LOCKED_ROUTINES = ("reentersyscall", "exitsyscall", "exitsyscallTryGetP", "entersyscallblock")

# The old design's definitions that Go 1.26+ runs unchanged (same code in proc.go).
SHARED = (
    # scheduler, user code, the system call itself
    "startm", "schedule", "gcstopm", "stopm", "runSafePointFn.sched", "runSafePointFn.user",
    "gosched", "user.signal", "user.Syscall", "user.entersyscallblock",
    "user.RawSyscall.block", "RawSyscall.return", "user.RawSyscall.wait", "RawSyscall.wakeup",
    # LockOSThread (the locked part): unchanged; exitsyscallNoP reads gp.lockedm under
    # sched.lock as exitsyscall0 does
    "user.LockOSThread", "user.UnlockOSThread", "schedule.stoplockedm",
    "schedule.startlockedm", "stoplockedm.wake", "exitsyscall0.stopm",
    "syscall.return", "syscall.block",
    "syscall.wakeup",
    # reentersyscall: m.locks, stackguard, save, syscallsp, the G switch, sysmon wake-up
    "reentersyscall.1.locks", "reentersyscall.2.stackguard", "reentersyscall.3.save",
    "reentersyscall.4.syscallsp", "reentersyscall.5.casgstatus", "reentersyscall.8.sysmon",
    "reentersyscall.8.save", "reentersyscall.13.locks",
    # exitsyscall: m.locks, the G switch (now first), the epilogue, the no-P path
    "exitsyscall.1.locks", "exitsyscall.5.casgstatus", "exitsyscall.5.syscallsp",
    "exitsyscall.5.locks", "exitsyscall.5.stackguard", "exitsyscall.6.locks",
    "exitsyscall0.pidleget", "exitsyscall0.globrunqput", "exitsyscall.8.resume",
    # entersyscallblock: the same steps in the new order (handoff before the G switch)
    "entersyscallblock.1", "entersyscallblock.save", "entersyscallblock.handoff",
    "entersyscallblock.casgstatus", "entersyscallblock.locks",
    # sysmon, stop-the-world, forEachP, GC
    "sysmon.sleep", "sysmon.wake", "retake.handoffp",
    "retake.incidlelocked+", "stw.unlock", "stw.stopped", "stw.start",
    "forEachP.begin", "forEachP.wait", "forEachP.done", "gc.scan", "gc.release",
    # the tracer's unwinder of a syscalling G (an observer of g.sched; fid2)
    "traceback.syscall",
)
# Steps that exist only in some versions of this design (the 1.26 / 1.27 parameter).
VERSION_ONLY = {"reentersyscall27.2.eraseSecrets": ("1.27",),
                "user.secretSignal": ("1.27",)}

# Runs of steps executed as one transition (Program.fuse): each block has at most one step
# another actor can observe or race with (the rest touch only the M's own fields, its
# _Grunning G, or a P it owns while its G is _Grunning), so leaving out the interleavings
# inside a block changes no reachable state at a block boundary. Only the first step of a
# block has a guard; only the last may branch.
FUSED = (
    ("reentersyscall.1.locks", "reentersyscall27.2.eraseSecrets",
     "reentersyscall.2.stackguard", "reentersyscall26.4.syscalltick",
     "reentersyscall26.5.safepoint", "reentersyscall26.6.oldp", "reentersyscall.3.save",
     "reentersyscall.4.syscallsp"),                       # visible: the safe-point fn (F)
    ("reentersyscall26.9.gcwait", "reentersyscall26.9.save"),
    ("reentersyscall.8.sysmon", "reentersyscall.8.save", "reentersyscall.13.locks"),
    ("exitsyscall.5.casgstatus", "exitsyscall26.7.mp"),   # m.p is stable once _Grunning
    ("exitsyscall26.8.tick", "exitsyscall.5.syscallsp", "exitsyscall.5.locks",
     "exitsyscall.5.stackguard"),
    ("exitsyscall.6.locks", "exitsyscallNoP.casgstatus"),
    ("entersyscallblock.1", "entersyscallblock.save"),
    ("entersyscallblock.casgstatus", "entersyscallblock.locks"),
)

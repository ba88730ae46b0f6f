"""Mutants of the Go 1.26+ design (rules R9, R16, N5, N9 and the scan bit's CAS), each a
transformation of the scanbit Program's routines or steps, merged into the catalog of
entersys.model.mutants. Every one must be killed with a counterexample."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from entersys.model import status as st
from entersys.model.mutants import CORE_2M1P2G, Mutant, _move, _noop
from entersys.model.program import SYSMON, Ctx, M, Program, Step
from entersys.model.steps_scanbit import (
    recheck_and_check,
    resume,
    still_wired,
    store_released,
    syscalling_thread,
    take_p,
    unwire,
)

SCANBIT = ("1.26", "1.27")


def _plain_scan_store(prog: Program) -> Program:
    """retake's castogscanstatus split into a load of the G's status and a later plain
    store of _Gscansyscall that acts on the stale reading."""
    def load(c: Ctx) -> Iterator[Any]:
        X, v = c.X, c.v
        gp = v.s("y.g")
        yield True
        saw = X.and_(gp != 0, v.G(gp, "status") == st._Gsyscall)
        c.u.s("y.m", X.ite(saw, v.s("y.m"), 0))
        c.u.s("y.g", X.ite(saw, gp, 0))
        c.branch(saw, "retake.block.store", "retake.incidlelocked+")

    def store(c: Ctx) -> Iterator[Any]:
        yield True
        c.u.G(c.v.s("y.g"), status=st._Gscansyscall)

    steps = dict(prog.steps)
    old = steps["retake.block.cas"]
    steps["retake.block.cas"] = Step(old.name, SYSMON, None, old.rule,
                                     "mutant: plain load of the G's status", load)
    steps["retake.block.store"] = Step("retake.block.store", SYSMON, None, old.rule,
                                       "mutant: plain store of _Gscansyscall", store)
    routines = {k: (list(s), c) for k, (s, c) in prog.routines.items()}
    seq = routines["retake"][0]
    seq.insert(seq.index("retake.block.cas") + 1, "retake.block.store")
    return prog.mutated("N3-plain-store", routines=routines, steps=steps)


def _mp_before_running(prog: Program) -> Program:
    """exitsyscall loads m.p (into its local pp) before the G switches back to _Grunning,
    and decides fast path / exitsyscallTryGetP on that stale value after the switch."""
    def early(c: Ctx) -> Iterator[Any]:
        yield True
        c.set_me(pp=c.me("p"))

    def decide(c: Ctx) -> Iterator[Any]:
        X = c.X
        seen, oldp = c.me("pp"), c.me("oldp")
        yield True
        c.set_me(oldp=0, pp=X.ite(seen != 0, seen, oldp))
        c.branch(seen != 0, c.next_label(), "@exitsyscallTryGetP")

    steps = dict(prog.steps)
    old = steps["exitsyscall26.7.mp"]
    steps["exitsyscall26.7.mp"] = Step(old.name, M, None, old.rule,
                                       "mutant: decides on the pp loaded early", decide)
    steps["exitsyscall.R9.early"] = Step("exitsyscall.R9.early", M, None, "R9",
                                         "mutant: pp = m.p before casgstatus", early)
    routines = {k: (list(s), c) for k, (s, c) in prog.routines.items()}
    seq = routines["exitsyscall"][0]
    seq.insert(seq.index("exitsyscall.5.casgstatus"), "exitsyscall.R9.early")
    return prog.mutated("R9-mp-before-running", routines=routines, steps=steps)


def _no_resume(prog: Program) -> Program:
    """retake's takeP without the resume() after it."""
    def fn(c: Ctx) -> Iterator[Any]:
        yield from take_p(c, resumed=False)

    steps = dict(prog.steps)
    old = steps["retake.takeP"]
    steps[old.name] = Step(old.name, SYSMON, None, old.rule, "mutant: no resume()", fn)
    return prog.mutated("N5-no-resume", steps=steps)


def _no_recheck(prog: Program) -> Program:
    """setBlockOnExitSyscall without the re-check after winning the bit (retake)."""
    def fn(c: Ctx) -> Iterator[Any]:
        yield from recheck_and_check(c, recheck=False)

    steps = dict(prog.steps)
    old = steps["retake.block.recheck"]
    steps[old.name] = Step(old.name, SYSMON, None, old.rule, "mutant: no re-check", fn,
                           old.params)
    return prog.mutated("R16-no-recheck", steps=steps)


def _status_first(prog: Program) -> Program:
    """releaseP's status store before it clears pp.m and mp.p (retake's takeP in two
    steps, in the wrong order)."""
    def status(c: Ctx) -> Iterator[Any]:
        yield True
        store_released(c, c.v.s("y.p"), st._Pidle)

    def clear(c: Ctx) -> Iterator[Any]:
        yield True
        unwire(c, c.v.s("y.p"), c.v.s("y.m"))
        resume(c, c.v.s("y.g"))
        c.u.s("y.m", 0)
        c.u.s("y.g", 0)

    steps = dict(prog.steps)
    old = steps.pop("retake.takeP")
    steps["retake.takeP.status"] = Step("retake.takeP.status", SYSMON, None, old.rule,
                                        "mutant: releaseP's status store first", status)
    steps["retake.takeP.unwire"] = Step("retake.takeP.unwire", SYSMON, None, old.rule,
                                        "mutant: then pp.m = 0; mp.p = 0", clear)
    routines = {k: (list(s), c) for k, (s, c) in prog.routines.items()}
    seq = routines["retake"][0]
    k = seq.index("retake.takeP")
    seq[k:k + 1] = ["retake.takeP.status", "retake.takeP.unwire"]
    return prog.mutated("R16-status-first", routines=routines, steps=steps)


def _no_timed_wake(prog: Program) -> Program:
    """sysmon wakes during a stop only through sysmonnote, never by its timeout."""
    old = prog.steps["sysmon.wake"]

    def wake(c: Ctx) -> Iterator[Any]:
        gen = old.fn(c)
        v = c.v
        yield c.X.and_(next(gen), c.X.or_(v.s("sysmonwait") == 0, v.s("gcwaiting") == 0))
        yield from gen

    steps = {k: v for k, v in prog.steps.items() if k != "sysmon.timeout"}
    steps["sysmon.wake"] = Step(old.name, old.actor, old.at, old.rule,
                                "mutant: woken by sysmonnote only while gcwaiting", wake,
                                old.params)
    return prog.mutated("Y-no-timed-wake", steps=steps)


def _steal_without_bit(prog: Program) -> Program:
    """exitsyscallTryGetP takes its old P back from another syscalling M without winning
    that G's scan bit: the racy reads of setBlockOnExitSyscall, then (a separate step,
    since nothing now keeps the other M out) releaseP of whatever M the P names."""
    def look(c: Ctx) -> Iterator[Any]:
        oldp = c.me("pp")
        yield True
        looks, mp, gp = syscalling_thread(c, oldp)
        c.branch(c.X.and_(looks, still_wired(c, mp, gp, oldp)),
                 "exitsyscallTryGetP.stealOldP.release", "exitsyscallTryGetP.pidle")

    def release(c: Ctx) -> Iterator[Any]:
        v = c.v
        oldp = c.me("pp")
        yield True
        mp = v.P(oldp, "m")
        unwire(c, oldp, mp, mp != 0)
        store_released(c, oldp, st._Pidle, mp != 0)
        c.branch(mp != 0, "exitsyscallTryGetP.acquirep", "exitsyscallTryGetP.pidle")

    steps = dict(prog.steps)
    old = steps["exitsyscallTryGetP.stealOldP"]
    steps[old.name] = Step(old.name, M, None, old.rule,
                           "mutant: racy reads only, no castogscanstatus", look)
    steps["exitsyscallTryGetP.stealOldP.release"] = Step(
        "exitsyscallTryGetP.stealOldP.release", M, None, old.rule,
        "mutant: releaseP without the scan bit", release)
    routines = {k: (list(s), c) for k, (s, c) in prog.routines.items()}
    seq = routines["exitsyscallTryGetP"][0]
    seq.insert(seq.index(old.name) + 1, "exitsyscallTryGetP.stealOldP.release")
    return prog.mutated("N7-steal-no-bit", routines=routines, steps=steps)


MUTANTS: dict[str, Mutant] = {m.id: m for m in (
    Mutant("R9-mp-before-running", "R9",
           "exitsyscall reads m.p before the G switches back to _Grunning",
           _mp_before_running, "I10 / NO-P-USER", SCANBIT),
    Mutant("R16-no-recheck", "R16",
           "setBlockOnExitSyscall skips the re-check gp.m == mp && mp.p == pp after "
           "winning the scan bit", _no_recheck, "I1/I2/I8", SCANBIT),
    Mutant("N5-no-resume", "N5/R16", "retake takes the P and never calls resume()",
           _no_resume, "I7-SCAN / P-EXIT", SCANBIT),
    Mutant("N9-switch-first", "R9/N9",
           "entersyscallblock switches the G to _Gsyscall before handoffp(releasep())",
           _move("entersyscallblock", "entersyscallblock.casgstatus",
                 "entersyscallblock.handoff", after=False), "I0 (releasep)", SCANBIT),
    Mutant("R16-status-first", "R16",
           "releaseP stores the P's status before clearing p.m and m.p",
           _status_first, "I4-UNWIRED", SCANBIT),
    Mutant("N3-plain-store", "N3/I7", "the scan bit taken with a load and a plain store "
           "instead of castogscanstatus", _plain_scan_store, "I7-SCAN / I3", SCANBIT),
    Mutant("Y-no-timed-wake", "R8/N3",
           "sysmon never wakes by its timeout while the world is stopping: a G that "
           "switched to _Gsyscall after W visited its P is then never stopped (the finding "
           "that this design has no R8 handshake)", _no_timed_wake, "DEADLOCK / P-STW",
           SCANBIT),
    Mutant("N7-steal-no-bit", "N7/R16", "exitsyscallTryGetP takes the old P back from "
           "another syscalling M without winning that G's scan bit (the other M exits its "
           "syscall between the racy reads and releaseP)", _steal_without_bit, "I10",
           SCANBIT, config=CORE_2M1P2G),
    Mutant("V27-no-erase", "V27", "reentersyscall does not erase the signal stack's "
           "secrets (Go 1.27 only: 1.26 has no runtime/secret)",
           _noop("reentersyscall27.2.eraseSecrets"), "SECRET", ("1.27",)),
)}

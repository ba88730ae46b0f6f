"""A catalog of protocol mutants, each breaking one ordering rule or transition of the spec
(R1-R8, R10, R11, R14, R15, T4, T5, T10, T12) or one of Go's own checks (stopTheWorld,
forEachP, stopm): reordered steps, a missing step, a plain store where Go uses a CAS, a
wait not waited for. A mutant is a transformation of a Program's routines or steps, never
a second copy of the protocol; the checkers must kill every one with a counterexample,
except a mutant recorded as equivalent in the model (`Mutant.equivalent` says why; its
expected verdict is holds: R4-no-save, and R5/R6 through the local pp)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from entersys.model import status as st
from entersys.model.program import DESIGN_OF, SYSMON, VERSIONS, Ctx, M, Program, Step
from entersys.model.state import Config

Transform = Callable[[Program], Program]


@dataclass(frozen=True)
class Mutant:
    id: str
    rule: str
    description: str
    transform: Transform
    expect: str  # the property expected to catch it (documentation; any kill counts)
    # the Go versions the broken rule exists in (by default, the old design's)
    versions: tuple[str, ...] = tuple(v for v in VERSIONS if DESIGN_OF[v] == "psyscall")
    config: Config | None = None  # where it is killed, if not in the catalog's default
    # why the mutant is semantically equivalent in the model (expected verdict: holds);
    # empty for a mutant that must be killed
    equivalent: str = ""


def _move(routine: str, step: str, anchor: str, after: bool = True) -> Transform:
    """Move `step` right after (or before) `anchor` in `routine`."""
    def t(prog: Program) -> Program:
        routines = {k: (list(s), c) for k, (s, c) in prog.routines.items()}
        seq = routines[routine][0]
        if step not in seq or anchor not in seq:
            raise ValueError(f"mutant: {step} or {anchor} not in {routine}")
        seq.remove(step)
        k = seq.index(anchor)
        seq.insert(k + 1 if after else k, step)
        return prog.mutated(t.__name__, routines=routines)
    return t


def _noop(name: str) -> Transform:
    """Replace a step by one that does nothing (the label stays, control falls through)."""
    def t(prog: Program) -> Program:
        old = prog.steps[name]

        def fn(c: Ctx) -> Iterator[Any]:
            yield True

        steps = dict(prog.steps)
        steps[name] = Step(old.name, old.actor, old.at, old.rule, "mutant: step removed", fn,
                           old.params)
        return prog.mutated(t.__name__, steps=steps)
    return t


def _drop_write(name: str, field: str) -> Transform:
    """The step runs as defined, except that its write of its own M's `field` is lost."""
    def t(prog: Program) -> Program:
        old = prog.steps[name]

        def fn(c: Ctx) -> Iterator[Any]:
            yield from old.fn(c)
            c.u.writes.pop(c.v.L.mname[c.m][field], None)

        steps = dict(prog.steps)
        steps[name] = Step(old.name, old.actor, old.at, old.rule,
                           f"mutant: {old.source} without m.{field}", fn, old.params)
        return prog.mutated(t.__name__, steps=steps)
    return t


def _plain_exitsyscallfast(prog: Program) -> Program:
    """exitsyscallfast with a load and a separate plain store instead of the CAS: the load
    step records what it saw in m.tmp, the store step acts on that stale reading."""
    def load(c: Ctx) -> Iterator[Any]:
        X, v = c.X, c.v
        oldp = c.me("oldp")
        yield True
        c.set_me(tmp=X.ite(X.and_(oldp != 0, v.P(oldp, "status") == st._Psyscall), 1, 0))

    def store(c: Ctx) -> Iterator[Any]:
        X, v = c.X, c.v
        oldp = c.me("oldp")
        yield True
        saw = c.me("tmp") == 1
        c.u.P(oldp, status=X.ite(saw, st._Pidle, v.P(oldp, "status")),
              wins=X.ite(saw, v.P(oldp, "wins") + 1, v.P(oldp, "wins")))
        c.set_me(tmp=0)
        c.branch(saw, "exitsyscallfast.wirep", "exitsyscallfast.pidle")

    steps = dict(prog.steps)
    old = steps["exitsyscallfast.cas"]
    steps["exitsyscallfast.cas"] = Step(old.name, M, None, old.rule,
                                        "mutant: plain load of p.status", load)
    steps["exitsyscallfast.store"] = Step("exitsyscallfast.store", M, None, old.rule,
                                          "mutant: plain store _Pidle", store)
    routines = {k: (list(s), c) for k, (s, c) in prog.routines.items()}
    seq = routines["exitsyscall"][0]
    seq.insert(seq.index("exitsyscallfast.cas") + 1, "exitsyscallfast.store")
    return prog.mutated("T4-plain-store", routines=routines, steps=steps)


def _retake_no_10ms(prog: Program) -> Program:
    """retake only when the same syscalltick was seen twice and there is local work or
    no idle P: no 10 ms path (and no sysretake)."""
    def decide(c: Ctx) -> Iterator[Any]:
        X, v = c.X, c.v
        p, elapsed = c.args
        local_work = c.any_g(lambda j: v.g(j, "q") == p)
        no_idle = X.not_(X.or_(*[v.p(j, "onidle") == 1 for j in range(v.cfg.ps)]))
        yield X.and_(elapsed == 0, v.P(p, "status") == st._Psyscall,
                     v.P(p, "pd_tick") == v.P(p, "syscalltick"), X.or_(local_work, no_idle))
        c.u.s("y.p", p)
        c.goto("@retake")

    steps = dict(prog.steps)
    old = steps["retake.decide"]
    steps["retake.decide"] = Step(old.name, SYSMON, old.at, old.rule,
                                  "mutant: retake without the 10 ms rule", decide, old.params)
    return prog.mutated("T5-retake-no-10ms", steps=steps)


def _no_sysretake(prog: Program) -> Program:
    steps = dict(prog.steps)
    del steps["retake.preempt"]
    return prog.mutated("T5-no-sysretake", steps=steps)


def _no_retake(prog: Program) -> Program:
    steps = dict(prog.steps)
    del steps["retake.decide"]
    return prog.mutated("T5-no-retake", steps=steps)


def _r14_lockedm_late(prog: Program) -> Program:
    """exitsyscall0 reads gp.lockedm after unlock(&sched.lock), when globrunqput has
    already given gp away (the local gp is kept in m.gp)."""
    def put(c: Ctx) -> Iterator[Any]:
        X, v = c.X, c.v
        g = c.me("curg")
        yield X.and_(v.s("lock") == 0, X.not_(X.or_(*[v.p(j, "onidle") == 1
                                                       for j in range(v.cfg.ps)])))
        c.u.G(g, q=v.cfg.global_q)
        c.set_me(curg=0, gp=g)
        c.goto("exitsyscall0.stopm")

    def stop(c: Ctx) -> Iterator[Any]:
        from entersys.model.steps import _stoplockedm_or_stopm

        yield True
        locked = c.v.G(c.me("gp"), "lockedm") != 0
        c.set_me(gp=0)
        _stoplockedm_or_stopm(c, locked)

    steps = dict(prog.steps)
    for name, fn in (("exitsyscall0.globrunqput", put), ("exitsyscall0.stopm", stop)):
        old = steps[name]
        steps[name] = Step(old.name, M, old.at, old.rule,
                           "mutant: gp.lockedm read after unlock(&sched.lock)", fn, old.params)
    return prog.mutated("R14-lockedm-late", steps=steps)


def _unguarded(name: str, what: str) -> Transform:
    """The step runs as defined but is enabled whenever its actor is at its label: the
    wait it ends (stopnote, safePointNote) is not waited for."""
    def t(prog: Program) -> Program:
        old = prog.steps[name]

        def fn(c: Ctx) -> Iterator[Any]:
            gen = old.fn(c)
            next(gen)
            yield True
            yield from gen

        steps = dict(prog.steps)
        steps[name] = Step(old.name, old.actor, old.at, old.rule, f"mutant: {what}", fn,
                           old.params)
        return prog.mutated(t.__name__, steps=steps)
    return t


def _through_pp(name: str, body: str, move: Transform) -> Transform:
    """`move`, with step `name` reading its P through reentersyscall's local pp instead of
    m.p (steps.safepoint_check / steps.syscalltick_copy with ref "pp")."""
    def t(prog: Program) -> Program:
        from entersys.model import steps as defs

        fn = getattr(defs, body)
        out = move(prog)
        old = out.steps[name]
        out.steps = dict(out.steps)
        out.steps[name] = Step(old.name, M, old.at, old.rule,
                               f"mutant: {old.source} through the local pp",
                               lambda c: fn(c, "pp"), old.params)
        return out
    return t


def _stopm_no_releasep(prog: Program) -> Program:
    from entersys.model.steps import stopm_body

    old = prog.steps["stopm"]
    steps = dict(prog.steps)
    steps["stopm"] = Step(old.name, M, old.at, old.rule, "mutant: stopm without releasep",
                          lambda c: stopm_body(c, release=False), old.params)
    return prog.mutated("stopm-no-releasep", steps=steps)


def _exit_cas_ignores_scan(prog: Program) -> Program:
    """exitsyscall's casgstatus(_Gsyscall, _Grunning) as a plain store that does not wait
    while the GC holds the G's scan bit (_Gscansyscall)."""
    def fn(c: Ctx) -> Iterator[Any]:
        X, v = c.X, c.v
        g = c.me("curg")
        s = v.G(g, "status")
        yield X.or_(s == st._Gsyscall, s == st._Gscansyscall)
        c.u.G(g, status=st._Grunning)

    old = prog.steps["exitsyscall.5.casgstatus"]
    steps = dict(prog.steps)
    steps[old.name] = Step(old.name, M, old.at, old.rule,
                           "mutant: status stored over the GC's scan bit", fn, old.params)
    return prog.mutated("T10-store-over-scan", steps=steps)


# Core parts (sysmon and stop-the-world) at small sizes, for the mutants only liveness
# kills: two Ps (an idle P beside the syscalling one), or two Gs on one P.
_CORE = {"foreachp": False, "gc": False, "blockhint": False, "raw": False}
CORE_1M2P1G = Config(ms=1, ps=2, gs=1, **_CORE)
CORE_2M1P2G = Config(ms=2, ps=1, gs=2, **_CORE)
# two Ms racing for one G: a parked M woken for a G that another M ran first stops again
CORE_2M2P1G = Config(ms=2, ps=2, gs=1, **_CORE)
LOCKED_2M1P2G = Config(ms=2, ps=1, gs=2, locked=True, **_CORE)

MUTANTS: dict[str, Mutant] = {m.id: m for m in (
    Mutant("R1-locks-late", "R1", "m.locks++ after the G became _Gsyscall",
           _move("reentersyscall", "reentersyscall.1.locks", "reentersyscall.5.casgstatus"),
           "R1-LOCKS"),
    Mutant("R1-unlock-early", "R1", "exitsyscall's m.locks-- before the G is _Grunning",
           _move("exitsyscall", "exitsyscall.5.locks", "exitsyscallfast.cas", after=False),
           "R1-LOCKS"),
    Mutant("R2-stackguard-late", "R2", "stackguard0/throwsplit set after the status switch",
           _move("reentersyscall", "reentersyscall.2.stackguard",
                 "reentersyscall.5.casgstatus"), "I6"),
    Mutant("R3-syscallsp-late", "R3", "syscallsp set after casgstatus(_Grunning, _Gsyscall)",
           _move("reentersyscall", "reentersyscall.4.syscallsp",
                 "reentersyscall.5.casgstatus"), "I3"),
    Mutant("R4-no-save", "R4", "no save(pc, sp) after entersyscall_sysmon's systemstack",
           _noop("reentersyscall.8.save"), "none (equivalent)",
           equivalent="no modelled observer reads g.sched of a G whose syscallsp is set: "
           "the GC's scanstack and the unwinder start from syscallpc/syscallsp (go1.14 and "
           "go1.25), and go1.25's tracer from syscallpc/syscallbp; the re-save matters only "
           "to go1.21-1.22's tracer, which unwound a syscalling G from g.sched.bp (#66889, "
           "fixed in go1.23 by g.syscallbp), a version this model does not have"),
    Mutant("R3-save-after-casgstatus", "R3/R4", "save(pc, sp, bp) moved after "
           "casgstatus(_Grunning, _Gsyscall): syscallsp/syscallpc are copied from the stale "
           "g.sched of the running G",
           _move("reentersyscall", "reentersyscall.3.save", "reentersyscall.5.casgstatus"),
           "G-SCHED"),
    Mutant("R5-safepoint-late", "R5", "runSafePointFn check after the _Psyscall store",
           _move("reentersyscall", "reentersyscall.9.safepoint",
                 "reentersyscall.11.Psyscall"), "I0 (nil P)"),
    Mutant("R6-tick-late", "R6", "m.syscalltick copied after the P was released",
           _move("reentersyscall", "reentersyscall.10.syscalltick",
                 "reentersyscall.11.Psyscall"), "I0 (nil P)"),
    Mutant("R5-pp-safepoint-late", "R5", "the runSafePointFn check after the _Psyscall "
           "store, reading the P through the local pp (no nil P)",
           _through_pp("reentersyscall.9.safepoint", "safepoint_check",
                       _move("reentersyscall", "reentersyscall.9.safepoint",
                             "reentersyscall.11.Psyscall")), "none (equivalent)",
           equivalent="fn runs exactly once either way: the M's check and forEachP's CAS "
           "out of _Psyscall both clear p.runSafePointFn before running fn, so whoever "
           "comes second does nothing (FN-ONCE, forEachP's own throws hold). What Go "
           "forbids here, fn running on a P this M no longer owns while another M may "
           "have it, has no effect in the model: fn's work on the P (mcache flush, "
           "stack scans of its Gs) is not modelled"),
    Mutant("R6-pp-tick-late", "R6", "m.syscalltick copied after the _Psyscall store, "
           "reading the P through the local pp (no nil P)",
           _through_pp("reentersyscall.10.syscalltick", "syscalltick_copy",
                       _move("reentersyscall", "reentersyscall.10.syscalltick",
                             "reentersyscall.11.Psyscall")), "none (equivalent)",
           equivalent="a tick copied after sysmon or W already stole the P (and bumped "
           "p.syscalltick) only makes exitsyscallfast_reacquired skip its "
           "p.syscalltick++ and its ProcSteal trace event: sysmon then sees the next "
           "episode's tick as unchanged and may retake a period early, a timing the "
           "model leaves nondeterministic anyway; no ownership, status or liveness "
           "property depends on it (the tracer's events are not modelled)"),
    Mutant("R7-store-first", "R7", "_Psyscall stored before p.m/m.oldp/m.p are written",
           _move("reentersyscall", "reentersyscall.11.Psyscall", "reentersyscall.11.release",
                 after=False), "I4"),
    Mutant("R8-gcwait-early", "R8", "gcwaiting read before the _Psyscall store",
           _move("reentersyscall", "reentersyscall.12.gcwait", "reentersyscall.11.release",
                 after=False), "STW-HANDSHAKE / P-STW"),
    Mutant("R10-running-first", "R10", "G back to _Grunning before a P is reacquired",
           _move("exitsyscall", "exitsyscall.5.casgstatus", "exitsyscallfast.cas",
                 after=False), "G-RUNNING-P"),
    Mutant("R11-syscallsp-early", "R11", "syscallsp cleared while the G is still _Gsyscall",
           _move("exitsyscall", "exitsyscall.5.syscallsp", "exitsyscall.5.casgstatus",
                 after=False), "I3"),
    Mutant("R15-idlelocked-late", "R15", "retake's incidlelocked(-1) after the CAS",
           _move("retake", "retake.incidlelocked-", "retake.cas"), "I0 (checkdead)"),
    Mutant("T4-plain-store", "T4/I7", "exitsyscallfast: load + plain store instead of CAS",
           _plain_exitsyscallfast, "I7/I1"),
    Mutant("T5-retake-no-10ms", "T5", "retake needs the same syscalltick twice and work or "
           "no idle P: no 10 ms path", _retake_no_10ms, "LIVE-RETAKE", config=CORE_1M2P1G),
    Mutant("T5-no-retake", "T5", "sysmon never retakes a P in _Psyscall", _no_retake,
           "LIVE-RUN", config=CORE_2M1P2G),
    Mutant("T5-no-sysretake", "T5", "no forcePreemptNS preemption of a P whose schedtick "
           "stands still (before CL 170138, #10958: tiny frequent syscalls starve the "
           "other Gs)", _no_sysretake, "LIVE-RUN", config=CORE_2M1P2G),
    Mutant("R14-lockedm-late", "R14", "exitsyscall0 reads gp.lockedm after releasing "
           "sched.lock (gp already on the global run queue)", _r14_lockedm_late,
           "I0 (stoplockedm: inconsistent locking)", config=LOCKED_2M1P2G),
    Mutant("STW-no-wait", "I8", "stopTheWorldWithSema goes on without waiting for the "
           "Ps still running (stopwait > 0)", _unguarded("stw.stopped", "no wait"),
           "I0 (stopTheWorld: not stopped)"),
    Mutant("FE-no-wait", "T7", "forEachP goes on without waiting for the Ps that have not "
           "run fn (safePointWait > 0)", _unguarded("forEachP.done", "no wait"),
           "I0 (forEachP: not done)"),
    Mutant("stopm-no-releasep", "I1", "findRunnable calls stopm without releasep",
           _stopm_no_releasep, "I0 (stopm holding p)", config=CORE_2M2P1G),
    Mutant("R1-slow-no-unlock", "R1", "exitsyscall's slow path keeps m.locks (no m.locks-- "
           "before mcall(exitsyscall0))", _noop("exitsyscall.6.locks"),
           "I0 (stopm/schedule holding locks)"),
    Mutant("T10-store-over-scan", "T10/T12", "exitsyscall's casgstatus(_Gsyscall, "
           "_Grunning) as a plain store over the GC's _Gscansyscall",
           _exit_cas_ignores_scan, "I0 (casfrom_Gscanstatus)"),
    Mutant("V14-wirep-no-mcache", "T4/V14", "wirep does not restore m.mcache (Go 1.14 only: "
           "later versions have no m.mcache)", _drop_write("exitsyscallfast.wirep", "mcache"),
           "I0 (lost mcache)", versions=("1.14",)),
)}


def _merge_designs() -> None:
    """The Go 1.26+ design's mutants (entersys.model.mutants_scanbit) join the catalog."""
    from entersys.model.mutants_scanbit import MUTANTS as scanbit

    MUTANTS.update(scanbit)


_merge_designs()


def killable(mid: str) -> bool:
    """Whether the mutant must be killed (not recorded as equivalent in the model)."""
    return not MUTANTS[mid].equivalent


def for_version(go: str) -> list[str]:
    return [m.id for m in MUTANTS.values() if go in m.versions]

# Rules of the catalog's range that this abstraction does not express, and why.
GAPS: dict[str, str] = {}
# Spec section 8's historical bugs and where the catalog stands on each.
HISTORICAL = {
    "10958": "T5-no-sysretake (killed by LIVE-RUN)",
    "46524": "R14-lockedm-late (killed by Go's 'stoplockedm: inconsistent locking')",
    "10202/11155": "raw_wait_witness: a RawSyscall that waits on another G deadlocks",
    "15051/36273": "R8-gcwait-early (STW handshake)",
    "27660": "I2 (m.p never stale; m.oldp a hint) holds; no mutant",
    "9875 etc.": "R3-syscallsp-late, R11-syscallsp-early (I3)",
    "66889": "R4-no-save is equivalent in go1.14/go1.25 (see its record); "
             "R3-save-after-casgstatus is killed by what the GC and the tracer read (G-SCHED)",
    "28701": "not a mutant: an open report of sampling misalignment; liveness here holds "
             "only under the fairness assumption that time passes",
    "40114": "not a mutant: an exit spinning in casgstatus ends when the GC releases the "
             "scan bit, which the GC actor's weak fairness guarantees",
    "64318": "not expressible: the tracer is not modelled",
}


def apply(prog: Program, mutant_id: str) -> Program:
    if mutant_id not in MUTANTS:
        raise ValueError(f"unknown mutant {mutant_id!r}; known: {', '.join(MUTANTS)}")
    m = MUTANTS[mutant_id]
    out = m.transform(prog)
    out.mutant = mutant_id
    out.finish()
    return out

"""A catalog of protocol mutants, each breaking one ordering rule or transition of the spec
(R1-R8, R10, R11, R15, T4): reordered steps, a missing step, a plain store where Go uses a
CAS. A mutant is a transformation of a Program's routines or steps, never a second copy of
the protocol; the checkers must kill every one with a counterexample."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from entersys.model import status as st
from entersys.model.program import DESIGN_OF, VERSIONS, Ctx, M, Program, Step

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
           _noop("reentersyscall.8.save"), "R4-SAVE"),
    Mutant("R5-safepoint-late", "R5", "runSafePointFn check after the _Psyscall store",
           _move("reentersyscall", "reentersyscall.9.safepoint",
                 "reentersyscall.11.Psyscall"), "I0 (nil P)"),
    Mutant("R6-tick-late", "R6", "m.syscalltick copied after the P was released",
           _move("reentersyscall", "reentersyscall.10.syscalltick",
                 "reentersyscall.11.Psyscall"), "I0 (nil P)"),
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
    Mutant("V14-wirep-no-mcache", "T4/V14", "wirep does not restore m.mcache (Go 1.14 only: "
           "later versions have no m.mcache)", _drop_write("exitsyscallfast.wirep", "mcache"),
           "I0 (lost mcache)", versions=("1.14",)),
)}


def _merge_designs() -> None:
    """The Go 1.26+ design's mutants (entersys.model.mutants_scanbit) join the catalog."""
    from entersys.model.mutants_scanbit import MUTANTS as scanbit

    MUTANTS.update(scanbit)


_merge_designs()


def for_version(go: str) -> list[str]:
    return [m.id for m in MUTANTS.values() if go in m.versions]

# Rules of the catalog's range that this abstraction does not express, and why.
GAPS = {
    "R14": "exitsyscall0's read of gp.lockedm: the model has no LockOSThread/lockedm, so "
           "the race of #46524 (reading a G after globrunqput) cannot be expressed.",
}


def apply(prog: Program, mutant_id: str) -> Program:
    if mutant_id not in MUTANTS:
        raise ValueError(f"unknown mutant {mutant_id!r}; known: {', '.join(MUTANTS)}")
    m = MUTANTS[mutant_id]
    out = m.transform(prog)
    out.mutant = mutant_id
    out.finish()
    return out

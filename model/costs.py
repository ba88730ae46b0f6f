"""What each protocol step costs in synchronisation (atomic read-modify-writes, atomic
stores, sched.lock acquisitions), as step metadata, and the cost of one uncontended
syscall episode (enter, the call returns at once, exit on the fast path) computed by
running that episode through the step definitions of a Go version.

The metadata says what Go's code for the step does (proc.go of go1.25.5 for the old design,
go1.27.3 for the new); which steps an episode executes, and which conditional operations
fire, comes from running the steps themselves."""

from __future__ import annotations

from dataclasses import dataclass, field

from entersys.model.ops import CONCRETE
from entersys.model.program import Program
from entersys.model.state import Config, View, initial_state

# step -> list of (kind, condition): kind is "rmw", "store" or "lock"; the condition is
# None (always) or (field, value) read from the state before the step.
Op = tuple[str, tuple[str, int] | None]
OPS: dict[str, list[Op]] = {
    # both designs
    "reentersyscall.5.casgstatus": [("rmw", None)],         # casgstatus / CompareAndSwap
    "exitsyscall.5.casgstatus": [("rmw", None)],
    "reentersyscall.8.sysmon": [("lock", ("sysmonwait", 1))],  # entersyscall(Wake)Sysmon
    # old design (go1.25.5)
    "reentersyscall.9.safepoint": [("rmw", ("p.safepoint", 1))],  # runSafePointFn's Cas
    "reentersyscall.11.Psyscall": [("store", None)],        # atomic.Store(&pp.status)
    "reentersyscall.12.gcwait": [("lock", ("gcwaiting", 1)), ("rmw", ("gcwaiting", 1))],
    "exitsyscallfast.cas": [("rmw", None)],                 # Cas(_Psyscall, _Pidle)
    "exitsyscallfast.pidle": [("lock", None)],
    # new design (go1.27.3)
    "reentersyscall26.5.safepoint": [("rmw", ("p.safepoint", 1))],
    "reentersyscall26.9.gcwait": [("lock", ("gcwaiting", 1)), ("store", ("gcwaiting", 1))],
    "exitsyscallTryGetP.stealOldP": [("rmw", None), ("rmw", None), ("store", None)],
    "exitsyscallTryGetP.pidle": [("lock", None)],
}


@dataclass
class Episode:
    go: str
    steps: list[str] = field(default_factory=list)
    rmw: int = 0
    store: int = 0
    lock: int = 0


def _field(prog: Program, s: tuple[int, ...], name: str) -> int:
    if name.startswith("p."):  # the M's P (M0's m.p, or its oldp while in a syscall)
        L = prog.layout
        p = s[L.mname[0]["p"]] or s[L.mname[0]["oldp"]]
        return s[L.pname[p - 1][name[2:]]] if p else 0
    return s[prog.layout.index[name]]


def syscall_episode(go: str) -> Episode:
    """Run 1 M / 1 P / 1 G (no other actor) to user code, then one Syscall that returns
    at once, until the G is back in user code; sum the OPS of the steps it took."""
    cfg = Config(1, 1, 1, go=go, stw=False, foreachp=False, gc=False, sysmon=False,
                 blockhint=False, raw=False)
    prog = Program(cfg, go=go, fuse=False)  # every step on its own
    s = tuple(initial_state(prog.layout, prog.labels))
    plan = ["startm", "schedule", "user.Syscall"]
    ep = Episode(go)
    user = prog.labels["user"]
    pc = prog.layout.mname[0]["pc"]
    for _ in range(100):
        view = View(prog.layout, CONCRETE, s.__getitem__)
        enabled = []
        for inst in prog.instances():
            guard, writes = prog.apply(inst, view, want_effect=bool)
            if guard:
                enabled.append((inst, writes))
        if plan:
            want = plan[0]
            choice = [(i, w) for i, w in enabled if i.step.name == want]
        else:
            choice = [(i, w) for i, w in enabled if i.step.at is None
                      or i.step.name == "syscall.return"]
        if not choice:
            raise RuntimeError(f"go{go} episode stuck after {ep.steps}")
        inst, writes = choice[0]
        if plan:
            plan.pop(0)
        if inst.step.name not in ("startm", "schedule"):
            ep.steps.append(inst.step.name)
            for kind, cond in OPS.get(inst.step.name, ()):
                if cond is None or _field(prog, s, cond[0]) == cond[1]:
                    setattr(ep, kind, getattr(ep, kind) + 1)
        n = list(s)
        for pos, val in writes.items():
            n[pos] = val
        s = tuple(n)
        if ep.steps and s[pc] == user:
            return ep
    raise RuntimeError(f"go{go} episode did not return to user code")

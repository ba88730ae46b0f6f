"""Trace replay: re-runs a counterexample's numbered steps (instance labels such as
`M0:exitsyscallfast.cas` or `W:stw.stop(1)`) through the step definitions, from the initial
state, checking each step's guard and every invariant after it. A trace recorded by another
engine (the explorer, the Hypothesis machine, later the native harness) is confirmed or
rejected here."""

from __future__ import annotations

from dataclasses import dataclass, field

from entersys.model.ops import CONCRETE
from entersys.model.program import Instance, Program
from entersys.model.state import View, initial_state


class ReplayError(ValueError):
    """A step of the trace is unknown, or not enabled where the trace takes it."""


@dataclass
class Replay:
    states: list[list[int]] = field(default_factory=list)
    violated: list[tuple[int, str]] = field(default_factory=list)  # (step number, invariant)


def replay(prog: Program, labels: list[str]) -> Replay:
    by_label: dict[str, Instance] = {i.label: i for i in prog.instances()}
    s = list(initial_state(prog.layout, prog.labels))
    out = Replay(states=[list(s)])
    for k, lab in enumerate(labels, 1):
        inst = by_label.get(lab)
        if inst is None:
            raise ReplayError(f"step {k}: no step instance {lab!r} in this program")
        view = View(prog.layout, CONCRETE, s.__getitem__)
        guard, writes = prog.apply(inst, view)
        if not guard:
            raise ReplayError(f"step {k}: {lab} is not enabled here")
        for pos, val in writes.items():
            s[pos] = val
        out.states.append(list(s))
        view = View(prog.layout, CONCRETE, s.__getitem__)
        for inv in prog.invariants:
            if not inv.pred(prog, view):
                out.violated.append((k, inv.id))
    return out

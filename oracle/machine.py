"""A Hypothesis RuleBasedStateMachine over the protocol model: one rule per step (its guard
is the rule's precondition, its parameters are drawn), one invariant per model invariant.
It reaches configurations too large for the explorer (e.g. 4 Ms, 3 Ps, 6 Gs)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from entersys.model.invariants import INVARIANTS, Invariant
from entersys.model.ops import CONCRETE
from entersys.model.state import View, initial_state
from entersys.model.steps import Instance, Program
from hypothesis import HealthCheck, settings
from hypothesis import strategies as hst
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)


class InvariantViolated(AssertionError):
    def __init__(self, inv: Invariant, trace: list[str]) -> None:
        super().__init__(f"{inv.id} violated: {inv.title} after {len(trace)} steps")
        self.inv, self.trace = inv, trace


def _enabled(prog: Program, inst: Instance, s: list[int]) -> bool:
    view = View(prog.layout, CONCRETE, s.__getitem__)
    guard, _ = prog.apply(inst, view, want_effect=bool)
    return bool(guard)


def make_machine(prog: Program) -> type[RuleBasedStateMachine]:
    """The state machine class for `prog` (faithful or mutated)."""
    by_step: dict[str, list[Instance]] = {}
    for inst in prog.instances():
        by_step.setdefault(inst.step.name, []).append(inst)

    ns: dict[str, Any] = {}

    def __init__(self: Any) -> None:
        RuleBasedStateMachine.__init__(self)
        self.state = list(initial_state(prog.layout, prog.labels))
        self.trace: list[str] = []
        type(self).runs += 1

    ns["__init__"] = __init__
    ns["runs"] = 0

    def make_rule(name: str, insts: list[Instance]) -> Any:
        @precondition(lambda self: any(_enabled(prog, i, self.state) for i in insts))
        @rule(data=hst.data())
        def run(self: Any, data: Any) -> None:
            enabled = [i for i in insts if _enabled(prog, i, self.state)]
            inst = data.draw(hst.sampled_from(enabled), label=name)
            view = View(prog.layout, CONCRETE, self.state.__getitem__)
            _, writes = prog.apply(inst, view)
            for pos, val in writes.items():
                self.state[pos] = val
            self.trace.append(inst.label)
        run.__name__ = "step_" + re.sub(r"\W", "_", name)
        return run

    for name, insts in by_step.items():
        fn = make_rule(name, insts)
        ns[fn.__name__] = fn

    def make_inv(inv: Invariant) -> Any:
        @invariant()
        def check(self: Any) -> None:
            view = View(prog.layout, CONCRETE, self.state.__getitem__)
            if not inv.pred(prog, view):
                raise InvariantViolated(inv, list(self.trace))
        check.__name__ = "inv_" + re.sub(r"\W", "_", inv.id)
        return check

    for inv in INVARIANTS:
        fn = make_inv(inv)
        ns[fn.__name__] = fn
    return type("ProtocolMachine", (RuleBasedStateMachine,), ns)


@dataclass
class MachineRun:
    found: InvariantViolated | None
    examples: int


def hunt(prog: Program, max_examples: int = 200, steps: int = 60, seed: int | None = 0
         ) -> MachineRun:
    """Run the machine; return the first invariant violation and how many examples
    (state-machine runs) Hypothesis needed, shrinking included."""
    machine = make_machine(prog)
    conf = settings(max_examples=max_examples, stateful_step_count=steps, database=None,
                    deadline=None, derandomize=seed is not None, print_blob=False,
                    suppress_health_check=list(HealthCheck))
    try:
        run_state_machine_as_test(machine, settings=conf)
    except InvariantViolated as e:
        return MachineRun(e, machine.runs)
    return MachineRun(None, machine.runs)

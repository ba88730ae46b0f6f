"""A Hypothesis RuleBasedStateMachine over the protocol model: one rule per step (its guard
is the rule's precondition, its parameters are drawn), one invariant per model invariant.
It reaches configurations too large for the explorer (e.g. 4 Ms, 3 Ps, 6 Gs)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from entersys.model.invariants import Invariant
from entersys.model.ops import CONCRETE
from entersys.model.program import Instance, Program
from entersys.model.state import View, initial_state
from entersys.oracle.compiled import CompiledProgram
from hypothesis import HealthCheck, Phase, settings
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


def make_machine(prog: Program, engine: str = "compiled") -> type[RuleBasedStateMachine]:
    """The state machine class for `prog` (faithful or mutated). With engine="compiled"
    guards and effects run through the Z3-derived code (entersys.oracle.compiled), with
    "interpreted" through Program.apply directly; both come from the same steps."""
    by_step: dict[str, list[Instance]] = {}
    for inst in prog.instances():
        by_step.setdefault(inst.step.name, []).append(inst)
    compiled = CompiledProgram(prog) if engine == "compiled" else None

    def successor(inst: Instance, s: list[int]) -> list[int] | None:
        if compiled is not None:
            return compiled.fns[inst](s)
        view = View(prog.layout, CONCRETE, s.__getitem__)
        guard, writes = prog.apply(inst, view)
        if not guard:
            return None
        n = list(s)
        for pos, val in writes.items():
            n[pos] = val
        return n

    def _enabled(prog: Program, inst: Instance, s: list[int]) -> bool:
        return successor(inst, s) is not None

    ns: dict[str, Any] = {}

    def __init__(self: Any) -> None:
        RuleBasedStateMachine.__init__(self)
        self.state = list(initial_state(prog.layout, prog.labels))
        self.trace = []
        type(self).runs += 1

    ns["__init__"] = __init__
    ns["runs"] = 0

    def make_rule(name: str, insts: list[Instance]) -> Any:
        @precondition(lambda self: any(_enabled(prog, i, self.state) for i in insts)
                      or finished(self))
        @rule(data=hst.data())
        def run(self: Any, data: Any) -> None:
            enabled = [(i, n) for i in insts
                       if (n := successor(i, self.state)) is not None]
            if not enabled:  # finished: a new episode
                self.state = list(initial_state(prog.layout, prog.labels))
                self.trace.append("(restart)")
                return
            k = data.draw(hst.integers(0, len(enabled) - 1), label=name)
            inst, self.state = enabled[k]
            self.trace.append(inst.label)
        # One name for every step rule: Hypothesis's swarm testing switches rules on and off
        # by name, and switching off the only enabled step would end the run with
        # InvalidDefinition instead of exploring it.
        run.__name__ = "step"
        return run

    for k, (name, insts) in enumerate(by_step.items()):
        # the index keeps names apart that differ only in punctuation (incidlelocked-/+)
        ns[f"step{k}_" + re.sub(r"\W", "_", name)] = make_rule(name, insts)

    all_insts = prog.instances()
    deadlock = Invariant("DEADLOCK", "no step enabled in a state that is not an intended "
                         "terminal state", lambda p, v: True)

    def stuck(self: Any) -> bool:
        return not any(successor(i, self.state) is not None for i in all_insts)

    @invariant()
    def inv_deadlock(self: Any) -> None:
        if stuck(self) and not prog.intended_terminal(self.state):
            raise InvariantViolated(deadlock, list(self.trace))

    def finished(self: Any) -> bool:
        """An intended terminal state (inv_deadlock has judged it): any rule may then
        start a new episode from the initial state, so that the run goes on."""
        return stuck(self) and prog.intended_terminal(self.state)

    ns["inv_deadlock"] = inv_deadlock
    inv_fns = dict(compiled.invariants) if compiled is not None else {}

    def make_inv(inv: Invariant) -> Any:
        @invariant()
        def check(self: Any) -> None:
            if compiled is not None:
                ok = inv_fns[inv](self.state)
            else:
                ok = inv.pred(prog, View(prog.layout, CONCRETE, self.state.__getitem__))
            if not ok:
                raise InvariantViolated(inv, list(self.trace))
        check.__name__ = "inv_" + re.sub(r"\W", "_", inv.id)
        return check

    for inv in prog.invariants:
        fn = make_inv(inv)
        ns[fn.__name__] = fn
    return type("ProtocolMachine", (RuleBasedStateMachine,), ns)


@dataclass
class MachineRun:
    found: InvariantViolated | None
    examples: int


def hunt(prog: Program, max_examples: int = 200, steps: int = 60, seed: int | None = 0,
         engine: str = "compiled", shrink: bool = False) -> MachineRun:
    """Run the machine; return the first invariant violation and how many examples
    (state-machine runs) Hypothesis needed (shrinking, when asked for, included)."""
    machine = make_machine(prog, engine)
    phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if shrink else [])
    conf = settings(max_examples=max_examples, stateful_step_count=steps, database=None,
                    deadline=None, derandomize=seed is not None, print_blob=False,
                    phases=phases, suppress_health_check=list(HealthCheck))
    try:
        run_state_machine_as_test(machine, settings=conf)
    except InvariantViolated as e:
        return MachineRun(e, machine.runs)  # type: ignore[attr-defined]
    return MachineRun(None, machine.runs)  # type: ignore[attr-defined]


# Configurations tried in turn when hunting a mutant: the large one first, then smaller
# ones in which its race window is more likely to be hit by a random walk.
HUNT_LADDER: tuple[tuple[tuple[int, int, int], str, int, int], ...] = (
    ((4, 3, 6), "full", 200, 60),
    ((2, 1, 2), "full", 400, 80),
    ((2, 1, 2), "core", 600, 60),
    ((1, 1, 1), "full", 2500, 80),
)


@dataclass
class Hunt:
    mutant: str
    config: tuple[int, int, int, str] | None
    examples: int          # examples run in total, over every rung of the ladder tried
    found: InvariantViolated | None


def hunt_mutant(go: str, mutant: str, seed: int = 0) -> Hunt:
    """Hunt one catalogued mutant with the machine up the HUNT_LADDER."""
    from entersys.model.mutants import apply
    from entersys.model.state import Config
    from entersys.oracle.protocol import PART_SETS, with_parts

    total = 0
    for (ms, ps, gs), parts, examples, steps in HUNT_LADDER:
        cfg = with_parts(Config(ms, ps, gs, go=go), PART_SETS[parts])
        prog = apply(Program(cfg, go=go), mutant)
        run = hunt(prog, max_examples=examples, steps=steps, seed=seed)
        total += run.examples
        if run.found is not None:
            return Hunt(mutant, (ms, ps, gs, parts), total, run.found)
    return Hunt(mutant, None, total, None)

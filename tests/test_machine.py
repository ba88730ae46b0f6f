"""The Hypothesis state machine: the faithful model passes on a configuration larger than
the explorer covers, and every catalogued mutant is found (examples needed are reported by
`entersys mutants --hypothesis`)."""

from __future__ import annotations

import pytest
from entersys.model.invariants import KILL_KINDS
from entersys.model.mutants import MUTANTS, for_version
from entersys.model.program import Program
from entersys.model.state import Config
from entersys.oracle.machine import hunt, hunt_mutant, make_machine


def test_faithful_model_passes_on_a_large_configuration() -> None:
    run = hunt(Program(Config(4, 3, 6)), max_examples=150, steps=80)
    assert run.found is None, run.found
    assert run.examples >= 150


def test_faithful_model_passes_on_go114() -> None:
    run = hunt(Program(Config(3, 2, 4, go="1.14"), go="1.14"), max_examples=80, steps=60)
    assert run.found is None, run.found


@pytest.mark.slow
@pytest.mark.parametrize("go,mid", [("1.25", m) for m in for_version("1.25")
                                    if KILL_KINDS.get(MUTANTS[m].expect) != "liveness"
                                    and MUTANTS[m].config is None
                                    and not MUTANTS[m].equivalent
                                    # the GC's scan must land inside the exit's window:
                                    # the explorer kills it at once, random walks took
                                    # minutes (entersys mutants --hypothesis still hunts)
                                    and m != "T10-store-over-scan"]
                         + [("1.14", "V14-wirep-no-mcache")])
def test_machine_finds_mutant(go: str, mid: str) -> None:
    h = hunt_mutant(go, mid)
    assert h.found is not None, f"{mid}: not found in {h.examples} examples"
    assert h.found.trace, "the failing run has steps"


def test_machine_interpreted_engine_finds_a_mutant_too() -> None:
    from entersys.model.mutants import apply

    prog = apply(Program(Config(2, 1, 2)), "R7-store-first")
    run = hunt(prog, max_examples=100, steps=60, engine="interpreted")
    assert run.found is not None and run.found.inv.id in ("I1", "I4", "I0")


def test_every_step_has_its_own_rule() -> None:
    """Regression: retake.incidlelocked- and retake.incidlelocked+ once mapped to the same
    attribute name, so one rule silently replaced the other and sysmon stalled."""
    from hypothesis.stateful import RuleBasedStateMachine

    prog = Program(Config(2, 1, 1))
    machine = make_machine(prog)
    assert issubclass(machine, RuleBasedStateMachine)
    rules = [k for k in vars(machine) if k.startswith("step")]
    assert len(rules) == len({i.step.name for i in prog.instances()})

"""Go's own throws in the model (go1.25.5 src/runtime/proc.go): each is reached by a
mutant that breaks what Go checks, and the kill names Go's message and its source. (That
the faithful model never throws in these configurations is I0 in the explorations of
tests/test_protocol_explore.py and verify's protocol-model group.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from entersys.model import status as st
from entersys.model.ops import CONCRETE
from entersys.model.program import THROW_SOURCES, THROWS, Ctx, Program, Step
from entersys.model.state import Config, View, initial_state
from entersys.model.steps import casgstatus
from entersys.oracle.protocol import MUTANT_CONFIG, mutant_results

# mutant -> the throw message its kill must name
THROWN = {
    "STW-no-wait": "stopTheWorld: not stopped",
    "FE-no-wait": "forEachP: not done",
    "stopm-no-releasep": "stopm holding p",
    "R1-slow-no-unlock": "stopm holding locks",
    "T10-store-over-scan": "casfrom_Gscanstatus: gp->status is not in scan state",
    "R14-lockedm-late": "stoplockedm: inconsistent locking",
}


@pytest.mark.parametrize("go", ["1.25", "1.14"])
@pytest.mark.parametrize("mid", sorted(THROWN))
def test_mutant_killed_by_gos_own_throw(go: str, mid: str) -> None:
    (rec,) = mutant_results(go, only=[mid])
    assert rec.verdict.label == "refuted", rec.details
    assert rec.details["killed_by"] == "I0"
    assert rec.details["kill_kind"] == "go-throw"
    throws = rec.details["go_throw"]
    assert any(THROWN[mid] in t and "proc.go" in t for t in throws), throws


def test_every_throw_has_a_go_source() -> None:
    assert set(THROWS) == set(THROW_SOURCES)


def _one_step(fn: Any, cfg: Config = MUTANT_CONFIG) -> tuple[Program, list[int], Any]:
    prog = Program(cfg)
    s = list(initial_state(prog.layout, prog.labels))
    # G1 running on M0
    s[prog.layout.gname[0]["status"]] = st._Grunning
    s[prog.layout.gname[0]["q"]] = 0
    s[prog.layout.mname[0]["curg"]] = 1
    step = Step("test.step", "M", None, "", "test", fn)
    u_view = View(prog.layout, CONCRETE, s.__getitem__)
    from entersys.model.state import Update

    u = Update(u_view)
    c = Ctx(prog, u_view, u, 0, (), step)
    gen = fn(c)
    guard = next(gen)
    for _ in gen:
        pass
    for pos, val in u.writes.items():
        s[pos] = val
    return prog, s, guard


@pytest.mark.parametrize("old,new,bad", [
    (st._Grunning, st._Gsyscall, False),
    (st._Grunning, st._Grunning, True),          # old == new
    (st._Gscansyscall, st._Grunning, True),      # old carries _Gscan
    (st._Grunning, st._Gscanrunning, True),      # new carries _Gscan
])
def test_casgstatus_bad_incoming_values(old: int, new: int, bad: bool) -> None:
    def fn(c: Ctx) -> Iterator[Any]:
        yield casgstatus(c, c.me("curg"), old, new)

    prog, s, guard = _one_step(fn)
    code = s[prog.layout.mname[0]["throw"]]
    assert (code == 16) == bad
    assert THROWS[16] == "casgstatus: bad incoming values"
    # the CAS is enabled only from its old value (it spins otherwise)
    assert bool(guard) == (old == st._Grunning)

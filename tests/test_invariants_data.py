"""R1-LOCKS, I5 and STW-HANDSHAKE are defined from data (m.locks, m.p, p.status, the
local pp, p.scanned, gcwaiting), not from program labels: a correct reordering holds, a
different but equally wrong order is refuted, and their value does not depend on where
any actor's program counter is."""

from __future__ import annotations

import pytest
from entersys.model.invariants import INVARIANTS, KILL_KINDS
from entersys.model.mutants import _move
from entersys.model.ops import CONCRETE
from entersys.model.program import PC_FIELD, Program
from entersys.model.state import Config, View
from entersys.oracle.explore import Explorer
from entersys.oracle.protocol import MUTANT_CONFIG

DATA = ("R1-LOCKS", "I5", "STW-HANDSHAKE")
CORE_2M1P2G = Config(ms=2, ps=1, gs=2, foreachp=False, gc=False, blockhint=False, raw=False)


def _explore(prog: Program) -> list[str]:
    ex = Explorer(prog, invariants=prog.invariants)
    res = ex.run(max_states=2_000_000, progress=False)
    assert res.complete
    return [v.property for v in res.violations]


def _reordered(cfg: Config, go: str, routine: str, step: str, anchor: str,
               after: bool = True) -> Program:
    prog = Program(cfg, go=go)
    out = _move(routine, step, anchor, after)(prog)
    out.finish()
    return out


# correct reorderings: m.locks++ after the stackguard poisoning (still before the G
# switches), m.locks-- after throwsplit is cleared (the G is _Grunning by then)
CORRECT = [("reentersyscall", "reentersyscall.1.locks", "reentersyscall.2.stackguard"),
           ("exitsyscall", "exitsyscall.5.locks", "exitsyscall.5.stackguard")]
# equally wrong orders the catalog does not list: each must be refuted by a data property
WRONG = [("reentersyscall", "reentersyscall.1.locks", "reentersyscall.10.syscalltick",
          "R1-LOCKS"),
         ("exitsyscall", "exitsyscall.1.locks", "exitsyscallfast.wirep", "R1-LOCKS"),
         ("reentersyscall", "reentersyscall.12.gcwait", "reentersyscall.8.sysmon",
          "STW-HANDSHAKE")]


@pytest.mark.parametrize("go", ["1.25", "1.14"])
@pytest.mark.parametrize("routine,step,anchor", CORRECT)
def test_correct_reordering_is_not_refuted(go: str, routine: str, step: str,
                                           anchor: str) -> None:
    assert _explore(_reordered(MUTANT_CONFIG, go, routine, step, anchor)) == []


@pytest.mark.parametrize("routine,step,anchor,prop", WRONG)
def test_other_wrong_order_is_refuted_by_data(routine: str, step: str, anchor: str,
                                             prop: str) -> None:
    cfg = MUTANT_CONFIG if prop == "R1-LOCKS" else CORE_2M1P2G
    after = prop == "R1-LOCKS"
    got = _explore(_reordered(cfg, "1.25", routine, step, anchor, after))
    assert got and got[0] == prop, got


def test_data_invariants_ignore_program_counters() -> None:
    """Moving every actor's pc to another label never changes R1-LOCKS, I5 or
    STW-HANDSHAKE on the reachable states of the default mutant configuration."""
    prog = Program(MUTANT_CONFIG)
    ex = Explorer(prog, invariants=prog.invariants)
    res = ex.run(max_states=200_000, progress=False)
    assert res.complete and not res.violations
    L = prog.layout
    pcs = [L.mname[i]["pc"] for i in range(prog.cfg.ms)] + \
        [L.index[f] for f in PC_FIELD.values()]
    invs = {i.id: i for i in INVARIANTS if i.id in DATA}
    states = res.order[::max(1, len(res.order) // 3000)]
    assert len(states) > 500
    for s in states:
        for shift in (1, 7):
            t = list(s)
            for pos in pcs:
                t[pos] = (t[pos] + shift) % len(prog.label_names)
            for inv in invs.values():
                a = inv.pred(prog, View(L, CONCRETE, s.__getitem__))
                b = inv.pred(prog, View(L, CONCRETE, t.__getitem__))
                assert bool(a) == bool(b), (inv.id, s)


def test_no_restated_order_left_in_the_old_design() -> None:
    ids = {i.id for i in INVARIANTS}
    assert not [k for k in ids if KILL_KINDS.get(k) == "restated-order"]

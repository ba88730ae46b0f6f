"""R5 and R6 through reentersyscall's local `pp`: moved after the _Psyscall store, the
m.p variants fault on a nil P (Go would crash), the pp variants run; the catalog records
the pp variants as equivalent in the model, with the reason."""

from __future__ import annotations

import pytest
from entersys.model.mutants import MUTANTS, killable
from entersys.oracle.protocol import MUTANT_CONFIG, build_program, explore

PAIRS = [("R5-safepoint-late", "R5-pp-safepoint-late", "reentersyscall.9.safepoint"),
         ("R6-tick-late", "R6-pp-tick-late", "reentersyscall.10.syscalltick")]


@pytest.mark.parametrize("plain,pp,step", PAIRS)
def test_pp_variant_survives_where_the_m_p_variant_faults(plain: str, pp: str,
                                                          step: str) -> None:
    killed = explore(MUTANT_CONFIG, "1.25", plain, liveness=False).result
    assert killed.verdict.label == "refuted" and killed.details["killed_by"] == "I0"
    assert any("nil P" in t for t in killed.details["go_throw"])
    prog = build_program(MUTANT_CONFIG, "1.25", pp)
    assert "local pp" in prog.steps[step].source
    seq = prog.routines["reentersyscall"][0]
    assert seq.index(step) > seq.index("reentersyscall.11.Psyscall")
    held = explore(MUTANT_CONFIG, "1.25", pp, liveness=False).result
    assert held.verdict.label == held.expected.label == "holds", held.details
    assert not killable(pp) and MUTANTS[pp].equivalent == held.details["equivalent"]

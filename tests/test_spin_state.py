"""SPIN's compact state: constants inlined, byte fields range-checked and widened when a
step overflows them, -DCOLLAPSE, -DMEMLIM from the available memory (capped); the counts
stay those of the plain model and of our explorer without symmetry."""

from __future__ import annotations

import re

import pytest
from conftest import program
from entersys.oracle import spin
from entersys.oracle.native_explore import NativeExplorer


def small():  # 2 Ms, 1 P, 1 G, sysmon and stop-the-world: sysmon's incidlelocked(-1)
    return program(2, 1, 1, foreachp=False, gc=False, blockhint=False, raw=False)


def test_compact_declares_only_written_fields_and_checks_every_byte_store() -> None:
    prog = small()
    pml = spin.generate(prog)
    decl = re.findall(r"^(byte|short) (f_\w+) =", pml.source, re.M)
    assert len(decl) == pml.fields == len(prog.layout) - pml.constant
    assert pml.constant > 0 and sum(k == "byte" for k, _ in decl) == pml.byte_fields > 0
    # nmidlelocked is decremented (Go's incidlelocked(-1)): it stays a short
    assert ("short", "f_nmidlelocked") in decl
    # every temporary stored into a byte field is range-checked first
    bytes_ = {n for k, n in decl if k == "byte"}
    stores = re.findall(r"^\s*(f_\w+) = (t\d+);?$", pml.source, re.M)
    checked = set(re.findall(r"RANGE (\d+)", pml.source))
    names = [spin.field_name(n) for n in prog.layout.names]
    assert {n for n, _ in stores if n in bytes_} == {names[int(k)] for k in checked}
    plain = spin.generate(prog, compact=False)
    assert "byte " not in plain.source and plain.constant == 0


@pytest.mark.slow
def test_compact_collapsed_counts_equal_the_plain_model_and_the_explorer() -> None:
    prog = small()
    ours = NativeExplorer(prog, symmetry=False).run()
    plain = spin.run_spin(prog, compact=False, compression="none")
    comp = spin.run_spin(prog)
    assert comp.complete and comp.errors == 0 and "-DCOLLAPSE" in comp.flags
    assert (comp.states, comp.transitions) == (plain.states, plain.transitions) \
        == (ours.states + 1, ours.transitions + 2)
    assert comp.state_vector < plain.state_vector


@pytest.mark.slow
def test_an_overflowing_byte_field_is_widened_and_the_run_repeated(monkeypatch) -> None:
    prog = small()
    # make the decremented field a byte too (only it): its -1 must be caught, never wrapped
    monkeypatch.setattr(spin, "MINUS", re.compile(r"-(?!>)(?!1 \+ f_nmidlelocked\))"))
    monkeypatch.setattr(spin, "_GEN_CACHE", {})  # models generated before the patch
    assert "byte f_nmidlelocked" in spin.generate(prog).source
    run = spin.run_spin(prog, hash_bits=20)
    assert run.widened == ["nmidlelocked"] and run.errors == 0 and run.complete
    ours = NativeExplorer(prog, symmetry=False).run()
    assert run.states == ours.states + 1


def test_memory_limit_is_capped_and_says_so(monkeypatch) -> None:
    mb, why = spin.memory_limit(cap_mb=300)
    assert 256 <= mb <= 300 and ("capped at 300" in why or "available" in why)
    monkeypatch.setenv("ENTERSYS_SPIN_MEMLIM_CAP", "257")
    mb, why = spin.memory_limit()
    assert mb <= 257 and ("capped at 257 MB" in why or mb == 256)
    # below the cap the limit is a power of two, so cached pans (keyed by it) are reused
    monkeypatch.setenv("ENTERSYS_SPIN_MEMLIM_CAP", str(1 << 30))
    mb, why = spin.memory_limit()
    assert mb & (mb - 1) == 0 and ("power of two" in why or "unknown" in why)


def test_a_field_a_step_stores_a_large_constant_into_is_a_short_from_the_start() -> None:
    # Go 1.26+'s _Gscan|_Gsyscall (0x1000 + status): g.status is a short before any run,
    # so no RANGE fault, rebuild and rerun (2 of each on the default configuration);
    # fields only compared with such constants stay bytes
    from entersys.model.state import Config
    from entersys.oracle.protocol import PART_SETS, build_program, with_parts

    prog = build_program(with_parts(Config(1, 1, 1), PART_SETS["core"]), "1.27", None)
    m = spin.prepare(prog)
    L = prog.layout
    assert L.index["g0.status"] not in m.byte and L.index["g0.status"] not in m.consts
    assert L.index["m0.pc"] in m.byte and L.index["p0.status"] in m.byte
    g = L.index["g0.status"]
    assert any(v > spin.BYTE_MAX for st in m.steps if g in st.writes
               for v in spin._value_leaves(spin.simp(st.writes[g])))

"""Go's own errno mapping per GOARCH, proved from cross-built bytes (group `errno-arch`):
the CLI's table for all thirteen arches, and the checks that make it trustworthy: a patched
branch changes the verdicts, a lifter quirk is refuted by the shape checks, a cut-off run is
inconclusive, and the emulator cross-check notices a wrong proof term."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import z3
from entersys.oracle import errno_unicorn as EU
from entersys.proofs import errno_arch as EA
from entersys.proofs import machine as MC
from entersys.results import Verdict

pytestmark = pytest.mark.slow

# From Go 1.27.3's src/internal/runtime/syscall/linux/asm_linux_*.s: where a raw -4095 is
# success (JLS/BLS against -4095) and where an error (compare against -4096 or CMN 4095).
RAW_4095_SUCCESS = {"amd64", "386", "arm"}
RAW_4095_ERROR = {"arm64", "riscv64", "loong64", "s390x"}
FLAG_ARCHES = {"ppc64", "ppc64le", "mips", "mipsle", "mips64", "mips64le"}


def test_cli_table_all_arches(cli) -> None:
    r = cli("verify", "--only", "errno-arch", "--format", "json")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    report = json.loads(r.stdout)
    by_id = {x["id"]: x for x in report["results"]}
    rows = by_id["errno-arch.table"]["details"]["tables"]["per-arch errno mapping"]
    assert [row["arch"] for row in rows] == list(EA.ARCHES)
    assert len(rows) == 13
    for row in rows:
        a = row["arch"]
        assert row["proved"] == "holds", row
        if a in RAW_4095_SUCCESS:
            assert row["-4095"] == "success" and row["linux/glibc"] == "differs", row
            assert row["error interval"] in ("[2^64-4094, 2^64-1]", "[2^32-4094, 2^32-1]"), row
        elif a in RAW_4095_ERROR:
            assert row["-4095"] == "error" and row["linux/glibc"] == "agrees", row
        else:
            assert a in FLAG_ARCHES and row["errno"] == "raw", row
        if a in EU.EMU:
            assert row["emulated"].startswith("agrees on"), row
            assert by_id[f"errno-arch.{a}.emulated"]["verdict"] == "holds"
        else:
            assert row["emulated"].startswith("no: "), row
    # Disagreements with Linux/glibc are findings with a witness, not errors.
    amd = by_id["errno-arch.amd64.agrees-with-linux"]
    assert amd["verdict"] == "refuted" and amd["status"] == "pass"
    assert amd["counterexample"]["values"]["raw"] == "0xfffffffffffff001"


@pytest.fixture(scope="module")
def amd64_bin() -> Path:
    return EA.build("amd64")


def test_patched_branch_changes_the_verdicts(amd64_bin: Path, tmp_path: Path) -> None:
    """JBE (unsigned <=) turned into JB in the stub's bytes: -4095 becomes an error, so the
    expected disagreement with Linux/glibc is gone and the record fails."""
    proj = MC.load(str(amd64_bin))
    fn = MC.find_function(proj, EA.SYMBOLS)
    jbe = [i for i in MC.instructions(proj, fn) if i.mnemonic == "jbe"]
    assert len(jbe) == 1 and jbe[0].size == 2
    off = proj.loader.main_object.addr_to_offset(jbe[0].addr)
    data = bytearray(amd64_bin.read_bytes())
    assert data[off] == 0x76
    data[off] = 0x72  # jb rel8
    patched = tmp_path / "gostub-amd64-jb"
    patched.write_bytes(bytes(data))
    recs, row = EA.arch_results("amd64", binary=patched)
    by_id = {r.id: r for r in recs}
    assert row["-4095"] == "error" and row["error interval"] == "[2^64-4095, 2^64-1]"
    linux = by_id["errno-arch.amd64.agrees-with-linux"]
    assert linux.verdict == Verdict.HOLDS and linux.expected == Verdict.REFUTED
    assert linux.status.label == "fail"


def test_free_zero_register_is_refuted() -> None:
    """riscv64's hard-wired zero register left free (the lifter quirk): errno = zero - raw is
    no longer -raw, and the shape checks refute the mapping instead of passing it."""
    spec = dataclasses.replace(EA.ARCHES["riscv64"], zero=())
    sr = EA.run_stub(spec, EA.build("riscv64"))
    table = EA.analyse(sr, 10_000)
    assert table.verdict == Verdict.REFUTED, table.row
    assert any("errno = -raw" in p or "r2" in p for p in table.problems), table.problems


def test_cut_off_run_is_inconclusive(amd64_bin: Path) -> None:
    proj = MC.load(str(amd64_bin))
    fn = MC.find_function(proj, EA.SYMBOLS)
    spec = EA.ARCHES["amd64"]
    run = MC.symexec(proj, fn, setup=lambda st: {}, on_trap=lambda st, n: None,
                     outputs=lambda st: {"r1": st.regs.rax}, trap_regs=spec.kernel_regs,
                     max_steps=1)
    assert run.capped >= 1 and not run.ends
    sr = EA.StubRun(spec, amd64_bin, fn, 64, run, z3.BitVec("raw", 64), z3.BitVec("raw2", 64),
                    None, 0.0)
    assert EA.analyse(sr, 10_000).verdict == Verdict.UNKNOWN


def test_emulator_notices_a_wrong_proof_term(amd64_bin: Path) -> None:
    sr = EA.run_stub(EA.ARCHES["amd64"], amd64_bin)
    table = EA.analyse(sr, 10_000)
    ok, details = EU.emulate(sr, table)
    assert ok and details["inputs"] == len(EU.boundary_inputs(64, False))
    wrong = dataclasses.replace(table, terms={**table.terms, "errno": -sr.raw})
    ok, details = EU.emulate(sr, wrong)
    assert not ok and details["disagreements"]


def test_unknown_arch_has_no_spec() -> None:
    assert set(EA.ARCHES) == RAW_4095_SUCCESS | RAW_4095_ERROR | FLAG_ARCHES


def test_bench_reports_install_cost_and_proof_time_per_arch() -> None:
    from entersys.proofs import errno_arch_bench

    [rec], extra = errno_arch_bench.run(quick=True)
    assert rec.id == "bench.errno-arch.spread" and rec.verdict in (Verdict.HOLDS,
                                                                   Verdict.REFUTED)
    assert set(rec.details["proof_s_per_arch"]) == {"amd64", "arm64", "riscv64", "mips"}
    assert all(s > 0 for s in rec.details["proof_s_per_arch"].values())
    assert rec.details["engine_packages_mb"] > 10 and rec.details["import_angr_unicorn_s"] > 0
    assert "angr 9.2.213" in rec.details["packages"]
    assert "errno-arch install" in extra and "errno-arch proof, s per arch" in extra

"""Our stubs proved on their bytes (proofs/errno_stubs.py): variants of stubs.S and gomap.inc
are built with gcc and proved. Text that a reader would see differently from gcc (a cpp
#define, raw .byte encodings) cannot pass; a correct stub with a redundant branch is not
refuted; ABI faults (a clobbered callee-saved register, a missing argument load, a hook on a
misaligned stack or before the stores) are. Bad files are one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import z3
from entersys import native
from entersys.native import ASM_STUBS
from entersys.proofs import errno_stubs as S
from entersys.proofs import machine as MC
from entersys.results import Verdict

pytestmark = pytest.mark.slow

STUBS_S = native.HERE / "stubs.S"
GOMAP = native.MAP_INCLUDE
SYMBOLS = [*ASM_STUBS, "es_map"]


def _variant(tmp: Path, name: str, src: Path, old: str, new: str) -> Path:
    text = src.read_text()
    assert text.count(old) >= 1, old
    out = tmp / name
    out.write_text(text.replace(old, new, 1))
    return out


def _prove(tmp: Path, *, asm: Path | None = None, stubs: Path | None = None,
           only: list[str] | None = None) -> dict:
    recs = S.stub_proofs(asm, stubs, timeout_ms=10_000, only=only)
    assert [r.id for r in recs] == [f"errno.stub.{s}" for s in only or SYMBOLS]
    return {r.id.removeprefix("errno.stub."): r for r in recs}


def _summary(rec) -> str:
    return rec.counterexample.summary if rec.counterexample else ""


def test_the_loaded_library_holds() -> None:
    recs = S.stub_proofs()
    assert all(r.verdict == Verdict.HOLDS for r in recs), [(r.id, _summary(r)) for r in recs]
    assert {r.details["library"] for r in recs} == {str(native.find_library())}
    assert recs[0].details["paths"] == 8  # es_Syscall: enter/exit NULL or not x ok/error


def test_cpp_define_hidden_from_a_text_reader_is_refuted(tmp_path: Path, cli) -> None:
    inc = _variant(tmp_path, "gomap_define.inc", GOMAP, ".macro GO_ERRNO_MAP",
                   "#define jbe jb\n.macro GO_ERRNO_MAP")
    r = cli("verify", "--only", "errno", "--asm", str(inc), "--format", "json")
    assert r.returncode == 1, r.stderr
    bad = {x["id"]: x for x in json.loads(r.stdout)["results"] if x["status"] == "fail"}
    assert "errno.stub.es_Syscall" in bad and "errno.stub.es_map" in bad
    assert bad["errno.stub.es_map"]["counterexample"]["values"]["RAX"].startswith(
        "0xfffffffffffff001")
    # the loaded library was built from the shipped mapping, not the --asm one: its
    # provenance record says how to make the --asm mapping the loaded one (a plain
    # rebuild would not)
    prov = bad["errno.build-provenance"]["counterexample"]
    assert "temporary build" in prov["summary"]
    assert prov["replay"].startswith(f"cp {inc} ") and "gomap.inc" in prov["replay"]


def test_raw_bytes_are_what_is_proved(tmp_path: Path) -> None:
    # negq %rax is 48 f7 d8: the same bytes as .byte hold; notq %rax (48 f7 d0) is refuted.
    same = _variant(tmp_path, "gomap_neg.inc", GOMAP, "\tnegq\t%rax", "\t.byte 0x48, 0xf7, 0xd8")
    assert all(r.verdict == Verdict.HOLDS for r in _prove(tmp_path, asm=same).values())
    other = _variant(tmp_path, "gomap_not.inc", GOMAP, "\tnegq\t%rax",
                     "\t.byte 0x48, 0xf7, 0xd0")
    recs = _prove(tmp_path, asm=other, only=["es_Syscall6", "es_map"])
    assert recs["es_map"].verdict == Verdict.REFUTED
    assert recs["es_Syscall6"].verdict == Verdict.REFUTED
    assert "mapping" in _summary(recs["es_Syscall6"])


def test_redundant_branch_is_not_refuted(tmp_path: Path, cli) -> None:
    # A branch that can never be taken, to a path that skips SYSCALL and clobbers %r12:
    # infeasible, so it must not refute a correct stub.
    stubs = _variant(tmp_path, "stubs_redundant.S", STUBS_S, "\tmovq\t%rdi, %rbx\n",
                     "\tmovq\t%rdi, %rbx\n\tcmpq\t%rbx, %rdi\n\tjne\t.Lnever\\@\n"
                     "\tjmp\t.Lgo_on\\@\n.Lnever\\@:\n\txorl\t%r12d, %r12d\n\tpopq\t%rbx\n"
                     "\tret\n.Lgo_on\\@:\n")
    r = cli("verify", "--only", "errno", "--stubs", str(stubs), "--format", "json")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr


@pytest.mark.parametrize(("what", "old", "new", "symbol", "claim"), [
    ("callee-saved clobbered", "\tmovq\t%rdi, %rbx\n", "\tmovq\t%rdi, %rbx\n\txorl\t%r12d, %r12d\n",
     "es_Syscall", "callee-saved %r12 preserved"),
    ("a4 not loaded", "\tmovq\tES_OFF_A4(%rbx), %r10\n", "", "es_Syscall6",
     "%r10 at SYSCALL is a4"),
    ("misaligned hook call", "\tmovq\tES_OFF_HOOKCTX(%rbx), %rdi\n\tcall\t*%rax\n",
     "\tmovq\tES_OFF_HOOKCTX(%rbx), %rdi\n\tpushq\t%rax\n\tcall\t*%rax\n\tpopq\t%rcx\n",
     "es_Syscall", "stack 16-byte aligned"),
    ("no hook context", "\tmovq\tES_OFF_HOOKCTX(%rbx), %rdi\n", "", "es_Syscall",
     "hook called with hook_ctx"),
])
def test_abi_faults_are_refuted(tmp_path: Path, what: str, old: str, new: str, symbol: str,
                                claim: str) -> None:
    stubs = _variant(tmp_path, "stubs_bad.S", STUBS_S, old, new)
    recs = _prove(tmp_path, stubs=stubs, only=[symbol])
    assert recs[symbol].verdict == Verdict.REFUTED, what
    assert claim in _summary(recs[symbol]), _summary(recs[symbol])
    assert "path" in recs[symbol].counterexample.values  # DWARF source lines
    assert "stubs_bad.S" in recs[symbol].counterexample.values["path"]


def test_exit_hook_before_the_stores_is_refuted(tmp_path: Path) -> None:
    stubs = _variant(tmp_path, "stubs_early_exit.S", STUBS_S,
                     "\tSTORE_RESULTS\n\t.if \\hooks\n\tCALL_HOOK ES_OFF_EXIT\n\t.endif\n",
                     "\t.if \\hooks\n\tCALL_HOOK ES_OFF_EXIT\n\t.endif\n\tSTORE_RESULTS\n")
    recs = _prove(tmp_path, stubs=stubs, only=["es_Syscall", "es_RawSyscall"])
    assert recs["es_Syscall"].verdict == Verdict.REFUTED
    refuted = recs["es_Syscall"].counterexample.values["refuted claims"]
    assert "exit hook called after r1, r2 and err are stored" in refuted, refuted
    assert recs["es_RawSyscall"].verdict == Verdict.HOLDS


def test_cut_off_paths_are_inconclusive() -> None:
    v, cex, details = S.prove_stub(native.find_library(), "es_Syscall", ASM_STUBS["es_Syscall"],
                                   10_000, "x", max_steps=2)
    assert v == Verdict.UNKNOWN and details["capped"] > 0


def test_a_solver_timeout_is_unknown() -> None:
    x, y = z3.BitVecs("x y", 64)
    hard = z3.Or(x * y != z3.BitVecVal(0xC5A1_0B8E_5D27_4A33, 64), x == 1, y == 1)
    assert MC.prove(hard, 1)[0] == "unknown"


@pytest.mark.parametrize("flag", ["--asm", "--stubs"])
def test_bad_files_are_one_line_and_exit_2(tmp_path: Path, cli, flag: str) -> None:
    binary = tmp_path / "bin.S"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)))
    r = cli("verify", "--only", "errno", flag, str(binary))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "not a text file" in r.stderr
    broken = tmp_path / "broken.S"
    broken.write_text(".macro GO_ERRNO_MAP\n\tfrobnicate %rax\n.endm\n")
    r = cli("verify", "--only", "errno", flag, str(broken))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "cannot prove the given sources" in r.stderr

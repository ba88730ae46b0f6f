"""Tests of the concrete errno oracle (entersys.oracle.errno_native and .seccomp): it holds on
the real library, and each of its checks is shown a mutant library it must refute.

Mutants are assembled into tmp_path from an edited copy of native/gomap.inc; the `check`
command's usage errors are tested here too, since they guard the oracle's front door."""

from __future__ import annotations

import ctypes
import subprocess
import sys
from pathlib import Path

import pytest
from entersys import native
from entersys.model.stubs import STUBS
from entersys.native import Block, Library
from entersys.native.build import build
from entersys.oracle import errno_native, seccomp
from entersys.results import Verdict

TOP = 1 << 64
RAX_4095 = "0xfffffffffffff001"


def build_mutant(tmp: Path, name: str, old: str, new: str) -> Library:
    text = native.MAP_INCLUDE.read_text()
    assert text.count(old) == 1, f"the mutation {old!r} no longer applies to gomap.inc"
    inc = tmp / f"{name}.inc"
    inc.write_text(text.replace(old, new))
    return Library(build(tmp / f"{name}.so", map_include=inc))


@pytest.fixture(scope="module")
def jb_lib(tmp_path_factory: pytest.TempPathFactory) -> Library:
    """JBE -> JB: -4095 becomes an error, as glibc has it (the one-value mutant)."""
    return build_mutant(tmp_path_factory.mktemp("jb"), "jb", "\tjbe\t", "\tjb\t")


@pytest.fixture(scope="module")
def noneg_lib(tmp_path_factory: pytest.TempPathFactory) -> Library:
    """No NEGQ: err is the raw RAX instead of the errno, on every error."""
    return build_mutant(tmp_path_factory.mktemp("noneg"), "noneg", "\tnegq\t%rax\n", "")


@pytest.fixture(scope="module")
def results() -> dict[str, object]:
    return {r.id: r for r in errno_native.run(examples=100)}


def test_every_check_holds_on_the_built_library(results: dict) -> None:
    assert sorted(results) == sorted(f"errno.native.{n}" for n in errno_native.CHECKS)
    for r in results.values():
        assert r.group == "errno" and r.expected == Verdict.HOLDS
        assert r.verdict == Verdict.HOLDS, (r.id, r.counterexample)


def test_kinds(results: dict) -> None:
    assert results["errno.native.map-hypothesis"].kind == "hypothesis"
    assert results["errno.native.seccomp-errno"].kind == "fault-injection"


def test_seccomp_table_shows_the_divergence(results: dict) -> None:
    rows = results["errno.native.seccomp-errno"].details["tables"][seccomp.TABLE]
    by_e = {row["e"]: row for row in rows}
    assert sorted(by_e) == [1, 9, 4094, 4095, 4096]
    for e in (4095, 4096):  # the kernel clamps 4096 to 4095
        assert by_e[e]["raw RAX"] == RAX_4095
        assert by_e[e]["Go r1/err"] == f"{RAX_4095}/0"
        assert by_e[e]["glibc ret/errno"] == "-1/4095"
        assert by_e[e]["Go vs glibc"] == "Go ok, glibc error"
    for e in (1, 9, 4094):
        assert by_e[e]["raw RAX"] == f"0x{TOP - e:016x}"
        assert by_e[e]["Go vs glibc"] == "same"
    assert {row["agree with model"] for row in rows} == {"yes"}


def test_model_scan_finds_the_error_window() -> None:
    assert errno_native.model_scan(TOP - 8192, 8192) == (4094, TOP - 4094, TOP - 1)
    assert errno_native.model_scan(0, 1 << 20) == (0, None, None)
    assert errno_native.model_scan(TOP - 4094, 10) == (10, TOP - 4094, TOP - 4085)


@pytest.mark.parametrize("name", ["map-hypothesis", "map-scan", "seccomp-errno"])
def test_jb_mutant_is_refuted_at_minus_4095(jb_lib: Library, name: str) -> None:
    [r] = errno_native.run(examples=50, lib=jb_lib, only=[name])
    assert r.verdict == Verdict.REFUTED
    assert r.counterexample.values["RAX"].startswith(RAX_4095)


def test_jb_mutant_passes_checks_that_never_see_minus_4095(jb_lib: Library) -> None:
    # The real calls never return -4095, so this check must not blame the mutant.
    [r] = errno_native.run(lib=jb_lib, only=["real-syscalls"])
    assert r.verdict == Verdict.HOLDS


def test_noneg_mutant_is_refuted_by_real_syscalls(noneg_lib: Library) -> None:
    [r] = errno_native.run(lib=noneg_lib, only=["real-syscalls"])
    assert r.verdict == Verdict.REFUTED
    v = r.counterexample.values
    assert v["variant"] == "Syscall" and v["field"] == "err"
    assert v["got"] == TOP - 14 and v["want"] == 14  # EFAULT left un-negated


def test_hook_order_refutes_a_stub_without_hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    # "Syscall" served by the hook-free RawSyscall entry point: enter/exit never fire.
    monkeypatch.setitem(native.VARIANTS, "Syscall", ("es_RawSyscall", STUBS["Syscall"]))
    lib = Library(native.library().path)
    outcome = errno_native.check_hook_order(lib)
    assert outcome.verdict == Verdict.REFUTED
    assert outcome.cex.summary.startswith("Syscall: C recorder saw []")


@pytest.mark.slow
def test_blocking_read_refutes_a_stub_that_keeps_the_gil() -> None:
    # Through PyDLL the read holds the GIL: the main thread stalls until the watchdog
    # process writes, so the check must report it, and must not hang.
    lib = Library(native.library().path)
    fn = ctypes.PyDLL(str(lib.path)).es_Syscall
    fn.argtypes, fn.restype = [ctypes.POINTER(Block)], None
    lib.stubs["Syscall"] = fn
    outcome = errno_native.check_blocking_read(lib)
    assert outcome.verdict == Verdict.REFUTED
    assert "held the GIL" in outcome.cex.summary


def test_a_crashing_seccomp_child_is_an_error_not_a_crash(tmp_path: Path) -> None:
    lib = Library(native.library().path)
    lib.path = tmp_path / "not-a-library.so"  # the child cannot load it
    lib.path.write_text("not ELF\n")
    [r] = errno_native.run(lib=lib, only=["seccomp-errno"])
    assert r.verdict == Verdict.ERROR
    assert "exit status 2" in r.counterexample.summary
    assert "seccomp_child:" in r.counterexample.summary  # the stderr tail
    rows = r.details["tables"][seccomp.TABLE]
    assert [row["agree with model"] for row in rows] == ["ERROR"] * 5


def test_a_hanging_seccomp_child_times_out(tmp_path: Path) -> None:
    hang = (sys.executable, "-c", "import time; time.sleep(60)")
    out = seccomp.run_children(native.library(), errnos=(1, 4095), timeout_s=0.5, child=hang)
    assert sorted(out) == [1, 4095]
    assert all(isinstance(v, str) and v.startswith("timed out") for v in out.values())


def test_a_crashing_check_becomes_an_error_record(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(lib: Library) -> None:
        raise RuntimeError("boom")

    monkeypatch.setitem(errno_native.CHECKS, "map-scan",
                        (*errno_native.CHECKS["map-scan"][:2], lambda lib, _n: boom(lib)))
    [r] = errno_native.run(only=["map-scan"])
    assert r.verdict == Verdict.ERROR and "boom" in r.counterexample.summary


def test_unknown_check_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown check"):
        errno_native.run(only=["nope"])


# ---- `entersys check` usage errors: exit 2, one line on stderr ------------------------------

def entersys(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "entersys", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd)


@pytest.mark.parametrize("args", [
    ["check", "--only", "nosuchgroup"],
    ["check", "--only", "errno", "--format", "xml"],
    ["check", "--only", "errno", "--out", "{tmp}"],           # a directory
    ["check", "--only", "errno", "--out", "{tmp}/no/such/dir/report.json"],
])
def test_check_usage_errors(tmp_path: Path, args: list[str]) -> None:
    p = entersys(*(a.replace("{tmp}", str(tmp_path)) for a in args), cwd=tmp_path)
    assert p.returncode == 2, p.stderr
    assert len(p.stderr.splitlines()) == 1 and p.stderr.startswith("entersys: error:")
    assert p.stdout == ""

"""The native errno oracle survives faulty stubs: a stub that crashes is a finding (exit 1,
a record naming the signal and the call), never a dead `entersys check` with exit 139; a
stub that skips an argument load is caught by the argument-echo check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from entersys import native
from entersys.native.build import build

pytestmark = pytest.mark.slow


def _lib(tmp: Path, name: str, old: str, new: str) -> Path:
    text = (native.HERE / "stubs.S").read_text()
    assert old in text
    src = tmp / f"{name}.S"
    src.write_text(text.replace(old, new, 1))
    return build(tmp / f"{name}.so", stubs=src)


def _check(lib: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, **{native.LIB_ENV: str(lib)})
    return subprocess.run([sys.executable, "-m", "entersys", "check", "--only", "errno",
                           "--format", "json"], capture_output=True, text=True, timeout=600,
                          env=env, cwd=tmp)


def test_a_crashing_stub_is_a_finding(tmp_path: Path) -> None:
    # After SYSCALL the block pointer is lost: the first store faults.
    lib = _lib(tmp_path, "crash", "\tsyscall\n\tSTORE_RAW\n", "\tsyscall\n\txorl\t%ebx, %ebx\n"
               "\tSTORE_RAW\n")
    p = _check(lib, tmp_path)
    assert p.returncode == 1, (p.returncode, p.stderr[-2000:])
    results = {r["id"]: r for r in json.loads(p.stdout)["results"]}
    crashed = results["errno.native.real-syscalls"]
    assert crashed["verdict"] == "refuted" and crashed["status"] == "fail"
    assert "SIGSEGV" in crashed["counterexample"]["summary"]
    assert crashed["counterexample"]["values"]["last stub call"].startswith("Syscall trap=")
    # The mapping alone (es_map) is untouched and still holds in the same run.
    assert results["errno.native.map-scan"]["verdict"] == "holds"


def test_a_missing_argument_load_is_caught(tmp_path: Path) -> None:
    lib = _lib(tmp_path, "noa5", "\tmovq\tES_OFF_A5(%rbx), %r8\n", "")
    p = _check(lib, tmp_path)
    assert p.returncode == 1, p.stderr[-2000:]
    results = {r["id"]: r for r in json.loads(p.stdout)["results"]}
    arg = results["errno.native.arg-registers"]
    assert arg["verdict"] == "refuted"
    assert arg["counterexample"]["values"]["argument"] == "a5"
    assert arg["counterexample"]["values"]["want"] == "0x545"
    assert results["errno.native.real-syscalls"]["verdict"] == "holds"  # what no test passed

"""End-to-end sabotage through the command line: a library assembled from gomap.inc with
JBE replaced by JB must make `entersys check` and `entersys verify` fail at RAX = -4095.

The same commands on the real sources must pass, with the seccomp table in the JSON report;
every run is a subprocess, as in CI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from entersys import native
from entersys.native.build import build
from entersys.oracle import seccomp

RAX_4095 = "0xfffffffffffff001"
FAILS_AT_4095 = {"errno.native.map-hypothesis", "errno.native.map-scan",
                 "errno.native.seccomp-errno"}


@pytest.fixture(scope="module")
def sabotaged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(mapping include, shared library) with Go's JLS (JBE) turned into JB."""
    tmp = tmp_path_factory.mktemp("sabotage")
    text = native.MAP_INCLUDE.read_text()
    assert text.count("\tjbe\t") == 1
    inc = tmp / "gomap.inc"
    inc.write_text(text.replace("\tjbe\t", "\tjb\t"))
    return inc, build(tmp / "_stubs_sabotaged.so", map_include=inc)


def entersys(*args: str, cwd: Path, lib: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != native.LIB_ENV}
    if lib is not None:
        env[native.LIB_ENV] = str(lib)
    return subprocess.run([sys.executable, "-m", "entersys", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd, env=env)


def report(p: subprocess.CompletedProcess) -> dict:
    return json.loads(p.stdout)


def failing(doc: dict) -> dict[str, dict]:
    return {r["id"]: r for r in doc["results"] if r["status"] != "pass"}


def test_check_refutes_the_sabotaged_library(sabotaged: tuple[Path, Path],
                                             tmp_path: Path) -> None:
    _, so = sabotaged
    p = entersys("check", "--only", "errno", "--format", "json", cwd=tmp_path, lib=so)
    assert p.returncode == 1, p.stderr
    bad = failing(report(p))
    assert set(bad) == FAILS_AT_4095
    for r in bad.values():
        assert r["status"] == "fail"
        assert r["counterexample"]["values"]["RAX"].startswith(RAX_4095), r
    rows = bad["errno.native.seccomp-errno"]["details"]["tables"][seccomp.TABLE]
    row = next(row for row in rows if row["e"] == 4095)
    assert row["Go r1/err"] == "0xffffffffffffffff/4095" and row["agree with model"] == "NO"


def test_verify_refutes_the_sabotaged_assembly(sabotaged: tuple[Path, Path],
                                               tmp_path: Path) -> None:
    inc, _ = sabotaged
    p = entersys("verify", "--only", "errno", "--asm", str(inc), "--format", "json",
                 cwd=tmp_path)
    assert p.returncode == 1, p.stderr
    bad = failing(report(p))
    assert {"errno.stub.es_map", "errno.stub.es_Syscall", "errno.stub.es_RawSyscall6"} <= set(bad)
    with_rax = [r for r in bad.values() if r["counterexample"]["values"].get("RAX")]
    assert with_rax
    assert all(r["counterexample"]["values"]["RAX"].startswith(RAX_4095) for r in with_rax)


def test_verify_holds_on_the_real_sources(tmp_path: Path) -> None:
    p = entersys("verify", "--only", "errno", "--format", "json", cwd=tmp_path)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr
    assert report(p)["summary"]["fail"] == 0


def test_check_holds_on_the_real_library_with_the_seccomp_table(tmp_path: Path) -> None:
    p = entersys("check", "--only", "errno", "--format", "json", cwd=tmp_path)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr
    doc = report(p)
    assert failing(doc) == {}
    [sec] = [r for r in doc["results"] if r["id"] == "errno.native.seccomp-errno"]
    rows = sec["details"]["tables"][seccomp.TABLE]
    assert [row["e"] for row in rows] == [1, 9, 4094, 4095, 4096]
    assert all(row["agree with model"] == "yes" for row in rows)

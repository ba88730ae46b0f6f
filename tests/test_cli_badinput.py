"""Every command against a table of bad inputs and faults: exit 2 with exactly one line on
stderr (or 1 with a record for a fault), never a traceback, and no partial output file.
Each row is one of the cases found by trying entersys as a new user would (issue 6)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ENTERSYS = [sys.executable, "-m", "entersys"]


def run(args: list[str], cwd: Path | None = None, env: dict | None = None,
        shell_suffix: str = "", timeout: float = 300) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    if shell_suffix:
        cmd = " ".join(ENTERSYS + args) + " " + shell_suffix
        return subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, cwd=cwd,
                              env=full_env, timeout=timeout)
    return subprocess.run(ENTERSYS + args, capture_output=True, text=True, cwd=cwd,
                          env=full_env, timeout=timeout)


def assert_one_line(p: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert "Traceback" not in p.stderr, p.stderr
    assert p.returncode == code, (p.returncode, p.stderr)
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, p.stderr
    return lines[0]


SMALL = ["--ms", "1", "--ps", "1", "--gs", "1"]

# (arguments, text the one stderr line must contain)
USAGE_CASES = [
    (["verify", "--only", "errno", "--asm", "/bin/ls"], "not a text file"),
    (["verify", "--only", "errno", "--asm", "/nonexistent.inc"], "No such file"),
    (["verify", "--only", "errno", "--asm", "/tmp"], "directory"),
    (["verify", "--only", "protocol-model", "--asm", "/etc/hostname"], "no effect"),
    (["mutants", "--hypothesis"], "no effect with --engine all"),
    (["mutants", "--engine", "hypothesis", "--hypothesis"], "no effect with --engine hyp"),
    (["verify", "--only", "protocol-model", "--timeout-ms", "5"], "no effect"),
    (["verify", "--timeout-ms", "0"], "positive"),
    (["verify", "--timeout-ms", "-3"], "positive"),
    (["verify", "--timeout-ms", "ten"], "not a number"),
    (["verify", "--only", "nosuch"], "unknown group"),
    (["verify", "--format", "yaml"], "unknown format"),
    (["check", "--examples", "0"], "positive"),
    (["explore", *SMALL, "--with", "gc", "--without", "gc"], "both"),
    (["explore", *SMALL, "--with", "nosuch"], "unknown --with"),
    (["explore", *SMALL, "--parts", "most"], "unknown --parts"),
    (["explore", "--ms", "0"], "positive"),
    (["explore", "--ms", "9", "--ps", "9"], "too large"),
    (["explore", *SMALL, "--go", "1.3"], "unknown Go version"),
    (["explore", *SMALL, "--max-states", "0"], "positive"),
    (["explore", *SMALL, "--mutant", "nosuch"], "unknown mutant"),
    (["explore", *SMALL, "--go", "1.25", "--mutant", "V14-wirep-no-mcache"], "does not exist"),
    (["mutants", "--go", "2.0"], "unknown Go version"),
    (["mutants", "--only", "nosuch"], "unknown mutant"),
    (["graph", "--of", "cats", "--out", "{tmp}/g.dot"], "unknown --of"),
    (["graph", "--of", "states", "--ms", "2", "--ps", "2", "--gs", "2", "--out",
      "{tmp}/g.dot"], "more than"),
    ([], "a command is needed"),
    (["frobnicate"], "invalid choice"),
]


@pytest.mark.parametrize("args,needle", USAGE_CASES, ids=[" ".join(a) or "(none)"
                                                          for a, _ in USAGE_CASES])
def test_bad_usage_is_one_line_and_exit_2(args: list[str], needle: str, tmp_path: Path) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    line = assert_one_line(run(args, cwd=tmp_path))
    assert needle in line
    assert not (tmp_path / "g.dot").exists()


# Every command that writes a report, with an unwritable --out.
OUT_COMMANDS = [
    ["verify", "--only", "errno"],
    ["check", "--only", "errno", "--examples", "5"],
    ["explore", *SMALL],
    ["mutants", "--engine", "explore", "--only", "N9-switch-first"],
    ["graph", "--of", "g-status"],
    ["bench", "--quick"],
]
BAD_OUTS = ["/dev/full", "/proc/version", "/nonexistent-dir/x.json", "/tmp"]


# /dev/full can be opened and fails only when the report is written, at the end of the run:
# the slow commands (bench, check) are covered by the paths that fail up front.
OUT_CASES = [(c, b) for c in OUT_COMMANDS for b in BAD_OUTS
             if not (b == "/dev/full" and c[0] in ("bench", "check"))]


@pytest.mark.parametrize("cmd,bad", OUT_CASES, ids=[f"{c[0]}-{b}" for c, b in OUT_CASES])
def test_unwritable_out(cmd: list[str], bad: str, tmp_path: Path) -> None:
    line = assert_one_line(run([*cmd, "--out", bad], cwd=tmp_path))
    assert bad in line


@pytest.mark.parametrize("opt", ["--itf", "--dot"])
def test_unwritable_itf_and_dot(opt: str, tmp_path: Path) -> None:
    line = assert_one_line(run(["explore", *SMALL, "--mutant", "N9-switch-first", opt,
                                "/proc/version"], cwd=tmp_path))
    assert opt in line and "/proc/version" in line


def test_out_is_not_truncated_by_bad_usage(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    out.write_text("previous report\n")
    assert_one_line(run(["explore", *SMALL, "--max-states", "0", "--out", str(out)]))
    assert out.read_text() == "previous report\n"
    assert_one_line(run(["verify", "--only", "errno", "--asm", "/bin/ls", "--out", str(out)]))
    assert out.read_text() == "previous report\n"


def test_same_path_for_out_and_itf_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "x.json"
    line = assert_one_line(run(["explore", *SMALL, "--mutant", "N9-switch-first",
                                "--format", "json", "--out", str(p), "--itf", str(p)]))
    assert "--out and --itf" in line
    assert not p.exists()


def test_passing_itf_writes_nothing(tmp_path: Path) -> None:
    p = tmp_path / "trace.itf.json"
    r = run(["explore", *SMALL, "--itf", str(p)], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert not p.exists()
    assert "was not written" in r.stderr


def test_out_dash_is_stdout(tmp_path: Path) -> None:
    r = run(["verify", "--only", "errno", "--format", "json", "--out", "-"], cwd=tmp_path)
    assert r.returncode == 0
    assert r.stdout.lstrip().startswith("{")
    assert not (tmp_path / "-").exists()


def test_check_leaves_no_hypothesis_dir_in_cwd(tmp_path: Path) -> None:
    r = run(["check", "--only", "errno", "--examples", "5"], cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-2000:]
    assert not (tmp_path / ".hypothesis").exists()


def test_closed_stdout(tmp_path: Path) -> None:
    r = run(["verify", "--only", "errno"], cwd=tmp_path, shell_suffix=">&-")
    line = assert_one_line(r)
    assert "standard output" in line


def test_ascii_stdout_encoding(tmp_path: Path) -> None:
    r = run(["mutants", "--engine", "explore", "--only", "N9-switch-first"], cwd=tmp_path,
            env={"PYTHONIOENCODING": "ascii", "LC_ALL": "C"})
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    r.stdout.encode("ascii")


def test_foreign_native_library(tmp_path: Path) -> None:
    import ctypes.util

    libm = ctypes.util.find_library("m")
    assert libm, "libm is on every Linux machine"
    so = next(Path(p) for p in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu")
              if (Path(p) / libm).exists()) / libm
    r = run(["check", "--only", "errno", "--examples", "5"], cwd=tmp_path,
            env={"ENTERSYS_NATIVE_LIB": str(so)})
    assert "not entersys's stub library" in assert_one_line(r)
    r = run(["verify", "--only", "errno", "--format", "json"], cwd=tmp_path,
            env={"ENTERSYS_NATIVE_LIB": str(so)})
    assert "Traceback" not in r.stderr
    assert r.returncode == 1
    assert '"errno.build-provenance"' in r.stdout and "not entersys's stub library" in r.stdout


def test_version_only_mutant_is_not_applicable(tmp_path: Path) -> None:
    import json

    r = run(["mutants", "--engine", "explore",
            "--go", "1.25", "--only", "V14-wirep-no-mcache", "--format", "json"])
    assert r.returncode == 0, r.stderr
    rec = json.loads(r.stdout)["results"][0]
    assert rec["verdict"] == "not-applicable" and rec["status"] == "skipped"


def test_duplicate_only_runs_once(tmp_path: Path) -> None:
    import json

    one = json.loads(run(["verify", "--only", "errno", "--format", "json"]).stdout)
    two = json.loads(run(["verify", "--only", "errno", "--only", "errno",
                          "--format", "json"]).stdout)
    assert len(two["results"]) == len(one["results"])


def test_state_cap_says_why(tmp_path: Path) -> None:
    import json

    r = run(["explore", "--max-states", "50", "--format", "json"])
    assert r.returncode == 3, r.stderr
    rec = json.loads(r.stdout)["results"][0]
    assert rec["verdict"] == "unknown"
    assert rec["counterexample"]["values"]["reason"] == "max-states"
    assert rec["counterexample"]["values"]["limit"] == 50


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_leaves_no_output(sig: int, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    p = subprocess.Popen(ENTERSYS + ["explore", "--ms", "2", "--ps", "2", "--gs", "3",
                                     "--out", str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(4)
    assert p.poll() is None, "the exploration should still be running"
    p.send_signal(sig)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert "Traceback" not in err
    assert [ln for ln in err.splitlines() if ln.strip()] == [
        "entersys: interrupted; nothing was written"]
    assert not out.exists()
    assert not list(tmp_path.iterdir())

"""Parent side of the seccomp fault injection: runs entersys.oracle.seccomp_child once per
errno value, in parallel subprocesses with a timeout, and compares every stub's and glibc's
result with the model's go_map, no_error_map and glibc_syscall of the raw RAX.

A child that crashes, hangs or cannot install its filter makes the check an ERROR carrying
the child's stderr tail; it never takes the oracle down with it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

from entersys.model import errno as M
from entersys.native import LIB_ENV, VARIANTS, Library
from entersys.results import Counterexample, Verdict

MASK64 = M.MASK64
ERRNOS = (1, 9, 4094, 4095, 4096)
TIMEOUT_S = 30.0
TABLE = "seccomp SECCOMP_RET_ERRNO table"
# The kernel clamps SECCOMP_RET_ERRNO data above 4095 to 4095 (measured-facts.md).
KERNEL_MAX_ERRNO = 4095


def _hex(v: int) -> str:
    return f"0x{v & MASK64:016x}"


def _tail(text: str, lines: int = 5) -> str:
    return " | ".join(text.strip().splitlines()[-lines:]) or "(empty)"


CHILD = (sys.executable, "-m", "entersys.oracle.seccomp_child")


def run_children(lib: Library, errnos: tuple[int, ...] = ERRNOS, timeout_s: float = TIMEOUT_S,
                 child: tuple[str, ...] = CHILD) -> dict[int, dict[str, Any] | str]:
    """errno -> the child's JSON observation, or a one-line description of how it failed.

    `child` is the command before `--errno E`; tests replace it to see crashes and hangs."""
    # The child loads exactly the library under test, wherever it was built.
    env = dict(os.environ, **{LIB_ENV: str(lib.path)})
    procs: dict[int, subprocess.Popen] = {}
    out: dict[int, dict[str, Any] | str] = {}
    try:
        for e in errnos:
            procs[e] = subprocess.Popen(
                [*child, "--errno", str(e)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        deadline = time.monotonic() + timeout_s
        for e, p in procs.items():
            try:
                stdout, stderr = p.communicate(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                _, stderr = p.communicate()
                out[e] = f"timed out after {timeout_s:.0f} s; stderr: {_tail(stderr)}"
                continue
            if p.returncode != 0:
                out[e] = f"exit status {p.returncode}; stderr: {_tail(stderr)}"
                continue
            try:
                out[e] = json.loads(stdout.strip().splitlines()[-1])
            except (ValueError, IndexError):
                out[e] = f"unreadable output {stdout[-200:]!r}; stderr: {_tail(stderr)}"
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
    return out


def _compare(e: int, obs: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One table row and the problems found for errno value `e`."""
    raw = obs["raw_rax"]
    problems: list[dict[str, Any]] = []

    def problem(what: str, got: Any, want: Any, **more: Any) -> None:
        problems.append({"e": e, "RAX": f"{_hex(raw)} ({M.to_signed(raw)})", "what": what,
                         "got": got, "want": want, **more})

    want_raw = -min(e, KERNEL_MAX_ERRNO) & MASK64
    if raw != want_raw:
        problem("kernel RAX", _hex(raw), _hex(want_raw))
    stubs_agree = True
    for variant, (_, spec) in VARIANTS.items():
        s = obs["stubs"][variant]
        got = (s["r1"], s["r2"], s["err"])
        m = M.MAPPINGS[spec.mapping](s["raw_rax"], s["raw_rdx"])
        if s["raw_rax"] != raw:
            problem(f"{variant} raw RAX", _hex(s["raw_rax"]), _hex(raw))
        if got != (m.r1, m.r2, m.err):
            stubs_agree = False
            problem(f"{variant} (r1, r2, err) vs model {spec.mapping} mapping",
                    [_hex(got[0]), _hex(got[1]), got[2]], [_hex(m.r1), _hex(m.r2), m.err],
                    variant=variant)
    go, nerr = obs["stubs"]["Syscall"], obs["stubs"]["rawSyscallNoError"]
    g_ret, g_errno = obs["glibc"]["ret"], obs["glibc"]["errno"]
    m_go = M.go_map(raw, go["raw_rdx"])
    m_ret, m_errno = M.glibc_syscall(raw)
    glibc_agrees = (g_ret & MASK64, g_errno) == (m_ret, m_errno)
    if not glibc_agrees:
        problem("glibc (ret, errno) vs model glibc_syscall", [g_ret, g_errno],
                [M.to_signed(m_ret), m_errno])
    if e >= KERNEL_MAX_ERRNO:
        # The one input where Go and glibc part ways, seen from a real kernel.
        if go["err"] != 0 or go["r1"] != raw:
            problem("Go Syscall at -4095 (want success, r1 = RAX)", [_hex(go["r1"]), go["err"]],
                    [_hex(raw), 0])
        if (g_ret, g_errno) != (-1, KERNEL_MAX_ERRNO):
            problem("glibc at -4095 (want -1, errno 4095)", [g_ret, g_errno],
                    [-1, KERNEL_MAX_ERRNO])
    go_error, glibc_error = go["err"] != 0, g_errno != 0
    row = {
        "e": e, "raw RAX": _hex(raw),
        "Go r1/err": f"{_hex(go['r1'])}/{go['err']}",
        "model go_map": f"{_hex(m_go.r1)}/{m_go.err}",
        "NoError r1": _hex(nerr["r1"]),
        "glibc ret/errno": f"{g_ret}/{g_errno}",
        "model glibc": f"{M.to_signed(m_ret)}/{m_errno}",
        "Go vs glibc": "same" if go_error == glibc_error else
                       ("Go ok, glibc error" if glibc_error else "Go error, glibc ok"),
        "agree with model": "yes" if stubs_agree and glibc_agrees else "NO",
    }
    return row, problems


def _error_row(e: int) -> dict[str, Any]:
    keys = ["raw RAX", "Go r1/err", "model go_map", "NoError r1", "glibc ret/errno",
            "model glibc", "Go vs glibc"]
    return {"e": e, **dict.fromkeys(keys, "-"), "agree with model": "ERROR"}


def check_seccomp_errno(lib: Library) -> tuple[Verdict, Counterexample | None, dict[str, Any]]:
    """The fault-injection check: (verdict, counterexample, details with the table)."""
    observed = run_children(lib)
    rows, problems, failures = [], [], {}
    for e in ERRNOS:
        obs = observed[e]
        if isinstance(obs, str):
            failures[e] = obs
            rows.append(_error_row(e))
            continue
        row, found = _compare(e, obs)
        rows.append(row)
        problems += found
    details = {"tables": {TABLE: rows}, "library": str(lib.path)}
    replay_env = f"{LIB_ENV}={lib.path} "
    if failures:
        e, why = next(iter(failures.items()))
        return (Verdict.ERROR, Counterexample(
            summary=f"seccomp child for e={e} failed: {why}",
            values={f"e={k}": v for k, v in failures.items()},
            replay=f"{replay_env}python -m entersys.oracle.seccomp_child --errno {e}"), details)
    if problems:
        p = problems[0]
        return (Verdict.REFUTED, Counterexample(
            summary=f"e={p['e']}: {p['what']}: got {p['got']}, want {p['want']}",
            values={**p, "problems": len(problems)},
            replay=f"{replay_env}python -m entersys.oracle.seccomp_child --errno {p['e']}"),
            details)
    return Verdict.HOLDS, None, details

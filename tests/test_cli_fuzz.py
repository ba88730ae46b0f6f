"""Hypothesis over argument vectors built from the CLI's real option set and hostile values:
whatever the vector, entersys ends with one of its exit codes and at most one line on
stderr, never a traceback or an "internal error". Runs in-process; a run that would take
long is interrupted by a timer (which also exercises the interrupt path)."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import signal
import sys
from pathlib import Path

import pytest
from entersys import cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HOSTILE = ["", "-", "0", "-1", "1", "2", "3", "99999999999", "nan", "1.5", "0x10", "é",
           "x" * 300, "/dev/full", "/proc/version", "/nonexistent/x", ".", "out.json",
           "json", "text", "yaml", "errno", "protocol-model", "core", "full", "gc", "raw",
           "1.14", "1.25", "9.99", "R2-stackguard-late", "V14-wirep-no-mcache", "states",
           "g-status", "--", "--help-me", "/etc/hostname", "/bin/ls"]


def _option_table() -> dict[str, list[str]]:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    table: dict[str, list[str]] = {}
    for name, p in sub.choices.items():
        table[name] = [s for a in p._actions for s in a.option_strings
                       if s not in ("-h", "--help")]
    return table


TABLE = _option_table()


@st.composite
def argv(draw: st.DrawFn) -> list[str]:
    cmd = draw(st.sampled_from(sorted(TABLE)))
    out = [cmd]
    for _ in range(draw(st.integers(0, 5))):
        opt = draw(st.sampled_from(TABLE[cmd] or ["--bogus"]))
        out.append(opt)
        if draw(st.booleans()) or opt not in ("--quick", "--no-symmetry", "--hypothesis"):
            out.append(draw(st.sampled_from(HOSTILE)))
    if draw(st.booleans()):
        out.append(draw(st.sampled_from(HOSTILE)))
    return out


class _Timeout(Exception):
    pass


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(args=argv())
def test_no_traceback_whatever_the_arguments(args: list[str], tmp_path_factory) -> None:
    work = tmp_path_factory.mktemp("fuzz")
    old_cwd = os.getcwd()
    os.chdir(work)
    out, err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8"), io.StringIO()

    def alarm(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, 3.0)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(args)
            except SystemExit as e:  # --help / --version print and exit through argparse
                code = e.code if isinstance(e.code, int) else 0
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        os.chdir(old_cwd)
    text = err.getvalue()
    assert "Traceback" not in text, (args, text)
    assert "internal error" not in text, (args, text)
    assert code in (0, 1, 2, 3, 130), (args, code, text)
    if code == 2:
        assert len([ln for ln in text.splitlines() if ln.strip()]) == 1, (args, text)
    if code == 130:
        assert not [p for p in Path(work).iterdir() if p.name != ".hypothesis"], args
    assert sys.stdout is not out

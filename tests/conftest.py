"""Shared fixtures: small protocol programs are cached per session (their compiled
engines take a moment to build)."""

from __future__ import annotations

import functools
import os
import subprocess
import sys

import pytest
from entersys.model.program import Program
from entersys.model.state import Config


@functools.cache
def program(ms: int = 1, ps: int = 1, gs: int = 1, go: str = "1.25", **flags: bool) -> Program:
    return Program(Config(ms, ps, gs, go=go, **flags), go=go)


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    return subprocess.run([sys.executable, "-m", "entersys", *args], capture_output=True,
                          text=True, timeout=timeout, env=env)


@pytest.fixture
def cli():
    return run_cli

"""Runs entersys' benchmarks (stub cost against glibc, ctypes fast path against os.getpid(),
native mapping scan against the Python model) and prints the text report.

Usage: python benchmarks/bench_errno.py [--quick] [--format json] [--out FILE]; the exit
status is that of `entersys bench` (0 every ratio within its target, 1 otherwise)."""

from __future__ import annotations

import sys

from entersys.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))

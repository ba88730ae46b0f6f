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
    v.add_argument("--go", help="protocol group: only this Go version")
    v.add_argument("--depth", type=int, help="protocol group: BMC depth")
    v.add_argument("--ps", type=int, help="protocol group: number of Ps")
    _add_output_options(v)

    c = sub.add_parser("check", help="run the concrete oracle checks (native stubs)")
    c.add_argument("--only", action="append", metavar="GROUP", help="run only this group")
    c.add_argument("--examples", type=int, default=300, help="Hypothesis examples per test")
    _add_output_options(c)

    b = sub.add_parser("bench", help="measure costs as ratios against same-run baselines")
    b.add_argument("--quick", action="store_true", help="fewer iterations")
    _add_output_options(b)

    e = sub.add_parser("explore", help="explore the protocol model exhaustively")
    _add_model_options(e)
    e.add_argument("--mutant", help="explore this mutant of the catalog instead")
    e.add_argument("--dot", type=Path, help="also write the state graph as DOT")
    e.add_argument("--itf", type=Path, help="write a counterexample trace as ITF JSON")
    e.add_argument("--no-symmetry", action="store_true", help="no symmetry reduction")
    e.add_argument("--max-states", type=int, default=5_000_000)
    _add_output_options(e)

    m = sub.add_parser("mutants", help="run the mutant catalog; every mutant must be killed")
    m.add_argument("--go", default="1.25", help="Go version: 1.14 or 1.25")
    m.add_argument("--only", action="append", metavar="MUTANT", help="only this mutant")
    m.add_argument("--hypothesis", action="store_true",
                   help="also hunt each mutant with the Hypothesis state machine")
    m.add_argument("--engine", help="z3, explore, hypothesis or all (default: explore, "
                   "with --hypothesis also hypothesis)")
    _add_output_options(m)

    g = sub.add_parser("graph", help="write a status or state graph as DOT (and SVG)")
    g.add_argument("--go", default="1.25", help="Go version: 1.14 or 1.25")
    g.add_argument("--of", required=True, help="g-status, p-status or states")
    g.add_argument("--out", type=Path, required=True, help="DOT file to write")
    g.add_argument("--ms", type=int, default=1)
    g.add_argument("--ps", type=int, default=1)
    g.add_argument("--gs", type=int, default=1)
    return ap


def _add_model_options(p: argparse.ArgumentParser) -> None:
    from entersys.model.state import PARTS

    p.add_argument("--go", default="1.25", help="Go version: 1.14 or 1.25")
    p.add_argument("--ms", type=int, default=2, help="number of Ms (threads)")
    p.add_argument("--ps", type=int, default=2, help="number of Ps")
    p.add_argument("--gs", type=int, default=2, help="number of Gs")
    p.add_argument("--parts", default="core", metavar="SET",
                   help="core (sysmon, stop-the-world; Gs make Syscalls) or full (also "
                        "forEachP, the GC scan bit, entersyscallblock, blocking RawSyscall)")
    p.add_argument("--with", dest="with_", action="append", default=[], metavar="PART",
                   help="add one part: " + ", ".join(PARTS))
    p.add_argument("--without", action="append", default=[], metavar="PART",
                   help="leave out one part: " + ", ".join(PARTS))


def _model_config(opts: argparse.Namespace) -> object:
    from entersys.model.program import VERSIONS
    from entersys.model.state import Config

    if opts.go not in VERSIONS:
        raise UsageError(f"unknown Go version {opts.go!r}; supported: {', '.join(VERSIONS)}")
    from entersys.model.state import PARTS
    from entersys.oracle.protocol import PART_SETS

    if opts.parts not in PART_SETS:
        raise UsageError(f"unknown --parts {opts.parts!r}; known: {', '.join(PART_SETS)}")
    for flag, names in (("--with", opts.with_), ("--without", opts.without)):
        bad = [w for w in names if w not in PARTS]
        if bad:
            raise UsageError(f"unknown {flag} {bad[0]!r}; known: {', '.join(PARTS)}")
    parts = (set(PART_SETS[opts.parts]) | set(opts.with_)) - set(opts.without)
    cfg = Config(opts.ms, opts.ps, opts.gs, go=opts.go,
                 **{f: f in parts for f in PARTS})
    try:
        cfg.validate()
    except ValueError as e:
        raise UsageError(str(e)) from None
    return cfg


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
            raise UsageError("a command is needed: verify, check, bench, explore, mutants or "
                             "graph (see --help)")
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
        _check_protocol_options(opts)
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
    if opts.command == "explore":
        return _explore(opts, command)
    if opts.command == "mutants":
        return _mutants(opts, command)
    if opts.command == "graph":
        return _graph(opts)
    raise UsageError(f"unknown command {opts.command!r}")


def _check_protocol_options(opts: argparse.Namespace) -> None:
    from entersys.model.program import VERSIONS

    if getattr(opts, "go", None) is not None and opts.go not in VERSIONS:
        raise UsageError(f"unknown Go version {opts.go!r}; supported: {', '.join(VERSIONS)}")
    if getattr(opts, "depth", None) is not None and not 0 <= opts.depth <= 100:
        raise UsageError("--depth must be between 0 and 100")
    if getattr(opts, "ps", None) is not None and not 1 <= opts.ps <= 3:
        raise UsageError("--ps must be between 1 and 3")


def _explore(opts: argparse.Namespace, command: str) -> int:
    import json

    from entersys.model.mutants import MUTANTS
    from entersys.oracle import protocol

    cfg = _model_config(opts)
    if opts.mutant is not None and opts.mutant not in MUTANTS:
        raise UsageError(f"unknown mutant {opts.mutant!r}; known: {', '.join(MUTANTS)}")
    if opts.max_states < 1:
        raise UsageError("--max-states must be positive")
    outs = {k: _open_out(getattr(opts, k)) for k in ("out", "dot", "itf")
            if getattr(opts, k) is not None}
    try:
        run = protocol.explore(cfg, opts.go, opts.mutant, symmetry=not opts.no_symmetry,
                               max_states=opts.max_states)  # type: ignore[arg-type]
        rec = run.result
        _render([rec], opts.format, outs.get("out", sys.stdout), command)
        if "itf" in outs and rec.counterexample and rec.counterexample.itf:
            outs["itf"].write(json.dumps(rec.counterexample.itf, indent=1) + "\n")
        if "dot" in outs:
            from entersys.oracle.graphs import state_graph_dot

            outs["dot"].write(state_graph_dot(run.explorer, max_states=5000))
    finally:
        for f in outs.values():
            f.close()
    return exit_code([rec])


def _mutants(opts: argparse.Namespace, command: str) -> int:
    from entersys.model.mutants import GAPS, MUTANTS
    from entersys.model.program import VERSIONS
    from entersys.mutant_engines import EngineError, engines, mutant_results

    if opts.go not in VERSIONS:
        raise UsageError(f"unknown Go version {opts.go!r}; supported: {', '.join(VERSIONS)}")
    for m in opts.only or []:
        if m not in MUTANTS:
            raise UsageError(f"unknown mutant {m!r}; known: {', '.join(MUTANTS)}")
    try:
        engines(opts)
    except EngineError as e:
        raise UsageError(str(e)) from None
    out = _open_out(opts.out)
    try:
        results = mutant_results(opts)
        _render(results, opts.format, out, command, {"model_gaps": GAPS})
    finally:
        if out is not sys.stdout:
            out.close()
    return exit_code(results)


def _graph(opts: argparse.Namespace) -> int:
    import shutil
    import subprocess

    from entersys.model.program import VERSIONS
    from entersys.model.state import Config
    from entersys.oracle import graphs

    if opts.go not in VERSIONS:
        raise UsageError(f"unknown Go version {opts.go!r}; supported: {', '.join(VERSIONS)}")
    if opts.of not in ("g-status", "p-status", "states"):
        raise UsageError(f"unknown --of {opts.of!r}; known: g-status, p-status, states")
    cfg = Config(opts.ms, opts.ps, opts.gs, go=opts.go)
    try:
        cfg.validate()
    except ValueError as e:
        raise UsageError(str(e)) from None
    out = _open_out(opts.out)
    try:
        out.write(graphs.dot_for(opts.of, opts.go, cfg))
    finally:
        out.close()
    if shutil.which("dot"):
        svg = opts.out.with_suffix(".svg")
        subprocess.run(["dot", "-Tsvg", str(opts.out), "-o", str(svg)], check=False)
        print(f"wrote {opts.out} and {svg}")
    else:
        print(f"wrote {opts.out} (install Graphviz `dot` for SVG)")
    return 0


def _run_groups(groups: dict, names: list[str], opts: argparse.Namespace) -> list[CheckResult]:
    from entersys.proofs.asm import AsmError

    results: list[CheckResult] = []
    for name in names:
        try:
            results.extend(groups[name](opts))
        except AsmError as e:
            raise UsageError(f"cannot read the assembly: {e}") from None
    return results

"""Command-line wiring: parses options, picks checks from entersys.registry, renders the
records and maps them to an exit code. No checking logic lives here.

Exit codes: 0 every verdict as expected; 1 a property refuted or an expectation missed;
2 bad usage or input (one line on stderr); 3 inconclusive with nothing refuted; 130 the run
was interrupted (Ctrl-C, SIGTERM) and nothing was written."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from typing import Any, NoReturn

from entersys import __version__
from entersys.cmd_report import side_outputs, side_preflight
from entersys.output import OutputError, preflight, write_text
from entersys.results import EXIT_FAIL, EXIT_USAGE, CheckResult, exit_code

EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad usage or input: reported as one line on stderr, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _positive(kind: type = int) -> Any:
    def parse(text: str) -> Any:
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if v <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, not {text}")
        return v
    return parse


def _add_output_options(p: argparse.ArgumentParser) -> None:
    from entersys.report import RENDERERS

    p.add_argument("--format", default="text", help=" or ".join(RENDERERS))
    p.add_argument("--out", metavar="FILE",
                   help="write the report to FILE (whole, once the run is done); - is stdout")
    p.add_argument("--html", metavar="FILE", help="also write the HTML report to FILE")
    p.add_argument("--quiet", action="store_true", help="no progress display")


def _groups_help(kind: str) -> str:
    from entersys.registry import CHECK_GROUPS, VERIFY_GROUPS

    groups = VERIFY_GROUPS if kind == "verify" else CHECK_GROUPS
    if kind == "verify":
        from entersys.registry import VERIFY_DEFAULT

        extra = [g for g in groups if g not in VERIFY_DEFAULT]
        return ("run only this group (repeatable): " + ", ".join(groups)
                + (f"; by default all but {', '.join(extra)}" if extra else ""))
    return "run only this group (repeatable): " + ", ".join(groups)


def build_parser() -> _Parser:
    from entersys.model.mutants import MUTANTS
    from entersys.model.program import VERSIONS

    versions = ", ".join(VERSIONS)
    ap = _Parser(prog="entersys", description="Formal model and test oracle of Go's system-call "
                 "entry and exit on linux/amd64.",
                 epilog="exit codes: 0 as expected, 1 refuted, 2 bad usage, 3 inconclusive, "
                        "130 interrupted")
    ap.add_argument("--version", action="version", version=f"entersys {__version__}")
    sub = ap.add_subparsers(dest="command", parser_class=_Parser)

    v = sub.add_parser("verify", help="run every registered proof and model check")
    v.add_argument("--only", action="append", metavar="GROUP", help=_groups_help("verify"))
    v.add_argument("--asm", type=Path, help="prove this mapping include instead of gomap.inc "
                   "(group errno)")
    v.add_argument("--stubs", type=Path, help="prove this stub source instead of stubs.S "
                   "(group errno)")
    v.add_argument("--timeout-ms", type=_positive(), default=None, metavar="MS",
                   help="per solver query, in milliseconds (groups with solver queries; "
                        "default 10000)")
    v.add_argument("--itf", dest="itf_dir", metavar="DIR",
                   help="write every protocol counterexample as ITF JSON into DIR")
    v.add_argument("--go", help="group protocol: only this Go version")
    v.add_argument("--depth", type=_positive(), help="group protocol: BMC depth")
    v.add_argument("--ps", type=_positive(), help="group protocol: number of Ps")
    _add_output_options(v)

    c = sub.add_parser("check", help="run the concrete oracle checks (native stubs)")
    c.add_argument("--only", action="append", metavar="GROUP", help=_groups_help("check"))
    c.add_argument("--examples", type=_positive(), default=300, metavar="N",
                   help="Hypothesis examples per test (default 300)")
    _add_output_options(c)

    b = sub.add_parser("bench", help="measure costs as ratios against same-run baselines")
    b.add_argument("--quick", action="store_true", help="fewer iterations")
    _add_output_options(b)

    e = sub.add_parser("explore", help="explore the protocol model exhaustively")
    _add_model_options(e, versions)
    e.add_argument("--mutant", metavar="ID",
                   help="explore this mutant of the catalog instead: " + ", ".join(MUTANTS))
    e.add_argument("--dot", metavar="FILE", help="also write the state graph as DOT")
    e.add_argument("--itf", metavar="FILE", help="write the counterexample trace as ITF JSON "
                   "(nothing is written when no property is refuted)")
    e.add_argument("--no-symmetry", action="store_true", help="no symmetry reduction")
    e.add_argument("--max-states", type=_positive(), default=5_000_000, metavar="N",
                   help="stop (inconclusive, exit 3) after N states (default 5000000)")
    e.add_argument("--engine", default="native", metavar="ENGINE",
                   help="native (default: C generated from the steps), python, or spin")
    e.add_argument("--cores", type=_positive(), default=1, metavar="N",
                   help="threads of the native engine, or SPIN's cores (default 1)")
    e.add_argument("--bitstate", action="store_true",
                   help="SPIN's supertrace (bitstate hashing; --engine spin only)")
    from entersys.cmd_spin_swarm import add_options as _swarm_options

    _swarm_options(e)
    e.add_argument("--liveness", choices=("auto", "on", "off"), default="auto",
                   help="fair-lasso liveness checks (auto: when the graph without "
                        "symmetry is small enough)")
    e.add_argument("--invariants", metavar="FILE.py",
                   help="also check the inv_* predicates of this file (examples/invariants.py)")
    _add_output_options(e)

    m = sub.add_parser("mutants", help="run the mutant catalog; every mutant must be killed")
    m.add_argument("--go", default="1.27", help=f"Go version: {versions}")
    m.add_argument("--only", action="append", metavar="MUTANT",
                   help="only this mutant (repeatable): " + ", ".join(MUTANTS))
    m.add_argument("--hypothesis", action="store_true",
                   help="with --engine explore or z3: also hunt every mutant with the "
                        "Hypothesis state machine")
    m.add_argument("--engine", help="z3, explore, hypothesis or all (default: all; "
                   "--hypothesis adds hypothesis to a single engine)")
    m.add_argument("--itf", dest="itf_dir", metavar="DIR",
                   help="write every counterexample as ITF JSON into DIR")
    _add_output_options(m)

    g = sub.add_parser("graph", help="write a status or state graph as DOT (and SVG)")
    g.add_argument("--go", default="1.27", help=f"Go version: {versions}")
    g.add_argument("--of", required=True, help="g-status, p-status or states")
    g.add_argument("--out", required=True, metavar="FILE",
                   help="file to write: DOT, or SVG when FILE ends in .svg (needs Graphviz)")
    g.add_argument("--ms", type=_positive(), default=1, help="--of states: number of Ms")
    g.add_argument("--ps", type=_positive(), default=1, help="--of states: number of Ps")
    g.add_argument("--gs", type=_positive(), default=1, help="--of states: number of Gs")
    g.add_argument("--parts", default="core", metavar="SET",
                   help="--of states: core (default; 1/1/1 has about 5,000 states) or full")
    g.add_argument("--max-nodes", type=_positive(), default=20000, metavar="N",
                   help="refuse a state graph larger than N states (default 20000)")
    from entersys import cmd_lint, cmd_replay, cmd_report

    cmd_report.add_parser(sub)
    cmd_replay.add_parser(sub)
    cmd_lint.add_parser(sub)

    from entersys import cmd_gate

    cmd_gate.add_parser(sub)
    return ap


def _add_model_options(p: argparse.ArgumentParser, versions: str) -> None:
    from entersys.model.state import PARTS

    p.add_argument("--go", default="1.27", help=f"Go version: {versions}")
    p.add_argument("--ms", type=_positive(), default=2, help="number of Ms (threads)")
    p.add_argument("--ps", type=_positive(), default=2, help="number of Ps")
    p.add_argument("--gs", type=_positive(), default=2, help="number of Gs")
    p.add_argument("--parts", default="core", metavar="SET",
                   help="core (sysmon, stop-the-world; Gs make Syscalls) or full (also "
                        "forEachP, the GC scan bit, entersyscallblock, blocking RawSyscall)")
    p.add_argument("--with", dest="with_", action="append", default=[], metavar="PART",
                   help="add one part: " + ", ".join(PARTS))
    p.add_argument("--without", action="append", default=[], metavar="PART",
                   help="leave out one part: " + ", ".join(PARTS))


def _check_version(go: str) -> None:
    from entersys.model.program import VERSIONS

    if go not in VERSIONS:
        raise UsageError(f"unknown Go version {go!r}; supported: {', '.join(VERSIONS)}")


def _model_config(opts: argparse.Namespace) -> object:
    from entersys.model.state import PARTS, Config
    from entersys.oracle.protocol import PART_SETS

    _check_version(opts.go)
    if opts.parts not in PART_SETS:
        raise UsageError(f"unknown --parts {opts.parts!r}; known: {', '.join(PART_SETS)}")
    for flag, names in (("--with", opts.with_), ("--without", opts.without)):
        bad = [w for w in names if w not in PARTS]
        if bad:
            raise UsageError(f"unknown {flag} {bad[0]!r}; known: {', '.join(PARTS)}")
    both = sorted(set(opts.with_) & set(opts.without))
    if both:
        raise UsageError(f"part {both[0]!r} is both in --with and in --without")
    parts = (set(PART_SETS[opts.parts]) | set(opts.with_)) - set(opts.without)
    cfg = Config(opts.ms, opts.ps, opts.gs, go=opts.go,
                 **{f: f in parts for f in PARTS})
    try:
        cfg.validate()
    except ValueError as e:
        raise UsageError(str(e)) from None
    return cfg


def _select(groups: dict, only: list[str] | None, default: tuple[str, ...] = ()) -> list[str]:
    if not only:
        return list(default or groups)
    unknown = [g for g in only if g not in groups]
    if unknown:
        raise UsageError(f"unknown group {unknown[0]!r}; known: {', '.join(groups)}")
    return list(dict.fromkeys(only))  # --only G --only G runs G once


def _render(results: list[CheckResult], fmt: str, command: str,
            extra: dict | None = None) -> str:
    from entersys.report import RENDERERS

    return RENDERERS[fmt](results, command, extra)


def _emit(outputs: dict[str, tuple[str | None, str | None]]) -> None:
    """Write every output (option -> (path, text)); a None path means stdout for --out and
    nothing otherwise; a None text means nothing to write."""
    for option, (path, text) in outputs.items():
        if text is None:
            continue
        if path is None:
            if option != "--out":
                continue
            path = "-"
        write_text(path, text, option)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _is_interrupt(e: BaseException) -> bool:
    """A Ctrl-C that arrived inside a ctypes call surfaces as ctypes.ArgumentError naming
    KeyboardInterrupt (or chained to one); treat it as the interrupt it is."""
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, KeyboardInterrupt) or "KeyboardInterrupt" in str(cur):
            return True
        cur = cur.__cause__ or cur.__context__
    return False


def _say(line: str) -> None:
    """One line on stderr; silent if stderr itself is gone."""
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = "entersys " + " ".join(argv)
    old_term = signal.signal(signal.SIGTERM, _interrupt)
    try:
        opts = build_parser().parse_args(argv)
        if opts.command is None:
            raise UsageError("a command is needed: verify, check, bench, explore, mutants, "
                             "graph, report, replay, lint or gate (see --help)")
        from entersys.report import RENDERERS

        if getattr(opts, "format", "text") not in RENDERERS:
            raise UsageError(f"unknown format {opts.format!r}; known: {', '.join(RENDERERS)}")
        from entersys import progress

        progress.set_quiet(getattr(opts, "quiet", False))
        return _dispatch(opts, command)
    except (UsageError, OutputError) as e:
        _say(f"entersys: error: {e}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _say("entersys: interrupted; nothing was written")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader went away (e.g. `| head`): no report to finish, no traceback
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return EXIT_FAIL
    except MemoryError:
        _say("entersys: out of memory; try a smaller configuration or --max-states")
        return EXIT_FAIL
    except Exception as e:  # noqa: BLE001 - a fault is one line, never a traceback
        if _is_interrupt(e):
            _say("entersys: interrupted; nothing was written")
            return EXIT_INTERRUPTED
        if os.environ.get("ENTERSYS_DEBUG"):
            raise
        _say(f"entersys: internal error: {type(e).__name__}: {e} "
             "(set ENTERSYS_DEBUG=1 for the traceback)")
        return EXIT_FAIL
    finally:
        signal.signal(signal.SIGTERM, old_term)


def _dispatch(opts: argparse.Namespace, command: str) -> int:
    if opts.command in ("verify", "check"):
        return _verify_or_check(opts, command)
    if opts.command == "bench":
        from entersys import bench

        preflight({"--out": opts.out, **side_preflight(opts)})
        results, extra = bench.run(quick=opts.quick, proofs=not opts.quick)
        _emit({**side_outputs(opts, results, command, extra),
               "--out": (opts.out, _render(results, opts.format, command, extra))})
        return exit_code(results)
    if opts.command == "explore":
        return _explore(opts, command)
    if opts.command == "mutants":
        return _mutants(opts, command)
    if opts.command == "graph":
        return _graph(opts)
    if opts.command in ("report", "replay"):
        from entersys import cmd_replay, cmd_report

        return (cmd_report if opts.command == "report" else cmd_replay).run(opts, command)
    if opts.command == "lint":
        from entersys import cmd_lint

        return cmd_lint.run(opts, command)
    if opts.command == "gate":
        from entersys import cmd_gate

        return cmd_gate.run(opts, command)
    raise UsageError(f"unknown command {opts.command!r}")


def _check_protocol_options(opts: argparse.Namespace) -> None:
    if getattr(opts, "go", None) is not None:
        _check_version(opts.go)
    if getattr(opts, "depth", None) is not None and not 0 <= opts.depth <= 100:
        raise UsageError("--depth must be between 0 and 100")
    if getattr(opts, "ps", None) is not None and not 1 <= opts.ps <= 3:
        raise UsageError("--ps must be between 1 and 3")


def _verify_or_check(opts: argparse.Namespace, command: str) -> int:
    from entersys.registry import CHECK_GROUPS, GROUP_OPTIONS, VERIFY_DEFAULT, VERIFY_GROUPS

    groups = VERIFY_GROUPS if opts.command == "verify" else CHECK_GROUPS
    names = _select(groups, opts.only, VERIFY_DEFAULT if opts.command == "verify" else ())
    if opts.command == "verify":
        _check_protocol_options(opts)
    used = set().union(*(GROUP_OPTIONS.get(n, set()) for n in names))
    for dest, flag in (("asm", "--asm"), ("stubs", "--stubs"), ("timeout_ms", "--timeout-ms"),
                       ("go", "--go"), ("depth", "--depth"), ("ps", "--ps")):
        if getattr(opts, dest, None) is not None and dest not in used:
            raise UsageError(f"{flag} has no effect on the selected groups "
                             f"({', '.join(names)})")
    if opts.command == "verify" and opts.go is not None:
        _check_version(opts.go)
    if getattr(opts, "timeout_ms", None) is None and opts.command == "verify":
        opts.timeout_ms = 10_000
    for dest in ("asm", "stubs"):
        if getattr(opts, dest, None) is not None:
            _check_text_file(f"--{dest}", getattr(opts, dest))
    preflight({"--out": opts.out, **side_preflight(opts)})
    if opts.command == "check":
        _hypothesis_home()
        from entersys.native import NativeLibraryMissing, library

        try:
            library()
        except NativeLibraryMissing as e:
            raise UsageError(str(e)) from None
    results = _run_groups(groups, names, opts)
    _emit({**side_outputs(opts, results, command),
           "--out": (opts.out, _render(results, opts.format, command))})
    return exit_code(results)


def _check_text_file(flag: str, path: Path) -> None:
    """A source file option must name a readable UTF-8 text file."""
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise UsageError(f"{flag} {path}: is a directory") from None
    except OSError as e:
        raise UsageError(f"{flag} {path}: {e.strerror or e}") from None
    try:
        if b"\0" in data:
            raise UnicodeDecodeError("utf-8", data, 0, 1, "NUL byte")
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{flag} {path}: not a text file") from None


def _hypothesis_home() -> None:
    """Keep Hypothesis's example database in entersys's cache, not in the user's cwd."""
    from entersys.gotoolchain import cache_dir
    from hypothesis.configuration import set_hypothesis_home_dir

    set_hypothesis_home_dir(str(cache_dir() / "hypothesis"))


def _explore(opts: argparse.Namespace, command: str) -> int:
    import json

    from entersys.model.mutants import MUTANTS
    from entersys.oracle import protocol

    cfg = _model_config(opts)
    if opts.mutant is not None:
        if opts.mutant not in MUTANTS:
            raise UsageError(f"unknown mutant {opts.mutant!r}; known: {', '.join(MUTANTS)}")
        if opts.go not in MUTANTS[opts.mutant].versions:
            raise UsageError(f"mutant {opts.mutant} does not exist in Go {opts.go} (only in "
                             f"{', '.join(MUTANTS[opts.mutant].versions)})")
    user = None
    if opts.invariants is not None:
        from entersys.model.invariants import load_user_invariants

        try:
            user = (opts.invariants, load_user_invariants(opts.invariants))
        except ValueError as e:
            raise UsageError(str(e)) from None
    if opts.engine not in protocol.ENGINES:
        raise UsageError(f"unknown --engine {opts.engine!r}; known: "
                         + ", ".join(protocol.ENGINES))
    if opts.cores > 8:
        raise UsageError("--cores must be between 1 and 8")
    if opts.bitstate and opts.engine != "spin":
        raise UsageError("--bitstate needs --engine spin")
    from entersys.cmd_spin_swarm import spin_options

    spin_opts = spin_options(opts, UsageError)
    preflight({"--out": opts.out, "--dot": opts.dot, "--itf": opts.itf, **side_preflight(opts)})
    from entersys.progress import reporter

    tick = reporter(f"explore go{opts.go} {cfg.ms}m{cfg.ps}p{cfg.gs}g")  # type: ignore[attr-defined]
    run = protocol.explore(cfg, opts.go, opts.mutant, symmetry=not opts.no_symmetry,
                           max_states=opts.max_states,  # type: ignore[arg-type]
                           liveness={"auto": None, "on": True, "off": False}[opts.liveness],
                           user_invariants=user, engine=opts.engine,
                           progress=tick, cores=opts.cores, bitstate=opts.bitstate,
                           spin_options=spin_opts)
    tick.close()
    rec = run.result
    # liveness records (and bounded stalls, kind latency) beside the safety record
    recs = [rec, *run.liveness, *run.latency]
    witness = next((r for r in recs if r.counterexample and r.counterexample.itf), None)
    itf = None
    if opts.itf is not None:
        if witness is not None:  # with the replay command in "#meta", as `--itf DIR` writes
            from entersys.cmd_report import itf_with_meta

            itf = json.dumps(itf_with_meta(witness), indent=1) + "\n"
        else:
            rec.details["itf"] = f"no counterexample, so {opts.itf} was not written"
            _say(f"entersys: no counterexample, so --itf {opts.itf} was not written")
    dot = None
    if opts.dot is not None:
        from entersys.oracle.explore import Explorer
        from entersys.oracle.graphs import StateGraphTooLarge, state_graph_dot

        try:  # the graph comes from the Python engine (it records every edge it draws)
            graph_ex = Explorer(run.explorer.prog, symmetry=not opts.no_symmetry)
            dot = state_graph_dot(graph_ex, max_states=5000)
        except StateGraphTooLarge as e:
            raise UsageError(f"--dot: {e}") from None
    _emit({"--itf": (opts.itf, itf), "--dot": (opts.dot, dot),
           **side_outputs(opts, recs, command),
           "--out": (opts.out, _render(recs, opts.format, command))})
    return exit_code(recs)


def _mutants(opts: argparse.Namespace, command: str) -> int:
    from entersys.model.mutants import GAPS, MUTANTS
    from entersys.mutant_engines import DEFAULT as DEFAULT_ENGINE
    from entersys.mutant_engines import EngineError, engines, mutant_results

    _check_version(opts.go)
    for m in opts.only or []:
        if m not in MUTANTS:
            raise UsageError(f"unknown mutant {m!r}; known: {', '.join(MUTANTS)}")
    try:
        chosen = engines(opts)
    except EngineError as e:
        raise UsageError(str(e)) from None
    engine = opts.engine or DEFAULT_ENGINE
    if opts.hypothesis and engine in ("all", "hypothesis"):
        raise UsageError(f"--hypothesis has no effect with --engine {engine}"
                         ": the machine already runs there; use --engine explore "
                         "--hypothesis (or z3) to run both engines on every mutant")
    preflight({"--out": opts.out, **side_preflight(opts)})
    if "hypothesis" in chosen:
        _hypothesis_home()
    only = list(dict.fromkeys(opts.only)) if opts.only else None
    results = mutant_results(opts, only)
    _emit({**side_outputs(opts, results, command, {"model_gaps": GAPS}),
           "--out": (opts.out, _render(results, opts.format, command, {"model_gaps": GAPS}))})
    return exit_code(results)


def _graph(opts: argparse.Namespace) -> int:
    import shutil
    import subprocess

    from entersys.model.state import Config
    from entersys.oracle import graphs

    _check_version(opts.go)
    if opts.of not in ("g-status", "p-status", "states"):
        raise UsageError(f"unknown --of {opts.of!r}; known: g-status, p-status, states")
    from entersys.oracle.protocol import PART_SETS, with_parts

    if opts.parts not in PART_SETS:
        raise UsageError(f"unknown --parts {opts.parts!r}; known: {', '.join(PART_SETS)}")
    cfg = with_parts(Config(opts.ms, opts.ps, opts.gs, go=opts.go), PART_SETS[opts.parts])
    try:
        cfg.validate()
    except ValueError as e:
        raise UsageError(str(e)) from None
    out = str(opts.out)
    svg_only = out.lower().endswith(".svg")
    dot_bin = shutil.which("dot")
    if svg_only and dot_bin is None:
        raise UsageError(f"--out {out}: writing SVG needs Graphviz `dot` (apt-get install "
                         "graphviz); write a .dot file instead")
    preflight({"--out": out})
    try:
        text = graphs.dot_for(opts.of, opts.go, cfg, max_nodes=opts.max_nodes)
    except graphs.StateGraphTooLarge as e:
        raise UsageError(str(e)) from None
    if not svg_only:
        write_text(out, text)
    if dot_bin is None:
        _say(f"wrote {out} (install Graphviz `dot` for SVG)")
        return 0
    svg_path = out if svg_only else (str(Path(out).with_suffix(".svg")) if out != "-" else None)
    if svg_path is None:
        return 0
    try:
        r = subprocess.run([dot_bin, "-Tsvg"], input=text, capture_output=True, text=True,
                           timeout=120)
    except subprocess.TimeoutExpired:
        _say(f"entersys: Graphviz dot did not finish within 120 s; {svg_path} not written")
        return EXIT_FAIL
    if r.returncode != 0 or not r.stdout.strip():
        msg = (r.stderr.strip().splitlines() or ["no output"])[0]
        _say(f"entersys: Graphviz dot failed ({msg}); {svg_path} not written")
        return EXIT_FAIL
    write_text(svg_path, r.stdout, "--out (SVG)")
    _say(f"wrote {out}" + ("" if svg_only else f" and {svg_path}"))
    return 0


def _run_groups(groups: dict, names: list[str], opts: argparse.Namespace) -> list[CheckResult]:
    from entersys.proofs.errno_stubs import StubSourceError
    from entersys.results import Counterexample, Verdict

    results: list[CheckResult] = []
    for name in names:
        try:
            results.extend(groups[name](opts))
        except StubSourceError as e:
            raise UsageError(f"cannot prove the given sources: {e}") from None
        except (KeyboardInterrupt, MemoryError):
            raise
        except Exception as e:  # noqa: BLE001 - a group that crashes is a finding
            if _is_interrupt(e):
                raise KeyboardInterrupt from e
            results.append(CheckResult(
                f"{name}.group-error", name, f"the {name} group ran to completion", "fault",
                Verdict.ERROR, Verdict.HOLDS, 0.0,
                Counterexample(summary=f"{type(e).__name__}: {e}")))
    return results

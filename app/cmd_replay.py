"""`entersys replay FILE [--check ID] [--emit-pytest DIR]`: re-runs saved protocol
counterexamples (a JSON run, or one ITF trace) against the current model, step by step
through entersys.oracle.replay, and says whether each still reproduces: every step enabled
where the trace takes it and the same property violated after the last step.

The program is rebuilt from the counterexample's replay command (`entersys explore --go V
--ms N ... [--mutant ID]`); an ITF file carries it in "#meta" when written by `--itf DIR`.
`--emit-pytest DIR` writes each as a standalone pytest test (see EMITTED_DOC).

Exit codes: 0 every counterexample reproduces; 1 one does not; 2 bad input."""

from __future__ import annotations

import argparse
import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from entersys.model.program import Program
from entersys.results import CheckResult, Counterexample, Verdict, exit_code, timed

_PROP_RE = re.compile(r"^(\S+) \((\w+)\) violated")
GROUP = "replay"


class ReplayInputError(ValueError):
    """The file holds nothing replayable; the message is one line."""


@dataclass
class Saved:
    """One counterexample to replay: where it came from, its step labels
    ("M0:exitsyscallfast.cas"), the property it violates (None: any invariant) and the
    command that rebuilds its program."""

    check: str
    labels: list[str]
    prop: str | None
    program: str
    loop: int | None = None   # a lasso's cycle starts at the state after this step


def program_from_command(command: str, faithful: bool = False) -> Program:
    """The Program an `entersys explore ...` command explores; with `faithful`, the same
    configuration without its --mutant. Raises ReplayInputError."""
    from entersys.cli import UsageError, _model_config, build_parser
    from entersys.oracle.protocol import build_program

    argv = shlex.split(command)
    if argv[:2] != ["entersys", "explore"]:
        raise ReplayInputError(f"not an `entersys explore` command: {command!r}")
    try:
        opts = build_parser().parse_args(argv[1:])
        cfg = _model_config(opts)
    except UsageError as e:
        raise ReplayInputError(f"replay command {command!r}: {e}") from None
    from entersys.model.mutants import MUTANTS

    if opts.mutant is not None and opts.mutant not in MUTANTS:
        raise ReplayInputError(f"unknown mutant {opts.mutant!r} in {command!r}")
    return build_program(cfg, opts.go, None if faithful else opts.mutant)  # type: ignore[arg-type]


def reproduces(prog: Program, labels: list[str], prop: str | None,
               loop: int | None = None) -> tuple[bool, str]:
    """(True, why) when the labels replay on `prog` with every step enabled and `prop`
    (any invariant when None) violated after the last step, or, for a lasso (`loop`, the
    step after which its cycle starts), when the cycle closes and is fair (see
    _lasso_reproduces); (False, why) otherwise."""
    from entersys.oracle.replay import ReplayError, replay

    try:
        rep = replay(prog, labels)
    except ReplayError as e:
        return False, str(e)
    if loop is not None or (prop is not None and prop.startswith("LIVE-")):
        return _lasso_reproduces(prog, rep.states, prop or "lasso", labels)
    last = sorted({inv for k, inv in rep.violated if k == len(labels)})
    if prop is None and last:
        return True, f"{', '.join(last)} violated after step {len(labels)}"
    if prop is not None and prop in last:
        return True, f"{prop} violated after step {len(labels)}"
    return False, (f"every step replays but {prop or 'no invariant'} is not violated after "
                   f"step {len(labels)}" + (f" (violated: {', '.join(last)})" if last else ""))


def _unfair(prog: Program, cycle: list[list[int]], taken: list[str]) -> str | None:
    """Why the cycle is not fair under the explorer's own fairness classes
    (entersys.oracle.liveness.prepare): it takes an environment step, a strongly fair
    class enabled somewhere on it is never taken, or a weakly fair actor enabled in every
    state of it never steps; None when the cycle is fair."""
    found = unfair_classes(prog, cycle, taken)
    return found[0][1] if found else None


def unfair_classes(prog: Program, cycle: list[list[int]],
                   taken: list[str]) -> list[tuple[int | None, str]]:
    """Every reason the cycle (states, first = last; `taken` the labels between them) is
    not fair under liveness.prepare's classes, as (class number, why): None for an
    environment step (the cycle starts a new round), then every strongly fair class
    enabled somewhere and never taken, then every weakly fair actor enabled in every state
    and never stepping. [] when the cycle is fair."""
    from entersys.model.ops import CONCRETE
    from entersys.model.state import View
    from entersys.oracle import liveness as lv
    from entersys.oracle.explore import Explorer

    ex = Explorer(prog, symmetry=False, invariants=[], engine="interpreted")
    lv.prepare(ex)
    weak, strong, env = lv._masks(ex)
    by_label = {inst.label: inst for inst in prog.instances()}
    done = {ex.actor_of[by_label[lab]] for lab in taken if lab in by_label}
    # the environment's new rounds (a GC cycle's stop-the-world, a forEachP) may start a
    # stall but not keep it going: no fair cycle uses them (liveness.ENV_STEPS)
    for lab in taken:
        if lab in by_label and (1 << ex.actor_of[by_label[lab]]) & env:
            return [(None, f"it starts a new round by the environment's {lab}")]
    # a class also steps where one of its instances makes the very step the cycle makes
    # (the explorer's graph keeps one edge per successor state, whichever class labels it)
    enabled: list[int] = []
    first: dict[int, str] = {}  # a class's first instance enabled on the cycle
    for k, st in enumerate(cycle[:-1]):
        view = View(prog.layout, CONCRETE, st.__getitem__)
        here = 0
        for inst in prog.instances():
            a = ex.actor_of[inst]
            if (1 << a) & env:
                continue
            guard, writes = prog.apply(inst, view)
            if not guard or all(st[i] == val for i, val in writes.items()):
                continue
            here |= 1 << a
            first.setdefault(a, inst.label)
            if all(cycle[k + 1][i] == val for i, val in writes.items()) and \
                    all(cycle[k + 1][i] == st[i] for i in range(len(st)) if i not in writes):
                done.add(a)
        enabled.append(here)
    anywhere = 0
    for here in enabled:
        anywhere |= here
    out: list[tuple[int | None, str]] = []
    for a in range(len(ex.actor_names)):
        if anywhere & strong & (1 << a) and a not in done:
            out.append((a, f"{first[a]} is enabled on the cycle but never steps"))
    always = 0
    if enabled:
        always = enabled[0]
        for here in enabled[1:]:
            always &= here
    out += [(a, f"{ex.actor_names[a]} never steps") for a in range(len(ex.actor_names))
            if always & weak & (1 << a) and a not in done]
    return out


def _lasso_reproduces(prog: Program, states: list[list[int]], prop: str,
                      labels: list[str]) -> tuple[bool, str]:
    """A liveness lasso replays when its last state closes a cycle (it occurred earlier in
    the trace), or when only a new GC round could step from it (a permanent stall)."""
    from entersys.model.ops import CONCRETE
    from entersys.model.state import View
    from entersys.oracle.explore import normalize_ticks
    from entersys.oracle.liveness import env_steps

    env = env_steps(prog)
    norm = []
    for st in states:  # ticks compare as "same as the P's / older", as the explorer does
        n = list(st)
        normalize_ticks(prog.layout, n)
        norm.append(n)
    last = states[-1]
    if norm[-1] in norm[:-1]:
        start = norm.index(norm[-1])
        unfair = _unfair(prog, states[start:], labels[start:])
        if unfair:
            return False, f"{prop}: the cycle closes but is not fair ({unfair})"
        return True, f"{prop}: the cycle closes at step {start} and is fair"
    view = View(prog.layout, CONCRETE, last.__getitem__)
    for inst in prog.instances():
        if inst.step.name in env:
            continue
        guard, writes = prog.apply(inst, view)
        if guard and any(last[k] != val for k, val in writes.items()):
            return False, f"{prop}: the lasso does not close ({inst.label} can still step)"
    return True, f"{prop}: only a new GC round can step after step {len(states) - 1}"


_HYP_CONFIG = re.compile(r"^(\d+)m(\d+)p(\d+)g (\w+)$")
_HYP_ID = re.compile(r"\.go(\d+\.\d+)\.([\w-]+)\.hypothesis$")


def _hypothesis_program(r: dict[str, Any]) -> tuple[str, str | None]:
    """(explore command, property) of a Hypothesis machine's record (`mutants
    --hypothesis`), whose trace carries no replay command: its details name the
    configuration ("4m3p6g full") and the invariant."""
    d = r.get("details") or {}
    c, i = _HYP_CONFIG.match(str(d.get("config", ""))), _HYP_ID.search(str(r["id"]))
    if not c or not i:
        return "", None
    return (f"entersys explore --go {i.group(1)} --ms {c.group(1)} --ps {c.group(2)} "
            f"--gs {c.group(3)} --parts {c.group(4)} --mutant {i.group(2)}",
            d.get("invariant"))


def _from_json(doc: dict[str, Any]) -> list[Saved]:
    out = []
    for r in doc["results"]:
        cex = r.get("counterexample") or {}
        if not cex.get("trace"):
            continue
        m = _PROP_RE.match(cex.get("summary", ""))
        program, prop = str(cex.get("replay") or ""), m.group(1) if m else None
        if not program and r.get("kind") == "hypothesis":
            program, prop = _hypothesis_program(r)
        loop = (cex.get("itf") or {}).get("loop")
        out.append(Saved(str(r["id"]), [f"{s['actor']}:{s['step']}" for s in cex["trace"]],
                         prop, program, loop if isinstance(loop, int) else None))
    return out


def _from_itf(doc: dict[str, Any], name: str) -> Saved:
    meta = doc.get("#meta", {})
    m = _PROP_RE.match(str(meta.get("summary", "")))
    labels = [str(s["#meta"]["action"]) for s in doc["states"][1:]]
    loop = doc.get("loop")
    return Saved(str(meta.get("check", name)), labels, m.group(1) if m else None,
                 str(meta.get("replay", "")), loop if isinstance(loop, int) else None)


def load(path: Path) -> list[Saved]:
    """The counterexamples of a JSON run or an ITF file. Raises ReplayInputError."""
    try:
        doc = json.loads(path.read_text())
    except OSError as e:
        raise ReplayInputError(f"cannot read {path}: {e.strerror}") from None
    except ValueError as e:
        raise ReplayInputError(f"{path} is not JSON: {e}") from None
    try:
        if isinstance(doc, dict) and isinstance(doc.get("results"), list):
            return _from_json(doc)
        if isinstance(doc, dict) and isinstance(doc.get("states"), list):
            return [_from_itf(doc, path.name)]
    except (KeyError, TypeError) as e:
        raise ReplayInputError(f"{path}: a trace of another shape ({type(e).__name__}: "
                               f"{e})") from None
    raise ReplayInputError(f"{path} is neither an entersys JSON run nor an ITF trace")


def replay_result(s: Saved) -> CheckResult:
    """One record: verdict REFUTED when the counterexample reproduces (as expected)."""
    title = f"the counterexample of {s.check} reproduces on the current model"
    with timed() as t:
        if not s.program:
            return CheckResult(f"{GROUP}.{s.check}", GROUP, title, "replay", Verdict.ERROR,
                               Verdict.REFUTED, t(), Counterexample(
                                   "no replay command to rebuild the program from (give "
                                   "--program 'entersys explore ...')"))
        try:
            prog = program_from_command(s.program)
        except ReplayInputError as e:
            return CheckResult(f"{GROUP}.{s.check}", GROUP, title, "replay", Verdict.ERROR,
                               Verdict.REFUTED, t(), Counterexample(str(e)))
        ok, why = reproduces(prog, s.labels, s.prop, s.loop)
    cex = Counterexample(f"{len(s.labels)} steps: {why}", replay=s.program) if ok else None
    return CheckResult(f"{GROUP}.{s.check}", GROUP, title, "replay",
                       Verdict.REFUTED if ok else Verdict.HOLDS, Verdict.REFUTED, t(), cex,
                       {"steps": len(s.labels), "property": s.prop, "program": s.program,
                        "outcome": why})


EMITTED_DOC = """It replays the counterexample's steps on the program it was found on and
asserts that the property is violated after the last step. It passes on that program and
fails on the faithful model (set ENTERSYS_REPLAY_PROGRAM=faithful to run it there)."""

_TEMPLATE = '''"""Regression test emitted by `entersys replay --emit-pytest` from {check}.

{doc}
Program: {program}"""

import os

from entersys.cmd_replay import program_from_command, reproduces

CHECK = {check!r}
PROGRAM = {program!r}
PROPERTY = {prop!r}
LOOP = {loop!r}
LABELS = [
{labels}
]


def test_counterexample_reproduces():
    faithful = os.environ.get("ENTERSYS_REPLAY_PROGRAM") == "faithful"
    ok, why = reproduces(program_from_command(PROGRAM, faithful=faithful), LABELS, PROPERTY,
                         LOOP)
    assert ok, f"{{CHECK}} no longer reproduces: {{why}}"
'''


def emit_pytest(s: Saved, directory: Path) -> Path:
    """Write the counterexample as DIR/test_replay_<check>.py; returns its path.
    Raises OSError."""
    from entersys.output import write_text

    directory.mkdir(parents=True, exist_ok=True)
    name = "test_replay_" + re.sub(r"\W", "_", s.check) + ".py"
    text = _TEMPLATE.format(check=s.check, doc=EMITTED_DOC, program=s.program, prop=s.prop,
                            loop=s.loop,
                            labels="\n".join(f"    {lab!r}," for lab in s.labels))
    path = directory / name
    write_text(path, text, "--emit-pytest")
    return path


def add_parser(sub: Any) -> None:
    p = sub.add_parser("replay", help="re-run saved counterexamples (JSON run or ITF) "
                       "against the current model")
    p.add_argument("file", type=Path, metavar="FILE", help="a --format json run or an ITF trace")
    p.add_argument("--check", action="append", metavar="ID", help="only this check's trace")
    p.add_argument("--program", metavar="COMMAND",
                   help="the `entersys explore ...` command whose program to replay on "
                        "(default: the counterexample's own replay command)")
    p.add_argument("--emit-pytest", type=Path, metavar="DIR",
                   help="also write each as a standalone pytest test into DIR")
    p.add_argument("--format", default="text", help="text, json, sarif, junit or html")
    p.add_argument("--out", metavar="FILE", help="write the report to FILE; - is stdout")


def run(opts: argparse.Namespace, command: str) -> int:
    from entersys.cli import UsageError
    from entersys.report import RENDERERS

    if opts.format not in RENDERERS:
        raise UsageError(f"unknown format {opts.format!r}; known: {', '.join(RENDERERS)}")
    try:
        saved = load(opts.file)
    except ReplayInputError as e:
        raise UsageError(str(e)) from None
    if opts.check:
        missing = [c for c in opts.check if c not in {s.check for s in saved}]
        if missing:
            raise UsageError(f"no counterexample of {missing[0]!r} in {opts.file}")
        saved = [s for s in saved if s.check in opts.check]
    if not saved:
        raise UsageError(f"{opts.file} holds no counterexample trace")
    if opts.program:
        for s in saved:
            s.program = opts.program
    from entersys.output import OutputError, preflight, write_text

    preflight({"--out": opts.out})
    results = [replay_result(s) for s in saved]
    if opts.emit_pytest is not None:
        try:
            for s in saved:
                emit_pytest(s, opts.emit_pytest)
        except OSError as e:
            raise OutputError(f"cannot write --emit-pytest {opts.emit_pytest}: "
                              f"{e.strerror or e}") from None
    write_text(opts.out or "-", RENDERERS[opts.format](results, command, None), "--out")
    return exit_code(results)

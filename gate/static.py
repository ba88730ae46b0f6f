"""The gate's static checks of one Go tree: detection, statement extraction and mapping,
and the model explored on the tree's own statement order (every invariant, deadlock and
progress), with counterexample steps citing the tree's file:line."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from entersys.gate.detect import DESIGN_TITLES, Tree
from entersys.gate.extract import goparse
from entersys.gate.mapping import designs, functions
from entersys.gate.order import TreeOrder, read_order, tree_program
from entersys.model.program import Program
from entersys.model.state import Config
from entersys.oracle.explore import Explorer
from entersys.oracle.protocol import PART_SETS, VERIFY_CONFIGS
from entersys.results import CheckResult, Counterexample, Verdict, timed

GROUP = "gate"


def detect_record(tree: Tree, seconds: float) -> CheckResult:
    return CheckResult(
        f"{GROUP}.detect", GROUP,
        f"{tree.root}: {tree.version}, {DESIGN_TITLES[tree.design]}", "detect",
        Verdict.HOLDS, Verdict.HOLDS, seconds, None,
        {"root": str(tree.root), "version": tree.version, "design": tree.design,
         "model_version": tree.model_go})


def read_tree(tree: Tree, proc_go: Path | None = None, cite: str | None = None
              ) -> tuple[dict, TreeOrder | None]:
    """goparse output for the tree's proc.go (or `proc_go`, a mutated copy) and, when the
    design has a mapping, its TreeOrder. `cite` is the file name used in citations."""
    design = designs()[tree.design]
    src = proc_go or tree.proc_go
    parsed = goparse(tree.root, src, functions(design))
    if not design.rules or tree.model_go is None:
        return parsed, None
    base = model_program(tree.model_go)
    order = read_order(design, parsed, cite or str(src), base.routines,
                       design_module(base).ALTERNATIVES)
    return parsed, order


ONE = Config(1, 1, 1)


def model_program(go: str, cfg: Config = ONE) -> Program:
    """The faithful Program of model version `go` on `cfg`."""
    return Program(replace(cfg, go=go), go=go)


def design_module(prog: Program) -> Any:
    """The module with the routines, alternatives and places of `prog`'s design."""
    mod = getattr(prog, "module", None)
    if mod is not None:
        return mod
    from entersys.model import steps

    return steps


def extract_record(tree: Tree, parsed: dict, order: TreeOrder | None, seconds: float
                   ) -> CheckResult:
    counts = {f: len(v["stmts"]) for f, v in parsed["funcs"].items()}
    details: dict[str, Any] = {"file": parsed["file"], "statements": counts}
    title = (f"statements of the syscall path of {tree.version}'s runtime/proc.go extracted "
             "with the tree's own go/parser")
    if order is None:
        details["mapping"] = "none yet for this design"
        return CheckResult(f"{GROUP}.extract", GROUP, title, "extract", Verdict.HOLDS,
                           Verdict.HOLDS, seconds, None, details)
    bad = order.unclassified + order.misplaced
    classes: dict[str, int] = {}
    for cl in order.entries.values():
        for c in cl:
            key = c.cls if c.cls in ("aux", "call", "") else "step"
            classes[key or "unclassified"] = classes.get(key or "unclassified", 0) + 1
    details["classified"] = classes
    details["aux"] = sorted({f"{c.stmt.line}: {c.stmt.text[:60]} ({c.reason})"
                             for cl in order.entries.values() for c in cl
                             if c.cls == "aux" and not c.reason.startswith("inside")})
    cex = None
    if bad:
        cex = Counterexample(
            summary=f"{len(order.unclassified)} statement(s) no mapping rule covers, "
                    f"{len(order.misplaced)} step statement(s) outside their routine",
            values={f"{order.file}:{c.stmt.line}": f"{c.stmt.func}: {c.stmt.text[:100]}"
                    for c in bad},
            replay=f"entersys gate {tree.root}")
    return CheckResult(f"{GROUP}.extract", GROUP, title + ", every statement mapped",
                       "extract", Verdict.UNKNOWN if bad else Verdict.HOLDS, Verdict.HOLDS,
                       seconds, cex, details)


def order_record(tree: Tree, order: TreeOrder, faithful: Program) -> CheckResult:
    """The tree's routine orders against the model's (information: the explorer judges)."""
    diffs: dict[str, Any] = {}
    orders: dict[str, list[str]] = {}
    for routine, (seq, _) in faithful.routines.items():
        got = order.sequence(routine)
        orders[routine] = [f"{s} @ {order.where(s).rsplit(':', 1)[1]}" for s in got]
        if got != seq or order.missing.get(routine):
            diffs[routine] = {"model": seq, "tree": got,
                              "missing": order.missing.get(routine, [])}
    details = {"routines": orders, "differs_from_model": diffs, "split_steps": order.split}
    return CheckResult(f"{GROUP}.order", GROUP,
                       "routine orders read from the tree ("
                       + ("same as the model's" if not diffs else
                          f"{len(diffs)} routine(s) differ from the model's") + ")",
                       "order", Verdict.HOLDS, Verdict.HOLDS, 0.0, None, details)


def order_diff(order: TreeOrder, faithful: Program) -> list[str]:
    """Where the tree's routines first differ from the model's, citing file:line."""
    out = []
    for routine, (seq, _) in faithful.routines.items():
        got = order.sequence(routine)
        missing = order.missing.get(routine, [])
        if missing:
            out.append(f"{routine} lacks {', '.join(missing)}")
        got = [g for g in got if g not in missing]
        want = [w for w in seq if w not in missing]
        for k, (a, b) in enumerate(zip(got, want)):
            if a != b:
                out.append(f"{routine} step {k + 1} is {a} ({order.where(a)}) where the "
                           f"model has {b}")
                break
        else:
            if len(got) > len(want):
                out.append(f"{routine} repeats {got[len(want)]} ({order.where(got[len(want)])})")
    return out


def _tag(cfg: Config) -> str:
    full = all(getattr(cfg, p) for p in PART_SETS["full"])
    return f"{cfg.ms}m{cfg.ps}p{cfg.gs}g" + ("" if full else ".core")


def explore_tree(tree: Tree, order: TreeOrder, cfg: Config, expected: Verdict,
                 rid: str, replay: str, title: str) -> CheckResult:
    """Explore the tree's Program on `cfg`; a counterexample's steps cite file:line."""
    assert tree.model_go is not None
    with timed() as t:
        base = model_program(tree.model_go, cfg)
        prog = tree_program(base, order)
        ex = Explorer(prog)
        res = ex.run(max_states=2_000_000)
    cex = None
    if res.violations:
        verdict = Verdict.REFUTED
        rules = {n: s.rule for n, s in prog.steps.items()}
        cex = ex.counterexample(res, res.violations[0], replay, rules)
        for stp in cex.trace:
            name = stp.step.split("(")[0]
            at = order.where(name)
            if at:
                stp.rule = f"{stp.rule}; {at}" if stp.rule else at
        diff = order_diff(order, base)
        if diff:
            cex.summary += "; the tree's order: " + "; ".join(diff)
        cex.itf = None if cex.itf is None else {**cex.itf, "#meta": {
            **cex.itf["#meta"], "source": f"entersys gate {tree.root}"}}
    elif not res.complete:
        verdict = Verdict.UNKNOWN
    else:
        verdict = Verdict.HOLDS
    details = {"states": res.states, "transitions": res.transitions, "depth": res.depth,
               "complete": res.complete, "model_version": tree.model_go,
               "violated": [v.property for v in res.violations],
               "program": "model order" if prog is base else "the tree's order"}
    return CheckResult(rid, GROUP, title, "explore", verdict, expected, t(), cex, details)


def model_records(tree: Tree, order: TreeOrder) -> list[CheckResult]:
    """The tree's order explored on the configurations `entersys verify` uses."""
    out = []
    for cfg in VERIFY_CONFIGS:
        out.append(explore_tree(
            tree, order, cfg, Verdict.HOLDS, f"{GROUP}.model.{_tag(cfg)}",
            f"entersys gate {tree.root}",
            f"{tree.version}'s statement order through the Go {tree.model_go} model, "
            f"{cfg.ms} Ms / {cfg.ps} Ps / {cfg.gs} Gs: every invariant, no deadlock, "
            "progress"))
    return out


def not_available_record(tree: Tree) -> CheckResult:
    return CheckResult(
        f"{GROUP}.model", GROUP, f"{tree.version}'s statement order through the model",
        "explore", Verdict.UNKNOWN, Verdict.HOLDS, 0.0,
        Counterexample(summary=f"not yet available: entersys has no model steps for the "
                               f"{DESIGN_TITLES[tree.design]} yet, so its statements "
                               "cannot be mapped or explored"),
        {"design": tree.design})


def static_records(tree: Tree) -> list[CheckResult]:
    """Extraction, mapping, order and model records of `tree` (detection excluded)."""
    with timed() as t:
        parsed, order = read_tree(tree, cite=str(Path("src/runtime/proc.go")))
    out = [extract_record(tree, parsed, order, t())]
    if order is None:
        out.append(not_available_record(tree))
        return out
    assert tree.model_go is not None
    out.append(order_record(tree, order, model_program(tree.model_go)))
    out.extend(model_records(tree, order))
    return out

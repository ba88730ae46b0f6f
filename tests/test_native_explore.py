"""The native explorer (C generated from the steps' Z3 terms) against the Python engine:
the same state, transition and depth counts and verdicts on small configurations, for the
faithful model and for mutants; the same results on one and on two threads; mutant
counterexamples that replay through the steps; the edges of an exhaustive run."""

from __future__ import annotations

import pytest
from conftest import program
from entersys.model.mutants import MUTANTS, for_version
from entersys.model.state import Config
from entersys.oracle.explore import Explorer
from entersys.oracle.native_explore import NativeExplorer, build
from entersys.oracle.protocol import MUTANT_CONFIG, PART_SETS, explore, with_parts
from entersys.oracle.replay import replay
from entersys.results import Verdict


def _counts(res) -> tuple:
    return (res.states, res.transitions, res.depth, res.complete,
            [v.property for v in res.violations])


@pytest.mark.parametrize("cfg", [Config(1, 1, 1), Config(2, 1, 1, go="1.14"),
                                 with_parts(Config(2, 1, 2), PART_SETS["core"])],
                         ids=["full-1m1p1g", "full-2m1p1g-go1.14", "core-2m1p2g"])
def test_native_and_python_engines_agree(cfg: Config) -> None:
    prog = program(cfg.ms, cfg.ps, cfg.gs, cfg.go,
                   **{p: getattr(cfg, p) for p in ("stw", "foreachp", "gc", "sysmon",
                                                   "blockhint", "raw")})
    py = Explorer(prog).run()
    nat = NativeExplorer(prog).run()
    assert _counts(nat) == _counts(py)
    assert py.complete and py.violations == []
    assert nat.packed_bytes < len(prog.layout)  # packed below one byte a field


def test_native_without_symmetry_agrees() -> None:
    prog = program(2, 1, 1, foreachp=False, gc=False, blockhint=False, raw=False)
    py = Explorer(prog, symmetry=False).run()
    nat = NativeExplorer(prog, symmetry=False).run()
    assert _counts(nat) == _counts(py)
    assert NativeExplorer(prog).run().states < nat.states


@pytest.mark.slow
def test_two_threads_give_the_same_run() -> None:
    prog = program(2, 2, 1, foreachp=False, gc=False, blockhint=False, raw=False)
    one_ex = NativeExplorer(prog, threads=1)
    one = one_ex.run()
    two = NativeExplorer(prog, threads=2)
    res = two.run()
    assert _counts(res) == _counts(one)
    assert res.states > 100_000
    # same ids in the same BFS order, whatever the number of threads
    assert [two.state(k) for k in (1, res.states // 2, res.states - 1)] == \
        [one_ex.state(k) for k in (1, res.states // 2, res.states - 1)]


@pytest.mark.slow
@pytest.mark.parametrize("go,mid", [("1.25", m) for m in for_version("1.25")]
                         + [("1.14", m) for m in for_version("1.14")
                            if m not in for_version("1.25")])
def test_native_kills_every_mutant_like_python(go: str, mid: str) -> None:
    cfg = MUTANTS[mid].config or MUTANT_CONFIG
    py = explore(cfg, go, mid).result
    nat = explore(cfg, go, mid, engine="native")
    rec = nat.result
    if MUTANTS[mid].equivalent:  # recorded as equivalent in the model: both engines agree
        assert rec.verdict == Verdict.HOLDS == py.verdict
        return
    assert rec.verdict == Verdict.REFUTED == py.verdict
    # the same properties violated (the Python engine may list one per violating state)
    assert sorted(set(rec.details["violated"])) == sorted(set(py.details["violated"]))
    assert rec.details["killed_by"] == py.details["killed_by"]
    assert rec.details["trace_length"] == py.details["trace_length"]
    # the trace is a real run of the mutant's steps from the initial state
    trace = [step.actor + ":" + step.step for step in rec.counterexample.trace]
    rp = replay(nat.explorer.prog, trace)  # raises if a step is not enabled
    assert len(rp.states) == len(trace) + 1
    first = rec.details["killed_by"]
    if first in {inv.id for inv in nat.explorer.invariants}:
        assert (len(trace), first) in rp.violated


def test_native_finds_a_deadlock() -> None:
    prog = program(1, 1, 1)
    steps = dict(prog.steps)
    del steps["stw.start"]
    broken = prog.mutated("no-start-the-world", steps=steps)
    res = NativeExplorer(broken).run()
    assert [v.property for v in res.violations] == ["DEADLOCK"]
    assert res.violations[0].kind == "progress"
    assert Explorer(broken).run().violations[0].property == "DEADLOCK"


def test_edges_of_an_exhaustive_run() -> None:
    prog = program(1, 1, 1, foreachp=False, gc=False, blockhint=False, raw=False)
    ex = NativeExplorer(prog)
    res = ex.run()
    edges = list(res.edge_list())
    assert len(edges) == res.transitions
    labels = {i.label for i in prog.instances()}
    assert all(0 <= a < res.states and 0 <= b < res.states and lab in labels
               for a, b, lab in edges)
    assert {a for a, _, _ in edges} == set(range(res.states)) - {
        ex.lib.es_zero(ex.handle, k) for k in range(ex.lib.es_nzero(ex.handle))}


def test_progress_reports_and_cache() -> None:
    prog = program(2, 1, 1, foreachp=False, gc=False, blockhint=False, raw=False)
    seen: list[dict] = []
    ex = NativeExplorer(prog)
    res = ex.run(on_progress=seen.append)
    assert seen and seen[-1]["states"] == res.states
    assert {"states", "depth", "states_per_second", "bytes", "rss"} <= set(seen[-1])
    assert build(ex.source) == ex.library  # cached by the hash of the source


@pytest.mark.parametrize("args,needle", [
    (("--engine", "tla"), "unknown --engine"),
    (("--bitstate",), "--bitstate needs --engine spin"),
    (("--cores", "0"), "--cores"),
])
def test_engine_options_bad_input_exit_2(cli, args, needle) -> None:
    r = cli("explore", "--ms", "1", "--ps", "1", "--gs", "1", *args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], r.stderr


def test_cli_explore_native_json(cli) -> None:
    import json

    r = cli("explore", "--go", "1.25", "--ms", "2", "--ps", "1", "--gs", "1", "--cores", "2",
            "--liveness", "off", "--format", "json")
    assert r.returncode == 0, r.stderr
    [rec] = json.loads(r.stdout)["results"]
    py = Explorer(program(2, 1, 1, "1.25", foreachp=False, gc=False, blockhint=False,
                          raw=False, secret=False)).run()
    assert rec["details"]["engine"] == "native" and rec["details"]["cores"] == 2
    assert rec["details"]["states"] == py.states and rec["verdict"] == "holds"


def test_state_cap_cuts_the_same_run_on_any_threads() -> None:
    """A run cut by max-states mid-batch (pending slots of the partitioned visited set left
    unresolved) numbers its states exactly as the uncut run does, on one or two threads."""
    prog = program(2, 1, 1, foreachp=False, gc=False, blockhint=False, raw=False)
    full_ex = NativeExplorer(prog, threads=2)
    full = full_ex.run(progress=False)
    assert full.complete and full.states > 3000
    cap = full.states // 3 + 7
    for threads in (1, 2):
        ex = NativeExplorer(prog, threads=threads)
        cut = ex.run(max_states=cap, progress=False)
        assert cut.states == cap and not cut.complete
        assert [ex.state(k) for k in range(0, cap, 97)] == \
            [full_ex.state(k) for k in range(0, cap, 97)]

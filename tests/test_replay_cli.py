"""`entersys replay`: every counterexample of the mutant catalog (both Go versions, JSON
and ITF) reproduces on its own program and not on the faithful one; an emitted pytest test
passes on the mutant's program and fails on the faithful one."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from entersys.cmd_replay import Saved, load, program_from_command, replay_result, reproduces
from entersys.oracle.protocol import mutant_results
from entersys.report.json_out import render_json
from entersys.results import Status, Verdict


@pytest.fixture(scope="module", params=["1.14", "1.25"])
def catalog(request, tmp_path_factory):
    path = tmp_path_factory.mktemp("replay") / f"mutants-{request.param}.json"
    path.write_text(render_json(mutant_results(request.param), "entersys mutants"))
    return path


@pytest.mark.slow
def test_every_mutant_counterexample_reproduces(catalog) -> None:
    saved = load(catalog)
    doc = json.loads(catalog.read_text())
    # a mutant recorded as equivalent in the model holds: it has no counterexample
    applicable = [r for r in doc["results"] if r["status"] != "skipped"
                  and not r["details"].get("equivalent")]
    assert len(saved) == len(applicable) >= 13
    for s in saved:
        rec = replay_result(s)
        assert rec.verdict == Verdict.REFUTED and rec.status == Status.PASS, rec.details
        # and the faithful model does not exhibit it (a lasso's fairness is not re-checked
        # by replay, so only safety traces are held to this)
        if s.loop is None:
            ok, why = reproduces(program_from_command(s.program, faithful=True), s.labels,
                                 s.prop)
            assert not ok, (s.check, why)


def test_cut_trace_does_not_reproduce(catalog) -> None:
    s = load(catalog)[0]
    cut = Saved(s.check, s.labels[:-1], s.prop, s.program)
    assert replay_result(cut).status == Status.FAIL
    bad = Saved(s.check, ["M0:no-such-step", *s.labels], s.prop, s.program)
    rec = replay_result(bad)
    assert rec.verdict == Verdict.HOLDS and "no step instance" in rec.details["outcome"]


@pytest.mark.slow
def test_replay_cli_json_and_itf_dir(cli, tmp_path) -> None:
    itf = tmp_path / "itf"
    saved = tmp_path / "m.json"
    r = cli("mutants", "--go", "1.25", "--format", "json", "--out", str(saved),
            "--itf", str(itf))
    assert r.returncode == 0, r.stderr
    n = len([r for r in json.loads(saved.read_text())["results"] if r["counterexample"]])
    files = sorted(itf.glob("*.itf.json"))
    assert len(files) == n
    r = cli("replay", str(saved), "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert len(doc["results"]) == n and doc["summary"]["pass"] == n
    r = cli("replay", str(files[0]))
    assert r.returncode == 0, r.stdout + r.stderr
    # the same ITF on the faithful program: every step of a mutant's trace need not even
    # be enabled there; it must not reproduce
    meta = json.loads(files[0].read_text())["#meta"]
    faithful = meta["replay"].split(" --mutant")[0]
    r = cli("replay", str(files[0]), "--program", faithful)
    assert r.returncode == 1, r.stdout


@pytest.mark.slow
def test_emitted_pytest_passes_on_mutant_fails_on_faithful(cli, tmp_path) -> None:
    saved = tmp_path / "m.json"
    r = cli("mutants", "--go", "1.25", "--only", "R7-store-first", "--format", "json",
            "--out", str(saved))
    assert r.returncode == 0, r.stderr
    out = tmp_path / "emitted"
    r = cli("replay", str(saved), "--emit-pytest", str(out))
    assert r.returncode == 0, r.stderr
    (test_file,) = out.glob("test_replay_*.py")
    base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)]
    env = {k: v for k, v in os.environ.items() if k != "ENTERSYS_REPLAY_PROGRAM"}
    on_mutant = subprocess.run(base, capture_output=True, text=True, cwd=tmp_path, env=env)
    assert on_mutant.returncode == 0, on_mutant.stdout
    env["ENTERSYS_REPLAY_PROGRAM"] = "faithful"
    on_faithful = subprocess.run(base, capture_output=True, text=True, cwd=tmp_path, env=env)
    assert on_faithful.returncode == 1, on_faithful.stdout
    assert "no longer reproduces" in on_faithful.stdout


@pytest.mark.parametrize("content,msg", [("[]", "neither"), ('{"results": []}', "no counter"),
                                         ('{"states": [{}, {"x": 1}]}', "another shape")])
def test_replay_bad_input_exit_2(cli, tmp_path, content, msg) -> None:
    f = tmp_path / "bad.json"
    f.write_text(content)
    r = cli("replay", str(f))
    assert r.returncode == 2 and msg in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_hypothesis_record_rebuilds_its_program(catalog) -> None:
    """A Hypothesis machine's record has no replay command: its details' configuration
    and invariant rebuild the program (here an explorer trace dressed as one)."""
    from entersys.cmd_replay import _from_json

    doc = json.loads(catalog.read_text())
    r = next(x for x in doc["results"] if x["counterexample"])
    cex = dict(r["counterexample"], replay=None,
               summary=f"{r['details']['violated'][0]} violated after some random steps")
    hyp = dict(r, id=r["id"] + ".hypothesis", kind="hypothesis", counterexample=cex,
               details={"config": "1m1p1g full", "invariant": r["details"]["violated"][0]})
    (s,) = _from_json({"results": [hyp]})
    assert s.program.startswith("entersys explore --go ") and "--ms 1 --ps 1 --gs 1" in s.program
    assert s.program.endswith(f"--parts full --mutant {r['id'].split('.')[-1]}")
    assert replay_result(s).status == Status.PASS


def test_unfair_cycle_names_the_enabled_instance() -> None:
    """Replay's fairness judgement names the instance of the starved class that is enabled
    on the cycle (not merely the class's first instance): a cycle of M0's syscalls alone
    at 1/1/1 starves sysmon, and the named step's guard holds in a state of the cycle."""
    import re as re_

    from entersys.cmd_replay import _unfair
    from entersys.model.ops import CONCRETE
    from entersys.model.program import Program
    from entersys.model.state import Config, View, initial_state
    from entersys.oracle.explore import normalize_ticks

    prog = Program(Config(1, 1, 1, go="1.25"), go="1.25")

    def key(x: list[int]) -> tuple[int, ...]:
        n = list(x)
        normalize_ticks(prog.layout, n)
        return tuple(n)

    s = list(initial_state(prog.layout, prog.labels))
    seen, states, labels = {key(s): 0}, [s], []
    m0 = [i for i in prog.instances() if i.m == 0]
    for _ in range(300):  # M0 alone, always its first enabled step, until a state repeats
        view = View(prog.layout, CONCRETE, s.__getitem__)
        inst, writes = next((i, w) for i in m0 for g, w in [prog.apply(i, view)]
                            if g and any(s[k] != x for k, x in w.items()))
        s = list(s)
        for k, x in writes.items():
            s[k] = x
        labels.append(inst.label)
        states.append(s)
        if key(s) in seen:
            break
        seen[key(s)] = len(states) - 1
    start = seen[key(s)]
    why = _unfair(prog, states[start:], labels[start:])
    assert why is not None and why.startswith("sysmon:"), why
    named = re_.match(r"(\S+) is enabled on the cycle", why)
    assert named, why
    inst = next(i for i in prog.instances() if i.label == named.group(1))
    assert any(prog.apply(inst, View(prog.layout, CONCRETE, st.__getitem__))[0]
               for st in states[start:-1]), why

"""SPIN swarm (entersys.oracle.spin_swarm): diversified jobs; run here, any counterexample
wins and replays through our steps; emitted as a directory whose swarm.sh runs anywhere and
whose outputs merge back. Also a mutant's SPIN trail replays for the Go 1.26+ design."""

from __future__ import annotations

import json
import subprocess

import pytest
from entersys.oracle.protocol import MUTANT_CONFIG, explore
from entersys.oracle.replay import replay
from entersys.oracle.spin_swarm import plan
from entersys.results import Verdict


def test_plan_diversifies_and_is_reproducible() -> None:
    jobs = plan(6, seed=3)
    assert plan(6, seed=3) == jobs and plan(6, seed=4) != jobs
    seeds = {a for j in jobs for a in j.args if a.startswith("-RS")}
    assert len(seeds) == 6
    assert any("-DT_RAND" in j.flags for j in jobs)
    assert any("-t_reverse" in j.args for j in jobs)
    assert len({a for j in jobs for a in j.args if a.startswith("-m")}) >= 2


@pytest.mark.slow
def test_local_swarm_finds_and_replays_a_mutant() -> None:
    run = explore(MUTANT_CONFIG, "1.25", "R7-store-first", engine="spin",
                  spin_options={"swarm": 2, "swarm_seconds": 60.0}, cores=2)
    rec = run.result
    assert rec.verdict == Verdict.REFUTED, rec.counterexample
    sw = rec.details["swarm"]
    assert sw["jobs"] == 2 and sw["winner"] is not None
    trace = [s.actor + ":" + s.step for s in rec.counterexample.trace]
    rp = replay(run.explorer.prog, trace)
    assert (len(trace), rec.details["violated"][0]) in rp.violated


@pytest.mark.slow
def test_emitted_swarm_runs_elsewhere_and_merges(cli, tmp_path) -> None:
    d = tmp_path / "swarm"
    base = ["explore", "--go", "1.25", "--ms", "1", "--ps", "1", "--gs", "1", "--parts",
            "full", "--mutant", "R7-store-first", "--engine", "spin", "--swarm", "2",
            "--format", "json"]
    r = cli(*base, "--swarm-dir", str(d))
    assert r.returncode == 3, r.stderr  # nothing verified yet: inconclusive
    assert json.loads((d / "jobs.json").read_text())["jobs"][1]["number"] == 1
    p = subprocess.run(["sh", str(d / "swarm.sh"), "0"], capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, p.stderr
    assert (d / "out" / "job0.txt").exists() and not (d / "out" / "job1.txt").exists()
    r = cli(*base, "--swarm-merge", str(d))
    assert r.returncode == 0, r.stderr  # the mutant is refuted, as expected
    [rec] = json.loads(r.stdout)["results"]
    assert rec["verdict"] == "refuted" and rec["details"]["swarm"]["winner"] == 0
    assert rec["details"]["swarm"]["states_per_job"][1] == 0  # job 1 never ran
    assert rec["counterexample"]["trace"]


@pytest.mark.slow
def test_a_scanbit_mutant_trail_replays_through_our_steps() -> None:
    run = explore(MUTANT_CONFIG, "1.27", "N3-plain-store", engine="spin")
    rec = run.result
    assert rec.verdict == Verdict.REFUTED == rec.expected
    trace = [s.actor + ":" + s.step for s in rec.counterexample.trace]
    rp = replay(run.explorer.prog, trace)
    assert (len(trace), rec.details["violated"][0]) in rp.violated
    native = explore(MUTANT_CONFIG, "1.27", "N3-plain-store", engine="native").result
    assert native.verdict == Verdict.REFUTED
